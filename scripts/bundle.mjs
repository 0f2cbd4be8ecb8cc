/**
 * The second half of `npm run build`: maped, its unprivileged child and
 * mapedctl as bundles, dependencies included, replacing tsc's
 * dist/cli/maped.js, maped-child.js and mapedctl.js (same paths, so
 * rc.d/maped and package.json "bin" do not change).
 *
 * Why: unbundled, Node loads every module of every dependency, used or not —
 * zod alone brings ~45 locale modules — and keeps their source and bytecode
 * for the life of the daemon. Tree-shaken, minified bundles start ~70 ms
 * sooner and the daemon holds ~3.5 MiB less (npm run bench: RSS 54 → 50 MiB
 * against 39 MiB for a bare node). Names are kept (keepNames) so stack
 * traces stay readable; a source map goes beside each file.
 *
 * Split into chunks (dist/cli/chunks/), so that each process loads only the
 * code it runs: maped.ts imports the way it runs (src/cli/maped-privsep.ts
 * or maped-one-process.ts) with import(), and the privileged parent of a
 * privilege-separated maped (docs/architecture.md §5) never loads the
 * daemon core, which its child runs (bench/README.md has what that saves).
 * Code two entries share is in a chunk both import, never twice.
 */
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The package root, whatever the working directory. */
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * zod re-exports all of its ~45 message locales as `z.locales`, which a
 * namespace import keeps whole (a third of the bundle). maped words its
 * errors in English only, and zod's English default comes from
 * locales/en.js, imported on its own: the index becomes an empty module.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(esbuild) {
    esbuild.onResolve({ filter: /[\\/]locales[\\/]index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'maped-empty' } : undefined,
    );
    esbuild.onLoad({ filter: /.*/, namespace: 'maped-empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

// Chunks of an earlier build would otherwise stay beside the new ones, and be packed.
rmSync(join(root, 'dist', 'cli', 'chunks'), { recursive: true, force: true });

const result = await build({
  absWorkingDir: root,
  // maped-child: the unprivileged part maped starts when it runs as root (docs/architecture.md §5).
  entryPoints: ['src/cli/maped.ts', 'src/cli/maped-child.ts', 'src/cli/mapedctl.ts'],
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'none',
  metafile: true,
  // CommonJS dependencies (pino's) call require() for Node's own modules,
  // which an ES module does not have.
  banner: { js: "import { createRequire as __mapedRequire } from 'node:module'; const require = __mapedRequire(import.meta.url);" },
  plugins: [zodEnglishOnly],
  logLevel: 'warning',
});

// The entries start with #!/usr/bin/env node: runnable from dist/ as they are.
for (const output of Object.keys(result.metafile.outputs)) {
  if (/^dist\/cli\/[^/]+\.js$/.test(output)) chmodSync(join(root, output), 0o755);
}

/**
 * The bundles carry code of other packages, which npm no longer installs
 * beside them: their licence texts go with them, one file for all.
 */
const packageDirs = new Set();
for (const output of Object.values(result.metafile.outputs)) {
  for (const input of Object.keys(output.inputs)) {
    const at = input.lastIndexOf('node_modules/');
    if (at === -1) continue;
    const rest = input.slice(at + 'node_modules/'.length).split('/');
    packageDirs.add(input.slice(0, at) + 'node_modules/' + rest.slice(0, rest[0].startsWith('@') ? 2 : 1).join('/'));
  }
}
const notices = [...packageDirs].sort().map((dir) => {
  const at = join(root, dir);
  const { name, version, license } = JSON.parse(readFileSync(join(at, 'package.json'), 'utf8'));
  const file = readdirSync(at).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  if (file === undefined) throw new Error(`bundle: ${name} has no licence file in ${dir}`);
  return `${name} ${version} (${license})\n\n${readFileSync(join(at, file), 'utf8').trim()}\n`;
});
writeFileSync(
  join(root, 'dist', 'THIRD-PARTY-LICENSES'),
  `maped's dist/cli/maped.js, dist/cli/maped-child.js, dist/cli/mapedctl.js and the chunks they import (dist/cli/chunks/) include code of these packages.\n\n${notices.join('\n' + '-'.repeat(72) + '\n\n')}`,
);
