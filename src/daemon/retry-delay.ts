/**
 * Capped exponential backoff, 1 s, 2 s, 4 s … 5 min: for failed applies
 * (engine.ts) and for restarting a privilege-separated maped's child
 * (privsep-parent.ts). A module of its own, so that the privileged parent
 * does not load the engine for it (scripts/bundle.mjs).
 */
export function retryDelayMs(attempt: number): number {
  return Math.min(300_000, 1000 * 2 ** Math.min(attempt, 16));
}
