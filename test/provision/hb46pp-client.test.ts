/**
 * The HB46PP client against real servers on ::1 started here: a DNS server
 * answering the discovery TXT record and AAAA, and HTTP and HTTPS servers
 * (certificate chain made by openssl at test time).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatIpv6 } from '../../src/map/index.js';
import { notUnicast } from '../../src/softwire/index.js';
import {
  CACHE_FILE,
  CAPABILITY,
  Hb46ppClient,
  makeDnsAsker,
  type Credentials,
  type Hb46ppSettings,
} from '../../src/provision/index.js';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';
import { makeTlsChain, type TlsChain } from '../support/tls-chain.js';
import { V6PLUS_REPLY } from './v6plus-reply.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface ProvServer {
  readonly port: number;
  handler: Handler;
  readonly requests: { url: URL; servername: string | null }[];
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
  return (server.address() as AddressInfo).port;
}

async function provServer(make: (h: Handler) => Server): Promise<ProvServer> {
  const state: ProvServer = {
    port: 0,
    handler: (_req, res) => json(res, V6PLUS_REPLY),
    requests: [],
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server = make((req, res) => {
    const servername = (req.socket as TLSSocket).servername;
    state.requests.push({ url: new URL(req.url ?? '/', 'http://x'), servername: typeof servername === 'string' ? servername : null });
    state.handler(req, res);
  });
  (state as { port: number }).port = await listen(server);
  return state;
}

function json(res: ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NOW = Date.parse('2026-01-01T00:00:00Z');

let dns: DnsServer;
let tls: TlsChain;
let plain: ProvServer;
let secure: ProvServer;
let rogue: ProvServer;
let stateDir: string;
let clients: Hb46ppClient[] = [];

beforeAll(async () => {
  tls = await makeTlsChain(['prov.test', 'other.test'], ['::1']);
  dns = await startDnsServer();
  plain = await provServer((h) => createHttpServer(h));
  secure = await provServer((h) => createHttpsServer({ key: tls.key, cert: tls.cert }, h));
  rogue = await provServer((h) => createHttpsServer({ key: tls.rogueKey, cert: tls.rogueCert }, h));
}, 120_000);

afterAll(async () => {
  await Promise.all([dns?.close(), plain?.close(), secure?.close(), rogue?.close()]);
  tls?.remove();
});

beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'maped-hb46pp-'));
  for (const server of [plain, secure, rogue]) {
    server.requests.length = 0;
    server.handler = (_req, res) => json(res, V6PLUS_REPLY);
  }
  dns.mode = 'answer';
  dns.set('prov.test', 'AAAA', ['::1']);
  dns.set('4over6.info', 'TXT', [`v=v6mig-1 url=http://[::1]:${plain.port}/config t=a`]);
});

afterEach(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  clients = [];
  rmSync(stateDir, { recursive: true, force: true });
});

/** The servers here listen on ::1, which a server found by DNS or a redirect may not have: this lets them by. */
const loopbackAllowed = (address: bigint): string | null => (address === 1n ? null : notUnicast(address));

/** `notServerAddress` null: the client's own check, which refuses ::1. */
function client(settings: Partial<Hb46ppSettings> = {}, random = 0, notServerAddress: ((address: bigint) => string | null) | null = loopbackAllowed) {
  let changes = 0;
  const warnings: string[] = [];
  const c = new Hb46ppClient({
    settings: {
      url: null,
      dns: dns.endpoint,
      identity: { vendorid: 'acde48-maped', product: 'maped', version: '0_1_0', capability: CAPABILITY },
      credentials: null,
      caFile: null,
      ...settings,
    },
    stateDir,
    onChange: () => changes++,
    log: { info: () => {}, warn: (m) => warnings.push(m) },
    userAgent: 'maped-test',
    limits: { connectTimeoutMs: 5000, totalTimeoutMs: 5000, maxBodyBytes: 64 * 1024 },
    now: () => NOW,
    random: () => random,
    ...(notServerAddress === null ? {} : { notServerAddress }),
  });
  clients.push(c);
  return { c, changes: () => changes, warnings };
}

const nextIn = (c: Hb46ppClient): number => Date.parse(c.status().nextRefreshAt ?? 'x') - NOW;

describe('HB46PP client', () => {
  it('discovers the server by TXT, asks it with the four parameters and publishes the MAP-E rules', async () => {
    const { c, changes } = client();
    await c.refresh('test');
    expect(dns.queries.some((q) => q.name === '4over6.info' && q.type === 'TXT')).toBe(true);
    expect(plain.requests).toHaveLength(1);
    expect(Object.fromEntries(plain.requests[0]!.url.searchParams)).toEqual({
      vendorid: 'acde48-maped',
      product: 'maped',
      version: '0_1_0',
      capability: 'map_e,hubspoke,lw4o6,ipip,dslite',
    });
    const snapshot = c.snapshot();
    expect(snapshot.from).toBe('server');
    expect(snapshot.softwire?.kind).toBe('map-e');
    expect(snapshot.softwire?.kind === 'map-e' && snapshot.softwire.interfaceId).toBe('draft03');
    expect(snapshot.softwire?.kind === 'map-e' && snapshot.softwire.domain.br.map(formatIpv6)).toEqual(['2404:9200:225:100::64']);
    expect(changes()).toBe(1);
    const status = c.status();
    expect(status).toMatchObject({
      state: 'active',
      found: 'dns',
      t: 'a',
      url: `http://[::1]:${plain.port}/config`,
      enablerName: 'JPNE',
      serviceName: 'v6plus',
      ttl: 86400,
      token: true,
      order: ['map_e'],
      kind: 'map-e',
      data: 'server',
      lastFetch: { httpStatus: 200, outcome: 'valid', error: null },
    });
    // §3.6 k.1: refreshed after the ttl.
    expect(nextIn(c)).toBe(86_400_000);
    // §3.5: kept in state-dir.
    expect(JSON.parse(readFileSync(join(stateDir, CACHE_FILE), 'utf8')).reply.map_e.br).toBe('2404:9200:225:100::64');
  });

  it('sends the token it received on the next request', async () => {
    const { c } = client();
    await c.refresh('first');
    await c.refresh('second');
    expect(plain.requests[0]!.url.searchParams.has('token')).toBe(false);
    expect(plain.requests[1]!.url.searchParams.get('token')).toBe(V6PLUS_REPLY.token);
  });

  it('t=b over https: accepts the chain of the ca-file, sends the host name by SNI', async () => {
    dns.set('4over6.info', 'TXT', [`v=v6mig-1 url=https://prov.test:${secure.port}/config t=b`]);
    const { c } = client({ caFile: tls.caFile });
    await c.refresh('test');
    expect(c.status()).toMatchObject({ state: 'active', t: 'b', lastFetch: { httpStatus: 200 } });
    expect(secure.requests[0]!.servername).toBe('prov.test');
  });

  it('t=b refuses a certificate no trusted CA signed, and keeps the last good data', async () => {
    const { c } = client({ caFile: tls.caFile });
    await c.refresh('good first');
    dns.set('4over6.info', 'TXT', [`v=v6mig-1 url=https://prov.test:${rogue.port}/config t=b`]);
    await c.refresh('then rogue');
    expect(rogue.requests).toHaveLength(0);
    const status = c.status();
    expect(status.lastFetch).toMatchObject({ outcome: 'no-answer', httpStatus: null });
    expect(status.lastFetch?.error).toMatch(/certificate/i);
    expect(c.snapshot().from).toBe('server');
    expect(c.snapshot().softwire?.kind).toBe('map-e');
    // §3.6 f.2: 10–30 minutes.
    expect(nextIn(c)).toBe(10 * MINUTE);
    // The last success stays the first fetch's time.
    expect(c.counters).toEqual({ byOutcome: { valid: 1, 'no-answer': 1, 'no-record': 0, 'dns-failure': 0, 'bad-data': 0 }, lastValidAt: NOW });
  });

  it('t=a takes the same unsigned certificate', async () => {
    dns.set('4over6.info', 'TXT', [`v=v6mig-1 url=https://prov.test:${rogue.port}/config t=a`]);
    const { c } = client();
    await c.refresh('test');
    expect(c.status()).toMatchObject({ state: 'active', lastFetch: { httpStatus: 200 } });
    expect(rogue.requests[0]!.servername).toBe('prov.test');
  });

  it('follows a 307 with the parameters again, and gives up after five', async () => {
    plain.handler = (req, res) => {
      if (req.url?.startsWith('/config')) {
        res.writeHead(307, { Location: `https://prov.test:${rogue.port}/next` });
        res.end();
      } else json(res, V6PLUS_REPLY);
    };
    dns.set('4over6.info', 'TXT', [`v=v6mig-1 url=http://[::1]:${plain.port}/config t=a`]);
    const { c } = client();
    await c.refresh('redirect');
    expect(c.status()).toMatchObject({ state: 'active', lastFetch: { httpStatus: 200 } });
    expect(rogue.requests[0]!.url.pathname).toBe('/next');
    expect(rogue.requests[0]!.url.searchParams.get('capability')).toBe('map_e,hubspoke,lw4o6,ipip,dslite');

    plain.handler = (_req, res) => {
      res.writeHead(307, { Location: '/again' });
      res.end();
    };
    const before = plain.requests.length;
    await c.refresh('loop');
    expect(plain.requests.length - before).toBe(6);
    expect(c.status().lastFetch).toMatchObject({ httpStatus: 307, outcome: 'bad-data', error: 'more than 5 redirects' });
    expect(c.snapshot().from).toBe('server');
  });

  describe('errors keep the last good reply and wait 10–30 minutes', () => {
    const bad: [string, Handler, RegExp][] = [
      ['403', (_q, r) => json(r, {}, 403), /HTTP 403/],
      ['404', (_q, r) => json(r, {}, 404), /HTTP 404/],
      ['order: []', (_q, r) => json(r, { ...V6PLUS_REPLY, order: [] }), /order is empty/],
      ['malformed JSON', (_q, r) => { r.writeHead(200); r.end('{"order": ["map_e"'); }, /not JSON/],
      ['an oversized reply', (_q, r) => json(r, { ...V6PLUS_REPLY, pad: 'x'.repeat(100 * 1024) }), /exceeds 65536 bytes/],
      ['an oversized reply without length', (_q, r) => { r.writeHead(200); r.write('x'.repeat(40 * 1024)); r.end('x'.repeat(40 * 1024)); }, /exceeds 65536 bytes/],
    ];
    it.each(bad)('%s', async (_what, handler, reason) => {
      const { c } = client({}, 0.5);
      await c.refresh('good');
      plain.handler = handler;
      await c.refresh('bad');
      expect(c.status().lastFetch?.error).toMatch(reason);
      expect(c.snapshot()).toMatchObject({ from: 'server', softwire: { kind: 'map-e' } });
      expect(nextIn(c)).toBe(20 * MINUTE);
    });
  });

  it('a server that never answers: no answer within the time limit', async () => {
    plain.handler = () => {};
    const c = new Hb46ppClient({
      settings: { url: `http://[::1]:${plain.port}/config`, dns: null, identity: { vendorid: 'acde48', product: 'maped', version: '1', capability: CAPABILITY }, credentials: null, caFile: null },
      stateDir,
      onChange: () => {},
      log: { info: () => {}, warn: () => {} },
      userAgent: 'maped-test',
      limits: { connectTimeoutMs: 2000, totalTimeoutMs: 300, maxBodyBytes: 1024 },
      now: () => NOW,
      random: () => 0,
    });
    clients.push(c);
    await c.refresh('silent');
    expect(c.status()).toMatchObject({ state: 'failing', found: 'config', lastFetch: { outcome: 'no-answer' } });
    expect(c.status().lastFetch?.error).toMatch(/within 300 ms/);
    expect(c.snapshot().softwire).toBeNull();
  });

  describe('user and pass', () => {
    const credentials: Credentials = { user: 'u1', password: 'p1', serverName: 'prov.test' };
    it('sent over https with t=b to the named server', async () => {
      dns.set('4over6.info', 'TXT', [`v=v6mig-1 url=https://prov.test:${secure.port}/config t=b`]);
      const { c } = client({ caFile: tls.caFile, credentials });
      await c.refresh('test');
      expect(secure.requests[0]!.url.searchParams.get('user')).toBe('u1');
      expect(secure.requests[0]!.url.searchParams.get('pass')).toBe('p1');
    });
    it('not sent with t=a, over http, or to another host', async () => {
      dns.set('4over6.info', 'TXT', [`v=v6mig-1 url=https://prov.test:${rogue.port}/config t=a`]);
      const { c } = client({ credentials });
      await c.refresh('t=a');
      dns.set('4over6.info', 'TXT', [`v=v6mig-1 url=http://[::1]:${plain.port}/config t=a`]);
      await c.refresh('http');
      dns.set('other.test', 'AAAA', ['::1']);
      dns.set('4over6.info', 'TXT', [`v=v6mig-1 url=https://other.test:${secure.port}/config t=b`]);
      const second = client({ credentials, caFile: tls.caFile });
      await second.c.refresh('other host');
      const sent = [...rogue.requests, ...plain.requests, ...secure.requests].map((r) => r.url.searchParams);
      expect(sent).toHaveLength(3);
      for (const params of sent) expect([params.has('user'), params.has('pass')]).toEqual([false, false]);
      expect(second.c.status().credentials).toMatch(/other\.test is not server-name prov\.test/);
    });
  });

  it('asks again when the prefix changes, not when it stays', async () => {
    const { c } = client();
    c.prefixChanged('240b:10:3251:6400::/64');
    await c.refresh('start');
    const asked = plain.requests.length;
    c.prefixChanged('240b:10:3251:6400::/64');
    c.prefixChanged('240b:10:1111:2200::/64');
    await c.refresh('wait for it');
    expect(plain.requests.length).toBeGreaterThanOrEqual(asked + 1);
    const after = plain.requests.length;
    c.prefixChanged('240b:10:1111:2200::/64');
    expect(plain.requests.length).toBe(after);
  });

  it('NXDOMAIN and NODATA withdraw and wait 1–3 hours; other DNS failures keep the data and wait 1–10 minutes', async () => {
    const { c } = client();
    await c.refresh('good');
    dns.mode = 'servfail';
    await c.refresh('servfail');
    expect(c.snapshot().softwire?.kind).toBe('map-e');
    expect(c.status().lastFetch).toMatchObject({ outcome: 'dns-failure' });
    expect(nextIn(c)).toBe(1 * MINUTE);
    dns.mode = 'answer';
    dns.set('4over6.info', 'TXT', []);
    await c.refresh('nodata');
    expect(c.snapshot()).toMatchObject({ softwire: null, from: null });
    expect(c.status()).toMatchObject({ state: 'withdrawn', lastFetch: { outcome: 'no-record', error: expect.stringMatching(/NODATA/) } });
    expect(nextIn(c)).toBe(1 * HOUR);
    await c.refresh('good again');
    dns.set('4over6.info', 'TXT', [`v=v6mig-1 url=http://[::1]:${plain.port}/config t=a`]);
    await c.refresh('good again');
    expect(c.snapshot().softwire?.kind).toBe('map-e');
    dns.remove('4over6.info');
    await c.refresh('nxdomain');
    expect(c.snapshot().softwire).toBeNull();
    expect(c.status().lastFetch?.error).toMatch(/NXDOMAIN/);
    // Every fetch counted by its outcome (maped_provisioning_fetches_total), the first refresh of "good again" still NODATA.
    expect(c.counters.byOutcome).toEqual({ valid: 2, 'dns-failure': 1, 'no-record': 3, 'no-answer': 0, 'bad-data': 0 });
  });

  it('starts from the state-dir cache while the server is unreachable; forget erases it', async () => {
    const first = client();
    await first.c.refresh('fill the cache');
    await first.c.stop();
    // Unreachable as seen from here: the resolver answers SERVFAIL.
    dns.mode = 'servfail';
    const second = client();
    second.c.start();
    // The cache is published before any network answer.
    expect(second.c.snapshot()).toMatchObject({ from: 'cache', softwire: { kind: 'map-e' } });
    expect(second.changes()).toBe(1);
    await second.c.refresh('still unreachable');
    expect(second.c.snapshot().from).toBe('cache');
    expect(second.c.status()).toMatchObject({ state: 'cached', lastFetch: { outcome: 'dns-failure' } });
    await second.c.forget();
    expect(existsSync(join(stateDir, CACHE_FILE))).toBe(false);
    expect(second.c.snapshot().softwire).toBeNull();
    expect(second.c.status().token).toBe(false);
  });

  it('the resolver of the configured server finds the AAAA of a URL host', async () => {
    expect(await makeDnsAsker(dns.endpoint).ipv6('prov.test')).toEqual(['::1']);
  });
});

/** Polls `done` every 10 ms, for at most 5 s. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('HB46PP client: stop, withdrawal and forget', () => {
  it('stop aborts a request in flight at once (a server that sends a byte and then nothing), counting nothing', async () => {
    // 200 and "{", then nothing, within the 5-second limit of client().
    plain.handler = (_req, res) => {
      res.writeHead(200);
      res.write('{');
    };
    const { c } = client();
    const fetching = c.refresh('slow server');
    await until(() => plain.requests.length === 1, 'the request');
    const started = Date.now();
    await c.stop();
    await fetching;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(c.counters.byOutcome).toEqual({ valid: 0, 'no-record': 0, 'dns-failure': 0, 'no-answer': 0, 'bad-data': 0 });
    expect(c.status().nextRefreshAt).toBeNull();
  });

  it('stop aborts a discovery lookup in flight at once (a DNS server that stays silent)', async () => {
    dns.mode = 'silent';
    const { c } = client();
    const asked = dns.queries.length;
    const fetching = c.refresh('silent resolver');
    await until(() => dns.queries.length > asked, 'the TXT query');
    const started = Date.now();
    await c.stop();
    await fetching;
    // c-ares alone would wait 3 s a try, twice.
    expect(Date.now() - started).toBeLessThan(1000);
    expect(c.status().lastFetch).toBeNull();
  });

  it('NXDOMAIN withdraws the cached reply too, so the next start does not bring the service back', async () => {
    const first = client();
    await first.c.refresh('good');
    expect(existsSync(join(stateDir, CACHE_FILE))).toBe(true);
    dns.remove('4over6.info');
    await first.c.refresh('no service here any more');
    expect(first.c.snapshot().softwire).toBeNull();
    expect(first.c.status()).toMatchObject({ state: 'withdrawn', savedAt: null, serviceName: null, order: null });
    expect(existsSync(join(stateDir, CACHE_FILE))).toBe(false);
    await first.c.stop();
    // Restarted while the server cannot be reached: nothing to start from.
    dns.mode = 'servfail';
    const second = client();
    second.c.start();
    expect(second.c.snapshot()).toMatchObject({ softwire: null, from: null });
    expect(second.changes()).toBe(0);
  });

  it('forget while a request is in flight: its answer is dropped, neither token nor cache kept, and the next request carries no token', async () => {
    const { c } = client();
    await c.refresh('learn a token');
    expect(c.status().token).toBe(true);
    let answer: (() => void) | null = null;
    plain.handler = (_req, res) => {
      answer = () => json(res, V6PLUS_REPLY);
    };
    const fetching = c.refresh('in flight');
    await until(() => answer !== null, 'the second request');
    // After the forget the server refuses, as in test/daemon/provisioning-process.test.ts.
    plain.handler = (_req, res) => json(res, {}, 403);
    const forgotten = c.forget();
    answer!();
    await Promise.all([fetching, forgotten]);
    expect(plain.requests).toHaveLength(3);
    expect(plain.requests[1]!.url.searchParams.get('token')).toBe(V6PLUS_REPLY.token);
    expect(plain.requests[2]!.url.searchParams.has('token')).toBe(false);
    expect(existsSync(join(stateDir, CACHE_FILE))).toBe(false);
    expect(c.snapshot()).toMatchObject({ softwire: null, from: null });
    expect(c.status()).toMatchObject({ state: 'failing', token: false, data: null, lastFetch: { httpStatus: 403, outcome: 'bad-data' } });
  });
});

describe('HB46PP client: where a redirect or a discovery record may lead', () => {
  it('refuses a 307 from https to http, naming the location, and keeps the last good data', async () => {
    dns.set('4over6.info', 'TXT', [`v=v6mig-1 url=https://prov.test:${secure.port}/config t=b`]);
    const { c } = client({ caFile: tls.caFile });
    await c.refresh('good');
    secure.handler = (_req, res) => {
      res.writeHead(307, { Location: `http://[::1]:${plain.port}/plain` });
      res.end();
    };
    await c.refresh('downgrade');
    expect(plain.requests).toHaveLength(0);
    expect(c.status().lastFetch).toEqual({
      at: expect.any(String),
      httpStatus: 307,
      outcome: 'bad-data',
      error: `307 from https to http://[::1]:${plain.port}/plain refused: a redirect may not leave https`,
    });
    expect(c.snapshot()).toMatchObject({ from: 'server', softwire: { kind: 'map-e' } });
  });

  const refusedHosts: [string, string, RegExp][] = [
    ['a loopback address', '[::1]', /::1 is the loopback address/],
    ['an IPv4-mapped address', '[::ffff:127.0.0.1]', /::ffff:7f00:1 is an IPv4-mapped address/],
    ['a link-local address', '[fe80::1]', /fe80::1 is a link-local address/],
    ['the unspecified address', '[::]', /:: is the unspecified address/],
    ['a multicast address', '[ff02::1]', /ff02::1 is a multicast address/],
  ];

  it.each(refusedHosts)('refuses a redirect to %s', async (_what, host, reason) => {
    // The configured URL is the administrator's, on ::1; where it redirects to is the server's.
    plain.handler = (_req, res) => {
      res.writeHead(307, { Location: `http://${host}:${plain.port}/elsewhere` });
      res.end();
    };
    const { c } = client({ url: `http://[::1]:${plain.port}/config` }, 0, null);
    await c.refresh('redirect');
    expect(plain.requests.map((r) => r.url.pathname)).toEqual(['/config']);
    expect(c.status().lastFetch).toMatchObject({ httpStatus: 307, outcome: 'bad-data' });
    expect(c.status().lastFetch?.error).toMatch(/^307 to http:\/\/\[[0-9a-f:]+\]:[0-9]+\/elsewhere refused: /);
    expect(c.status().lastFetch?.error).toMatch(reason);
  });

  it.each(refusedHosts)('refuses a discovery record naming %s', async (_what, host, reason) => {
    dns.set('4over6.info', 'TXT', [`v=v6mig-1 url=http://${host}:${plain.port}/config t=a`]);
    const { c } = client({}, 0, null);
    await c.refresh('discovery');
    expect(plain.requests).toHaveLength(0);
    expect(c.status().lastFetch).toMatchObject({ httpStatus: null, outcome: 'dns-failure' });
    expect(c.status().lastFetch?.error).toMatch(/^TXT record: url host /);
    expect(c.status().lastFetch?.error).toMatch(reason);
  });

  it('refuses a server found by DNS whose name has only a loopback address, and takes it when configured', async () => {
    dns.set('4over6.info', 'TXT', [`v=v6mig-1 url=https://prov.test:${secure.port}/config t=b`]);
    const found = client({ caFile: tls.caFile }, 0, null);
    await found.c.refresh('found by DNS');
    expect(secure.requests).toHaveLength(0);
    expect(found.c.status().lastFetch).toMatchObject({ outcome: 'no-answer', error: 'prov.test: ::1 is the loopback address; refused for a server found by DNS or a redirect' });
    const configured = client({ caFile: tls.caFile, url: `https://prov.test:${secure.port}/config` }, 0, null);
    await configured.c.refresh('configured');
    expect(configured.c.status()).toMatchObject({ state: 'active', lastFetch: { httpStatus: 200 } });
  });
});
