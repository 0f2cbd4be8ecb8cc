/**
 * The last good provisioning reply, kept in state-dir (v6mig-prov 1.1 §3.5:
 * the CE MAY store it and use it while the server cannot be reached, and
 * SHOULD offer a way to erase it: `mapedctl provision forget`). Replaced
 * atomically (temporary file in the same directory, then rename(2)); read
 * back through the reply's own schema, since the file may have been edited or
 * cut short. Mode 0600: the token identifies this CE to the server.
 */
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { replaceFile } from '../atomic-file.js';
import { validateReply, type Reply } from './reply.js';

export const CACHE_FILE = 'hb46pp.json';
/** A reply is at most 1 MiB; its cache with a few fields more no larger than twice that. */
const MAX_CACHE_BYTES = 2 * 1024 * 1024;

export interface CachedReply {
  readonly savedAt: string;
  /** The URL the reply came from (after redirects). */
  readonly url: string;
  readonly reply: Reply;
}

const cacheSchema = z.object({
  version: z.literal(1),
  savedAt: z.string().max(64),
  url: z.string().max(4096),
  reply: z.unknown(),
});

export type CacheRead = { readonly kind: 'none' } | { readonly kind: 'ok'; readonly cached: CachedReply } | { readonly kind: 'bad'; readonly error: string };

export function readCachedReply(stateDir: string): CacheRead {
  const path = join(stateDir, CACHE_FILE);
  let text: string;
  try {
    if (statSync(path).size > MAX_CACHE_BYTES) return { kind: 'bad', error: `${path}: larger than ${MAX_CACHE_BYTES} bytes` };
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    return { kind: 'bad', error: `${path}: ${(e as Error).message}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'bad', error: `${path}: not JSON` };
  }
  const outer = cacheSchema.safeParse(value);
  if (!outer.success) return { kind: 'bad', error: `${path}: not a maped HB46PP cache` };
  const reply = validateReply(outer.data.reply);
  if (!reply.ok) return { kind: 'bad', error: `${path}: ${reply.error}` };
  return { kind: 'ok', cached: { savedAt: outer.data.savedAt, url: outer.data.url, reply: reply.value } };
}

export function writeCachedReply(stateDir: string, cached: CachedReply): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, CACHE_FILE);
  replaceFile(path, `${JSON.stringify({ version: 1, ...cached })}\n`, { mode: 0o600 });
}

export function removeCachedReply(stateDir: string): void {
  rmSync(join(stateDir, CACHE_FILE), { force: true });
}
