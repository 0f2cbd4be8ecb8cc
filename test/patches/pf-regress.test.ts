/**
 * The regress cases the pf patch adds to regress/sbin/pfctl, read by maped:
 * what the patched pfctl prints for a map-e-portset rule (pfNNN.ok) is what
 * maped's reader of `pfctl -a maped -sr` understands, with the same a/k/psid
 * as the rule written (pfNNN.in); each refused line (pfailNN.in) has its one
 * error line (pfailNN.ok).
 */
import { describe, expect, it } from 'vitest';
import { parsePfctlRules } from '../../src/openbsd/pfctl-output.js';
import { REPO_ROOT } from '../packaging/mdoc.js';
import { addedText, readPatchSeries } from './cvs-diff.js';

const pf = readPatchSeries(REPO_ROOT)[0]!;

function newFile(pattern: RegExp): { path: string; lines: string[] }[] {
  return pf.files
    .filter((file) => file.baseRevision === null && pattern.test(file.path))
    .map((file) => ({ path: file.path, lines: addedText(file).split('\n') }));
}

/** The rules of a pfctl input: comments and blank lines dropped. */
function rules(lines: readonly string[]): string[] {
  return lines.filter((line) => line.trim() !== '' && !line.startsWith('#'));
}

describe('regress/sbin/pfctl cases of the pf patch', () => {
  const accepting = newFile(/\/pf\d+\.in$/);
  const refusing = newFile(/\/pfail\d+\.in$/);

  it('adds an accepting and a refusing case, each with its .ok, listed in the Makefile', () => {
    expect(accepting.length).toBeGreaterThan(0);
    expect(refusing.length).toBeGreaterThan(0);
    const makefile = pf.files.find((file) => file.path === 'regress/sbin/pfctl/Makefile')!;
    const added = makefile.hunks.flatMap((hunk) => hunk.body.filter((line) => line.startsWith('+')));
    for (const { path } of [...accepting, ...refusing]) {
      const [, kind, number] = /\/(pf|pfail)(\d+)\.in$/.exec(path)!;
      expect(newFile(new RegExp(`/${kind}${number}\\.ok$`)), `${path} without .ok`).toHaveLength(1);
      const list = kind === 'pf' ? 'PFTESTS' : 'PFFAIL';
      expect(added.some((line) => line.startsWith(`+${list}`) && line.split(/[=\s]+/).includes(number!)), `${kind}${number} in ${list}`).toBe(true);
    }
  });

  it.each(accepting.map((file) => [file.path, file] as const))('%s: maped reads each printed rule back with the a/k/psid written', (path, input) => {
    const printed = newFile(new RegExp(`${path.replace(/\.in$/, '').split('/').pop()}\\.ok$`))[0]!.lines;
    const written = rules(input.lines);
    const listing = parsePfctlRules(printed.join('\n'));
    expect(listing.foreign).toEqual([]);
    expect(listing.rules).toHaveLength(written.length);
    written.forEach((line, i) => {
      const triple = /map-e-portset (\d+)\/(\d+)\/(\d+)/.exec(line)!.slice(1).map(Number);
      expect(listing.rules[i]!.natTo?.mapePortset, printed[i]).toEqual(triple);
      expect(listing.rules[i]!.natTo?.ports, printed[i]).toBeNull();
    });
  });

  it.each(refusing.map((file) => [file.path, file] as const))('%s: one "stdin:<line>:" error per refused rule', (path, input) => {
    const errors = newFile(new RegExp(`${path.replace(/\.in$/, '').split('/').pop()}\\.ok$`))[0]!.lines.filter((l) => l !== '');
    const bad = input.lines.map((line, i) => [line, i + 1] as const).filter(([line]) => line.trim() !== '' && !line.startsWith('#'));
    expect(errors.map((line) => Number(/^stdin:(\d+): map-e-portset /.exec(line)?.[1]))).toEqual(bad.map(([, n]) => n));
  });
});
