/**
 * A timeout of any length. Node's setTimeout holds at most 2^31 − 1 ms
 * (~24.9 days); a longer delay is replaced by 1 ms with a
 * TimeoutOverflowWarning (Node's timers documentation, setTimeout), which
 * turned a 25-day lease into a dhcp6leasectl run every millisecond. Longer
 * delays are chained here in links of at most that length.
 */

/** The longest delay setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  cancel(): void;
}

/**
 * Calls `fire` once after `delayMs` (Infinity: never). Unref'd: a pending
 * expiry alone does not keep the process alive.
 */
export function setLongTimeout(fire: () => void, delayMs: number): LongTimer {
  let timer: NodeJS.Timeout | null = null;
  let cancelled = false;
  const deadline = Date.now() + delayMs;
  const arm = (left: number): void => {
    if (cancelled || !Number.isFinite(left)) return;
    timer = setTimeout(
      () => {
        timer = null;
        const remaining = deadline - Date.now();
        if (remaining > 0 && left > MAX_TIMER_MS) arm(remaining);
        else if (!cancelled) fire();
      },
      Math.max(0, Math.min(left, MAX_TIMER_MS)),
    );
    timer.unref?.();
  };
  arm(delayMs);
  return {
    cancel() {
      cancelled = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
