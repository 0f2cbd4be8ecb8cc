import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_LEASE_FILE_BYTES } from '../../src/lease/index.js';
import { readJsonLines, REPO_ROOT, VECTORS_DIR } from '../support/vectors.js';

const run = promisify(execFile);

async function mapedctl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    // Bounded, so a read that hangs (a FIFO) fails the test instead of stalling it.
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/mapedctl.ts', ...args], { cwd: REPO_ROOT, timeout: 30_000 });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const failure = e as { stdout: string; stderr: string; code: number };
    return { stdout: failure.stdout, stderr: failure.stderr, code: failure.code };
  }
}

interface S46Vector {
  name: string;
  optionsHex: string;
  expect: { decode?: unknown; valid?: boolean };
}
const vectors = readJsonLines<S46Vector>('s46.jsonl');
const first = vectors.find((v) => v.expect.decode !== undefined)!;
const invalid = vectors.find((v) => v.expect.valid === false)!;

describe('mapedctl decode', () => {
  it('--lease reads a regular file of at most the lease file size only: a directory, a FIFO, a larger file are refused, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maped-decode-'));
    try {
      const fifo = join(dir, 'fifo');
      await run('mkfifo', [fifo]);
      const large = join(dir, 'large');
      writeFileSync(large, `ia_pd 0 2001:db8:: 56\n${'#'.repeat(MAX_LEASE_FILE_BYTES)}\n`);
      const [onDir, onFifo, onLarge, missing] = await Promise.all([
        mapedctl('decode', '--lease', dir),
        mapedctl('decode', '--lease', fifo),
        mapedctl('decode', '--lease', large),
        mapedctl('decode', '--lease', join(dir, 'none'), '--json'),
      ]);
      expect(onDir).toEqual({ stdout: '', stderr: `mapedctl decode: ${dir}: not a regular file\n`, code: 1 });
      expect(onFifo).toEqual({ stdout: '', stderr: `mapedctl decode: ${fifo}: not a regular file\n`, code: 1 });
      expect(onLarge).toEqual({ stdout: '', stderr: `mapedctl decode: ${large}: larger than ${MAX_LEASE_FILE_BYTES} bytes\n`, code: 1 });
      expect(missing.code).toBe(1);
      expect(JSON.parse(missing.stdout)).toEqual({ error: `${join(dir, 'none')}: no such file or directory` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a lease error quoting control characters is printed as one line of visible text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maped-decode-'));
    try {
      // The name and the line both hold ESC and BEL (a C1 CSI too): both reach the message.
      const lease = join(dir, 'em0\u001b]0;owned\u0007');
      writeFileSync(lease, 'ia_pd 0 2001:db8:: 56\nmape_br \u001b[2J\u009b\u0007\n');
      const out = await mapedctl('decode', '--lease', lease);
      const shownPath = `${dir}/em0\\x1b]0;owned\\x07`;
      expect(out).toEqual({ stdout: '', stderr: `mapedctl decode: ${shownPath}:2: mape_br: BR address: At least 3 parts expected from '\\x1b[2J\\x9b\\x07'\n`, code: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--json prints the s46.jsonl decode shape', async () => {
    const out = await mapedctl('decode', '--hex', first.optionsHex, '--json');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(first.expect.decode);
  });

  it('--json prints {"error"} and exits 1 on a malformed option', async () => {
    const out = await mapedctl('decode', '--hex', invalid.optionsHex, '--json');
    expect(out.code).toBe(1);
    expect(Object.keys(JSON.parse(out.stdout))).toEqual(['error']);
  });

  it('--json with --prefix puts the derivation of each domain beside the decode shape; one that gives none is an entry with its error, exit 1', async () => {
    const [derived, none] = await Promise.all([
      mapedctl('decode', '--hex', first.optionsHex, '--prefix', '2001:db8:12:3400::/56', '--json'),
      mapedctl('decode', '--hex', first.optionsHex, '--prefix', '2001:db9::/56', '--json'),
    ]);
    expect(derived.code).toBe(0);
    const json = JSON.parse(derived.stdout) as Record<string, unknown>;
    expect(json).toMatchObject(first.expect.decode as Record<string, unknown>);
    expect(json.derived).toMatchObject([
      { kind: 'map-e', domain: 1, prefix: '2001:db8:12:3400::/56', ipv4: '192.0.2.18', psidOffset: 6, psidLen: 8, psid: 0, ceIPv6: '2001:db8:12:3400:0:c000:212:0', br: '2001:db8:ffff::1' },
    ]);
    expect(none.code).toBe(1);
    const [entry] = (JSON.parse(none.stdout) as { derived: Record<string, unknown>[] }).derived;
    expect(entry).toMatchObject({ kind: 'map-e', domain: 1, prefix: '2001:db9::/56' });
    expect(entry!.error).toEqual(expect.any(String));
  });

  it('prints rules and BR for people, and the derivation with --prefix', async () => {
    const out = await mapedctl('decode', '--hex', first.optionsHex, '--prefix', '2001:db8:12:3400::/56');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('rule 1: 2001:db8::/40 192.0.2.0/24 ea-len 16, port parameters offset 6 psid-len 8 psid 0');
    expect(out.stdout).toContain('BR 2001:db8:ffff::1');
    expect(out.stdout).toContain('IPv4 192.0.2.18');
  });

  it('--lease decodes the s46 lines of a dhcp6leased lease file and derives for its delegated prefix', async () => {
    const [patched, perl] = await Promise.all([
      mapedctl('decode', '--lease', join(VECTORS_DIR, 'lease', 's46-cosmote.lease')),
      mapedctl('decode', '--lease', join(VECTORS_DIR, 'lease', 'compat-mape-lines.lease'), '--json'),
    ]);
    const expected = JSON.parse(readFileSync(join(VECTORS_DIR, 'lease', 'expected.json'), 'utf8')) as Record<string, { ipv4: string; ceIPv6: string }>;
    expect(patched).toMatchObject({ code: 0, stderr: '' });
    expect(patched.stdout).toContain('rule 1: 2a02:586:6200::/42 87.202.58.0/24 ea-len 14, port parameters offset 6 psid-len 0');
    expect(patched.stdout).toContain(`IPv4 ${expected['s46-cosmote.lease']!.ipv4}`);
    expect(patched.stdout).toContain(`CE IPv6 ${expected['s46-cosmote.lease']!.ceIPv6}`);
    expect(perl.code).toBe(0);
    expect(JSON.parse(perl.stdout)).toMatchObject({ mapE: [{ rules: [{ ipv6Prefix: '2001:db8:100::/48', portParams: { psidLen: 8, psid: 42 } }] }] });
  });

  it('--code N --hex decodes a container payload as the lease file holds it; whole-option --hex with none says so, exit 1', async () => {
    const line = readFileSync(join(VECTORS_DIR, 'lease', 's46-cosmote.lease'), 'utf8').split('\n').find((l) => l.startsWith('s46 '))!;
    const [, code, payload] = line.split(' ');
    const [asPayload, asOptions] = await Promise.all([
      mapedctl('decode', '--code', code!, '--hex', payload!, '--json'),
      mapedctl('decode', '--hex', payload!),
    ]);
    expect(asPayload.code).toBe(0);
    expect(JSON.parse(asPayload.stdout)).toMatchObject({ mapE: [{ br: ['2a02:586::406'] }] });
    expect(asOptions).toEqual({
      code: 1,
      stdout: '',
      stderr: "mapedctl decode: no Softwire46 container (options 94, 95, 96) in --hex (for the payload of a lease file's s46 line, add --code)\n",
    });
  });

  it('--prefix that no rule covers is an error on stderr, exit 1; --json without input prints a JSON error', async () => {
    const [unmatched, noInput] = await Promise.all([
      mapedctl('decode', '--hex', first.optionsHex, '--prefix', '2001:db9:12:3400::/56'),
      mapedctl('decode', '--json'),
    ]);
    expect(unmatched.code).toBe(1);
    expect(unmatched.stdout).not.toContain('error');
    expect(unmatched.stderr).toMatch(/^mapedctl decode: MAP-E domain 1 for 2001:db9:12:3400::\/56: .+\n$/);
    expect(noInput.code).toBe(1);
    expect(JSON.parse(noInput.stdout)).toEqual({ error: 'give --hex (whole options), --code with --hex (a container payload) or --lease' });
  });

  it('reports truncated hex on stderr with exit status 1', async () => {
    const out = await mapedctl('decode', '--hex', '005e0');
    expect(out.code).toBe(1);
    expect(out.stderr).toBe('mapedctl decode: --hex: odd number of hex digits (5): truncated\n');
  });
});
