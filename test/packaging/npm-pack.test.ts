/**
 * What `npm pack` puts in maped-x.y.z.tgz: the entry points and every file
 * the OpenBSD install needs, and the installer works from the unpacked
 * tarball. The entry points come from `npm run build` (.ci/run builds
 * before it tests).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, readRepoFile } from './mdoc.js';

const run = promisify(execFile);
const pkg = JSON.parse(readRepoFile('package.json')) as { name: string; version: string; bin: Record<string, string> };

interface PackedFile {
  path: string;
  mode: number;
}

const OPENBSD_FILES = [
  'rc.d/maped',
  'etc/maped.conf',
  'man/maped.8',
  'man/mapedctl.8',
  'man/maped.conf.5',
  'scripts/install.sh',
  'patches/openbsd-7.8/README',
  'patches/openbsd-7.8/0001-pf-map-e-portset.patch',
  'patches/openbsd-7.8/0002-dhcp6leased-s46.patch',
];

describe('npm pack', () => {
  let files: PackedFile[] = [];
  let filename = '';

  beforeAll(async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json'], { cwd: REPO_ROOT });
    const [report] = JSON.parse(stdout) as [{ filename: string; files: PackedFile[] }];
    files = report.files;
    filename = report.filename;
  }, 60_000);

  it('is named maped-x.y.z.tgz', () => {
    expect(filename).toBe(`${pkg.name}-${pkg.version}.tgz`);
  });

  it('holds the maped and mapedctl entry points (run npm run build first)', () => {
    const paths = files.map((f) => f.path);
    expect(Object.keys(pkg.bin).sort()).toEqual(['maped', 'mapedctl']);
    for (const target of Object.values(pkg.bin)) expect(paths).toContain(target);
    for (const target of Object.values(pkg.bin)) {
      expect(readFileSync(join(REPO_ROOT, target), 'utf8').startsWith('#!/usr/bin/env node\n'), target).toBe(true);
    }
  });

  it('holds the rc.d script, the sample, the manuals and the installer', () => {
    const paths = files.map((f) => f.path);
    for (const file of OPENBSD_FILES) expect(paths).toContain(file);
  });

  it('keeps the rc.d script and the installer executable', () => {
    for (const file of ['rc.d/maped', 'scripts/install.sh']) {
      expect(files.find((f) => f.path === file)!.mode & 0o111, file).not.toBe(0);
    }
  });

  it('leaves the sources of the tests out', () => {
    expect(files.filter((f) => f.path.startsWith('test/') || f.path.startsWith('src/'))).toEqual([]);
  });

  it('the installer runs from the unpacked tarball', async () => {
    const work = mkdtempSync(join(tmpdir(), 'maped-pack-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO_ROOT });
    const [report] = JSON.parse(stdout) as [{ filename: string }];
    await run('tar', ['-xzf', join(work, report.filename), '-C', work]);
    const destdir = join(work, 'root');
    const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
    const install = spawnSync('sh', [join(work, 'package', 'scripts', 'install.sh')], {
      env: { ...process.env, DESTDIR: destdir, INSTALL_OWNER: userInfo().username, INSTALL_GROUP: group },
      encoding: 'utf8',
    });
    expect(install.stderr).toBe('');
    expect(install.status).toBe(0);
    for (const target of ['etc/rc.d/maped', 'etc/examples/maped.conf', 'usr/local/man/man8/maped.8', 'usr/local/man/man8/mapedctl.8', 'usr/local/man/man5/maped.conf.5']) {
      expect(statSync(join(destdir, target)).isFile(), target).toBe(true);
    }
  }, 60_000);
});
