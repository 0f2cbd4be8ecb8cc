import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MAPEDCTL_ENTRY } from '../support/daemon-process.js';
import { readJsonLines, REPO_ROOT } from '../support/vectors.js';

const run = promisify(execFile);
const mapedctl = (...args: string[]) => run(process.execPath, ['--import', 'tsx', MAPEDCTL_ENTRY, ...args], { cwd: REPO_ROOT });

function batch(input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAPEDCTL_ENTRY, 'calc', '--batch'], { cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

interface Vector {
  id: string;
  input: unknown;
  expect: unknown;
}

describe('mapedctl calc', () => {
  it('--batch answers every line of test/vectors/map-calc.jsonl exactly, in order', async () => {
    const vectors = readJsonLines<Vector>('map-calc.jsonl');
    const result = await batch(vectors.map((v) => JSON.stringify(v.input)).join('\n') + '\n');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(vectors.length);
    lines.forEach((line, i) => expect(JSON.parse(line), vectors[i]!.id).toEqual(vectors[i]!.expect));
  });

  it('--batch keeps every line whole across many output flushes (vectors ×25, several MB)', async () => {
    const vectors = readJsonLines<Vector>('map-calc.jsonl');
    const repeated = Array.from({ length: 25 }, () => vectors).flat();
    const result = await batch(repeated.map((v) => JSON.stringify(v.input)).join('\n') + '\n');
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBeGreaterThan(4 << 20);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(repeated.length);
    lines.forEach((line, i) => expect(JSON.parse(line), `line ${i + 1}`).toEqual(repeated[i]!.expect));
  });

  it('--batch answers a bad line with an error line and goes on', async () => {
    const good = JSON.stringify({ rule: { ipv6Prefix: '2001:db8::/40', ipv4Prefix: '192.0.2.0/24', eaLen: 16 }, endUserPrefix: '2001:db8:12:3400::/56' });
    const result = await batch(`${good}\nnot json\n{"rule":{}}\n${good}`);
    const lines = result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatchObject({ ipv4: '192.0.2.18', psid: 52 });
    expect(lines[1]).toEqual({ error: 'input is not valid JSON' });
    expect(lines[2]!.error).toMatch(/^rule\.ipv6Prefix: /);
    expect(lines[3]).toMatchObject({ ipv4: '192.0.2.18', psid: 52 });
  });

  it('prints the derivation for a person, draft-03 v6plus example', async () => {
    const { stdout } = await mapedctl('calc', '--rule', '240b:10::/31,106.72.0.0/15,25,4', '--prefix', '240b:10:3251:6400::/56', '--iid', 'draft03');
    expect(stdout).toBe(
      [
        'IPv4 106.72.50.81',
        'PSID 100 (0x64), length 8, offset 4',
        'ports 240 in 15 ranges: 5696-5711 9792-9807 13888-13903 … 54848-54863 58944-58959 63040-63055',
        'CE IPv6 240b:10:3251:6400:6a:4832:5100:6400',
        '',
      ].join('\n'),
    );
  });

  it('--json prints the mapedctl(8) calc object; an impossible rule exits 1 with the reason', async () => {
    const { stdout } = await mapedctl('calc', '--rule', '2001:db8::/40,192.0.2.0/24,16', '--prefix', '2001:db8:12:3400::/56', '--json');
    expect(JSON.parse(stdout)).toMatchObject({ ipv4: '192.0.2.18', ipv4PrefixLen: 32, psidLen: 8, psid: 52, psidOffset: 6, portCount: 252 });
    await expect(mapedctl('calc', '--rule', '2001:db8::/40,192.0.2.0/24,16,10', '--prefix', '2001:db8:12:3400::/56')).rejects.toMatchObject({
      code: 1,
      stderr: 'mapedctl calc: psid offset + psid-len > 16\n',
    });
  });

  it('explicit port parameters from the command line win, with a warning', async () => {
    const { stdout } = await mapedctl('calc', '--rule', '2001:db8::/40,192.0.2.0/24,16', '--prefix', '2001:db8:12:3400::/56', '--psid-len', '8', '--psid', '153');
    expect(stdout).toMatch(/^PSID 153 \(0x99\), length 8, offset 6$/m);
    expect(stdout).toMatch(/^warning: explicit PSID 153\/8 differs from PSID 52\/8 in the EA bits/m);
  });

  it('refuses --psid without --psid-len, and rule prefixes with host bits as maped.conf does', async () => {
    const rule = (ipv4: string) => `2001:db8::/40,${ipv4},16`;
    const [psid, hostBits, ipv6HostBits] = await Promise.allSettled([
      mapedctl('calc', '--rule', rule('192.0.2.0/24'), '--prefix', '2001:db8:12:3400::/56', '--psid', '5'),
      mapedctl('calc', '--rule', rule('192.0.2.77/24'), '--prefix', '2001:db8:12:3400::/56'),
      mapedctl('calc', '--rule', '2001:db8:0:ffff::/40,192.0.2.0/24,16', '--prefix', '2001:db8:12:3400::/56'),
    ]);
    expect(psid).toMatchObject({ status: 'rejected', reason: { code: 1, stdout: '', stderr: expect.stringMatching(/^mapedctl calc: --psid needs --psid-len\nusage: mapedctl calc --rule [^\n]*\n$/) } });
    expect(hostBits).toMatchObject({
      status: 'rejected',
      reason: { code: 1, stdout: '', stderr: 'mapedctl calc: --rule: ipv4-prefix: 192.0.2.77/24 has host bits set (did you mean 192.0.2.0/24?)\n' },
    });
    expect(ipv6HostBits).toMatchObject({
      status: 'rejected',
      reason: { code: 1, stderr: 'mapedctl calc: --rule: ipv6-prefix: 2001:db8:0:ffff::/40 has host bits set (did you mean 2001:db8::/40?)\n' },
    });
  });

  it('refuses an end-user prefix with host bits, and rule numbers that are not decimal, as maped.conf does; --psid may be hex', async () => {
    const [prefixHostBits, hexEaLen, hexPsid] = await Promise.allSettled([
      mapedctl('calc', '--rule', '2001:db8::/40,192.0.2.0/24,16', '--prefix', '2001:db8:12:3401::/56'),
      mapedctl('calc', '--rule', '2001:db8::/40,192.0.2.0/24,0x10', '--prefix', '2001:db8:12:3400::/56'),
      mapedctl('calc', '--rule', '2001:db8::/40,192.0.2.0/24,16', '--prefix', '2001:db8:12:3400::/56', '--psid-len', '8', '--psid', '0x99'),
    ]);
    expect(prefixHostBits).toMatchObject({
      status: 'rejected',
      reason: { code: 1, stdout: '', stderr: 'mapedctl calc: --prefix: 2001:db8:12:3401::/56 has host bits set (did you mean 2001:db8:12:3400::/56?)\n' },
    });
    expect(hexEaLen).toMatchObject({ status: 'rejected', reason: { code: 1, stdout: '', stderr: 'mapedctl calc: --rule: not a whole number: 0x10\n' } });
    expect(hexPsid).toMatchObject({ status: 'fulfilled', value: { stdout: expect.stringMatching(/^PSID 153 \(0x99\), length 8, offset 6$/m) } });
  });

  it('refuses a malformed --rule', async () => {
    await expect(mapedctl('calc', '--rule', '2001:db8::/40', '--prefix', '2001:db8:12:3400::/56')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('--rule: expected ipv6-prefix,ipv4-prefix,ea-len[,psid-offset]'),
    });
  });
});

describe('version', () => {
  it('src/version.ts says the version package.json says', async () => {
    const pkg = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, 'utf8')) as { version: string };
    const { stdout } = await mapedctl('--version');
    expect(stdout.trim()).toBe(pkg.version);
  });
});
