/**
 * Main rulesets to evaluate maped's anchor in.
 *
 * OPENBSD_78_PF_CONF is /etc/pf.conf as OpenBSD 7.8 installs it
 * (src/etc/pf.conf 1.55), rules only. {@link adminPfConf} adds what the
 * manual pages tell an admin to write: their own rules, then
 * `anchor "maped"` after their nat-to rules and before their filter rules.
 */
export const OPENBSD_78_PF_CONF = `set skip on lo

block return	# block stateless traffic
pass		# establish keep-state

# By default, do not permit remote connections to X11
block return in on ! lo0 proto tcp to port 6000:6010

# Port build user does not need network
block return out log proto {tcp udp} user _pbuild
`;

/** The 7.8 default, an admin's block rule for a LAN host, then the anchor. */
export function adminPfConf(options: { readonly anchor?: string; readonly before?: string; readonly after?: string } = {}): string {
  const anchor = options.anchor ?? 'maped';
  return [
    OPENBSD_78_PF_CONF,
    options.before ?? '# the admin: this LAN host must not reach the Internet\nblock return out on gif0 inet from 192.168.1.66 to any',
    `anchor "${anchor}"`,
    options.after ?? '',
  ].join('\n');
}
