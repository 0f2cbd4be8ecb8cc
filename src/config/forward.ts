/**
 * `forward tcp|udp|tcp-udp port <p>[:<q>] to <address> [port <r>]`
 * (maped.conf(5)): inbound port forwarding to a LAN host. The raw form the
 * parser reads, its zod schema, and its canonical text for `maped -nv`.
 */
import { z } from 'zod';
import { parseIpv4 } from '../map/index.js';
import { describeForward, forwardProtocols } from '../openbsd/forwards.js';
import type { Forward, ForwardProto } from './types.js';

export const FORWARD_PROTOS = ['tcp', 'udp', 'tcp-udp'] as const satisfies readonly ForwardProto[];

/**
 * Each forward becomes one or two pf rules; a MAP-E port set has at most a
 * few thousand ports, and a list longer than this is a mistake, not a plan.
 */
export const MAX_FORWARDS = 256;

export interface RawForward {
  proto: ForwardProto;
  /** As written: `5000` or `5000:5009`. */
  ports: string;
  to: string;
  toPort: number | null;
}

const PORTS = /^([0-9]{1,5})(?::([0-9]{1,5}))?$/;

/** Why an IPv4 address cannot receive forwarded connections, or null. */
function notLanHost(address: number): string | null {
  const first = address >>> 24;
  if (first === 0) return 'in 0.0.0.0/8 ("this network")';
  if (first === 127) return 'a loopback address';
  if (first >= 224 && first < 240) return 'a multicast address';
  if (first >= 240) return 'a reserved or broadcast address';
  return null;
}

const rawForwardSchema = z.object({ proto: z.enum(FORWARD_PROTOS), ports: z.string(), to: z.string(), toPort: z.number().int().nullable() });

/** A forward as written, checked and turned into numbers; each refusal names the token it is about. */
export const forwardSchema = rawForwardSchema.transform((raw, ctx): Forward => {
  const m = PORTS.exec(raw.ports);
  const first = m === null ? NaN : Number(m[1]);
  const last = m === null ? NaN : Number(m[2] ?? m[1]);
  const fail = (path: string, message: string): never => {
    ctx.addIssue({ code: 'custom', path: [path], message });
    return z.NEVER as never;
  };
  if (m === null) return fail('ports', `forward: "${raw.ports}" is not a port or a range first:last`);
  for (const port of [first, last]) if (port < 1 || port > 65535) return fail('ports', `forward: port ${port} out of range (1-65535)`);
  if (first > last) return fail('ports', `forward: port range ${raw.ports} runs backwards`);
  const address = parseIpv4(raw.to);
  if (!address.ok) return fail('to', `forward: invalid IPv4 address "${raw.to}": ${address.error}`);
  const reason = notLanHost(address.value);
  if (reason !== null) return fail('to', `forward: ${raw.to} is ${reason}, not a host to forward to`);
  if (raw.toPort !== null) {
    const end = raw.toPort + last - first;
    if (raw.toPort < 1 || end > 65535) {
      return fail('toPort', `forward: target port ${raw.toPort}${last > first ? `:${end}` : ''} out of range (1-65535)`);
    }
  }
  return { proto: raw.proto, ports: [first, last], to: address.value, toPort: raw.toPort };
});

/**
 * The first port two forwards both take for the same protocol, or null:
 * pf would send such a connection to whichever rule comes first, silently.
 */
export function forwardOverlap(a: Forward, b: Forward): number | null {
  const shared = forwardProtocols(a.proto).some((p) => forwardProtocols(b.proto).includes(p));
  if (!shared) return null;
  const start = Math.max(a.ports[0], b.ports[0]);
  return start <= Math.min(a.ports[1], b.ports[1]) ? start : null;
}

/** The canonical statement, as `maped -nv` prints it. */
export function printForward(forward: Forward): string {
  return `forward ${describeForward(forward)}`;
}
