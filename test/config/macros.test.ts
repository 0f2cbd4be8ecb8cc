import { describe, expect, it } from 'vitest';
import { parseIpv4Prefix } from '../../src/map/index.js';
import { parseError, parsed } from './helpers.js';

const v4 = (text: string) => {
  const prefix = parseIpv4Prefix(text);
  if (!prefix.ok) throw new Error(prefix.error);
  return prefix.value;
};

describe('macros, expanded textually as pf.conf does', () => {
  it('a macro holding a whole { } list feeds nat from', () => {
    const config = parsed('lans = "{ 10.0.0.0/24 10.1.0.0/24 }"\nwan em0\nnat from $lans\n');
    expect(config.natFrom).toEqual([v4('10.0.0.0/24'), v4('10.1.0.0/24')]);
  });

  it('a macro may be used inside a list next to literal entries', () => {
    const config = parsed('guest = 10.9.0.0/24\nwan em0\nnat from { 10.0.0.0/24 $guest }\n');
    expect(config.natFrom).toEqual([v4('10.0.0.0/24'), v4('10.9.0.0/24')]);
  });

  it('the macro text joins the characters after it into one word', () => {
    expect(parsed('dir = "/usr/local/libexec/maped"\nwan em0\ntool pfctl $dir/pfctl\n').tools.pfctl).toBe('/usr/local/libexec/maped/pfctl');
  });

  it('a macro may hold keywords and numbers, which then count as bare words', () => {
    const config = parsed('ext = em0\ntun = "gif1 mtu 1400"\nmode = stock\nwan $ext\ntunnel $tun\npf portset $mode\n');
    expect(config).toMatchObject({ wan: 'em0', tunnel: { interface: 'gif1', mtu: 1400 }, pf: { portset: 'stock' } });
  });

  it('macros work inside rule blocks', () => {
    const config = parsed('v6 = "2001:db8::/32"\nea = 16\nwan em0\nrule {\n\tipv6-prefix $v6\n\tipv4-prefix 192.0.2.0/24\n\tea-len $ea\n\tbr 2001:db8:ffff::1\n}\n');
    expect(config.rules[0]?.eaLen).toBe(16);
  });

  it('is not expanded inside quotes', () => {
    expect(parsed('d = "/x"\nwan em0\nstate-dir "/srv/$d"\n').stateDir).toBe('/srv/$d');
  });

  it('adjacent strings in a definition are joined with a space, and expand macros at definition time', () => {
    const config = parsed('a = 10.0.0.0/24\nb = 10.1.0.0/24\nall = "{" $a $b "}"\nwan em0\nnat from $all\n');
    expect(config.natFrom).toEqual([v4('10.0.0.0/24'), v4('10.1.0.0/24')]);
  });

  it('the replacement text is not expanded again', () => {
    expect(parseError('inner = "10.0.0.0/8"\nouter = \'$inner\'\nwan em0\nnat from $outer\n')).toBe(
      '/etc/maped.conf:4:10: nat from: invalid IPv4 prefix "$inner": \'$inner\' has no prefix length (in macro $outer)',
    );
  });

  it('a later definition replaces an earlier one from there on', () => {
    const config = parsed('n = 10.0.0.0/24\nnat from $n\nn = 10.1.0.0/24\nnat from $n\nwan em0\n');
    expect(config.natFrom).toEqual([v4('10.0.0.0/24'), v4('10.1.0.0/24')]);
  });

  it('a macro may share its name with a keyword: the "=" decides', () => {
    expect(parsed('wan = em3\nwan $wan\n').wan).toBe('em3');
  });

  it('a "$" inside a word is an ordinary character', () => {
    expect(parsed('wan em0\nstate-dir /var/db/ma$ped\n').stateDir).toBe('/var/db/ma$ped');
  });

  it('an empty quoted value is allowed and expands to nothing', () => {
    expect(parsed('none = ""\nwan em0 $none\n').wan).toBe('em0');
  });

  it('a "#" in a macro value starts a comment when expanded, as in pf.conf', () => {
    expect(parsed('w = "em0 # the uplink"\nwan $w\n').wan).toBe('em0');
  });

  it('errors in expanded text point at the $name and say which macro', () => {
    expect(parseError('lans = "{ 10.0.0.0/24 10.0.0.1/24 }"\nwan em0\nnat from $lans\n')).toBe(
      '/etc/maped.conf:3:10: nat from: 10.0.0.1/24 has host bits set (did you mean 10.0.0.0/24?) (in macro $lans)',
    );
    expect(parseError('open = "{ 10.0.0.0/24"\nwan em0\nnat from $open\n')).toBe('/etc/maped.conf:3:10: unbalanced brace: "{" is never closed (in macro $open)');
    expect(parseError('q = \'"oops\'\nwan $q\n')).toBe('/etc/maped.conf:2:5: unterminated string (in macro $q)');
  });
});
