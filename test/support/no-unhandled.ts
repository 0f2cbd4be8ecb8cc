/**
 * Loaded before every test file (vitest.config.ts setupFiles): a promise
 * rejection nobody handles or an exception nobody catches fails the file it
 * happened in, named, rather than passing unnoticed in some later output.
 */
import { afterAll } from 'vitest';

const escaped: string[] = [];
const remember = (kind: string) => (error: unknown) => {
  escaped.push(`${kind}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
};
process.on('unhandledRejection', remember('unhandledRejection'));
process.on('uncaughtException', remember('uncaughtException'));

afterAll(() => {
  if (escaped.length > 0) throw new Error(`reached the top of the process:\n${escaped.splice(0).join('\n')}`);
});
