/**
 * Configurations built to exhaust maped -n: macros that double at every
 * level, includes of /dev/zero and of a FIFO, -f of either; and the small
 * ones: a BOM or NUL in the message, an include loop through -f ./file.
 * Each fails quickly with file:line and a reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'maped-conf-'));
  dirs.push(dir);
  return dir;
}

describe('config bombs', () => {
  it('nested macros doubling 40 times fail at the expansion limit, quickly', () => {
    const lines = ['a0 = x'];
    for (let i = 1; i <= 40; i++) lines.push(`a${i} = $a${i - 1} $a${i - 1}`);
    lines.push('wan em0');
    const started = Date.now();
    const result = parseConfig(lines.join('\n') + '\n', '/etc/maped.conf');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.split('\n')[0]).toMatch(/^\/etc\/maped\.conf:\d+:\d+: macros expand to more than 2097152 bytes$/);
  });

  it('include "/dev/zero" is refused as not a regular file, with file:line', () => {
    const dir = tempDir();
    const conf = join(dir, 'maped.conf');
    writeFileSync(conf, 'wan em0\ninclude "/dev/zero"\n');
    expect(loadConfig(conf)).toEqual({ ok: false, error: `${conf}:2:9: cannot read include file "/dev/zero": not a regular file` });
  });

  it('-f /dev/zero is refused', () => {
    expect(loadConfig('/dev/zero')).toEqual({ ok: false, error: '/dev/zero: not a regular file' });
  });

  it('include of a FIFO does not block: refused at once', () => {
    const dir = tempDir();
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const conf = join(dir, 'maped.conf');
    writeFileSync(conf, `wan em0\ninclude "${fifo}"\n`);
    expect(loadConfig(conf)).toEqual({ ok: false, error: `${conf}:2:9: cannot read include file "${fifo}": not a regular file` });
    expect(loadConfig(fifo)).toEqual({ ok: false, error: `${fifo}: not a regular file` });
  });

  it('a file over the size limit is refused unread', () => {
    const dir = tempDir();
    const big = join(dir, 'big.conf');
    writeFileSync(big, `# ${'x'.repeat(1024 * 1024)}\nwan em0\n`);
    expect(loadConfig(big)).toEqual({ ok: false, error: `${big}: larger than 1048576 bytes` });
  });

  it('a BOM or a NUL is shown escaped in the message, not raw', () => {
    const bom = parseConfig('\ufeffwan em0\n', '/etc/maped.conf');
    expect(bom.ok).toBe(false);
    if (!bom.ok) {
      expect(bom.error).toContain('\\ufeff');
      expect(bom.error).not.toContain('\ufeff');
    }
    const nul = parseConfig('wan em0\n\u0000\n', '/etc/maped.conf');
    expect(nul.ok).toBe(false);
    if (!nul.ok) {
      expect(nul.error).toContain('\\u0000');
      expect(nul.error).not.toContain('\u0000');
    }
  });

  it('a binary file, as maped.conf or as an include, is one error: not a text file, with the line of its first NUL', () => {
    const dir = tempDir();
    const binary = join(dir, 'binary.conf');
    // An ELF header, as when -f is given a program by mistake.
    writeFileSync(binary, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x0a, 0x77, 0x61, 0x6e]));
    expect(loadConfig(binary)).toEqual({ ok: false, error: `${binary}: not a text file (a NUL byte on line 1)` });
    const late = join(dir, 'late.conf');
    writeFileSync(late, 'wan em0\n# fine\n\u0000\n');
    const including = join(dir, 'maped.conf');
    writeFileSync(including, `wan em0\ninclude "${late}"\n`);
    expect(loadConfig(including)).toEqual({
      ok: false,
      error: `${including}:2:9: cannot read include file "${late}": not a text file (a NUL byte on line 3)`,
    });
  });

  it('an include loop reached through -f ./loop.conf is reported as a loop', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'loop.conf'), 'wan em0\ninclude "loop.conf"\n');
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const result = loadConfig('./loop.conf');
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toMatch(/^\.\/loop\.conf:2:9: include loop: /);
    } finally {
      process.chdir(cwd);
    }
  });
});
