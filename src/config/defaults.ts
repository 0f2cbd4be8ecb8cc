/** Defaults of maped.conf(5); the manual page states the same values. */
import type { InterfaceIdMode, OnExit, PortsetMode, ToolName } from './types.js';

export const DEFAULT_CONFIG_PATH = '/etc/maped.conf';

/** dhcp6leased(8) writes its lease for interface <if> to this directory (sbin/dhcp6leased/dhcp6leased.h 1.10, _PATH_LEASE). */
export const DHCP6LEASED_LEASE_DIR = '/var/db/dhcp6leased';

export function defaultLeaseFile(wan: string): string {
  return `${DHCP6LEASED_LEASE_DIR}/${wan}`;
}

export const DEFAULT_TUNNEL_INTERFACE = 'gif0';
/** `tunnel … route-priority`: src/openbsd/desired-state.ts says why 7. */
export { DEFAULT_ROUTE_PRIORITY } from '../openbsd/desired-state.js';
export const DEFAULT_PF_ANCHOR = 'maped';
export const DEFAULT_PORTSET: PortsetMode = 'auto';
export const DEFAULT_INTERFACE_ID: InterfaceIdMode = 'rfc7597';
export const DEFAULT_ON_EXIT: OnExit = 'keep';
/** Off: an idle maped runs no command (`metrics yes` samples pf states once a minute). */
export const DEFAULT_METRICS = false;
/** HB46PP `product` (v6mig-prov §3.3: the CE's product name). */
export const DEFAULT_PROVISION_PRODUCT = 'maped';
export const DEFAULT_STATE_DIR = '/var/db/maped';
/**
 * The one directory in state-dir that maped's unprivileged child may write
 * (maped.prom, the HB46PP cache). state-dir itself is root's alone: it
 * holds the ownership record and the pid file, which a child able to
 * create, rename or link names beside them could redirect (docs/architecture.md §5).
 */
export const CHILD_FILES_SUBDIR = 'child';

export function childFilesDir(stateDir: string): string {
  return `${stateDir.replace(/\/+$/, '')}/${CHILD_FILES_SUBDIR}`;
}
/** The unprivileged user of maped's child process when maped starts as root (rc.d/install.sh creates it). */
export const DEFAULT_USER = '_maped';

export const DEFAULT_TOOLS: Readonly<Record<ToolName, string>> = {
  ifconfig: '/sbin/ifconfig',
  route: '/sbin/route',
  pfctl: '/sbin/pfctl',
  dhcp6leasectl: '/usr/sbin/dhcp6leasectl',
  sysctl: '/sbin/sysctl',
  logger: '/usr/bin/logger',
};

/** Limits on `include`: deeper nesting is refused, as is a file that includes itself. */
export const MAX_INCLUDE_DEPTH = 8;
