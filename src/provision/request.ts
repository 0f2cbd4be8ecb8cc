/**
 * The request a CE sends (HB46PP, v6mig-prov 1.1 §3.3):
 * `GET <url>?vendorid=&product=&version=&capability=[&token=][&user=&pass=]`.
 * The value formats are the spec's; the rule for sending `user`/`pass` is
 * its MUST NOT, kept in one function so the fetch and the status agree.
 */
import { err, ok, type Result } from '../map/index.js';
import type { CertificateCheck } from './discovery-record.js';

/** §3.3 vendorid: the vendor OUI (6 hex digits), optionally `-` and up to 24 of [0-9a-zA-Z_]. */
export const VENDORID_PATTERN = /^[0-9a-fA-F]{6}(-[0-9A-Za-z_]{1,24})?$/;
/** §3.3 product, user, pass: ASCII letters, digits, `-` and `_`, 32 characters or fewer. */
export const WORD_PATTERN = /^[0-9A-Za-z_-]{1,32}$/;
/** §3.3 version: `[0-9_]{1,32}`, underscores for the periods. */
export const VERSION_PATTERN = /^[0-9_]{1,32}$/;

/**
 * §3.3 capability: the kinds the CE supports, by the spec's names: MAP-E as
 * a hub-and-spoke CE (all traffic through the BR), so `hubspoke`, not
 * `mesh`; Lightweight 4over6, IPIP and DS-Lite (src/softwire). Not
 * `map_t` nor `464xlat`: maped translates nothing statelessly. The same
 * kinds src/provision/reply.ts reads from the reply.
 */
export const CAPABILITY = 'map_e,hubspoke,lw4o6,ipip,dslite';

export interface Credentials {
  readonly user: string;
  readonly password: string;
  /** The provisioning server's name as the admin typed it, or null. */
  readonly serverName: string | null;
}

export interface RequestIdentity {
  readonly vendorid: string;
  readonly product: string;
  readonly version: string;
  readonly capability: string;
}

/** `0.1.0` → `0_1_0` (§3.3: "use underscores instead of periods"); a suffix such as `-beta.4` is dropped. */
export function versionParameter(version: string): string {
  const numeric = /^[0-9]+(\.[0-9]+)*/.exec(version)?.[0] ?? '0';
  return numeric.replace(/\./g, '_').slice(0, 32);
}

/** The default vendorid: the OUI of the WAN's link-layer address and `-maped`. */
export function vendoridFromLladdr(lladdr: string): Result<string> {
  const match = /^([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})(:[0-9a-fA-F]{1,2}){3}$/.exec(lladdr);
  if (match === null) return err(`lladdr ${JSON.stringify(lladdr)} is not a MAC address`);
  const oui = [match[1], match[2], match[3]].map((byte) => (byte ?? '').padStart(2, '0').toLowerCase()).join('');
  return ok(`${oui}-maped`);
}

/** The host of a URL as DNS and TLS take it: an IPv6 literal without its brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/**
 * §3.3 user: "when a server name was entered with user and pass, send them
 * only if the connection is https, the certificate was checked (t=b) and the
 * url's server name equals the one entered; otherwise they MUST NOT be sent.
 * Without a server name, the CPE may send them in any request."
 */
export function credentialsDecision(
  credentials: Credentials | null,
  url: URL,
  t: CertificateCheck,
): { send: boolean; why: string } {
  if (credentials === null) return { send: false, why: 'no user configured' };
  if (credentials.serverName === null) return { send: true, why: 'no server-name configured: sent to any server' };
  if (url.protocol !== 'https:') return { send: false, why: 'not sent: the url is not https' };
  if (t !== 'b') return { send: false, why: 'not sent: the certificate is not checked (t=a)' };
  const wanted = credentials.serverName.replace(/^\[|\]$/g, '').toLowerCase();
  if (hostOf(url) !== wanted) return { send: false, why: `not sent: the url's host ${hostOf(url)} is not server-name ${wanted}` };
  return { send: true, why: 'sent: https, certificate checked, host equals server-name' };
}

/** The URL of one GET: the server's URL with the parameters set (replacing any of the same name). */
export function requestUrl(
  base: URL,
  identity: RequestIdentity,
  token: string | null,
  credentials: Credentials | null,
  t: CertificateCheck,
): { url: URL; credentialsSent: boolean; credentialsWhy: string } {
  const url = new URL(base.href);
  url.searchParams.set('vendorid', identity.vendorid);
  url.searchParams.set('product', identity.product);
  url.searchParams.set('version', identity.version);
  url.searchParams.set('capability', identity.capability);
  url.searchParams.delete('token');
  url.searchParams.delete('user');
  url.searchParams.delete('pass');
  // §3.3 token: the CE "should send the token it received" (MAY).
  if (token !== null) url.searchParams.set('token', token);
  const decision = credentialsDecision(credentials, base, t);
  // §3.3 pass: sent with user and never without it.
  if (decision.send && credentials !== null) {
    url.searchParams.set('user', credentials.user);
    url.searchParams.set('pass', credentials.password);
  }
  return { url, credentialsSent: decision.send, credentialsWhy: decision.why };
}
