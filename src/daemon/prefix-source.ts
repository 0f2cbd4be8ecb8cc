/**
 * Where maped learns that the prefix may have changed, as a value: what a
 * follower (prefix-follower.ts) depends on, and what one is. Apart from the
 * follower itself so that the child's daemon core, which compares
 * configurations but follows nothing, does not load the lease watch
 * (scripts/bundle.mjs).
 */
import type { MapedConfig } from '../config/index.js';

export interface Follower {
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** What a follower depends on: when it changes on a reload, the follower is set up again. */
export const followedBy = (c: MapedConfig): string => JSON.stringify([c.prefix, c.leaseFile, c.wan, c.tools.route]);
