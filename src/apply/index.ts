/** Touching the system: run a plan's commands (tool-process.ts), verify, roll back (docs/architecture.md §2). */
export * from './live-state.js';
export * from './ownership.js';
export * from './plan.js';
export * from './portset-probe.js';
export * from './reconcile.js';
export * from './run.js';
export * from './pf-states.js';
export * from './tool-process.js';
