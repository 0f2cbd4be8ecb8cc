/**
 * The regress cases the pf patch adds to regress/sbin/pfctl, read by maped:
 * what the patched pfctl prints for a map-e-portset rule (pfNNN.ok) is what
 * maped's reader of `pfctl -a maped -sr` understands, with the same a/k/psid
 * as the rule written (pfNNN.in); each refused line (pfailNN.in) has its one
 * error line (pfailNN.ok).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { portSet } from '../../src/map/index.js';
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

describe('regress/sys/net/pf_mapeportset of the pf patch', () => {
  const makefile = pf.files.find((file) => file.path === 'regress/sys/net/pf_mapeportset/Makefile');
  /** The Makefile as make(1) reads it: backslash-newlines joined. */
  const text = makefile === undefined ? '' : addedText(makefile).replace(/\\\n\s*/g, ' ');
  const variable = (name: string): string => {
    const m = new RegExp(`^${name} =\\s*(.*)$`, 'm').exec(text);
    if (m === null) throw new Error(`no ${name} in the regress Makefile`);
    return m[1]!.trim();
  };

  it('loads a map-e-portset rule maped would write, into the anchor "regress"', () => {
    expect(makefile, 'the pf patch adds regress/sys/net/pf_mapeportset/Makefile').toBeDefined();
    const [a, k, psid] = [variable('A'), variable('K'), variable('PSID')].map(Number) as [number, number, number];
    expect(variable('RULE')).toBe('match out on pair${N1} inet nat-to (pair${N1}) map-e-portset ${A}/${K}/${PSID}');
    expect(text).toContain("echo '${RULE}' | ${SUDO} /sbin/pfctl -a regress -f -");
    const listing = parsePfctlRules(`match out on pair11 inet all nat-to (pair11) round-robin map-e-portset ${a}/${k}/${psid}`);
    expect(listing.rules[0]?.natTo?.mapePortset).toEqual([a, k, psid]);
    expect(text).toMatch(/^REGRESS_TARGETS \+=\s+run-udp$/m);
    expect(text).toMatch(/^REGRESS_TARGETS \+=\s+run-icmp$/m);
  });

  it('its port check, run by sh(1) over every port, accepts exactly the RFC 7597 port set', () => {
    const check = variable('CHECK_PORT')
      .replace(/\$\{(A|K|PSID)\}/g, (_, name: string) => variable(name))
      .replace(/\$\$/g, '$');
    const script = `p=1; while [ $p -le 65535 ]; do set -- $p; if ${check}; then echo $p; fi; p=$((p + 1)); done\n`;
    const result = spawnSync('sh', ['-c', script], { encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 20 });
    expect(result.status, result.stderr).toBe(0);
    const accepted = result.stdout.trim().split('\n').map(Number);
    const expected: number[] = [];
    for (const [low, high] of portSet(Number(variable('A')), Number(variable('K')), Number(variable('PSID'))).ranges) {
      for (let p = low; p <= high; p++) expected.push(p);
    }
    expect(accepted).toEqual(expected);
  });
});
