/**
 * src/lease: what dhcp6leased says about the WAN interface. The thin I/O
 * edge before the pure pipeline (docs/architecture.md §1); errors are values with one
 * line naming the place (`path:line: reason`), nothing throws out.
 *
 * Contract:
 * - `parseLeaseFile(text: string, path: string): Result<LeaseFile>` —
 *   `LeaseFile = {prefixes: {ia, prefix: Ipv6Prefix}[]; s46: S46Options}`;
 *   `ia_pd`, `s46 <code> "<hex>"` (decoded by src/dhcpv6) and the Perl patch's
 *   `mape_br`/`mape_rule`/`mape_portparams` lines, merged (s46 containers in
 *   order, then the mape_* domain). Any bad line refuses the whole file
 *   (`path:line: reason`), so the caller keeps its last good lease; so do
 *   rules with no `ia_pd` line. An empty file is an empty lease.
 * - `parseLeasectl(text: string): Result<LeasectlStatus>` —
 *   `{interface; state: 'Down'|'Init'|'Requesting'|'Bound'|'Renewing'|'Rebinding'|'Rebooting';
 *     prefixes: Ipv6Prefix[]; leaseSeconds: number|null; s46?: S46Options}`;
 *   `lease-seconds:` wins over the rounded `lease N unit`.
 * - `queryLeasectl(toolPath, iface, opts?: {timeoutMs?, now?}): Promise<Result<LeasectlQuery>>` —
 *   runs `toolPath -l iface` (argv array, no shell, never without `-l`);
 *   `LeasectlQuery` adds `observedAt` and `expiresAt` on the monotonic clock
 *   (performance.now() ms); `leaseExpired(query, now?)`.
 * - `watchLeaseFile(path, {debounceMs, onChange(text|null), onError(message)}): {close(), ready}` —
 *   watches the directory (rename-safe), ignores dhcp6leased's temp files,
 *   debounces, compares content; reports the initial content once before
 *   `ready`, then one call per real change, `null` when the file is gone.
 *   Imported from lease-watch.ts itself, not through this index: the
 *   unprivileged child of a privilege-separated maped reads leases but
 *   watches none, and the bundle's chunks follow imports (scripts/bundle.mjs),
 *   so it would load the directory watcher (chokidar) for nothing.
 */
export * from './compat-mape.js';
export * from './lease-file.js';
export * from './leasectl.js';
export * from './autoconf-prefix.js';
