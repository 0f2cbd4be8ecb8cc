/**
 * A model of pf's rule evaluation, to test what the rules maped loads *do*
 * rather than how they read: the text of the anchor (renderAnchor) is parsed
 * like pfctl would (parse.ts), placed in a main ruleset (pf-conf.ts), and a
 * packet is evaluated the way sys/net/pf.c evaluates it (evaluate.ts).
 *
 * ```ts
 * const ruleset = parseRuleset(adminPfConf(), { maped: renderAnchor(desired) });
 * const env = { interfaces: { gif0: { addresses: ['192.0.2.18/32'], groups: ['gif'] }, … } };
 * evaluate(ruleset, packet, env);   // one run, probabilities drawn as pf draws them
 * outcomes(ruleset, packet, env);   // every verdict with its exact chance
 * evaluate(ruleset, packet, { ...env, ports: new StateTable() });   // ports chosen as pf_get_sport does
 * ```
 */
export { evaluate, outcomes, type Environment, type Outcome, type Translation, type Verdict } from './evaluate.js';
export { Fraction, ONE, ZERO } from './fraction.js';
export { parseRule, parseRules, parseRuleset } from './parse.js';
export { adminPfConf, OPENBSD_78_PF_CONF } from './pf-conf.js';
export { searchPortRange, StateTable, type PortAllocator, type PortRequest } from './ports.js';
export { portSetFor } from './portset.js';
export type * from './rules.js';
