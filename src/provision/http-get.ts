/**
 * One bounded HTTP(S) GET to a provisioning server, over IPv6 only
 * (v6mig-prov 1.1 §3.3 "the client MUST reach the server over IPv6").
 * The certificate is checked when `t` is b and not when it is a (§3.1); the
 * host name goes in TLS's server_name (§3.2 SHOULD; RFC 6066 §3 forbids an
 * address literal there). Every wait has a timeout and the body a size cap:
 * the reply comes from the access network and is untrusted.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIPv4, isIPv6 } from 'node:net';
import { rootCertificates } from 'node:tls';
import { abortable } from './abortable.js';
import type { CertificateCheck } from './discovery-record.js';
import { hostOf } from './request.js';

export interface HttpLimits {
  /** From the start until the TCP (and TLS) connection is up. */
  readonly connectTimeoutMs: number;
  /** From the start until the last byte of the body. */
  readonly totalTimeoutMs: number;
  readonly maxBodyBytes: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  connectTimeoutMs: 10_000,
  totalTimeoutMs: 30_000,
  maxBodyBytes: 1024 * 1024,
};

export interface HttpGetOptions {
  readonly url: URL;
  readonly t: CertificateCheck;
  /** PEM text of a private CA, trusted besides the system's (t=b). */
  readonly caPem: string | null;
  /** The IPv6 addresses of a host name. */
  readonly resolveIpv6: (host: string) => Promise<string[]>;
  readonly limits: HttpLimits;
  readonly userAgent: string;
  /** Ends the request at once (the client stopped): the socket is destroyed, the result an error. */
  readonly signal?: AbortSignal;
}

export interface HttpAnswer {
  readonly status: number;
  /** The Location header of a redirect, as sent. */
  readonly location: string | null;
  readonly body: Buffer;
}

export type HttpResult = { readonly ok: true; readonly answer: HttpAnswer } | { readonly ok: false; readonly error: string };

async function ipv6Address(url: URL, resolveIpv6: HttpGetOptions['resolveIpv6']): Promise<string> {
  const host = hostOf(url);
  if (isIPv6(host)) return host;
  if (isIPv4(host)) throw new Error(`${host} is an IPv4 address; HB46PP servers are reached over IPv6 only`);
  const addresses = await resolveIpv6(host);
  const first = addresses.find((address) => isIPv6(address));
  if (first === undefined) throw new Error(`${host}: no IPv6 address`);
  return first;
}

export async function httpGet(options: HttpGetOptions): Promise<HttpResult> {
  const { url, limits, signal } = options;
  const started = Date.now();
  let address: string;
  try {
    address = await abortable(withTimeout(ipv6Address(url, options.resolveIpv6), limits.connectTimeoutMs, `${url.hostname}: name lookup timed out`), signal);
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  if (signal?.aborted) return { ok: false, error: `${url.host}: stopped` };
  const remaining = Math.max(1, limits.totalTimeoutMs - (Date.now() - started));
  const https = url.protocol === 'https:';
  const host = hostOf(url);
  const tlsOptions = https
    ? {
        rejectUnauthorized: options.t === 'b',
        ...(options.caPem === null ? {} : { ca: [...rootCertificates, options.caPem] }),
        // SNI, and the name the certificate is checked against.
        ...(isIPv6(host) ? {} : { servername: host }),
      }
    : {};
  return new Promise<HttpResult>((resolve) => {
    let settled = false;
    const finish = (result: HttpResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(total);
      clearTimeout(connect);
      signal?.removeEventListener('abort', stopped);
      resolve(result);
    };
    const fail = (error: string): void => {
      finish({ ok: false, error });
      req.destroy();
    };
    const req: ClientRequest = (https ? httpsRequest : httpRequest)({
      host: address,
      family: 6,
      port: url.port === '' ? (https ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      agent: false,
      headers: { Host: url.host, 'User-Agent': options.userAgent, Accept: 'application/json', Connection: 'close' },
      ...tlsOptions,
    });
    const total = setTimeout(() => fail(`${url.host}: no complete answer within ${limits.totalTimeoutMs} ms`), remaining);
    const connect = setTimeout(() => fail(`${url.host}: no connection within ${limits.connectTimeoutMs} ms`), limits.connectTimeoutMs);
    const stopped = (): void => fail(`${url.host}: stopped`);
    signal?.addEventListener('abort', stopped, { once: true });
    req.on('socket', (socket) => {
      socket.once(https ? 'secureConnect' : 'connect', () => clearTimeout(connect));
    });
    req.on('error', (e: NodeJS.ErrnoException) => fail(`${url.host}: ${e.code ?? ''}${e.code ? ' ' : ''}${e.message}`.trim()));
    req.on('response', (res: IncomingMessage) => {
      clearTimeout(connect);
      const status = res.statusCode ?? 0;
      const location = typeof res.headers.location === 'string' ? res.headers.location : null;
      const declared = Number(res.headers['content-length'] ?? NaN);
      if (Number.isFinite(declared) && declared > limits.maxBodyBytes) {
        fail(`${url.host}: reply of ${declared} bytes exceeds ${limits.maxBodyBytes}`);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limits.maxBodyBytes) {
          fail(`${url.host}: reply exceeds ${limits.maxBodyBytes} bytes`);
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (e) => fail(`${url.host}: ${e.message}`));
      res.on('end', () => finish({ ok: true, answer: { status, location, body: Buffer.concat(chunks) } }));
    });
    req.end();
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
