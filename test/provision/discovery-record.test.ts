import { describe, expect, it } from 'vitest';
import { parseDiscoveryRecords, parseDiscoveryText } from '../../src/provision/index.js';

describe('HB46PP discovery record (4over6.info TXT)', () => {
  it('reads the example of v6mig-prov §3.1', () => {
    const found = parseDiscoveryText('v=v6mig-1 url=https://vne.example.jp/rule.cgi t=b');
    expect(found.ok).toBe(true);
    if (!found.ok) return;
    expect(found.value.url.href).toBe('https://vne.example.jp/rule.cgi');
    expect(found.value.t).toBe('b');
  });

  it('joins the character-strings of one record and accepts keys in any order', () => {
    const found = parseDiscoveryRecords([['t=a url=http://[2001:db8::1]:8080/con', 'fig v=v6mig-1']]);
    expect(found.ok && found.value.url.href).toBe('http://[2001:db8::1]:8080/config');
    expect(found.ok && found.value.t).toBe('a');
  });

  it.each([
    ['v=v6mig-2 url=https://a.example/ t=b', /expected "v6mig-1"/],
    ['url=https://a.example/ t=b', /v is null/],
    ['v=v6mig-1 t=b', /no url/],
    ['v=v6mig-1 url=https://a.example/ t=c', /t is "c"/],
    ['v=v6mig-1 url=https://a.example/', /t is null/],
    ['v=v6mig-1 url=http://a.example/ t=b', /t=b with an http url/],
    ['v=v6mig-1 url=ftp://a.example/ t=a', /scheme must be http or https/],
    ['v=v6mig-1 url=https://u:p@a.example/ t=b', /user information/],
    ['v=v6mig-1 url=https://a.example/ t=b x=1', /unknown key "x"/],
    ['v=v6mig-1 url=https://a.example/ t=b t=a', /given twice/],
    ['v=v6mig-1  url=https://a.example/ t=b', /is not key=value/],
    ['v=v6mig-1 url=notaurl t=b', /not an absolute URL/],
  ])('refuses %j', (text, reason) => {
    const found = parseDiscoveryText(text);
    expect(found.ok).toBe(false);
    if (!found.ok) expect(found.error).toMatch(reason);
  });

  it('quotes at most 64 characters of the record, and the controls JSON leaves alone escaped', () => {
    const long = `v=v6mig-1 url=https://a.example/ t=b ${'y'.repeat(1500)}`;
    expect(parseDiscoveryText(long)).toEqual({ ok: false, error: `TXT record "${long.slice(0, 64)}…": "${'y'.repeat(64)}…" is not key=value` });
    expect(parseDiscoveryText('v=\u009b2J\u2028 url=https://a.example/ t=b')).toEqual({ ok: false, error: 'TXT record: v is "\\x9b2J\\u2028", expected "v6mig-1"' });
  });

  it('refuses two records and none (one answer only, §3.1)', () => {
    const one = 'v=v6mig-1 url=https://a.example/ t=b';
    expect(parseDiscoveryRecords([[one], [one]])).toMatchObject({ ok: false, error: expect.stringMatching(/2 TXT records/) });
    expect(parseDiscoveryRecords([])).toMatchObject({ ok: false, error: expect.stringMatching(/0 TXT records/) });
  });

  it('refuses an oversized record', () => {
    const found = parseDiscoveryRecords([[`v=v6mig-1 t=b url=https://a.example/${'x'.repeat(3000)}`]]);
    expect(found).toMatchObject({ ok: false, error: expect.stringMatching(/longer than 2048 bytes/) });
  });
});
