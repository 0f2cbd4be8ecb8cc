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
const MAPEDCTL_USAGE = 'usage: mapedctl [-s socket] command [argument ...]\n';
const CALC_USAGE =
  'usage: mapedctl calc --rule ipv6-prefix,ipv4-prefix,ea-len[,psid-offset] --prefix prefix [--psid-len n [--psid n]] [--iid rfc7597 | draft03] [--json] | --batch\n';
const CALC = ['calc', '--rule', '2001:db8::/40,192.0.2.0/24,16,6', '--prefix', '2001:db8:12:3400::/56'];

describe('a command line that does not fit the synopsis', () => {
  it.each([
    [['-x'], 'unknown option -x'],
    [['--bogus'], 'unknown option --bogus'],
    [['-f'], 'option -f requires an argument'],
    [['-s'], 'option -s requires an argument'],
    [['-n', '-f', 'examples/maped.conf', 'extra'], 'unexpected argument extra'],
  ])('maped %s says what is wrong, then the usage line, on stderr and exits 1', async (args, why) => {
    expect(await cli('maped', ...args)).toEqual({ code: 1, stdout: '', stderr: `maped: ${why}\n${MAPED_USAGE}` });
  });

  it.each([
    [['-x', 'status'], `mapedctl: unknown option -x\n${MAPEDCTL_USAGE}`],
    [['-s'], `mapedctl: option -s requires an argument\n${MAPEDCTL_USAGE}`],
    [['frob'], `mapedctl: unknown command frob\n${MAPEDCTL_USAGE}`],
    [[...CALC, '--bogus'], `mapedctl calc: unknown option --bogus\n${CALC_USAGE}`],
    [[...CALC, '--jsn'], `mapedctl calc: unknown option --jsn (did you mean --json?)\n${CALC_USAGE}`],
    [[...CALC, '--psid-len', 'abc'], `mapedctl calc: --psid-len: not a whole number: abc\n${CALC_USAGE}`],
    [[...CALC, '--psid-len', '-1'], `mapedctl calc: --psid-len: not a whole number: -1\n${CALC_USAGE}`],
    [[...CALC, 'extra'], `mapedctl calc: unexpected argument extra\n${CALC_USAGE}`],
    [[...CALC, '--psid', '3'], `mapedctl calc: --psid needs --psid-len\n${CALC_USAGE}`],
    [['show', 'bogus'], 'mapedctl show: unknown command bogus\nusage: mapedctl show rules | ports | usage | provisioning [--json]\n'],
    [['show'], 'mapedctl show: missing what to show: rules, ports, usage or provisioning\nusage: mapedctl show rules | ports | usage | provisioning [--json]\n'],
    [['show', 'bogus', 'more'], 'mapedctl show: unexpected argument more\nusage: mapedctl show rules | ports | usage | provisioning [--json]\n'],
    [['log'], 'mapedctl log: missing argument level\nusage: mapedctl log brief | verbose\n'],
    [['log', 'loud'], 'mapedctl log: expected brief or verbose, not "loud"\nusage: mapedctl log brief | verbose\n'],
    [['provision'], 'mapedctl provision: missing argument action\nusage: mapedctl provision refresh | forget\n'],
    [['status', 'extra'], 'mapedctl status: unexpected argument extra\nusage: mapedctl status [--json]\n'],
    [['metrics', 'extra'], 'mapedctl metrics: unexpected argument extra\nusage: mapedctl metrics\n'],
  ])('mapedctl %j says what is wrong, then its usage line, and exits 1', async (args, stderr) => {
    expect(await cli('mapedctl', ...args)).toEqual({ code: 1, stdout: '', stderr });
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
