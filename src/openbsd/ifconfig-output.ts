/**
 * `ifconfig <if>` and `ifconfig -a` output (sbin/ifconfig/ifconfig.c): the header line
 * `gif0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1460`, then
 * tab-indented lines, of which maped reads
 * - `tunnel: inet6 <src> --> <dst> ttl 64 nodf ecn` (`phys_status`; `(unset)` without a
 *   tunnel; `df` or `nodf` whenever the SIOCGLIFPHYDF ioctl answers, as gif(4)'s does),
 * - `inet <addr> --> <peer> netmask 0xffffffff` (`in_status`),
 * - `inet6 <addr>[%if] [--> <peer>] prefixlen <n> [flags…]` (`in6_alias`).
 */
import { err, ok, parseIpv4, parseIpv6, type Result } from '../map/index.js';

export interface InetAddress {
  readonly address: number;
  readonly peer: number | null;
  readonly netmask: number;
}

export interface Inet6Address {
  readonly address: bigint;
  readonly prefixlen: number;
  /** e.g. `autoconf`, `tentative`, `deprecated`. */
  readonly flags: readonly string[];
}

export interface InterfaceStatus {
  readonly name: string;
  readonly flags: readonly string[];
  readonly mtu: number;
  readonly tunnel: { readonly source: bigint; readonly destination: bigint } | null;
  /** The outer packets get DF (`tunneldf`); null when the tunnel line does not say. */
  readonly tunnelDf: boolean | null;
  readonly inet: readonly InetAddress[];
  readonly inet6: readonly Inet6Address[];
}

const HEADER = /^([a-z]+[0-9]+): flags=[0-9a-f]+<([A-Z0-9_,]*)> mtu ([0-9]+)\s*$/;

/**
 * `ifconfig -a` prints every interface, each a header line at the start of a
 * line followed by its indented lines. Only the blocks asked for are parsed,
 * so an interface maped knows nothing about (wg0, trunk0, ...) cannot make a
 * reading fail; one not present is null, as `ifconfig <if>` would say
 * "no such interface".
 */
export function parseIfconfigAll(text: string, names: readonly string[]): Result<Map<string, InterfaceStatus | null>> {
  const blocks = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of text.split('\n')) {
    const header = /^(\S+): flags=/.exec(line);
    if (header !== null) {
      current = [];
      blocks.set(header[1]!, current);
    }
    current?.push(line);
  }
  const found = new Map<string, InterfaceStatus | null>();
  for (const name of names) {
    const block = blocks.get(name);
    if (block === undefined) {
      found.set(name, null);
      continue;
    }
    const parsed = parseIfconfig(block.join('\n'));
    if (!parsed.ok) return err(`${name}: ${parsed.error}`);
    found.set(name, parsed.value);
  }
  return ok(found);
}

export function parseIfconfig(text: string): Result<InterfaceStatus> {
  const lines = text.split('\n');
  const header = HEADER.exec(lines[0] ?? '');
  if (header === null) return err(`ifconfig output: unexpected first line "${lines[0] ?? ''}"`);
  const name = header[1]!;
  const flags = header[2] === '' ? [] : header[2]!.split(',');
  const mtu = Number(header[3]);
  let tunnel: InterfaceStatus['tunnel'] = null;
  let tunnelDf: boolean | null = null;
  const inet: InetAddress[] = [];
  const inet6: Inet6Address[] = [];

  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '') continue;
    const words = line.split(/\s+/);
    const where = `ifconfig ${name} output line ${n + 1}`;
    if (words[0] === 'tunnel:') {
      if (words.includes('df')) tunnelDf = true;
      else if (words.includes('nodf')) tunnelDf = false;
      if (words[1] === '(unset)') continue;
      if (words[1] !== 'inet6' || words[3] !== '-->') {
        // An IPv4 tunnel is not ours: report it as "some other tunnel" by address 0.
        tunnel = { source: 0n, destination: 0n };
        continue;
      }
      const source = parseIpv6(words[2] ?? '');
      const destination = parseIpv6(words[4] ?? '');
      if (!source.ok || !destination.ok) return err(`${where}: bad tunnel addresses`);
      tunnel = { source: source.value, destination: destination.value };
    } else if (words[0] === 'inet') {
      const address = parseIpv4(words[1] ?? '');
      if (!address.ok) return err(`${where}: bad inet address "${words[1] ?? ''}"`);
      let peer: number | null = null;
      let at = 2;
      if (words[at] === '-->') {
        const p = parseIpv4(words[at + 1] ?? '');
        if (!p.ok) return err(`${where}: bad inet peer "${words[at + 1] ?? ''}"`);
        peer = p.value;
        at += 2;
      }
      if (words[at] !== 'netmask' || !/^0x[0-9a-f]{8}$/.test(words[at + 1] ?? '')) return err(`${where}: no netmask`);
      inet.push({ address: address.value, peer, netmask: Number.parseInt(words[at + 1]!.slice(2), 16) });
    } else if (words[0] === 'inet6') {
      const text6 = (words[1] ?? '').split('%')[0]!;
      const address = parseIpv6(text6);
      if (!address.ok) return err(`${where}: bad inet6 address "${words[1] ?? ''}"`);
      let at = 2;
      if (words[at] === '-->') at += 2;
      if (words[at] !== 'prefixlen' || !/^[0-9]+$/.test(words[at + 1] ?? '')) return err(`${where}: no prefixlen`);
      const rest = words.slice(at + 2);
      const addressFlags: string[] = [];
      for (let k = 0; k < rest.length; k++) {
        const word = rest[k]!;
        // `scopeid 0x1`, `pltime 604503`, `vltime 2591703` carry a value.
        if (word === 'scopeid' || word === 'pltime' || word === 'vltime') k++;
        else addressFlags.push(word);
      }
      inet6.push({ address: address.value, prefixlen: Number(words[at + 1]), flags: addressFlags });
    }
  }
  return ok({ name, flags, mtu, tunnel, tunnelDf, inet, inet6 });
}

/**
 * The link-layer address of an `ifconfig <if>` listing: the `lladdr
 * xx:xx:xx:xx:xx:xx` line (sbin/ifconfig/ifconfig.c `status`, printed from
 * the AF_LINK address), or null when the interface has none.
 */
export function parseLladdr(text: string): string | null {
  const match = /^\s+lladdr ([0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2}){5})\s*$/m.exec(text);
  return match === null ? null : match[1]!;
}
