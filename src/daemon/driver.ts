/**
 * What the engine asks of the system side: bring OpenBSD to a target softwire
 * configuration, or remove what maped owns. Implemented over src/openbsd and
 * src/apply by openbsd-driver.ts; tests may provide their own.
 */
import type { MapedConfig } from '../config/index.js';
import type { RuleView } from '../control/protocol.js';
import type { Softwire } from '../softwire/index.js';
import type { Result } from '../map/index.js';
import type { StateListing } from '../openbsd/index.js';

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

export interface ConvergeOptions {
  /** Plan only; run nothing that changes the system. */
  readonly dryRun: boolean;
  /**
   * Whether a dry run may read the live state with the tools. The one-shot
   * `maped --dry-run` runs no command at all and plans against nothing.
   */
  readonly readLive?: boolean;
  /** A reading of the system started ahead by {@link Driver.lookAhead}, to use instead of a fresh one. */
  readonly lookAhead?: LookAhead;
  /**
   * The MAP rules maped knows (the lease's, provisioned, static, and those
   * of the softwire applied last): with a lost ownership record, their CE
   * addresses found on the WAN are adopted (src/daemon/own-addresses.ts).
   */
  readonly knownRules?: readonly RuleView[];
  /**
   * The softwires maped knows (the one to apply, the one applied last), of
   * any kind: with a lost ownership record, the addresses they add to the
   * WAN, under the prefix delegated now or an earlier one, are adopted.
   */
  readonly knownSoftwires?: readonly Softwire[];
}

/** A token for a look-ahead reading; what it holds only the driver that made it knows. */
export type LookAhead = object;

export interface Driver {
  /** Brings the system to `softwire` under `config`; null removes what maped owns. */
  converge(softwire: Softwire | null, config: MapedConfig, options: ConvergeOptions): Promise<DriverReport>;
  /**
   * Starts reading the system for a convergence that may follow, so the
   * reads run while the engine is still asking dhcp6leasectl about the lease.
   * Optional: a driver without it reads when it converges.
   */
  lookAhead?(config: MapedConfig): LookAhead;
  /** pf's state table (`pfctl -ss`), for port usage. Optional: without it usage is not known. */
  readStates?(config: MapedConfig): Promise<Result<StateListing>>;
}
