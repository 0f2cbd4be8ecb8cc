/**
 * A small authoritative DNS server over UDP for tests: answers from a zone the
 * test edits while it runs (TXT, AAAA, A, …), NXDOMAIN for a name it does not
 * hold, NODATA (NOERROR, no answer) for a held name without the asked type,
 * and can be told to answer SERVFAIL or to stay silent. Wire format by the
 * dns-packet library (RFC 1035 §4).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import * as packet from 'dns-packet';

export type RecordType = 'TXT' | 'AAAA' | 'A';

/** What the server does with every query, whatever the zone says. */
export type DnsMode = 'answer' | 'servfail' | 'refused' | 'silent';

export interface DnsQuery {
  readonly name: string;
  readonly type: string;
}

export interface DnsServer {
  readonly address: string;
  readonly port: number;
  /** `[address]:port`, as node:dns setServers() and maped.conf's `dns` take it. */
  readonly endpoint: string;
  /** Sets the answers of one type for a name (an empty list makes it NODATA), with their TTL (default 60 s). */
  set(name: string, type: RecordType, answers: readonly string[], ttl?: number): void;
  /** Removes a name: queries for it get NXDOMAIN. */
  remove(name: string): void;
  mode: DnsMode;
  /** Every question received, in order. */
  readonly queries: DnsQuery[];
  close(): Promise<void>;
}

const key = (name: string): string => name.toLowerCase().replace(/\.$/, '');

export async function startDnsServer(address = '::1'): Promise<DnsServer> {
  const zone = new Map<string, Map<RecordType, readonly string[]>>();
  const ttls = new Map<string, number>();
  const queries: DnsQuery[] = [];
  const socket: Socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');

  const respond = (query: packet.Packet, rinfo: RemoteInfo): void => {
    const question = query.questions?.[0];
    if (question === undefined) return;
    queries.push({ name: question.name, type: question.type });
    if (server.mode === 'silent') return;
    const held = zone.get(key(question.name));
    // RFC 1035 §4.1.1 RCODE, the low four bits of the flags: 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED.
    let rcode = 0;
    const answers: packet.Answer[] = [];
    if (server.mode === 'servfail') rcode = 2;
    else if (server.mode === 'refused') rcode = 5;
    else if (held === undefined) rcode = 3;
    else {
      for (const data of held.get(question.type as RecordType) ?? []) {
        // A TXT record given as one string is one character-string (≤ 255 bytes, RFC 1035 §3.3.14).
        const ttl = ttls.get(`${key(question.name)} ${question.type}`) ?? 60;
        answers.push({ type: question.type, name: question.name, ttl, class: 'IN', data } as packet.Answer);
      }
    }
    const reply = packet.encode({
      id: query.id ?? 0,
      type: 'response',
      flags: packet.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & packet.RECURSION_DESIRED) | rcode,
      questions: [question],
      answers,
    } as packet.Packet);
    socket.send(reply, rinfo.port, rinfo.address);
  };

  socket.on('message', (message: Buffer, rinfo: RemoteInfo) => {
    let query: packet.Packet;
    try {
      query = packet.decode(message);
    } catch {
      return;
    }
    respond(query, rinfo);
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const port = socket.address().port;

  const server: DnsServer = {
    address,
    port,
    endpoint: address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`,
    set(name, type, answers, ttl) {
      if (ttl !== undefined) ttls.set(`${key(name)} ${type}`, ttl);
      else ttls.delete(`${key(name)} ${type}`);
      const held = zone.get(key(name)) ?? new Map<RecordType, readonly string[]>();
      held.set(type, [...answers]);
      zone.set(key(name), held);
    },
    remove(name) {
      zone.delete(key(name));
    },
    mode: 'answer',
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  return server;
}
