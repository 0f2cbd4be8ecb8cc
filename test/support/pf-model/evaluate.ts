/**
 * pf's rule evaluation for the first packet of a connection, after
 * sys/net/pf.c 1.1218 `pf_test_rule` (lines 4357–4584) and `pf_match_rule`
 * (lines 4084–4354) (the kernel sources are not part of this project; the
 * statements the model follows are quoted, with their line numbers in that
 * revision):
 *
 * 1. `set skip on` interfaces are not filtered at all (pf_test, lines
 *    7600–7601: `if (kif->pfik_flags & PFI_IFLAG_SKIP) return (PF_PASS);`).
 * 2. Rules are tried in order; each test skips the rule when it fails
 *    (`PF_TEST_ATTRIB`, lines 4076–4081): interface (`pfi_kif_match`,
 *    lines 4097–4099), direction (4100–4101), af (4105–4106), proto
 *    (4107–4108), source against the source *as translated so far*
 *    (`PF_MISMATCHAW(&r->src.addr, &ctx->pd->nsaddr, …)`, lines 4109–4112),
 *    destination likewise against the destination as translated so far
 *    (`PF_MISMATCHAW(&r->dst.addr, &ctx->pd->ndaddr, …)`, lines 4113–4115;
 *    ports against `nsport`/`ndport`, lines 4145–4152), TCP flags
 *    (`(r->flagset & th_flags) != r->flags`, lines 4134–4136), ICMP type
 *    (4171–4173, 4187–4189), user (4154–4159), then `probability`
 *    (`r->prob <= arc4random_uniform(UINT_MAX - 1) + 1` skips, lines
 *    4211–4213: a stored s matches with (s − 1)/(2^32 − 2)), then `tagged`
 *    (`pf_match_tag`, lines 4214–4216; the function, lines 3559–3566,
 *    compares against the tag set so far or the packet's own).
 * 3. A matching rule sets its `tag` for the rules after it
 *    (`ctx->tag = r->tag`, lines 4233–4234). A `match` rule's actions apply
 *    at once (`pf_rule_to_actions(r, &ctx->act);`, line 4261; in the
 *    function, lines 4049–4074, `a->max_mss = r->max_mss;` at line 4065: the
 *    last `max-mss` wins) and it calls `pf_get_transaddr` (lines 4264–4269;
 *    sys/net/pf_lb.c 1.76 lines 688–759): a `nat-to` rewrites
 *    `pd->nsaddr`/`pd->nsport` (`pf_get_sport`, pf_lb.c lines 703–719), a
 *    translation without a free port failing the packet (`PFRES_TRANSLATE`,
 *    pf.c lines 4266–4268); an `rdr-to` rewrites `pd->ndaddr` and, with a
 *    port, `pd->ndport` (pf_lb.c lines 721–756): `((ndport −
 *    r->dst.port[0]) % (proxy_port[1] − proxy_port[0] + 1)) +
 *    proxy_port[0]` for a range (lines 730–743), `proxy_port[0]` for one
 *    port (lines 744–745). A matching pass or block rule becomes the
 *    deciding rule (`*ctx->rm = r`, pf.c line 4281): the last one wins.
 * 4. A matching `quick` rule (match rules too) ends the evaluation (lines
 *    4302–4303), in an anchor as in the main ruleset (lines 4337–4341). A
 *    matching `anchor` rule evaluates the anchor's rules in its place
 *    (pf_match_rule itself pushes the ruleset and jumps back to
 *    `enter_ruleset`, lines 4305–4328; 1.1218 has no `pf_step_into_anchor`).
 * 5. Afterwards (`pf_test_rule`): the deciding rule's own actions and
 *    translations (`nat-to`, `rdr-to`) apply (`r = *ctx.rm;`, line 4427;
 *    `pf_rule_to_actions(r, &ctx.act);`, line 4433; `pf_get_transaddr`,
 *    lines 4436–4439); no deciding rule means pf's default rule (pass, no
 *    state); a block drops (lines 4488–4489); a pass keeps state unless `no
 *    state` (`pf_create_state`, called at lines 4522–4523), and the state
 *    takes the actions gathered (`st->max_mss = act->max_mss;`, line 4622;
 *    the tag, `st->tag = tag;`, lines 4754–4757).
 *
 * {@link evaluate} runs this once, drawing each `probability` like pf
 * ({@link Environment.draw}); {@link outcomes} follows both branches of every
 * draw and returns each distinct verdict with its exact chance.
 */
import { randomInt } from 'node:crypto';
import { formatIpv4, formatIpv6, ipv4Mask, ipv6Mask } from '../../../src/map/index.js';
import { UINT_MAX, PF_PROBABILITY_DRAWS } from '../../../src/openbsd/index.js';
import { Fraction, ONE } from './fraction.js';
import { parseHost } from './parse.js';
import type { PortAllocator } from './ports.js';
import type { AddressSpec, Af, Host, Interfaces, ModelRule, Packet, Ruleset } from './rules.js';

export interface Environment {
  readonly interfaces: Interfaces;
  /** pf's draw, `arc4random_uniform(UINT_MAX - 1) + 1`: an integer in 1 .. UINT_MAX − 1. */
  readonly draw?: () => number;
  /** Chooses translated ports (a {@link StateTable}); without one a translation records its pool only. */
  readonly ports?: PortAllocator;
}

export interface Translation {
  readonly address: string;
  readonly low: number;
  readonly high: number;
  readonly mapePortset: readonly [number, number, number] | null;
}

export interface Verdict {
  readonly action: 'pass' | 'block';
  /** skip: `set skip on`; translate: no free port (the packet is dropped). */
  readonly reason: 'rule' | 'default' | 'skip' | 'translate';
  /** The deciding pass or block rule; null for pf's default rule. */
  readonly rule: ModelRule | null;
  /** The match rules that matched, in order ({@link evaluate} only; empty from {@link outcomes}). */
  readonly matchRules: readonly ModelRule[];
  /** The source as translated; port null when no allocator chose one. */
  readonly source: { readonly address: string; readonly port: number | null };
  /** The destination as translated (`rdr-to`), else the packet's. */
  readonly destination: { readonly address: string; readonly port: number | null };
  /** The pool of the last translation. */
  readonly nat: Translation | null;
  /** How many rules translated the packet (each needs a free port). */
  readonly translations: number;
  /** The pool of every translation, in order: each searched for a free port, the last one's kept. */
  readonly pools: readonly Translation[];
  readonly tag: string | null;
  readonly maxMss: number | null;
  readonly keepState: boolean;
}

type Step =
  | { readonly kind: 'rule'; readonly rule: ModelRule }
  | { readonly kind: 'enter'; readonly rule: ModelRule; skipTo: number }
  | { readonly kind: 'leave' };

/** pf_anchor_stack holds 64 frames (PF_ANCHOR_STACK_MAX). */
const ANCHOR_DEPTH_MAX = 64;

function program(ruleset: Ruleset): Step[] {
  const steps: Step[] = [];
  const add = (rules: readonly ModelRule[], depth: number): void => {
    if (depth > ANCHOR_DEPTH_MAX) throw new Error('anchors nested too deep');
    for (const rule of rules) {
      if (rule.action !== 'anchor') {
        steps.push({ kind: 'rule', rule });
        continue;
      }
      const inner = ruleset.anchors.get(rule.anchor!) ?? [];
      const enter: Step = { kind: 'enter', rule, skipTo: 0 };
      steps.push(enter);
      add(inner, depth + 1);
      steps.push({ kind: 'leave' });
      enter.skipTo = steps.length;
    }
  };
  add(ruleset.main, 0);
  return steps;
}

interface Context {
  readonly nsaddr: Host;
  readonly nsport: number | null;
  readonly ndaddr: Host;
  readonly ndport: number | null;
  readonly tag: string | null;
  readonly decide: ModelRule | null;
  readonly maxMss: number | null;
  readonly nat: Translation | null;
  readonly translations: number;
  readonly pools: readonly Translation[];
  readonly failed: boolean;
  readonly done: boolean;
  readonly matched: readonly ModelRule[];
}

const addressText = (h: Host): string => (h.af === 'inet' ? formatIpv4(Number(h.value)) : formatIpv6(h.value));

function host(text: string): Host {
  const h = parseHost(text);
  if (h === null) throw new Error(`not an address: ${text}`);
  return h;
}

function inPrefix(h: Host, af: Af, value: bigint, length: number): boolean {
  if (h.af !== af) return false;
  if (af === 'inet') {
    const mask = BigInt(ipv4Mask(length));
    return (h.value & mask) === (value & mask);
  }
  const mask = ipv6Mask(length);
  return (h.value & mask) === (value & mask);
}

function interfaceMembers(env: Environment, name: string): string[] {
  return Object.entries(env.interfaces)
    .filter(([ifname, i]) => ifname === name || i.groups.includes(name))
    .map(([ifname]) => ifname);
}

/** PF_MATCHA / pfi_match_addr for the address forms the model knows. */
function addressMatches(spec: AddressSpec, h: Host, env: Environment): boolean {
  if (spec.kind === 'any') return true;
  let hit: boolean;
  if (spec.kind === 'prefix') hit = inPrefix(h, spec.af, spec.value, spec.length);
  else {
    hit = false;
    for (const ifname of interfaceMembers(env, spec.ifname)) {
      const addresses = env.interfaces[ifname]!.addresses.map((a) => a.split('/') as [string, string?]);
      const ofFamily = addresses.filter(([a]) => host(a).af === h.af);
      const used = spec.first ? ofFamily.slice(0, 1) : ofFamily;
      for (const [a, len] of used) {
        const base = host(a);
        const bits = base.af === 'inet' ? 32 : 128;
        const length = spec.network ? Number(len ?? bits) : bits;
        if (inPrefix(h, base.af, base.value, length)) hit = true;
      }
    }
  }
  return spec.negate ? !hit : hit;
}

function flagsMatch(rule: ModelRule, packet: Packet): boolean {
  if (rule.flags === null || packet.proto !== 'tcp') return true;
  const have = new Set(packet.tcpFlags ?? 'S');
  const masked = [...rule.flags.mask].filter((f) => have.has(f)).sort().join('');
  return masked === [...rule.flags.set].sort().join('');
}

/** Every test of pf_match_rule before `probability`. */
function matchesBeforeProbability(rule: ModelRule, packet: Packet, ctx: Context, env: Environment): boolean {
  if (rule.on !== null) {
    const member = interfaceMembers(env, rule.on.name).includes(packet.ifname) || rule.on.name === packet.ifname;
    if (member === rule.on.negate) return false;
  }
  if (rule.direction !== null && rule.direction !== packet.dir) return false;
  if (rule.af !== null && rule.af !== packet.af) return false;
  if (rule.protos !== null && !rule.protos.includes(packet.proto)) return false;
  if (!addressMatches(rule.from, ctx.nsaddr, env)) return false;
  if (!addressMatches(rule.to, ctx.ndaddr, env)) return false;
  if (!flagsMatch(rule, packet)) return false;
  const ported = packet.proto === 'tcp' || packet.proto === 'udp';
  if (rule.fromPort !== null && !(ported && ctx.nsport !== null && ctx.nsport >= rule.fromPort.low && ctx.nsport <= rule.fromPort.high)) return false;
  const dport = ctx.ndport;
  if (rule.toPort !== null && !(ported && dport !== null && dport >= rule.toPort.low && dport <= rule.toPort.high)) return false;
  if (rule.icmpType !== null && rule.icmpType !== packet.icmpType) return false;
  if (rule.user !== null && rule.user !== packet.user) return false;
  return true;
}

function taggedMatches(rule: ModelRule, ctx: Context): boolean {
  return rule.tagged === null || rule.tagged === ctx.tag;
}

/** A translation pool's address (pf_map_addr for one host or `(if)`), null when the interface has none of the family. */
function poolAddress(spec: AddressSpec, rule: ModelRule, packet: Packet, env: Environment): Host | null {
  if (spec.kind === 'prefix') return { af: spec.af, value: spec.value };
  if (spec.kind === 'dynamic') {
    const first = interfaceMembers(env, spec.ifname)
      .flatMap((ifname) => env.interfaces[ifname]!.addresses)
      .map((a) => host(a.split('/')[0]!))
      .find((h) => h.af === packet.af);
    return first ?? null;
  }
  throw new Error(`translation to any: ${rule.text}`);
}

/** pf_get_transaddr: `nat-to` first, then `rdr-to`, each when the rule has it. */
function translate(rule: ModelRule, packet: Packet, ctx: Context, env: Environment): Context {
  let next = rule.natTo === null ? ctx : translateSource(rule, packet, ctx, env);
  if (rule.rdrTo !== null && !next.failed) next = redirect(rule, packet, next, env);
  return next;
}

/** The `rdr-to` half: the pool's address, the port mapped as pf_get_transaddr maps it. */
function redirect(rule: ModelRule, packet: Packet, ctx: Context, env: Environment): Context {
  const rdr = rule.rdrTo!;
  const address = poolAddress(rdr.address, rule, packet, env);
  if (address === null) return { ...ctx, failed: true, done: true };
  let port = ctx.ndport;
  if (rdr.high !== 0 && port !== null) {
    const div = rdr.high - rdr.low + 1;
    let mapped = ((port - (rule.toPort?.low ?? 0)) % div) + rdr.low;
    if (mapped > 65535) mapped -= 65535;
    port = mapped;
  } else if (rdr.low !== 0) port = rdr.low;
  return { ...ctx, ndaddr: address, ndport: port };
}

/** The `nat-to` half: the pool's address, a port from the allocator. */
function translateSource(rule: ModelRule, packet: Packet, ctx: Context, env: Environment): Context {
  const nat = rule.natTo!;
  const address = poolAddress(nat.address, rule, packet, env);
  if (address === null) return { ...ctx, failed: true, done: true };
  const translation: Translation = { address: addressText(address), low: nat.low, high: nat.high, mapePortset: nat.mapePortset };
  let port: number | null = null;
  if (env.ports !== undefined) {
    port = env.ports.allocate({
      proto: packet.proto,
      icmpEcho: packet.proto === 'icmp' && packet.icmpType === 'echoreq',
      natAddress: translation.address,
      dst: packet.dst,
      dstPort: packet.dstPort ?? null,
      srcPort: ctx.nsport,
      low: nat.low,
      high: nat.high,
      mapePortset: nat.mapePortset,
    });
    if (port === null) return { ...ctx, failed: true, done: true };
  }
  return { ...ctx, nsaddr: address, nsport: port, nat: translation, translations: ctx.translations + 1, pools: [...ctx.pools, translation] };
}

/** A rule that matched: its tag, actions, translation, decision, quick. */
function apply(rule: ModelRule, packet: Packet, ctx: Context, env: Environment, trackMatches: boolean): Context {
  let next: Context = rule.tag === null ? ctx : { ...ctx, tag: rule.tag };
  if (rule.action === 'match') {
    next = { ...next, maxMss: rule.maxMss ?? next.maxMss, matched: trackMatches ? [...next.matched, rule] : next.matched };
    if (rule.natTo !== null || rule.rdrTo !== null) next = translate(rule, packet, next, env);
  } else next = { ...next, decide: rule };
  return rule.quick ? { ...next, done: true } : next;
}

function start(packet: Packet): Context {
  return {
    nsaddr: host(packet.src),
    nsport: packet.srcPort ?? null,
    ndaddr: host(packet.dst),
    ndport: packet.dstPort ?? null,
    tag: packet.tag ?? null,
    decide: null,
    maxMss: null,
    nat: null,
    translations: 0,
    pools: [],
    failed: false,
    done: false,
    matched: [],
  };
}

function finish(ctx: Context, packet: Packet, env: Environment): Verdict {
  let c = ctx;
  const rule = c.decide;
  if (!c.failed && rule !== null) {
    if (rule.maxMss !== null) c = { ...c, maxMss: rule.maxMss };
    if (rule.natTo !== null || rule.rdrTo !== null) c = translate(rule, packet, c, env);
  }
  const source = { address: addressText(c.nsaddr), port: c.nat === null ? c.nsport : env.ports === undefined ? null : c.nsport };
  const destination = { address: addressText(c.ndaddr), port: c.ndport };
  const common = { matchRules: c.matched, source, destination, nat: c.nat, translations: c.translations, pools: c.pools, tag: c.tag, maxMss: c.maxMss };
  if (c.failed) return { ...common, action: 'block', reason: 'translate', rule, keepState: false };
  if (rule === null) return { ...common, action: 'pass', reason: 'default', rule: null, keepState: false };
  const pass = rule.action === 'pass';
  return { ...common, action: pass ? 'pass' : 'block', reason: 'rule', rule, keepState: pass && rule.keepState };
}

function skipped(ruleset: Ruleset, packet: Packet, env: Environment): Verdict | null {
  const skip = ruleset.skip.some((name) => interfaceMembers(env, name).includes(packet.ifname) || name === packet.ifname);
  if (!skip) return null;
  const source = { address: packet.src, port: packet.srcPort ?? null };
  const destination = { address: packet.dst, port: packet.dstPort ?? null };
  return { action: 'pass', reason: 'skip', rule: null, matchRules: [], source, destination, nat: null, translations: 0, pools: [], tag: packet.tag ?? null, maxMss: null, keepState: false };
}

/** pf's draw by default: arc4random_uniform(UINT_MAX - 1) + 1. */
const pfDraw = (): number => randomInt(UINT_MAX - 1) + 1;

/** One evaluation of the packet, drawing each probability as pf does. */
export function evaluate(ruleset: Ruleset, packet: Packet, env: Environment): Verdict {
  const skip = skipped(ruleset, packet, env);
  if (skip !== null) return skip;
  const steps = program(ruleset);
  const draw = env.draw ?? pfDraw;
  let ctx = start(packet);
  let pc = 0;
  while (pc < steps.length && !ctx.done) {
    const step = steps[pc]!;
    if (step.kind === 'leave') {
      pc++;
      continue;
    }
    const rule = step.rule;
    let hit = matchesBeforeProbability(rule, packet, ctx, env);
    if (hit && rule.probability !== null) hit = !(rule.probability <= draw());
    hit = hit && taggedMatches(rule, ctx);
    if (step.kind === 'enter') {
      if (!hit) pc = step.skipTo;
      else {
        if (rule.tag !== null) ctx = { ...ctx, tag: rule.tag };
        pc++;
      }
      continue;
    }
    if (hit) ctx = apply(rule, packet, ctx, env, true);
    pc++;
  }
  return finish(ctx, packet, env);
}

export interface Outcome {
  readonly chance: Fraction;
  readonly verdict: Verdict;
}

const contextKey = (c: Context): string =>
  JSON.stringify([String(c.nsaddr.value), c.nsport, String(c.ndaddr.value), c.ndport, c.tag, c.decide?.text ?? null, c.decide?.ruleset ?? null, c.maxMss, c.nat, c.pools, c.failed, c.done]);

/**
 * Every distinct verdict for the packet with its exact chance: each
 * `probability` rule is followed both ways, matching with (s − 1)/(2^32 − 2),
 * and branches that reach the same state are merged, so a chain of n
 * probability rules costs n states, not 2^n. The chances add up to 1.
 */
export function outcomes(ruleset: Ruleset, packet: Packet, env: Environment): Outcome[] {
  const skip = skipped(ruleset, packet, env);
  if (skip !== null) return [{ chance: ONE, verdict: skip }];
  if (env.ports !== undefined) throw new Error('outcomes() follows every branch: give it no port allocator');
  const steps = program(ruleset);
  // A chance is num / D^e with D = 2^32 − 2, pf's number of draws: products
  // of probabilities stay exact without reducing fractions on every step.
  type Chance = { readonly num: bigint; readonly e: number };
  const D = PF_PROBABILITY_DRAWS;
  const add = (a: Chance, b: Chance): Chance =>
    a.e >= b.e ? { num: a.num + b.num * D ** BigInt(a.e - b.e), e: a.e } : { num: b.num + a.num * D ** BigInt(b.e - a.e), e: b.e };
  // Branches waiting at each program counter, merged by state.
  const waiting = new Map<number, Map<string, { ctx: Context; chance: Chance }>>();
  const finished = new Map<string, { chance: Chance; verdict: Verdict }>();
  const put = (pc: number, ctx: Context, chance: Chance): void => {
    if (chance.num === 0n) return;
    const key = contextKey(ctx);
    if (ctx.done || pc >= steps.length) {
      const seen = finished.get(key);
      finished.set(key, { chance: seen === undefined ? chance : add(seen.chance, chance), verdict: seen?.verdict ?? finish(ctx, packet, env) });
      return;
    }
    let at = waiting.get(pc);
    if (at === undefined) waiting.set(pc, (at = new Map()));
    const seen = at.get(key);
    at.set(key, { ctx, chance: seen === undefined ? chance : add(seen.chance, chance) });
  };
  put(0, start(packet), { num: 1n, e: 0 });
  for (let pc = 0; pc < steps.length; pc++) {
    const here = waiting.get(pc);
    if (here === undefined) continue;
    waiting.delete(pc);
    const step = steps[pc]!;
    for (const { ctx, chance } of here.values()) {
      if (step.kind === 'leave') {
        put(pc + 1, ctx, chance);
        continue;
      }
      const rule = step.rule;
      const candidate = matchesBeforeProbability(rule, packet, ctx, env) && taggedMatches(rule, ctx);
      const hit: Context = step.kind === 'enter' ? (rule.tag === null ? ctx : { ...ctx, tag: rule.tag }) : candidate ? apply(rule, packet, ctx, env, false) : ctx;
      const missAt = step.kind === 'enter' ? step.skipTo : pc + 1;
      if (!candidate) put(missAt, ctx, chance);
      else if (rule.probability === null) put(pc + 1, hit, chance);
      else {
        // Matches for the draws 1 .. s − 1 of 1 .. UINT_MAX − 1.
        const s = BigInt(rule.probability) - 1n;
        put(pc + 1, hit, { num: chance.num * s, e: chance.e + 1 });
        put(missAt, ctx, { num: chance.num * (D - s), e: chance.e + 1 });
      }
    }
  }
  return [...finished.values()].map(({ chance, verdict }) => ({ chance: new Fraction(chance.num, D ** BigInt(chance.e)), verdict }));
}
