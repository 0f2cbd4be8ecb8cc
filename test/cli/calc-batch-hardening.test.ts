/**
 * `mapedctl calc --batch` under input a hostile run used: errors echoing
 * non-ASCII text, blank lines, a line of megabytes, stdout on /dev/full.
 * Every output line is valid JSON and output line n answers input line n.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_BATCH_LINE } from '../../src/cli/calc-command.js';
import { MAPEDCTL_ENTRY } from '../support/daemon-process.js';
import { REPO_ROOT } from '../support/vectors.js';

function batch(input: string, stdout: 'pipe' | number = 'pipe'): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', MAPEDCTL_ENTRY, 'calc', '--batch'], { cwd: REPO_ROOT, stdio: ['pipe', stdout, 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: out, stderr: err, ms: Date.now() - started }));
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(input);
  });
}

const GOOD = JSON.stringify({ rule: { ipv6Prefix: '2001:db8::/40', ipv4Prefix: '192.0.2.0/24', eaLen: 16, psidOffset: 6 }, endUserPrefix: '2001:db8:12:3400::/56' });

describe('calc --batch', () => {
  it('errors that echo non-ASCII input, blank lines and an overlong line: one valid JSON line each, in order', async () => {
    const lines = [
      GOOD,
      JSON.stringify({ rule: { ipv6Prefix: '2001:db8::/40', ipv4Prefix: '192.0.2.0/24', eaLen: 16, psidOffset: 6 }, endUserPrefix: 'ǅǅǅ😀😀/56' }),
      '',
      '   ',
      'x'.repeat(MAX_BATCH_LINE + 1),
      JSON.stringify({ rule: { ipv6Prefix: 'äöü€'.repeat(50), ipv4Prefix: '192.0.2.0/24', eaLen: 16 }, endUserPrefix: '2001:db8:12:3400::/56' }),
      GOOD,
    ];
    const { code, stdout } = await batch(lines.join('\n') + '\n');
    expect(code).toBe(0);
    const out = stdout.split('\n');
    expect(out.pop()).toBe('');
    expect(out).toHaveLength(lines.length);
    const parsed = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed[0]).toHaveProperty('ipv4');
    expect(parsed[1]).toHaveProperty('error');
    expect(parsed[2]).toEqual({ error: 'empty line' });
    expect(parsed[3]).toEqual({ error: 'empty line' });
    expect(parsed[4]).toEqual({ error: `line longer than ${MAX_BATCH_LINE} characters` });
    expect(parsed[5]).toHaveProperty('error');
    expect(parsed[6]).toEqual(parsed[0]);
    // ASCII only on the wire.
    expect(/^[\x00-\x7f]*$/.test(stdout)).toBe(true);
  });

  it('a line of 40 MB costs linear time and gets one error line', async () => {
    const { code, stdout, ms } = await batch(`${'7'.repeat(40 * 1024 * 1024)}\n${GOOD}\n`);
    expect(code).toBe(0);
    const out = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out[0]).toEqual({ error: `line longer than ${MAX_BATCH_LINE} characters` });
    expect(out[1]).toHaveProperty('ipv4');
    expect(ms).toBeLessThan(20_000);
  });

  it('stdout on /dev/full: one line on stderr and exit 1, no stack trace', async () => {
    const fd = openSync('/dev/full', 'w');
    try {
      const { code, stderr } = await batch(`${GOOD}\n`, fd);
      expect(code).toBe(1);
      expect(stderr).toBe('mapedctl calc: writing the output: ENOSPC\n');
    } finally {
      closeSync(fd);
    }
  });
});
