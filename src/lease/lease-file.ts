/**
 * `/var/db/dhcp6leased/<wan>` as text → prefixes and Softwire46 options.
 *
 * Line shapes (one per line; blank lines and `#` comments as parse_lease.y
 * allows them):
 *   ia_pd <ia> <prefix> <len>            stock dhcp6leased (dhcp6leased.c 1.20 write_lease_file)
 *   s46 <94|95|96> "<hex payload>"       our dhcp6leased patch (docs/architecture.md §3.5);
 *                                        its first revision wrote the hex unquoted
 *   mape_br / mape_rule / mape_portparams   the Perl maped patch (compat-mape.ts)
 *
 * Choice: a file with any bad line is refused as a whole, with the first
 * problem as `path:line: reason`. dhcp6leased writes the file in one
 * rename, so one bad line means the writer or the disk is wrong, and the
 * caller is better off keeping its last good lease than acting on part of a
 * file. The same goes for rules without a delegated prefix to apply them
 * to. A file with no line at all is a valid, empty lease.
 */
import { decodeContainer, parseHex, withContainers, type S46Container, type S46Options } from '../dhcpv6/index.js';
import { err, ok, parseIpv6Prefix, shown, type Ipv6Prefix, type Result } from '../map/index.js';
import { compatBr, compatPortParams, compatRule, CompatMapEDomain, field, wholeNumber } from './compat-mape.js';

export interface LeasePrefix {
  /** The IA_PD number, the order of `request prefix delegation` lines in dhcp6leased.conf. */
  readonly ia: number;
  readonly prefix: Ipv6Prefix;
}

export interface LeaseFile {
  readonly prefixes: readonly LeasePrefix[];
  /** From `s46` lines in file order, then the domain the `mape_*` lines form, if any. */
  readonly s46: S46Options;
}

/**
 * dhcp6leased's LEASE_SIZE is 4096; our patch raises it to 8192 for the
 * `s46` lines (at most 1024 payload bytes each). Anything far larger is not
 * a lease file.
 */
export const MAX_LEASE_FILE_BYTES = 65536;

/** dhcp6leased.h MAX_IA is 32, IA numbers 0..31. */
const IA = wholeNumber('IA number', 0, 31);
/** parse_lease.y: prefix length 1..128. */
const PD_LENGTH = wholeNumber('prefix length', 1, 128);
const CONTAINER_CODE = wholeNumber('S46 option code', 94, 96);

type LineResult = string | null;

/**
 * One Softwire46 container as our dhcp6leased patch writes it: the option
 * code and the payload in hex, in the lease file (`s46 94 0059…`) and in
 * `dhcp6leasectl -l` (`S46 94: 0059…`). `label` starts each error.
 */
export function decodeS46Text(label: string, codeText: string | undefined, hexText: string | undefined): Result<S46Container> {
  const code = field(CONTAINER_CODE, codeText);
  if (!code.ok) return code;
  const payload = parseHex(hexText ?? '');
  if (!payload.ok) return err(`${label} ${code.value}: bad hex: ${payload.error}`);
  const container = decodeContainer(code.value, payload.value);
  if (!container.ok) return err(`${label} ${code.value}: ${container.error}`);
  return container;
}

export function parseLeaseFile(text: string, path: string): Result<LeaseFile> {
  if (text.length > MAX_LEASE_FILE_BYTES) return err(`${path}: larger than ${MAX_LEASE_FILE_BYTES} bytes, not a lease file`);
  const prefixes: LeasePrefix[] = [];
  const containers: S46Container[] = [];
  const compat = new CompatMapEDomain();
  let firstRuleLine = 0;

  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const content = (lines[index] ?? '').replace(/#.*$/, '').trim();
    if (content === '') continue;
    const words = content.split(/\s+/);
    const keyword = words[0] ?? '';
    const problem = ((): LineResult => {
      const expect = (count: number): LineResult =>
        words.length === count ? null : `${keyword} takes ${count - 1} fields, found ${words.length - 1}`;
      switch (keyword) {
        case 'ia_pd': {
          const shape = expect(4);
          if (shape !== null) return shape;
          const ia = field(IA, words[1]);
          if (!ia.ok) return ia.error;
          const length = field(PD_LENGTH, words[3]);
          if (!length.ok) return length.error;
          const prefix = parseIpv6Prefix(`${words[2] ?? ''}/${length.value}`);
          if (!prefix.ok) return `ia_pd prefix: ${prefix.error}`;
          if (prefixes.some((p) => p.ia === ia.value)) return `ia_pd ${ia.value} given twice`;
          prefixes.push({ ia: ia.value, prefix: prefix.value });
          return null;
        }
        case 's46': {
          const shape = expect(3);
          if (shape !== null) return shape;
          // Quoted since the patch stopped teaching parse_lease.y's lexer that
          // an all-digit payload is a string; both forms are read.
          const container = decodeS46Text('s46', words[1], /^"[^"]*"$/.test(words[2]!) ? words[2]!.slice(1, -1) : words[2]);
          if (!container.ok) return container.error;
          containers.push(container.value);
          firstRuleLine ||= lineNumber;
          return null;
        }
        case 'mape_br': {
          const shape = expect(2);
          if (shape !== null) return shape;
          const br = compatBr(words[1]);
          if (!br.ok) return `mape_br: ${br.error}`;
          const added = compat.addBr(br.value);
          return added === null ? null : `mape_br: ${added}`;
        }
        case 'mape_rule': {
          if (words.length < 7) {
            return words.length < 6 ? `mape_rule takes 6 fields, found ${words.length - 1}` : 'mape_rule: rule without an IPv6 prefix length';
          }
          const shape = expect(7);
          if (shape !== null) return shape;
          const rule = compatRule(words[1], words[2], words[3], words[4], words[5], words[6]);
          if (!rule.ok) return `mape_rule: ${rule.error}`;
          firstRuleLine ||= lineNumber;
          const added = compat.addRule(rule.value);
          return added === null ? null : `mape_rule: ${added}`;
        }
        case 'mape_portparams': {
          const shape = expect(4);
          if (shape !== null) return shape;
          const portParams = compatPortParams(words[1], words[2], words[3]);
          if (!portParams.ok) return `mape_portparams: ${portParams.error}`;
          const added = compat.addPortParams(portParams.value);
          return added === null ? null : `mape_portparams: ${added}`;
        }
        default:
          return `unknown keyword '${shown(keyword, 40)}'`;
      }
    })();
    if (problem !== null) return err(`${path}:${lineNumber}: ${problem}`);
  }

  const domain = compat.finish();
  if (!domain.ok) return err(`${path}: ${domain.error}`);
  if (domain.value !== null) containers.push({ kind: 'mapE', domain: domain.value });
  if (containers.length > 0 && prefixes.length === 0) {
    return err(`${path}:${firstRuleLine || 1}: MAP rules but no ia_pd line: no delegated prefix to apply them to`);
  }
  return ok({ prefixes, s46: withContainers({ mapE: [], mapT: [], lw4o6: [] }, containers) });
}
