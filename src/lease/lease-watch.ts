/**
 * Watching `/var/db/dhcp6leased/<wan>`.
 *
 * dhcp6leased replaces the file with mkstemp("XXXXXXXXXX") + write + rename
 * (sbin/dhcp6leased/dhcp6leased.c 1.20, write_lease_file()): the inode
 * changes every time and a temp file with a
 * 10-character random name shows up beside it. A watch on the file itself
 * would stay on the old inode, so the directory is watched (chokidar over
 * fs.watch: no polling while idle) and every name but the lease file's is
 * ignored. Events are debounced, the file is read, and its content compared
 * with the last one reported: dhcp6leased rewrites the same content on every
 * renewal, and that must not count as a change.
 *
 * Contract: `onChange(text)` is called once with the content found when the
 * watch starts (before `ready` resolves; `null` if there is no file), then
 * once per real change of content; `null` means the file is gone. A read
 * error is reported through `onError` as one line and nothing is emitted,
 * so the caller keeps its last good lease. A directory missing at the start
 * is reported through `onError` (chokidar cannot watch inside it once it
 * appears; dhcp6leased's /var/db/dhcp6leased is part of the base system).
 * Nothing throws out of here.
 */
import { readRegularFile } from '../bounded-file.js';
import { MAX_LEASE_FILE_BYTES } from './lease-file.js';
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export interface LeaseWatchOptions {
  readonly debounceMs: number;
  readonly onChange: (text: string | null) => void;
  readonly onError: (message: string) => void;
}

export interface LeaseWatch {
  close(): Promise<void>;
  readonly ready: Promise<void>;
}

/** What a read of the lease file found: its text, its absence, or why it could not be read. */
type Reading = { readonly text: string | null } | { readonly error: string };

/**
 * Synchronous on purpose: a lease file is a few hundred bytes on a local
 * disk, read in tens of microseconds, where fs/promises' open/stat/read/close
 * round trips through the thread pool add a millisecond or more to every
 * lease change (npm run bench).
 */
function readLease(path: string): Reading {
  // A regular file of at most MAX_LEASE_FILE_BYTES: a FIFO or a huge file put in its place never hangs nor fills maped.
  const read = readRegularFile(path, MAX_LEASE_FILE_BYTES);
  if ('text' in read) return read;
  if (read.code === 'ENOENT' || read.code === 'ENOTDIR') return { text: null };
  return { error: `${path}: cannot read: ${read.error}` };
}

export function watchLeaseFile(path: string, opts: LeaseWatchOptions): LeaseWatch {
  const file = resolve(path);
  const directory = dirname(file);
  const name = basename(file);
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  /** The last content reported; undefined before the first report. */
  let last: string | null | undefined;
  /** Reads run one after another, so reports keep the order of events. */
  let reads: Promise<void> = Promise.resolve();

  const safely = (call: () => void): void => {
    try {
      call();
    } catch (e) {
      // A throwing callback is the caller's bug; keep watching and say so once per event.
      try {
        opts.onError(`${file}: lease watch callback threw: ${String(e).split('\n')[0]}`);
      } catch {
        /* nothing left to tell */
      }
    }
  };

  const check = (): Promise<void> => {
    reads = reads.then(async () => {
      if (closed) return;
      const reading = readLease(file);
      if (closed) return;
      if ('error' in reading) {
        safely(() => opts.onError(reading.error));
        return;
      }
      if (reading.text === last) return;
      last = reading.text;
      safely(() => opts.onChange(reading.text));
    });
    return reads;
  };

  const schedule = (): void => {
    if (closed) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void check();
    }, opts.debounceMs);
  };

  const watcher: FSWatcher = watch(directory, {
    depth: 0,
    ignoreInitial: true,
    usePolling: false,
    awaitWriteFinish: false,
    // Only the lease file itself; dhcp6leased's XXXXXXXXXX temp files and anything else are ignored.
    ignored: (candidate: string) => resolve(candidate) !== directory && basename(candidate) !== name,
  });
  watcher.on('all', (_event, changed) => {
    if (basename(changed) === name) schedule();
  });
  watcher.on('error', (e) => {
    safely(() => opts.onError(`${directory}: watch error: ${String(e).split('\n')[0]}`));
  });

  const ready = new Promise<void>((resolveReady) => {
    watcher.once('ready', () => resolveReady());
  })
    .then(async () => {
      // chokidar cannot watch inside a directory that does not exist yet; say so instead of waiting silently.
      const found = await stat(directory).then(
        (s) => (s.isDirectory() ? null : 'not a directory'),
        (e: NodeJS.ErrnoException) => e.code ?? 'cannot stat',
      );
      if (found !== null && !closed) {
        safely(() => opts.onError(`${directory}: cannot watch: ${found}; lease changes will not be seen until the watch is restarted`));
      }
    })
    .then(() => check());

  return {
    ready,
    async close(): Promise<void> {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await watcher.close();
      await reads;
    },
  };
}
