/**
 * A certificate chain made at test time with the system's openssl(1): a CA
 * and a server certificate it signed for the given DNS names and IP
 * addresses, plus a self-signed certificate for the same names that no CA
 * vouches for. Files in a temporary directory the caller removes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export interface TlsChain {
  readonly dir: string;
  readonly caFile: string;
  readonly caPem: string;
  /** Signed by the CA. */
  readonly key: string;
  readonly cert: string;
  /** Self-signed, same names: a certificate a checking client must refuse. */
  readonly rogueKey: string;
  readonly rogueCert: string;
  remove(): void;
}

const OPENSSL = '/usr/bin/openssl';

export async function makeTlsChain(names: readonly string[], addresses: readonly string[]): Promise<TlsChain> {
  const dir = mkdtempSync(join(tmpdir(), 'maped-tls-'));
  const path = (name: string): string => join(dir, name);
  const san = [...names.map((n) => `DNS:${n}`), ...addresses.map((a) => `IP:${a}`)].join(',');
  const run = (args: string[]): Promise<unknown> => execa(OPENSSL, args, { cwd: dir, timeout: 60_000 });
  await run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=maped test CA', '-keyout', path('ca.key'), '-out', path('ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${names[0] ?? 'server'}`,
    '-keyout', path('server.key'), '-out', path('server.csr')]);
  writeFileSync(path('server.ext'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  await run(['x509', '-req', '-in', path('server.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca.key'), '-CAcreateserial',
    '-days', '2', '-extfile', path('server.ext'), '-out', path('server.pem')]);
  await run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${names[0] ?? 'server'}`, '-addext', `subjectAltName=${san}`, '-keyout', path('rogue.key'), '-out', path('rogue.pem')]);
  const read = (name: string): string => readFileSync(path(name), 'utf8');
  return {
    dir,
    caFile: path('ca.pem'),
    caPem: read('ca.pem'),
    key: read('server.key'),
    cert: read('server.pem'),
    rogueKey: read('rogue.key'),
    rogueCert: read('rogue.pem'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
