/**
 * The JSON view of decoded Softwire46 options: exactly the `--json` output
 * of `mapedctl decode` and the `decode` objects of test/vectors/s46.jsonl.
 */
import { formatIpv4, formatIpv4Prefix, formatIpv6, formatIpv6Prefix } from '../map/index.js';
import type { S46Options, S46PortParams, S46Rule } from './s46-types.js';

export interface PortParamsJson {
  psidOffset: number;
  psidLen: number;
  psid: number;
}

export interface RuleJson {
  fmr: boolean;
  eaLen: number;
  ipv4Prefix: string;
  ipv6Prefix: string;
  portParams: PortParamsJson | null;
}

export interface DecodeJson {
  mapE: { rules: RuleJson[]; br: string[] }[];
  mapT: { rules: RuleJson[]; dmr: string }[];
  lw4o6: { br: string[]; bindings: { ipv4: string; bindPrefix: string; portParams: PortParamsJson | null }[] }[];
}

function portParamsJson(p: S46PortParams | null): PortParamsJson | null {
  return p === null ? null : { psidOffset: p.psidOffset, psidLen: p.psidLen, psid: p.psid };
}

export function ruleJson(rule: S46Rule): RuleJson {
  return {
    fmr: rule.fmr,
    eaLen: rule.eaLen,
    ipv4Prefix: formatIpv4Prefix(rule.ipv4Prefix),
    ipv6Prefix: formatIpv6Prefix(rule.ipv6Prefix),
    portParams: portParamsJson(rule.portParams),
  };
}

export function toDecodeJson(options: S46Options): DecodeJson {
  return {
    mapE: options.mapE.map((d) => ({ rules: d.rules.map(ruleJson), br: d.br.map(formatIpv6) })),
    mapT: options.mapT.map((d) => ({ rules: d.rules.map(ruleJson), dmr: formatIpv6Prefix(d.dmr) })),
    lw4o6: options.lw4o6.map((d) => ({
      br: d.br.map(formatIpv6),
      bindings: d.bindings.map((b) => ({
        ipv4: formatIpv4(b.ipv4),
        bindPrefix: formatIpv6Prefix(b.bindPrefix),
        portParams: portParamsJson(b.portParams),
      })),
    })),
  };
}
