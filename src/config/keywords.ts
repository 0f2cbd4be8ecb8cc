/**
 * The words of the maped.conf(5) grammar, by the place they may appear, and
 * the "did you mean" suggestion for a misspelt one.
 */

export const TOP_LEVEL_KEYWORDS = [
  'dslite',
  'forward',
  'include',
  'interface-id',
  'ipip',
  'lease',
  'lw4o6',
  'metrics',
  'nat',
  'on-exit',
  'pf',
  'prefix',
  'provision',
  'rule',
  'softwire',
  'state-dir',
  'tool',
  'tunnel',
  'user',
  'wan',
] as const;

export const SOFTWIRE_KEYWORDS = ['auto', 'dslite', 'ipip', 'lw4o6', 'map-e'] as const;
export const LW4O6_KEYWORDS = ['aftr', 'bind-prefix', 'dns', 'ipv4', 'psid', 'psid-len', 'psid-offset'] as const;
export const IPIP_KEYWORDS = ['ipv4', 'local', 'remote'] as const;
export const DSLITE_KEYWORDS = ['aftr', 'dns'] as const;

export const RULE_KEYWORDS = ['br', 'ea-len', 'ipv4-prefix', 'ipv6-prefix', 'psid', 'psid-len', 'psid-offset'] as const;

/** Inside `provision hb46pp { … }`. */
export const PROVISION_KEYWORDS = ['ca-file', 'dns', 'password', 'product', 'server-name', 'url', 'user', 'vendorid'] as const;
export const PROVISION_PROTOCOLS = ['hb46pp'] as const;

export const PREFIX_KEYWORDS = ['autoconf'] as const;

export const TUNNEL_KEYWORDS = ['mtu', 'peer', 'route-priority'] as const;

export const PF_KEYWORDS = ['anchor', 'portset'] as const;
export const PORTSET_KEYWORDS = ['auto', 'kernel', 'stock'] as const;
export const INTERFACE_ID_KEYWORDS = ['draft03', 'rfc7597'] as const;
export const ON_EXIT_KEYWORDS = ['keep', 'teardown'] as const;
export const METRICS_KEYWORDS = ['no', 'yes'] as const;
export const FORWARD_KEYWORDS = ['tcp', 'tcp-udp', 'udp'] as const;
export const TOOL_KEYWORDS = ['dhcp6leasectl', 'ifconfig', 'logger', 'pfctl', 'route', 'sysctl'] as const;

/**
 * Every word the grammar gives a meaning to, sorted like the keyword table of
 * a parse.y. maped.conf.5 documents each one; a test holds the two together.
 */
export const CONFIG_KEYWORDS: readonly string[] = [
  ...new Set<string>([
    ...TOP_LEVEL_KEYWORDS,
    ...RULE_KEYWORDS,
    ...SOFTWIRE_KEYWORDS,
    ...LW4O6_KEYWORDS,
    ...IPIP_KEYWORDS,
    ...DSLITE_KEYWORDS,
    ...PF_KEYWORDS,
    ...PORTSET_KEYWORDS,
    ...INTERFACE_ID_KEYWORDS,
    ...ON_EXIT_KEYWORDS,
    ...METRICS_KEYWORDS,
    ...FORWARD_KEYWORDS,
    'port', // forward … port
    'to', // forward … to
    ...TOOL_KEYWORDS,
    ...PROVISION_KEYWORDS,
    ...PREFIX_KEYWORDS,
    ...PROVISION_PROTOCOLS,
    'file', // lease file
    'from', // nat from
    'mtu', // tunnel … mtu
    'peer', // tunnel … peer
    'route-priority', // tunnel … route-priority
  ]),
].sort();

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The closest candidate to a misspelt word, if it is close enough to be a
 * plausible typo (at most two edits, and fewer than half the word).
 */
export function closestKeyword(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== null && bestDistance <= 2 && bestDistance * 2 < Math.max(word.length, best.length) ? best : null;
}

/** ` (did you mean "tunnel"?)`, or nothing. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const suggestion = closestKeyword(word, candidates);
  return suggestion === null ? '' : ` (did you mean "${suggestion}"?)`;
}
