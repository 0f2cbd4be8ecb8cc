/**
 * What `npm pack` puts in maped-x.y.z.tgz: the entry points and every file
 * the OpenBSD install needs, and the installer works from the unpacked
 * tarball. The entry points come from `npm run build` (.ci/run builds
 * before it tests).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, readRepoFile } from './mdoc.js';
import { readJsonLines } from '../support/vectors.js';
import { fakeRouterConfig, startMaped } from '../support/daemon-process.js';
import { createFakeOpenBSD } from '../support/fake-openbsd/index.js';

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
  /** Where the installer test unpacked the tarball: a package with no node_modules beside it. */
  let unpacked = '';
  /** The installer test's directory (tarball, unpacked package, DESTDIR), removed after the last test. */
  let work = '';

  afterAll(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  beforeAll(async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json'], { cwd: REPO_ROOT });
    const [report] = JSON.parse(stdout) as [{ filename: string; files: PackedFile[] }];
    files = report.files;
    filename = report.filename;
  }, 180_000);

  it('is named maped-x.y.z.tgz', () => {
    expect(filename).toBe(`${pkg.name}-${pkg.version}.tgz`);
  });

  it('holds the maped and mapedctl entry points (run npm run build first)', () => {
    const paths = files.map((f) => f.path);
    expect(Object.keys(pkg.bin).sort()).toEqual(['maped', 'mapedctl']);
    for (const target of Object.values(pkg.bin)) expect(paths).toContain(target);
    for (const target of Object.values(pkg.bin)) {
      // npm pack built them (prepack): runnable as they are, like any command.
      expect(statSync(join(REPO_ROOT, target)).mode & 0o111, target).toBe(0o111);
      expect(readFileSync(join(REPO_ROOT, target), 'utf8').startsWith('#!/usr/bin/env node\n'), target).toBe(true);
    }
  });

  it('needs nothing from the registry and carries the licences of what it bundles', () => {
    const manifest = JSON.parse(readRepoFile('package.json')) as { dependencies?: Record<string, string> };
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(files.map((f) => f.path)).toContain('dist/THIRD-PARTY-LICENSES');
    const notices = readFileSync(join(REPO_ROOT, 'dist', 'THIRD-PARTY-LICENSES'), 'utf8');
    for (const name of ['zod', 'pino', 'commander', 'chokidar']) expect(notices).toMatch(new RegExp(`^${name} \\d+\\.\\d+\\.\\d+ \\(MIT\\)$`, 'm'));
    // Only the bundles and their chunks: tsc's other modules would import packages that are not installed.
    const bundle = /^dist\/(cli\/maped(ctl|-child)?\.js(\.map)?|cli\/chunks\/[\w-]+\.js(\.map)?|THIRD-PARTY-LICENSES)$/;
    expect(files.filter((f) => f.path.startsWith('dist/') && !bundle.test(f.path))).toEqual([]);
    // Every chunk an entry imports is packed (scripts/bundle.mjs splits them).
    const paths = new Set(files.map((f) => f.path));
    for (const entry of ['dist/cli/maped.js', 'dist/cli/maped-child.js', 'dist/cli/mapedctl.js']) {
      const text = readFileSync(join(REPO_ROOT, entry), 'utf8');
      for (const [, chunk] of text.matchAll(/["']\.\/(chunks\/[\w-]+\.js)["']/g)) expect(paths, `${entry} imports ${chunk}`).toContain(`dist/cli/${chunk}`);
    }
  });

  it("splits maped's bundle: the privileged parent loads none of the daemon core its child runs", () => {
    const cli = join(REPO_ROOT, 'dist', 'cli');
    // A relative import of a module beside it (chunks/ from an entry, a chunk from a chunk).
    const chunkRef = /(import\(|from|import)\s*["']\.\/((?:chunks\/)?[\w-]+\.js)["']/g;
    /** The files a module loads as it starts (static imports), and the ones it may import() later. */
    const loads = (file: string, seen = new Set<string>()): Set<string> => {
      if (seen.has(file)) return seen;
      seen.add(file);
      for (const [, how, chunk] of readFileSync(join(cli, file), 'utf8').matchAll(chunkRef)) if (how !== 'import(') loads(join(dirname(file), chunk!), seen);
      return seen;
    };
    const dynamic = (file: string): string[] =>
      [...readFileSync(join(cli, file), 'utf8').matchAll(chunkRef)].filter(([, how]) => how === 'import(').map(([, , chunk]) => join(dirname(file), chunk!));
    const text = (files: Set<string>): string => [...files].map((f) => readFileSync(join(cli, f), 'utf8')).join('\n');
    const [privsep, ...morePrivsep] = dynamic('maped.js').filter((c) => c.includes('maped-privsep'));
    const [onePath] = dynamic('maped.js').filter((c) => c.includes('maped-one-process'));
    expect(privsep, 'maped.js imports the privileged parent when it splits').toBeDefined();
    expect(morePrivsep).toEqual([]);
    const parent = text(loads(privsep!, loads('maped.js')));
    const child = text(loads('maped-child.js'));
    const oneProcess = text(loads(onePath!, loads('maped.js')));
    // keepNames keeps each function's and class's name as a string in the bundle.
    expect(parent).toContain('"PrivsepParent"');
    for (const name of ['startDaemonCore', 'Engine', 'UsageMonitor', 'MetricsPublisher', 'createOpenBSDDriver', 'runPrivsepChild']) {
      expect(parent, `the parent loads ${name}`).not.toContain(`"${name}"`);
    }
    for (const name of ['startDaemonCore', 'Engine', 'runPrivsepChild']) expect(child).toContain(`"${name}"`);
    expect(oneProcess).toContain('"startDaemonCore"');
    // The child follows nothing itself: no directory watch, no privileged parent.
    expect(child).not.toContain('"PrivsepParent"');
    expect(child).not.toContain('"followLease"');
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
    work = mkdtempSync(join(tmpdir(), 'maped-pack-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO_ROOT });
    const [report] = JSON.parse(stdout) as [{ filename: string }];
    await run('tar', ['-xzf', join(work, report.filename), '-C', work]);
    unpacked = join(work, 'package');
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
  }, 180_000);

  // The entry points are single files with their dependencies inside
  // (scripts/bundle.mjs): they must work from the tarball alone.
  it('the packed mapedctl answers every calc vector exactly, with no node_modules to load from', async () => {
    expect(unpacked, 'the installer test unpacks the tarball first').not.toBe('');
    const vectors = readJsonLines<{ id: string; input: unknown; expect: unknown }>('map-calc.jsonl');
    const child = spawnSync(process.execPath, [join(unpacked, pkg.bin.mapedctl!), 'calc', '--batch'], {
      cwd: unpacked,
      input: vectors.map((v) => JSON.stringify(v.input)).join('\n') + '\n',
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const lines = child.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(vectors.length);
    lines.forEach((line, i) => expect(JSON.parse(line), vectors[i]!.id).toEqual(vectors[i]!.expect));
  });

  it('the packed maped prints the same dry run as the sources, zod messages included', async () => {
    expect(unpacked, 'the installer test unpacks the tarball first').not.toBe('');
    const config = join(REPO_ROOT, 'examples', 'maped.conf');
    const packed = spawnSync(process.execPath, [join(unpacked, pkg.bin.maped!), '--dry-run', '-f', config], { cwd: unpacked, encoding: 'utf8' });
    const source = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'maped.ts'), '--dry-run', '-f', config], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(packed.status).toBe(0);
    expect(packed.stdout).toContain('plan:');
    expect(packed.stdout).toBe(source.stdout);
    expect(packed.stderr).toBe(source.stderr);
    // A request of the wrong shape is refused with zod's English wording.
    const bad = spawnSync(process.execPath, [join(unpacked, pkg.bin.mapedctl!), 'calc', '--batch'], { input: '{"rule":{"ipv6Prefix":3}}\n', encoding: 'utf8' });
    expect(bad.stdout).toBe('{"error":"rule.ipv6Prefix: Invalid input: expected string, received number"}\n');
  });

  it('the packed maped runs as a daemon: applies a lease, answers the packed mapedctl, stops on SIGTERM', async () => {
    expect(unpacked, 'the installer test unpacks the tarball first').not.toBe('');
    const fake = await createFakeOpenBSD({ kernelPortset: true });
    const dir = mkdtempSync(join(tmpdir(), 'maped-packed-'));
    try {
      mkdirSync(join(dir, 'lease'));
      const s46 = readFileSync(join(REPO_ROOT, 'examples', 'lease', 'em0'), 'utf8')
        .split('\n')
        .find((l) => l.startsWith('s46 '))!;
      writeFileSync(join(dir, 'lease', 'em0'), `ia_pd 0 2001:db8:12:3400:: 56\n${s46}\n`);
      fake.setLeasectl('em0', 'em0 [Bound]\n\tIA_PD 0: 2001:db8:12:3400::/56\n\tlease 7 days\n');
      const config = join(dir, 'maped.conf');
      writeFileSync(config, fakeRouterConfig(fake.tools, dir));
      const socket = join(dir, 'maped.sock');
      // With the node flags of rc.d/maped, which the parent passes on to its child (execArgv).
      const nodeFlags = /^daemon="(.*)"$/m.exec(readRepoFile('rc.d/maped'))![1]!.split(/\s+/).filter((w) => w.startsWith('--'));
      expect(nodeFlags).toContain('--lite-mode');
      const maped = startMaped(config, socket, [], [...nodeFlags, join(unpacked, pkg.bin.maped!)]);
      try {
        await maped.waitFor((s) => s.state === 'active', 'active');
        const parent = maped.child.pid!;
        const [child] = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8')
          .trim()
          .split(/\s+/)
          .filter((pid) => pid !== '' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('maped-child'));
        expect(child, 'the unprivileged child').toBeDefined();
        const childArgv = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0');
        expect(childArgv.slice(1, 1 + nodeFlags.length)).toEqual(nodeFlags);
        expect(childArgv[1 + nodeFlags.length]).toBe(join(unpacked, 'dist', 'cli', 'maped-child.js'));
        const status = spawnSync(process.execPath, [join(unpacked, pkg.bin.mapedctl!), '-s', socket, 'status', '--json'], { encoding: 'utf8' });
        expect(status.status).toBe(0);
        expect(JSON.parse(status.stdout)).toMatchObject({ state: 'active', map: { ipv4: '192.0.2.18', psid: 0x34 } });
        expect(fake.state().interfaces['gif0']?.tunnel).not.toBeNull();
        maped.signal('SIGTERM');
        expect(await maped.exited).toBe(0);
      } finally {
        if (maped.child.exitCode === null) maped.signal('SIGKILL');
      }
    } finally {
      await fake.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
