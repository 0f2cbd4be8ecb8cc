/**
 * scripts/install.sh into a temporary DESTDIR: the OpenBSD places, modes
 * and contents, PREFIX, and an admin's /etc/maped.conf left alone. Owner and
 * group are this user's (INSTALL_OWNER/INSTALL_GROUP), as tests do not run
 * as OpenBSD's root:wheel.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, readRepoFile } from './mdoc.js';

const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();

/** Every DESTDIR the tests make; removed after the last test. */
const destdirs: string[] = [];
afterAll(() => {
  for (const dir of destdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function newDestdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'maped-destdir-'));
  destdirs.push(dir);
  return dir;
}

function install(env: Record<string, string>): { status: number | null; stdout: string; stderr: string; destdir: string } {
  const destdir = env.DESTDIR ?? newDestdir();
  const result = spawnSync('sh', ['scripts/install.sh'], {
    cwd: REPO_ROOT,
    env: { ...process.env, INSTALL_OWNER: userInfo().username, INSTALL_GROUP: group, ...env, DESTDIR: destdir },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, destdir };
}

function mode(path: string): number {
  return statSync(path).mode & 0o7777;
}

const PLACES: [source: string, target: string, mode: number][] = [
  ['rc.d/maped', 'etc/rc.d/maped', 0o555],
  ['man/maped.8', 'usr/local/man/man8/maped.8', 0o444],
  ['man/mapedctl.8', 'usr/local/man/man8/mapedctl.8', 0o444],
  ['man/maped.conf.5', 'usr/local/man/man5/maped.conf.5', 0o444],
  ['etc/maped.conf', 'etc/examples/maped.conf', 0o644],
];

describe('scripts/install.sh', () => {
  it('puts every file in its OpenBSD place with its mode and content', () => {
    const result = install({});
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    for (const [source, target, wanted] of PLACES) {
      const path = join(result.destdir, target);
      expect({ target, mode: mode(path).toString(8) }).toEqual({ target, mode: wanted.toString(8) });
      expect(readFileSync(path, 'utf8'), target).toBe(readRepoFile(source));
    }
  });

  it('never writes /etc/maped.conf, and says how to make one', () => {
    const result = install({});
    expect(existsSync(join(result.destdir, 'etc/maped.conf'))).toBe(false);
    expect(result.stdout).toContain('maped -n');
  });

  it("leaves an admin's /etc/maped.conf as it is", () => {
    const destdir = newDestdir();
    mkdirSync(join(destdir, 'etc'));
    writeFileSync(join(destdir, 'etc/maped.conf'), 'wan em1\n');
    const result = install({ DESTDIR: destdir });
    expect(result.status).toBe(0);
    expect(readFileSync(join(destdir, 'etc/maped.conf'), 'utf8')).toBe('wan em1\n');
  });

  it('can run again over an earlier install', () => {
    const first = install({});
    const again = install({ DESTDIR: first.destdir });
    expect(again.stderr).toBe('');
    expect(again.status).toBe(0);
  });

  it('follows PREFIX for the manuals and for node and the package in the rc.d script', () => {
    const result = install({ PREFIX: '/opt/local' });
    expect(result.status).toBe(0);
    expect(existsSync(join(result.destdir, 'opt/local/man/man8/maped.8'))).toBe(true);
    expect(existsSync(join(result.destdir, 'usr/local'))).toBe(false);
    const rc = readFileSync(join(result.destdir, 'etc/rc.d/maped'), 'utf8');
    // The daemon line as shipped, node's flags kept, with both paths moved.
    const shipped = /^daemon="(.*)"$/m.exec(readRepoFile('rc.d/maped'))![1]!;
    expect(shipped).toMatch(/^\/usr\/local\/bin\/node (--\S+ )*\/usr\/local\/lib\/node_modules\/maped\/dist\/cli\/maped\.js$/);
    expect(/^daemon="(.*)"$/m.exec(rc)![1]).toBe(shipped.replaceAll('/usr/local/', '/opt/local/'));
    expect(rc).not.toContain('/usr/local');
  });

  it('refuses a relative PREFIX', () => {
    const result = install({ PREFIX: 'usr/local' });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('install.sh: PREFIX must be an absolute path, not "usr/local"\n');
  });

  it('uses group 0 for a group this host does not have (no wheel on Debian), and says so', () => {
    // install(1) as root would accept any group; this one records the groups and drops -o/-g.
    const tools = newDestdir();
    const groupsLog = join(tools, 'groups');
    const realInstall = spawnSync('sh', ['-c', 'command -v install'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(
      join(tools, 'install'),
      `#!/bin/sh\nn=$#\ni=0\nwhile [ $i -lt $n ]; do\n\ta=$1; shift; i=$((i+1))\n\tcase $a in\n` +
        `\t-o) shift; i=$((i+1)) ;;\n\t-g) echo "$1" >>"${groupsLog}"; shift; i=$((i+1)) ;;\n\t*) set -- "$@" "$a" ;;\n\tesac\ndone\n` +
        `exec ${realInstall} "$@"\n`,
      { mode: 0o755 },
    );
    const known = (name: string): boolean => readFileSync('/etc/group', 'utf8').split('\n').some((l) => l.startsWith(`${name}:`));
    const destdir = newDestdir();
    const result = spawnSync('sh', ['scripts/install.sh'], {
      cwd: REPO_ROOT,
      env: { PATH: `${tools}:${process.env.PATH ?? ''}`, DESTDIR: destdir, INSTALL_OWNER: userInfo().username },
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const wheel = known('wheel') ? 'wheel' : '0';
    const bin = known('bin') ? 'bin' : '0';
    expect(new Set(readFileSync(groupsLog, 'utf8').trim().split('\n'))).toEqual(new Set([wheel, bin]));
    for (const [name, used] of [['wheel', wheel], ['bin', bin]]) {
      expect(result.stdout.includes(`no group ${name} on this host: using group 0\n`), name).toBe(used === '0');
    }
  });

  it('owns the files by root and bin/wheel unless told otherwise', () => {
    const script = readRepoFile('scripts/install.sh');
    expect(script).toMatch(/^owner=\$\{INSTALL_OWNER:-root\}$/m);
    expect(script).toMatch(/^wheel=\$\{INSTALL_GROUP:-wheel\}$/m);
    expect(script).toMatch(/^bin=\$\{INSTALL_GROUP:-bin\}$/m);
  });
});
