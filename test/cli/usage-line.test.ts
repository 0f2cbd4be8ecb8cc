import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/vectors.js';

const run = promisify(execFile);

async function cli(name: 'maped' | 'mapedctl', ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', `${name}.ts`), ...args];
  try {
    const { stdout, stderr } = await run(process.execPath, argv, { cwd: REPO_ROOT });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const failed = e as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const MAPED_USAGE = 'usage: maped [-dnv] [-f file] [-s socket] [--dry-run] [--log-json]\n';

describe('a command line that does not fit the synopsis', () => {
  it.each([['-x'], ['--bogus'], ['-f'], ['-s']])('maped %s prints the one usage line on stderr and exits 1', async (flag) => {
    expect(await cli('maped', flag)).toEqual({ code: 1, stdout: '', stderr: MAPED_USAGE });
  });

  it('mapedctl: an unknown option or command prints its usage line; a subcommand names itself', async () => {
    const [option, command, calc, log] = await Promise.all([
      cli('mapedctl', '-q', 'status'),
      cli('mapedctl', 'frob'),
      cli('mapedctl', 'calc', '--bogus'),
      cli('mapedctl', 'log'),
    ]);
    expect(option).toEqual({ code: 1, stdout: '', stderr: 'usage: mapedctl [-s socket] command [argument ...]\n' });
    expect(command).toEqual({ code: 1, stdout: '', stderr: 'usage: mapedctl [-s socket] command [argument ...]\n' });
    expect(calc).toEqual({ code: 1, stdout: '', stderr: 'usage: mapedctl calc [options]\n' });
    expect(log).toEqual({ code: 1, stdout: '', stderr: 'usage: mapedctl log [options] <level>\n' });
  });
});

describe('maped -n on a file with several errors', () => {
  it('prints each on a line of its own, with file:line:col, and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maped-n-'));
    try {
      const conf = join(dir, 'maped.conf');
      writeFileSync(conf, 'wan gif1\ntunel gif0\ntunnel gif1\n');
      expect(await cli('maped', '-n', '-f', conf)).toEqual({
        code: 1,
        stdout: '',
        stderr:
          `maped: ${conf}:2:1: unknown keyword "tunel" (did you mean "tunnel"?)\n` +
          `maped: ${conf}:3:8: tunnel: gif1 is also the wan interface (line 1)\n`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
