/**
 * One line of a maped process's memory, logged at debug level when logging
 * turns verbose (mapedctl log verbose; mapedctl(8)): what the process holds
 * resident and how much of it is V8's heap. With privilege separation each
 * of the two processes logs its own (docs/architecture.md §5). The bench
 * reads these lines (bench/README.md).
 */

const mib = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1);

/** `who`: which of maped's processes this is (e.g. "privileged parent"). */
export function memoryUseLine(who: string, usage: NodeJS.MemoryUsage = process.memoryUsage()): string {
  return `memory of pid ${process.pid} (${who}): rss ${mib(usage.rss)} MiB, V8 heap used ${mib(usage.heapUsed)} MiB of ${mib(usage.heapTotal)} MiB, external ${mib(usage.external)} MiB`;
}
