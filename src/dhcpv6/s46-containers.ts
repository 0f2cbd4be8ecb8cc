/**
 * The three Softwire46 containers (RFC 7598 §5) and the run of top-level
 * options they arrive in.
 *
 * Which option may appear in which container, RFC 7598 §5 Table 1:
 *
 *   option          MAP-E  MAP-T  LW4o6
 *   S46_RULE         1+     1+     -
 *   S46_BR           1+     -      1+
 *   S46_DMR          -      1      -
 *   S46_V4V6BIND     -      -      0..1
 *   S46_PORTPARAMS   only inside S46_RULE / S46_V4V6BIND
 *
 * lw4o6 with several BRs: kept in order like MAP-E (the caller uses the
 * first); a reading stricter than "at least one" would refuse a reply the
 * client can still use.
 *
 * RFC 7598 §5 says a client receiving a container that breaks Table 1
 * discards the container; here that is an error naming the problem, so the
 * caller can log it and keep its last good lease (docs/architecture.md §4). An option
 * code the table does not mention is skipped (RFC 8415 §16), within the
 * container's bounds. Options 89–93 found at top level are not containers
 * and are ignored, as are all other top-level options.
 */
import { err, ok, type Ipv6Prefix, type Result } from '../map/index.js';
import {
  isS46ContainerCode,
  MAX_BRS_PER_CONTAINER,
  MAX_CONTAINERS,
  MAX_RULES_PER_CONTAINER,
  OPTION_S46_BR,
  OPTION_S46_CONT_LW,
  OPTION_S46_CONT_MAPE,
  OPTION_S46_CONT_MAPT,
  OPTION_S46_DMR,
  OPTION_S46_PORTPARAMS,
  OPTION_S46_RULE,
  OPTION_S46_V4V6BIND,
  optionName,
} from './option-codes.js';
import { splitOptions, type RawOption } from './option-list.js';
import { decodeBinding, decodeBr, decodeDmr, decodeRule } from './s46-fields.js';
import { withContainers, type Lw4o6Binding, type S46Container, type S46Options, type S46Rule } from './s46-types.js';

const KIND_TEXT = { [OPTION_S46_CONT_MAPE]: 'MAP-E', [OPTION_S46_CONT_MAPT]: 'MAP-T', [OPTION_S46_CONT_LW]: 'lw4o6' } as const;

/** Which of the known options each container admits at its own level (Table 1). */
const ADMITS: Readonly<Record<number, ReadonlySet<number>>> = {
  [OPTION_S46_CONT_MAPE]: new Set([OPTION_S46_RULE, OPTION_S46_BR]),
  [OPTION_S46_CONT_MAPT]: new Set([OPTION_S46_RULE, OPTION_S46_DMR]),
  [OPTION_S46_CONT_LW]: new Set([OPTION_S46_BR, OPTION_S46_V4V6BIND]),
};

const KNOWN = new Set([
  OPTION_S46_RULE,
  OPTION_S46_BR,
  OPTION_S46_DMR,
  OPTION_S46_V4V6BIND,
  OPTION_S46_PORTPARAMS,
  OPTION_S46_CONT_MAPE,
  OPTION_S46_CONT_MAPT,
  OPTION_S46_CONT_LW,
]);

function decodeContainerOption(bytes: Uint8Array, container: RawOption): Result<S46Container> {
  const code = container.code;
  if (!isS46ContainerCode(code)) return err(`${optionName(code)} is not a Softwire46 container (94, 95 or 96)`);
  const where = `${optionName(code)} at byte ${container.at}`;
  const kind = KIND_TEXT[code];
  if (container.end === container.start) {
    const needs = code === OPTION_S46_CONT_MAPE ? 'no S46_RULE, no S46_BR' : code === OPTION_S46_CONT_MAPT ? 'no S46_RULE, no S46_DMR' : 'no S46_BR';
    return err(`${where}: empty ${kind} container (${needs})`);
  }
  const sub = splitOptions(bytes, container.start, container.end, where);
  if (!sub.ok) return sub;

  const rules: S46Rule[] = [];
  const br: bigint[] = [];
  const dmrs: Ipv6Prefix[] = [];
  const bindings: Lw4o6Binding[] = [];
  const admits = ADMITS[code] ?? new Set<number>();
  for (const option of sub.value) {
    if (!KNOWN.has(option.code)) continue;
    if (!admits.has(option.code)) {
      return err(`${where}: ${optionName(option.code)} at byte ${option.at} is not permitted in a ${kind} container (RFC 7598 §5 Table 1)`);
    }
    switch (option.code) {
      case OPTION_S46_RULE: {
        if (rules.length >= MAX_RULES_PER_CONTAINER) return err(`${where}: more than ${MAX_RULES_PER_CONTAINER} S46_RULE options`);
        const rule = decodeRule(bytes, option);
        if (!rule.ok) return err(`${where}: ${rule.error}`);
        rules.push(rule.value);
        break;
      }
      case OPTION_S46_BR: {
        if (br.length >= MAX_BRS_PER_CONTAINER) return err(`${where}: more than ${MAX_BRS_PER_CONTAINER} S46_BR options`);
        const address = decodeBr(bytes, option);
        if (!address.ok) return err(`${where}: ${address.error}`);
        br.push(address.value);
        break;
      }
      case OPTION_S46_DMR: {
        // RFC 7598 §5.2: exactly one DMR.
        if (dmrs.length > 0) return err(`${where}: more than one S46_DMR (RFC 7598 §5.2 allows exactly one)`);
        const dmr = decodeDmr(bytes, option);
        if (!dmr.ok) return err(`${where}: ${dmr.error}`);
        dmrs.push(dmr.value);
        break;
      }
      case OPTION_S46_V4V6BIND: {
        // RFC 7598 §5.3: at most one binding.
        if (bindings.length > 0) return err(`${where}: more than one S46_V4V6BIND (RFC 7598 §5.3 allows at most one)`);
        const binding = decodeBinding(bytes, option);
        if (!binding.ok) return err(`${where}: ${binding.error}`);
        bindings.push(binding.value);
        break;
      }
    }
  }

  if (code === OPTION_S46_CONT_MAPE) {
    if (rules.length === 0) return err(`${where}: MAP-E container has no S46_RULE (RFC 7598 §5.1 requires one or more)`);
    if (br.length === 0) return err(`${where}: MAP-E container has no S46_BR (RFC 7598 §5.1 requires one or more)`);
    return ok({ kind: 'mapE', domain: { rules, br } });
  }
  if (code === OPTION_S46_CONT_MAPT) {
    const dmr = dmrs[0];
    if (rules.length === 0) return err(`${where}: MAP-T container has no S46_RULE (RFC 7598 §5.2 requires one or more)`);
    if (dmr === undefined) return err(`${where}: MAP-T container has no S46_DMR (RFC 7598 §5.2 requires exactly one)`);
    return ok({ kind: 'mapT', domain: { rules, dmr } });
  }
  if (br.length === 0) return err(`${where}: lw4o6 container has no S46_BR (RFC 7598 §5.3 requires one)`);
  return ok({ kind: 'lw4o6', domain: { br, bindings } });
}

/**
 * One container's payload (the option-data of option `code`, without the
 * 4-byte header), as our dhcp6leased patch writes it to the lease file
 * (`s46 <code> "<hex>"`). Byte positions in errors count from the option
 * header that is put back in front, so payload byte 0 is byte 4.
 */
export function decodeContainer(code: number, payload: Uint8Array): Result<S46Container> {
  if (!isS46ContainerCode(code)) return err(`option ${code} is not a Softwire46 container (94, 95 or 96)`);
  if (payload.length > 0xffff) return err(`${optionName(code)}: payload of ${payload.length} bytes exceeds the 16-bit option-length`);
  const framed = new Uint8Array(4 + payload.length);
  framed[0] = code >> 8;
  framed[1] = code & 0xff;
  framed[2] = payload.length >> 8;
  framed[3] = payload.length & 0xff;
  framed.set(payload, 4);
  return decodeContainerOption(framed, { code, at: 0, start: 4, end: framed.length });
}

/**
 * One or more whole DHCPv6 options (code, length, payload), e.g. the
 * options of a Reply. Containers are decoded in order; anything else is
 * skipped. Any malformed container makes the whole input an error.
 */
export function decodeOptions(bytes: Uint8Array): Result<S46Options> {
  const top = splitOptions(bytes, 0, bytes.length, 'options');
  if (!top.ok) return top;
  const containers: S46Container[] = [];
  for (const option of top.value) {
    if (!isS46ContainerCode(option.code)) continue;
    if (containers.length >= MAX_CONTAINERS) return err(`options: more than ${MAX_CONTAINERS} Softwire46 containers`);
    const container = decodeContainerOption(bytes, option);
    if (!container.ok) return container;
    containers.push(container.value);
  }
  return ok(withContainers({ mapE: [], mapT: [], lw4o6: [] }, containers));
}
