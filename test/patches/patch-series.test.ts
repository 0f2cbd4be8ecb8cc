/**
 * The OpenBSD 7.8 patch series as files: every patch parses (headers, hunk
 * line counts, order, no CRLF), touches what issue #8 names, and every path
 * it touches is listed in patches/openbsd-7.8/README with the revision and
 * date its hunks are written against.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../packaging/mdoc.js';
import { PATCH_DIR, parseCvsDiff, readPatchSeries } from './cvs-diff.js';

const series = readPatchSeries(REPO_ROOT);
const readme = readFileSync(join(REPO_ROOT, PATCH_DIR, 'README'), 'utf8');

interface Listed {
  readonly revision: string;
  readonly date: string | null;
}

/** README lines `  <path>  <revision|new>  [yyyy/mm/dd]`. */
function listedRevisions(text: string): Map<string, Listed> {
  const listed = new Map<string, Listed>();
  for (const line of text.split('\n')) {
    const m = /^\s+([a-z][A-Za-z0-9._-]*(?:\/[A-Za-z0-9._-]+)+)\s+(\d+(?:\.\d+)+|new)(?:\s+(\d{4}\/\d\d\/\d\d))?\s*$/.exec(line);
    if (m !== null) listed.set(m[1]!, { revision: m[2]!, date: m[3] ?? null });
  }
  return listed;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `2025/08/18` as cvs diff writes it in a `---` line: `18 Aug 2025`. */
function cvsDate(date: string): string {
  const [year, month, day] = date.split('/').map(Number) as [number, number, number];
  return `${day} ${MONTHS[month - 1]} ${year}`;
}

describe('patches/openbsd-7.8', () => {
  it('holds the two changes, pf map-e-portset then dhcp6leased Softwire46', () => {
    expect(series.map((patch) => patch.name)).toEqual(['0001-pf-map-e-portset.patch', '0002-dhcp6leased-s46.patch']);
  });

  it.each(series.map((patch) => [patch.name, patch] as const))('%s touches each file once', (_name, patch) => {
    const paths = patch.files.map((file) => file.path);
    expect(new Set(paths).size).toBe(paths.length);
  });

  it('the pf patch covers kernel, pfctl, manual and regress', () => {
    const paths = series[0]!.files.map((file) => file.path);
    for (const path of ['sys/net/pfvar.h', 'sys/net/pf_lb.c', 'sys/net/pf_ioctl.c', 'sbin/pfctl/parse.y', 'sbin/pfctl/pfctl_parser.c', 'share/man/man5/pf.conf.5', 'regress/sbin/pfctl/Makefile']) {
      expect(paths).toContain(path);
    }
    expect(paths.filter((path) => /^regress\/sbin\/pfctl\/.+\.in$/.test(path)).length).toBeGreaterThanOrEqual(2);
  });

  it('the dhcp6leased patch covers daemon, lease file, control program and manuals', () => {
    const paths = series[1]!.files.map((file) => file.path);
    for (const path of [
      'sbin/dhcp6leased/dhcp6leased.h',
      'sbin/dhcp6leased/dhcp6leased.c',
      'sbin/dhcp6leased/engine.c',
      'sbin/dhcp6leased/frontend.c',
      'sbin/dhcp6leased/parse.y',
      'sbin/dhcp6leased/parse_lease.y',
      'sbin/dhcp6leased/dhcp6leased.conf.5',
      'usr.sbin/dhcp6leasectl/dhcp6leasectl.c',
      'usr.sbin/dhcp6leasectl/dhcp6leasectl.8',
    ]) {
      expect(paths).toContain(path);
    }
  });

  it('lists every touched path in the README with the revision and date the hunks are written against', () => {
    const listed = listedRevisions(readme);
    const touched = series.flatMap((patch) => patch.files);
    expect(touched.length).toBeGreaterThan(0);
    for (const file of touched) {
      const entry = listed.get(file.path);
      expect(entry, `${file.path} is not listed in ${PATCH_DIR}/README`).toBeDefined();
      if (file.baseRevision === null) {
        expect(entry!.revision, file.path).toBe('new');
      } else {
        expect(entry!.revision, file.path).toBe(file.baseRevision);
        expect(entry!.date, `${file.path} needs its revision date`).not.toBeNull();
        const header = series.find((patch) => patch.files.includes(file))!.text.split('\n').find((line) => line.startsWith(`--- ${file.path}\t`))!;
        expect(header.split('\t')[1]!.startsWith(cvsDate(entry!.date!)), `${file.path}: --- date vs README`).toBe(true);
      }
    }
    // ...and lists nothing the series does not touch.
    expect([...listed.keys()].sort()).toEqual(touched.map((file) => file.path).sort());
  });

  it('diff headers carry the base revision dates, never a later one', () => {
    const cvsTime = (date: string): number => Date.parse(date.replace(/ -0000$/, ' UTC'));
    for (const patch of series) {
      const lines = patch.text.split('\n');
      const bases = lines.filter((l) => /^--- \S+\t.*\t\d+(\.\d+)+$/.test(l)).map((l) => cvsTime(l.split('\t')[1]!));
      const newest = Math.max(...bases);
      lines.forEach((line, i) => {
        if (!line.startsWith('+++ ')) return;
        const [oldPath, oldDate] = lines[i - 1]!.slice(4).split('\t') as [string, string];
        const newDate = line.split('\t')[1]!;
        // An existing file keeps its revision's date; a new one is not dated after the newest base.
        if (oldPath === '/dev/null') expect(cvsTime(newDate), `${patch.name}:${i + 1}`).toBeLessThanOrEqual(newest);
        else expect(newDate, `${patch.name}:${i + 1}`).toBe(oldDate);
      });
    }
  });

  it('README says how to apply the series from /usr/src', () => {
    expect(readme).toMatch(/cd \/usr\/src/);
    for (const patch of series) expect(readme).toMatch(new RegExp(`patch -p0 < \\S*${patch.name.replace(/\./g, '\\.')}`));
    expect(readme).toContain('OPENBSD_7_8');
  });

  it('hunks add lines in the style of the tree: no trailing whitespace, tabs kept', () => {
    for (const patch of series) {
      for (const file of patch.files) {
        for (const hunk of file.hunks) {
          for (const line of hunk.body.filter((l) => l.startsWith('+'))) {
            expect(line, `${patch.name} ${file.path}: trailing whitespace`).not.toMatch(/[ \t]$/);
          }
        }
      }
    }
  });
});

describe('the patch reader refuses damaged patches', () => {
  const good = [
    'Index: sys/net/pf_lb.c',
    '='.repeat(67),
    'RCS file: /cvs/src/sys/net/pf_lb.c,v',
    'diff -u -p -r1.76 pf_lb.c',
    '--- sys/net/pf_lb.c\t18 Aug 2025 11:27:58 -0000\t1.76',
    '+++ sys/net/pf_lb.c\t22 Nov 2026 00:00:00 -0000',
    '@@ -10,3 +10,4 @@ pf_hash(struct pf_addr *inaddr)',
    ' a',
    '+b',
    ' c',
    ' d',
    '@@ -20,2 +21,1 @@',
    ' e',
    '-f',
    '',
  ].join('\n');

  it('reads a well-formed patch', () => {
    const patch = parseCvsDiff('good.patch', good);
    expect(patch.files).toHaveLength(1);
    expect(patch.files[0]!.baseRevision).toBe('1.76');
    expect(patch.files[0]!.hunks.map((h) => [h.oldStart, h.oldLines, h.newStart, h.newLines])).toEqual([
      [10, 3, 10, 4],
      [20, 2, 21, 1],
    ]);
  });

  it.each([
    ['CRLF', good.replace('\n a\n', '\r\n a\n'), /carriage return/],
    ['a wrong hunk count', good.replace('@@ -10,3 +10,4 @@', '@@ -10,3 +10,5 @@'), /hunk (counts|ends early)/],
    ['a hunk that lies about its new start', good.replace('@@ -20,2 +21,1 @@', '@@ -20,2 +22,1 @@'), /new start 22 should be 21/],
    ['hunks out of order', good.replace('@@ -20,2 +21,1 @@', '@@ -5,2 +6,1 @@'), /overlaps or precedes/],
    ['a revision mismatch', good.replace('0000\t1.76', '0000\t1.75'), /revision 1.75 differs from -r1.76/],
    ['a path mismatch', good.replace('+++ sys/net/pf_lb.c', '+++ sys/net/pf.c'), /\+\+\+ names sys\/net\/pf.c/],
    ['no trailing newline', good.slice(0, -1), /does not end with a newline/],
    ['a path leaving the tree', good.replace('Index: sys/net/pf_lb.c', 'Index: ../etc/passwd'), /bad path/],
  ])('refuses %s', (_what, text, reason) => {
    expect(() => parseCvsDiff('bad.patch', text)).toThrow(reason);
  });
});

describe("the second review's findings stay fixed", () => {
  const file = (path: string) => {
    const found = series.flatMap((patch) => patch.files).find((f) => f.path === path);
    if (found === undefined) throw new Error(`the series does not touch ${path}`);
    return found;
  };
  /** The function named after a hunk's `@@ ... @@`, as the patch text has it (diff -p). */
  const functionOf = (path: string, hunk: { oldStart: number; oldLines: number }): string => {
    const text = series.find((patch) => patch.files.some((f) => f.path === path))!.text;
    const section = text.slice(text.indexOf(`Index: ${path}\n`));
    const header = section.split('\n').find((line) => line.startsWith(`@@ -${hunk.oldStart},${hunk.oldLines} `));
    return header?.replace(/^@@ [^@]* @@ ?/, '') ?? '';
  };
  /** The lines a file's hunks add, only those of hunks in `fn` if given. */
  const added = (path: string, fn: string | null = null): string[] =>
    file(path)
      .hunks.filter((hunk) => fn === null || functionOf(path, hunk).startsWith(`${fn}(`))
      .flatMap((hunk) => hunk.body.filter((line) => line.startsWith('+')).map((line) => line.slice(1)));

  it('the kernel refuses map-e-portset on af-to rules and a non-zero pad (pf_rule_copyin)', () => {
    const copyin = added('sys/net/pf_ioctl.c', 'pf_rule_copyin').join('\n');
    // to->rule_flag is only copied further down in pf_rule_copyin(), so the test must read from->.
    expect(copyin).toContain('(from->rule_flag & PFRULE_AFTO)');
    expect(copyin).not.toContain('to->rule_flag &');
    for (const pool of ['nat', 'rdr', 'route']) expect(copyin).toContain(`to->${pool}.mape.pad != 0`);
  });

  it('an empty UDP datagram is dropped, not fatal (frontend.c udp_receive)', () => {
    const hunks = file('sbin/dhcp6leased/frontend.c').hunks;
    const kept = hunks.flatMap((hunk) => hunk.body.filter((line) => !line.startsWith('-')));
    expect(kept.some((line) => line.includes('len == 0", __func__'))).toBe(false);
    expect(hunks.some((hunk) => hunk.body.includes('-\t\tfatal("%s len == 0", __func__);'))).toBe(true);
    expect(added('sbin/dhcp6leased/frontend.c', 'udp_receive').join('\n')).toMatch(/if \(len == 0\) \{\n.*\n\t\tlog_warnx\([^\n]*\n\t\treturn;/);
  });

  it('S46 options are cleared where the lease ends, not in deconfigure_interfaces()', () => {
    expect(added('sbin/dhcp6leased/engine.c', 'deconfigure_interfaces').join('\n')).not.toContain('s46');
    expect(added('sbin/dhcp6leased/engine.c', 'state_transition')).toContain('\t\t\tiface->s46_count = 0;');
  });

  it('the engine refuses an IMSG_DHCP length beyond its packet buffer', () => {
    expect(added('sbin/dhcp6leased/engine.c', 'engine_dispatch_frontend').join('\n')).toContain(
      '(size_t)imsg_dhcp.len > sizeof(imsg_dhcp.packet)',
    );
  });
});
