import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readJsonLines, REPO_ROOT } from '../support/vectors.js';

const run = promisify(execFile);

async function mapedctl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/mapedctl.ts', ...args], { cwd: REPO_ROOT });
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

  it('prints rules and BR for people, and the derivation with --prefix', async () => {
    const out = await mapedctl('decode', '--hex', first.optionsHex, '--prefix', '2001:db8:12:3400::/56');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('rule 1: 2001:db8::/40 192.0.2.0/24 ea-len 16, port parameters offset 6 psid-len 8 psid 0');
    expect(out.stdout).toContain('BR 2001:db8:ffff::1');
    expect(out.stdout).toContain('IPv4 192.0.2.18');
  });

  it('reports truncated hex on stderr with exit status 1', async () => {
    const out = await mapedctl('decode', '--hex', '005e0');
    expect(out.code).toBe(1);
    expect(out.stderr).toBe('mapedctl decode: --hex: odd number of hex digits (5): truncated\n');
  });
});
