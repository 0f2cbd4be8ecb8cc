import { describe, expect, it } from 'vitest';
import {
  CAPABILITY,
  VENDORID_PATTERN,
  VERSION_PATTERN,
  credentialsDecision,
  requestUrl,
  vendoridFromLladdr,
  versionParameter,
  type Credentials,
} from '../../src/provision/index.js';

const identity = { vendorid: 'acde48-maped', product: 'maped', version: '0_1_0', capability: CAPABILITY };

describe('HB46PP request (v6mig-prov §3.3)', () => {
  it('sets the four parameters, keeps the URL’s own query and replaces stale ones', () => {
    const { url } = requestUrl(new URL('https://p.example/rule.cgi?x=1&vendorid=old'), identity, null, null, 'b');
    expect(url.origin + url.pathname).toBe('https://p.example/rule.cgi');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      x: '1',
      vendorid: 'acde48-maped',
      product: 'maped',
      version: '0_1_0',
      capability: 'map_e,hubspoke,lw4o6,ipip,dslite',
    });
  });

  it('sends the token it holds', () => {
    const token = 'a'.repeat(64);
    const { url } = requestUrl(new URL('http://p.example/'), identity, token, null, 'a');
    expect(url.searchParams.get('token')).toBe(token);
  });

  it('derives the default vendorid from the WAN lladdr and the version from the package version', () => {
    expect(vendoridFromLladdr('AC:DE:48:00:11:22')).toEqual({ ok: true, value: 'acde48-maped' });
    expect(vendoridFromLladdr('0:1b:21:a:b:c')).toEqual({ ok: true, value: '001b21-maped' });
    expect(vendoridFromLladdr('nonsense').ok).toBe(false);
    expect(VENDORID_PATTERN.test('acde48-maped')).toBe(true);
    expect(versionParameter('0.1.0')).toBe('0_1_0');
    expect(versionParameter('1.2.3-beta.4')).toBe('1_2_3');
    expect(VERSION_PATTERN.test(versionParameter('10.20.30'))).toBe(true);
  });

  describe('user and pass', () => {
    const named: Credentials = { user: 'u1', password: 'p1', serverName: 'prov.example.jp' };
    const https = new URL('https://prov.example.jp/config');
    it('go only over https, with t=b, to the configured server name', () => {
      expect(credentialsDecision(named, https, 'b').send).toBe(true);
      expect(credentialsDecision(named, new URL('https://PROV.example.jp:8443/x'), 'b').send).toBe(true);
      expect(credentialsDecision(named, https, 'a')).toMatchObject({ send: false, why: expect.stringMatching(/t=a/) });
      expect(credentialsDecision(named, new URL('http://prov.example.jp/config'), 'b')).toMatchObject({ send: false, why: expect.stringMatching(/not https/) });
      expect(credentialsDecision(named, new URL('https://evil.example/config'), 'b')).toMatchObject({ send: false, why: expect.stringMatching(/evil\.example/) });
    });

    it('go anywhere when no server name is configured (§3.3), and never one without the other', () => {
      const anywhere: Credentials = { user: 'u1', password: 'p1', serverName: null };
      const { url, credentialsSent } = requestUrl(new URL('http://x.example/'), identity, null, anywhere, 'a');
      expect(credentialsSent).toBe(true);
      expect([url.searchParams.get('user'), url.searchParams.get('pass')]).toEqual(['u1', 'p1']);
      const refused = requestUrl(new URL('http://prov.example.jp/'), identity, null, named, 'a');
      expect(refused.credentialsSent).toBe(false);
      expect([refused.url.searchParams.has('user'), refused.url.searchParams.has('pass')]).toEqual([false, false]);
    });
  });
});
