/**
 * AFTR names resolved by maped against a real DNS server started here
 * (test/support/dns-server.ts): the answer and its TTL, the clamp on TTLs,
 * re-asking when the TTL ran out or after forget(), and each failure as a
 * one-line reason.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AftrResolver, MIN_TTL_S, selectResolving } from '../../src/daemon/aftr-resolver.js';
import { selectSoftwire } from '../../src/daemon/select-mapping.js';
import { NO_S46_OPTIONS } from '../../src/dhcpv6/index.js';
import { formatIpv6, parseIpv6, parseIpv6Prefix } from '../../src/map/index.js';
import { configFrom } from '../support/config.js';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';

const servers: DnsServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function dns(host: '127.0.0.1' | '::1' = '127.0.0.1'): Promise<DnsServer> {
  const server = await startDnsServer(host);
  server.set('aftr.example.net', 'AAAA', ['2001:db8:ffff::2'], 120);
  servers.push(server);
  return server;
}

describe('AftrResolver', () => {
  it('resolves AAAA and keeps the answer for its TTL, then asks again', async () => {
    const server = await dns();
    let now = 1_000_000;
    const resolver = new AftrResolver(() => now);
    const first = await resolver.resolve('aftr.example.net', server.endpoint);
    expect(first.ok && formatIpv6(first.value)).toBe('2001:db8:ffff::2');
    expect(server.queries).toEqual([{ name: 'aftr.example.net', type: 'AAAA' }]);
    expect(resolver.nextExpiry()).toBe(now + 120_000);
    now += 119_000;
    expect(resolver.cached('aftr.example.net', server.endpoint)).toBe(first.ok ? first.value : null);
    now += 1_000;
    expect(resolver.cached('aftr.example.net', server.endpoint)).toBeUndefined();
  });

  it('over IPv6 too ([::1]:port), and a TTL of 0 is kept at least 30 s', async () => {
    const server = await dns('::1');
    server.set('aftr.example.net', 'AAAA', ['2001:db8::9'], 0);
    const now = 5_000;
    const resolver = new AftrResolver(() => now);
    const answer = await resolver.resolve('aftr.example.net', server.endpoint);
    expect(answer.ok && formatIpv6(answer.value)).toBe('2001:db8::9');
    expect(resolver.nextExpiry()).toBe(now + MIN_TTL_S * 1000);
  });

  it.each([
    ['an unknown name', 'nowhere.example.net', 'answer', 'AFTR nowhere.example.net does not resolve (ENOTFOUND from SERVER)'],
    ['a name without AAAA', 'v4only.example.net', 'answer', 'AFTR v4only.example.net does not resolve (ENODATA from SERVER)'],
    ['a failing server', 'aftr.example.net', 'servfail', 'AFTR aftr.example.net does not resolve (ESERVFAIL from SERVER)'],
  ] as const)('%s: a one-line reason', async (_what, name, behaviour, reason) => {
    const server = await dns();
    server.set('v4only.example.net', 'A', ['192.0.2.1']);
    server.mode = behaviour;
    expect(await new AftrResolver().resolve(name, server.endpoint)).toEqual({ ok: false, error: reason.replace('SERVER', server.endpoint) });
  });

  it.each([
    ['ff02::1', 'a multicast address'],
    ['::1', 'the loopback address'],
    ['fe80::1', 'a link-local address'],
    ['::ffff:1.2.3.4', 'an IPv4-mapped address'],
  ])('an answer that is no tunnel end (%s) is refused and not kept', async (answer, reason) => {
    const server = await dns();
    server.set('aftr.example.net', 'AAAA', [answer], 120);
    const resolver = new AftrResolver();
    const shown = formatIpv6((parseIpv6(answer) as { value: bigint }).value);
    expect(await resolver.resolve('aftr.example.net', server.endpoint)).toEqual({
      ok: false,
      error: `AFTR aftr.example.net: answer ${shown} is ${reason}, not a unicast address`,
    });
    expect(resolver.cached('aftr.example.net', server.endpoint)).toBeUndefined();
  });

  it('a silent server: a timeout within the bound, not a hang', async () => {
    const server = await dns();
    server.mode = 'silent';
    const started = Date.now();
    const answer = await new AftrResolver().resolve('aftr.example.net', server.endpoint);
    expect(answer).toEqual({ ok: false, error: `AFTR aftr.example.net does not resolve (ETIMEOUT from ${server.endpoint})` });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(server.queries.length).toBeGreaterThanOrEqual(1);
  }, 30_000);
});

describe('selectResolving', () => {
  const prefix = parseIpv6Prefix('2001:db8:12:3400::/56');
  if (!prefix.ok) throw new Error(prefix.error);
  const lease = { interface: 'em0', endUserPrefix: prefix.value, s46: NO_S46_OPTIONS };

  it('asks only for the names a selection needs, once while the answer lasts, again after forget()', async () => {
    const server = await dns();
    const config = configFrom(`wan em0\ndslite { aftr "aftr.example.net" dns "${server.endpoint}" }\n`);
    const resolver = new AftrResolver();
    const select = () => selectResolving((lookup) => selectSoftwire(config, lease, lookup), resolver);
    const first = await select();
    expect(first.ok && formatIpv6(first.softwire.tunnel.remote)).toBe('2001:db8:ffff::2');
    await select();
    expect(server.queries).toHaveLength(1);
    server.set('aftr.example.net', 'AAAA', ['2001:db8:ffff::7']);
    resolver.forget();
    const moved = await select();
    expect(moved.ok && formatIpv6(moved.softwire.tunnel.remote)).toBe('2001:db8:ffff::7');
    expect(server.queries).toHaveLength(2);
  });

  it('an address needs no DNS, and a name that does not resolve is a selection to retry, with the reason', async () => {
    const server = await dns();
    const resolver = new AftrResolver();
    const byAddress = configFrom('wan em0\ndslite { aftr 2001:db8::5 }\n');
    expect((await selectResolving((lookup) => selectSoftwire(byAddress, lease, lookup), resolver)).ok).toBe(true);
    const missing = configFrom(`wan em0\ndslite { aftr "gone.example.net" dns "${server.endpoint}" }\n`);
    expect(await selectResolving((lookup) => selectSoftwire(missing, lease, lookup), resolver)).toMatchObject({
      ok: false,
      retry: true,
      reason: `dslite: AFTR gone.example.net does not resolve (ENOTFOUND from ${server.endpoint})`,
    });
    expect(server.queries).toEqual([{ name: 'gone.example.net', type: 'AAAA' }]);
  });
});

describe('AftrResolver expiry', () => {
  it('an answer that ran out no longer counts for the next wake, so nothing wakes again and again', async () => {
    const server = await dns();
    let now = 0;
    const resolver = new AftrResolver(() => now);
    await resolver.resolve('aftr.example.net', server.endpoint);
    expect(resolver.nextExpiry()).toBe(120_000);
    now = 120_000;
    expect(resolver.nextExpiry()).toBeNull();
    expect(resolver.cached('aftr.example.net', server.endpoint)).toBeUndefined();
  });
});
