/** OpenBSD configuration maped drives (docs/architecture.md §3.6): pure planning values, renderers and output parsers. */
export * from './command-argv.js';
export * from './desired-state.js';
export * from './ifconfig-output.js';
export * from './pf-anchor.js';
export * from './pf-probability.js';
export * from './pf-states.js';
export * from './pfctl-output.js';
export * from './portset-probe.js';
export * from './route-output.js';
export * from './pfctl-states.js';
export * from './port-usage.js';
export * from './names.js';
export * from './system-checks.js';
export * from './command-allowlist.js';
export * from './forwards.js';
