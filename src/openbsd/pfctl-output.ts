/**
 * `pfctl -a <anchor> -sr` output, one rule a line in pfctl_parser.c 1.352
 * `print_rule` order (lines 719-1171): action, direction (none: both), quick, `on`, af, `proto`, `all` or
 * `from … to …` with `port = p` or `port p:q`, `flags`, `probability N%`, `scrub (…)`, `label "…"`, `tag t`, `tagged t`,
 * `nat-to <pool> [port lo[:hi]] [pool type] [map-e-portset a/k/p]`, `rdr-to <host> port p[:q]`.
 * Anything else maped never writes makes the line unrecognised, which the
 * plan treats as "not our anchor content" and reloads.
 */
import type { PortRange } from '../map/index.js';
import type { NatTo, PrintedPfRule, RdrTo } from './pf-anchor.js';

export type ParsedLine = { readonly ok: true; readonly rule: PrintedPfRule } | { readonly ok: false; readonly line: string };

/** Splits on blanks, keeping `"…"` strings and `( … )` groups whole. */
function tokens(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    let end: number;
    if (c === '"') end = line.indexOf('"', i + 1);
    else if (c === '(') end = line.indexOf(')', i + 1);
    else {
      end = i;
      while (end + 1 < line.length && line[end + 1] !== ' ' && line[end + 1] !== '\t') end++;
    }
    if (end === -1) end = line.length - 1;
    out.push(line.slice(i, end + 1));
    i = end + 1;
  }
  return out;
}

const POOL_TYPES = new Set(['round-robin', 'random', 'bitmask', 'least-states', 'sticky-address']);

export function parsePfRuleLine(line: string): ParsedLine {
  const t = tokens(line.trim());
  let i = 0;
  const next = (): string | undefined => t[i++];
  const peek = (): string | undefined => t[i];
  const fail: ParsedLine = { ok: false, line };

  const action = next();
  if (action !== 'match' && action !== 'pass') return fail;
  let direction: 'in' | 'out' | null = null;
  const maybeDirection = peek();
  if (maybeDirection === 'in' || maybeDirection === 'out') {
    direction = maybeDirection;
    i++;
  }
  let quick = false;
  if (peek() === 'quick') {
    quick = true;
    i++;
  }
  if (next() !== 'on') return fail;
  const on = next();
  if (on === undefined) return fail;
  const af = next();
  if (af !== 'inet' && af !== 'inet6') return fail;
  let proto: string | null = null;
  if (peek() === 'proto') {
    i++;
    proto = next() ?? null;
    if (proto === null) return fail;
  }
  let from = 'any';
  let to = 'any';
  if (peek() === 'all') i++;
  else {
    if (next() !== 'from') return fail;
    from = next() ?? '';
    if (next() !== 'to') return fail;
    to = next() ?? '';
    if (from === '' || to === '' || from === '!' || to === '!') return fail;
  }
  // print_port: `port = N` (PF_OP_EQ) or `port N:M` (PF_OP_RRG).
  let toPort: PortRange | null = null;
  if (peek() === 'port') {
    i++;
    let word = next();
    if (word === '=') word = next();
    const m = /^([0-9]+)(?::([0-9]+))?$/.exec(word ?? '');
    if (m === null) return fail;
    toPort = [Number(m[1]), Number(m[2] ?? m[1])];
  }
  let flags: string | null = null;
  let probability: string | null = null;
  let maxMss: number | null = null;
  let label: string | null = null;
  let tag: string | null = null;
  let tagged: string | null = null;
  let natTo: NatTo | null = null;
  let rdrTo: RdrTo | null = null;
  while (i < t.length) {
    const word = next()!;
    if (word === 'flags') {
      flags = next() ?? null;
      if (flags === null) return fail;
    } else if (word === 'probability') {
      probability = next() ?? null;
      if (probability === null || !/^[0-9.]+%$/.test(probability)) return fail;
    } else if (word === 'scrub') {
      const group = next();
      const m = group === undefined ? null : /^\(max-mss ([0-9]+)\)$/.exec(group);
      if (m === null) return fail;
      maxMss = Number(m[1]);
    } else if (word === 'label') {
      const quoted = next();
      if (quoted === undefined || !/^".*"$/.test(quoted)) return fail;
      label = quoted.slice(1, -1);
    } else if (word === 'tag' || word === 'tagged') {
      // print_rule: `printf(" tag %s", r->tagname)`, unquoted.
      const name = next();
      if (name === undefined || !/^[A-Za-z0-9_.-]+$/.test(name)) return fail;
      if (word === 'tag') tag = name;
      else tagged = name;
    } else if (word === 'nat-to') {
      const address = next();
      if (address === undefined) return fail;
      let ports: readonly [number, number] | null = null;
      let mapePortset: readonly [number, number, number] | null = null;
      while (i < t.length) {
        const option = peek()!;
        if (option === 'port') {
          i++;
          const m = /^([0-9]+)(?::([0-9]+))?$/.exec(next() ?? '');
          if (m === null) return fail;
          ports = [Number(m[1]), Number(m[2] ?? m[1])];
        } else if (option === 'map-e-portset') {
          i++;
          const m = /^([0-9]+)\/([0-9]+)\/([0-9]+)$/.exec(next() ?? '');
          if (m === null) return fail;
          mapePortset = [Number(m[1]), Number(m[2]), Number(m[3])];
        } else if (POOL_TYPES.has(option)) {
          // pfctl makes `(if)` pools round-robin by itself (parse.y, DYNIF_MULTIADDR).
          i++;
        } else break;
      }
      natTo = { address, ports, mapePortset };
    } else if (word === 'rdr-to') {
      const address = next();
      if (address === undefined || next() !== 'port') return fail;
      const m = /^([0-9]+)(?::([0-9]+))?$/.exec(next() ?? '');
      if (m === null) return fail;
      rdrTo = { address, ports: [Number(m[1]), Number(m[2] ?? m[1])] };
    } else return fail;
  }
  return { ok: true, rule: { action, direction, quick, on, af, proto, from, to, toPort, flags, maxMss, label, tag, tagged, natTo, rdrTo, probability } };
}

export interface AnchorListing {
  readonly rules: readonly PrintedPfRule[];
  /** Lines that are not rules maped writes (someone else's, or a format we do not know). */
  readonly foreign: readonly string[];
}

export function parsePfctlRules(text: string): AnchorListing {
  const rules: PrintedPfRule[] = [];
  const foreign: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const parsed = parsePfRuleLine(line);
    if (parsed.ok) rules.push(parsed.rule);
    else foreign.push(line);
  }
  return { rules, foreign };
}

/**
 * What `pfctl -a <anchor> -sr` warned about while still exiting 0: main
 * ignores pfctl_show_rules()'s -1 (sbin/pfctl/pfctl.c 1.397 lines
 * 2808-2812), after which a failed DIOCGETRULES was printed as
 * `warnx("%s", pf_strerror(errno))` (lines 894-899). pf_strerror says
 * "Anchor does not exist" for EINVAL and ENOENT (lines 3021-3032), which
 * DIOCGETRULES answers for an anchor nothing loaded and the main ruleset
 * does not call, and strerror(3) otherwise (an ioctl the kernel does not
 * know: "Permission denied", src/openbsd/portset-probe.ts).
 */
export type PfctlShowWarning = 'no-anchor' | { readonly error: string } | null;

export function pfctlShowWarning(stderr: string): PfctlShowWarning {
  const line = /^pfctl: (.*)$/m.exec(stderr)?.[1];
  if (line === undefined) return null;
  return line === 'Anchor does not exist' ? 'no-anchor' : { error: line };
}
