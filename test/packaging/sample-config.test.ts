/**
 * etc/maped.conf, installed as /etc/examples/maped.conf: it parses with the
 * real parser, names every keyword, and every setting it leaves commented
 * out parses too once the "#" is removed.
 */
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYWORDS, DEFAULT_PF_ANCHOR, parseConfig } from '../../src/config/index.js';
import { readRepoFile } from './mdoc.js';

const sample = readRepoFile('etc/maped.conf');

/**
 * The sample with its commented-out settings switched on: lines `#keyword …`
 * for a top-level keyword, the `#rule {` block with its `#<tab>` lines and
 * `#}`. `include` is left out, as its file is the admin's to write.
 */
function uncommented(): string {
  const topLevel = new Set(CONFIG_KEYWORDS);
  return sample
    .split('\n')
    .map((line) => {
      const m = /^#(\t.*|\}|([a-z][\w-]*)\b.*)$/.exec(line);
      if (!m) return line;
      if (m[2] !== undefined && (!topLevel.has(m[2]) || m[2] === 'include')) return line;
      return line.slice(1);
    })
    .join('\n');
}

describe('etc/maped.conf', () => {
  it('parses with the real parser', () => {
    const parsed = parseConfig(sample, 'etc/maped.conf');
    expect(parsed.ok ? null : parsed.error).toBeNull();
  });

  it('keeps the defaults an admin expects and translates the LAN', () => {
    const parsed = parseConfig(sample, 'etc/maped.conf');
    if (!parsed.ok) throw new Error(parsed.error);
    const config = parsed.value;
    expect(config.wan).toBe('em0');
    expect(config.leaseFile).toBe('/var/db/dhcp6leased/em0');
    expect(config.tunnel).toEqual({ interface: 'gif0', mtu: 'auto', peer: null, routePriority: 7 });
    expect(config.natFrom.length).toBeGreaterThan(0);
    expect(config.pf).toEqual({ anchor: DEFAULT_PF_ANCHOR, portset: 'auto' });
    expect(config.onExit).toBe('keep');
    expect(config.rules).toEqual([]);
  });

  it('names every keyword of maped.conf(5)', () => {
    const words = new Set(sample.split(/[^A-Za-z0-9-]+/));
    expect(CONFIG_KEYWORDS.filter((keyword) => !words.has(keyword))).toEqual([]);
  });

  it('every commented-out setting parses once switched on', () => {
    const text = uncommented();
    expect(text).not.toBe(sample);
    const parsed = parseConfig(text, 'etc/maped.conf');
    expect(parsed.ok ? null : parsed.error).toBeNull();
    if (!parsed.ok) return;
    expect(parsed.value.rules).toHaveLength(1);
    expect(parsed.value.rules[0]!.psidLen).toBe(8);
  });

  it('shows the pf.conf anchor line and the forwarding sysctls the admin must add', () => {
    expect(sample).toMatch(/^#\s+anchor "maped"$/m);
    expect(sample).toMatch(/^#\s+net\.inet\.ip\.forwarding=1$/m);
    expect(sample).toMatch(/^#\s+net\.inet6\.ip6\.forwarding=1$/m);
  });
});
