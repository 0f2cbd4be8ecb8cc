import { describe, expect, it } from 'vitest';
import { memoryUseLine } from '../../src/daemon/memory-use.js';

const MiB = 1024 * 1024;

describe('memoryUseLine', () => {
  it('says a process memory in MiB to a tenth, with its pid and role', () => {
    const usage = { rss: 52.34 * MiB, heapUsed: 8.96 * MiB, heapTotal: 10 * MiB, external: 1.04 * MiB, arrayBuffers: 0.01 * MiB };
    expect(memoryUseLine('privileged parent', usage)).toBe(
      `memory of pid ${process.pid} (privileged parent): rss 52.3 MiB, V8 heap used 9.0 MiB of 10.0 MiB, external 1.0 MiB`,
    );
  });

  it("reads this process's own figures when given none", () => {
    const m = /^memory of pid (\d+) \(maped\): rss ([\d.]+) MiB, V8 heap used ([\d.]+) MiB of ([\d.]+) MiB, external ([\d.]+) MiB$/.exec(memoryUseLine('maped'));
    expect(m).not.toBeNull();
    const [, pid, rss, used, total] = m!.map(Number);
    expect(pid).toBe(process.pid);
    expect(used).toBeLessThanOrEqual(total!);
    expect(total).toBeLessThan(rss!);
  });
});
