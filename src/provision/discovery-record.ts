/**
 * The discovery record of HB46PP (v6mig-prov 1.1 §3.1): the TXT record of
 * `4over6.info` names the provisioning server and whether its certificate is
 * checked, as `v=v6mig-1 url=https://vne.example.jp/rule.cgi t=b`. The server
 * side "returns a single answer, never several" (§3.1), so anything else is
 * bad data: parsing is strict.
 */
import { err, escapeControls, MAX_SHOWN, ok, type Result } from '../map/index.js';

/** The name the CE asks for (§3.1). */
export const DISCOVERY_NAME = '4over6.info';

/** `a`: the certificate is not checked; `b`: it is (§3.1). */
export type CertificateCheck = 'a' | 'b';

export interface ServerLocation {
  readonly url: URL;
  readonly t: CertificateCheck;
}

/** A TXT record's text is at most 65535 bytes; a discovery record is one URL and two words. */
const MAX_RECORD_BYTES = 2048;

/** Text of the record quoted in an error: JSON-quoted, cut to MAX_SHOWN characters, controls JSON leaves alone escaped. */
function quoted(text: string | null): string {
  const cut = text !== null && text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
  return escapeControls(JSON.stringify(cut));
}

/** Checks a provisioning URL: absolute http or https, no user info, no fragment. */
export function parseServerUrl(text: string): Result<URL> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return err(`url ${quoted(text)} is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return err(`url ${quoted(text)}: scheme must be http or https`);
  }
  if (url.username !== '' || url.password !== '') return err(`url ${quoted(text)} carries user information`);
  if (url.hash !== '') return err(`url ${quoted(text)} carries a fragment`);
  return ok(url);
}

/**
 * `records` as node:dns resolveTxt() gives them: one array of
 * character-strings per TXT record; a record's strings are joined (RFC 7208
 * §3.3 reads a split TXT record the same way).
 */
export function parseDiscoveryRecords(records: readonly (readonly string[])[]): Result<ServerLocation> {
  if (records.length !== 1) return err(`${DISCOVERY_NAME} has ${records.length} TXT records; HB46PP allows exactly one`);
  const text = (records[0] ?? []).join('');
  if (Buffer.byteLength(text) > MAX_RECORD_BYTES) return err(`${DISCOVERY_NAME} TXT record longer than ${MAX_RECORD_BYTES} bytes`);
  return parseDiscoveryText(text);
}

export function parseDiscoveryText(text: string): Result<ServerLocation> {
  const fields = new Map<string, string>();
  for (const word of text.split(' ')) {
    const eq = word.indexOf('=');
    if (eq <= 0) return err(`TXT record ${quoted(text)}: ${quoted(word)} is not key=value`);
    const name = word.slice(0, eq);
    if (name !== 'v' && name !== 'url' && name !== 't') return err(`TXT record: unknown key ${quoted(name)}`);
    if (fields.has(name)) return err(`TXT record: key ${name} given twice`);
    fields.set(name, word.slice(eq + 1));
  }
  const version = fields.get('v');
  if (version !== 'v6mig-1') return err(`TXT record: v is ${quoted(version ?? null)}, expected "v6mig-1"`);
  const urlText = fields.get('url');
  if (urlText === undefined) return err('TXT record: no url');
  const url = parseServerUrl(urlText);
  if (!url.ok) return err(`TXT record: ${url.error}`);
  const t = fields.get('t');
  if (t !== 'a' && t !== 'b') return err(`TXT record: t is ${quoted(t ?? null)}, expected a or b`);
  // §3.1: "when the url's scheme is http, t=a (MUST)": a record asking to check
  // a certificate that plain HTTP cannot have is contradictory.
  if (url.value.protocol === 'http:' && t === 'b') return err('TXT record: t=b with an http url (HB46PP requires t=a for http)');
  return ok({ url: url.value, t });
}
