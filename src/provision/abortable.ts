/**
 * Waiting that ends when the HB46PP client stops: a reload replaces the
 * client and SIGTERM stops it, and neither may wait for a slow server or
 * resolver (up to the 30-second limit of a fetch) before going on.
 */

/** The reason a wait ended early, as an error's message. */
const STOPPED = 'stopped';

/** `promise`, or a rejection with {@link STOPPED} as soon as `signal` aborts, whichever comes first. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    // The abandoned promise may still reject; nobody waits for it any more.
    promise.catch(() => undefined);
    return Promise.reject(new Error(STOPPED));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error(STOPPED));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
