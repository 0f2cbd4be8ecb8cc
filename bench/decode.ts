/**
 * DHCPv6 S46 decoding throughput: `node --import tsx bench/decode.ts`.
 * Decodes every s46.jsonl reply (good and malformed) in a loop and prints
 * decodes/s. Measures only; never fails.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeOptions, parseHex } from '../src/dhcpv6/index.js';
import { figure, VECTORS } from './support.js';

export async function benchDecode(): Promise<void> {
  const inputs = readFileSync(resolve(VECTORS, 's46.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => parseHex((JSON.parse(line) as { optionsHex: string }).optionsHex))
    .flatMap((bytes) => (bytes.ok ? [bytes.value] : []));
  const rounds = 20_000;
  for (let i = 0; i < 2_000; i++) for (const input of inputs) decodeOptions(input); // warm-up
  const started = process.hrtime.bigint();
  let accepted = 0;
  for (let i = 0; i < rounds; i++) for (const input of inputs) if (decodeOptions(input).ok) accepted++;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const total = rounds * inputs.length;
  figure('decodeOptions (s46.jsonl mix)', Math.round(total / seconds), 'decodes/s', `${inputs.length} inputs, ${accepted / rounds} accepted`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await benchDecode();
}
