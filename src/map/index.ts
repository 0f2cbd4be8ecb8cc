/** RFC 7597 MAP math: pure functions, no I/O. */
export * from './address.js';
export * from './ascii-sink.js';
export * from './bmr.js';
export * from './calc.js';
export * from './derive.js';
export * from './interface-id.js';
export * from './port-set.js';
export * from './result.js';
export * from './rule.js';
export * from './shown-text.js';
