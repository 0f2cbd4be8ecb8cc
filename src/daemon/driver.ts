/**
 * What the engine asks of the system side: bring OpenBSD to a target MAP-E
 * configuration, or remove what maped owns. Implemented over src/openbsd and
 * src/apply by openbsd-driver.ts; tests may provide their own.
 */
import type { MapedConfig } from '../config/index.js';
import type { Mapping } from './select-mapping.js';

export interface Target {
  readonly mapping: Mapping;
  readonly config: MapedConfig;
}

export interface DriverReport {
  readonly ok: boolean;
  /** The state-changing commands run (or, in dry-run, that would run), one argv each. */
  readonly commands: readonly (readonly string[])[];
  /** The pf anchor text loaded or to load, for the dry-run printout. */
  readonly anchorText: string | null;
  readonly error: string | null;
  readonly mtu: number | null;
  readonly portset: 'kernel' | 'stock' | 'unrestricted' | null;
  readonly warnings: readonly string[];
}

export interface Driver {
  converge(target: Target | null, options: { dryRun: boolean }): Promise<DriverReport>;
}
