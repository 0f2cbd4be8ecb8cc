/**
 * Softwire kinds (MAP-E, lw4o6, IPIP, DS-Lite) as one value type, and the
 * pure module of each kind that builds it. Nothing here does I/O.
 */
export * from './types.js';
export * from './map-e.js';
export * from './lw4o6.js';
export * from './ipip.js';
export * from './dslite.js';
export * from './describe.js';
export * from './added-address.js';
export * from './endpoint.js';
