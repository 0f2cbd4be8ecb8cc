/**
 * Kernel mode (`pf portset kernel`): the C function the pf patch adds,
 * compiled at bench time and run over the workload by kernel-sim.c. The
 * functions are cut from the lines the patch adds to sys/net/pf_lb.c (as
 * test/patches/portset-c.test.ts does), so the bench measures the code the
 * kernel would run, not a transcription of it.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { addedFunction, readPatchSeries } from '../../test/patches/cvs-diff.js';
import type { Workload } from './workload.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');

/** Generous: compiling takes a second, the largest default run a few. */
const COMPILE_TIMEOUT_MS = 60_000;
const RUN_TIMEOUT_MS = 120_000;

export interface KernelPicker {
  /** One int32 per connection of the workload: its port, or -1. */
  run(workload: Workload, a: number, k: number, psid: number, seed: number): Promise<Int32Array>;
  /** Removes the compiled program and its directory. */
  close(): void;
}

/** Compiles kernel-sim.c with the patch's functions into a fresh temporary directory. */
export function compileKernelPicker(): KernelPicker {
  const lb = readPatchSeries(ROOT)
    .flatMap((patch) => patch.files)
    .find((file) => file.path === 'sys/net/pf_lb.c');
  if (lb === undefined) throw new Error('no sys/net/pf_lb.c in the patch series');
  const dir = mkdtempSync(join(tmpdir(), 'maped-port-capacity-'));
  try {
    writeFileSync(join(dir, 'portset-extracted.c'), `${addedFunction(lb, 'pf_mape_portset_valid')}\n\n${addedFunction(lb, 'pf_mape_portset_pick')}\n`);
    copyFileSync(join(HERE, 'kernel-sim.c'), join(dir, 'kernel-sim.c'));
    copyFileSync(join(ROOT, 'test/patches/kernel-shim.h'), join(dir, 'kernel-shim.h'));
    const program = join(dir, 'kernel-sim');
    const cc = spawnSync('cc', ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-o', program, 'kernel-sim.c'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: COMPILE_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    if (cc.error !== undefined) throw new Error(`cannot run the system C compiler (cc): ${cc.error.message}`);
    if (cc.status !== 0) throw new Error(`cc failed:\n${cc.stderr}`);
    return {
      async run(workload, a, k, psid, seed) {
        const input = new Uint8Array(workload.events.buffer, workload.events.byteOffset, workload.events.byteLength);
        const result = await execa(program, [a, k, psid, workload.destinations, seed].map(String), {
          input,
          encoding: 'buffer',
          maxBuffer: 4 * workload.arrivals + 1024,
          timeout: RUN_TIMEOUT_MS,
          killSignal: 'SIGKILL',
          reject: false,
        });
        if (result.timedOut) throw new Error(`kernel-sim: no answer within ${RUN_TIMEOUT_MS / 1000} s`);
        if (result.exitCode !== 0) throw new Error(`kernel-sim exited ${result.exitCode ?? result.signal}: ${Buffer.from(result.stderr).toString().trim()}`);
        const out = result.stdout;
        if (out.length !== 4 * workload.arrivals) throw new Error(`kernel-sim answered ${out.length / 4} outcomes for ${workload.arrivals} connections`);
        // Copy into an aligned buffer: the output may sit at an odd offset of a larger one.
        const outcomes = new Int32Array(workload.arrivals);
        new Uint8Array(outcomes.buffer).set(out);
        return outcomes;
      },
      close() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
