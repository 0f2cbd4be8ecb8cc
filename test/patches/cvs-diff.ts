/**
 * A strict reader of the patch files in patches/openbsd-7.8: `cvs diff -uNp`
 * output, one `Index:` section per file, applied from /usr/src with
 * `patch -p0`. It refuses anything patch(1) would read differently from what
 * the header says (hunk line counts, out-of-order hunks, mismatched paths),
 * so a test can tell that a hand-edited patch is still whole.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Hunk {
  /** 1-based line in the old file where the hunk starts (0 for a new file). */
  readonly oldStart: number;
  readonly oldLines: number;
  readonly newStart: number;
  readonly newLines: number;
  /** The hunk's body lines, each still carrying its ' ', '-' or '+' marker. */
  readonly body: readonly string[];
}

export interface FilePatch {
  readonly path: string;
  /** The RCS revision the hunks are written against; null for a file the patch creates. */
  readonly baseRevision: string | null;
  readonly hunks: readonly Hunk[];
}

export interface PatchFile {
  readonly name: string;
  readonly text: string;
  readonly files: readonly FilePatch[];
}

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(?: .*)?$/;
const OLD_HEADER = /^--- (\S+)\t([^\t]+)(?:\t(\d+(?:\.\d+)+))?$/;
const NEW_HEADER = /^\+\+\+ (\S+)\t([^\t]+)$/;

class PatchSyntaxError extends Error {}

function fail(name: string, lineNo: number, reason: string): never {
  throw new PatchSyntaxError(`${name}:${lineNo}: ${reason}`);
}

/** Parses one patch file's text; throws `<name>:<line>: <reason>` on the first defect. */
export function parseCvsDiff(name: string, text: string): PatchFile {
  if (text.includes('\r')) fail(name, text.slice(0, text.indexOf('\r')).split('\n').length, 'carriage return (CRLF) in patch');
  if (!text.endsWith('\n')) fail(name, text.split('\n').length, 'patch does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const files: FilePatch[] = [];
  let i = 0;
  // Free text before the first Index: line is the patch's description.
  while (i < lines.length && !lines[i]!.startsWith('Index: ')) i++;
  if (i === lines.length) fail(name, 1, 'no "Index:" section');

  while (i < lines.length) {
    const at = (): number => i + 1;
    const path = lines[i]!.slice('Index: '.length);
    if (!/^[A-Za-z0-9._/-]+$/.test(path) || path.startsWith('/') || path.includes('..')) fail(name, at(), `bad path "${path}"`);
    i++;
    if (lines[i] !== '='.repeat(67)) fail(name, at(), 'expected the ===== separator line');
    i++;
    const rcs = lines[i] ?? '';
    if (!rcs.startsWith('RCS file: ')) fail(name, at(), 'expected "RCS file:"');
    i++;
    const diffLine = lines[i] ?? '';
    let baseRevision: string | null;
    const base = path.split('/').pop()!;
    const existing = /^diff -u -p -r(\d+(?:\.\d+)+) (\S+)$/.exec(diffLine);
    if (existing !== null) {
      baseRevision = existing[1]!;
      if (existing[2] !== base) fail(name, at(), `diff line names ${existing[2]}, not ${base}`);
      if (rcs !== `RCS file: /cvs/src/${path},v`) fail(name, at() - 1, `RCS file line does not name /cvs/src/${path},v`);
    } else if (diffLine === `diff -N ${path}`) {
      baseRevision = null;
    } else fail(name, at(), `expected "diff -u -p -r<rev> ${base}" or "diff -N ${path}"`);
    i++;

    const oldHeader = OLD_HEADER.exec(lines[i] ?? '');
    if (oldHeader === null) fail(name, at(), 'expected the "--- <path>\\t<date>" line');
    if (baseRevision === null) {
      if (oldHeader[1] !== '/dev/null') fail(name, at(), 'a new file must come from /dev/null');
    } else {
      if (oldHeader[1] !== path) fail(name, at(), `--- names ${oldHeader[1]}, Index names ${path}`);
      if (oldHeader[3] !== baseRevision) fail(name, at(), `--- revision ${oldHeader[3] ?? 'missing'} differs from -r${baseRevision}`);
    }
    i++;
    const newHeader = NEW_HEADER.exec(lines[i] ?? '');
    if (newHeader === null) fail(name, at(), 'expected the "+++ <path>\\t<date>" line');
    if (newHeader[1] !== path) fail(name, at(), `+++ names ${newHeader[1]}, Index names ${path}`);
    i++;

    const hunks: Hunk[] = [];
    let delta = 0;
    let oldEnd = 0;
    while (i < lines.length && !lines[i]!.startsWith('Index: ')) {
      const headerAt = at();
      const header = HUNK_HEADER.exec(lines[i]!);
      if (header === null) fail(name, headerAt, `expected a hunk header, found "${lines[i]!.slice(0, 40)}"`);
      const oldStart = Number(header[1]);
      const oldLines = header[2] === undefined ? 1 : Number(header[2]);
      const newStart = Number(header[3]);
      const newLines = header[4] === undefined ? 1 : Number(header[4]);
      i++;
      const body: string[] = [];
      let seenOld = 0;
      let seenNew = 0;
      while (i < lines.length && (seenOld < oldLines || seenNew < newLines)) {
        const line = lines[i]!;
        const marker = line[0];
        if (marker === ' ') {
          seenOld++;
          seenNew++;
        } else if (marker === '-') seenOld++;
        else if (marker === '+') seenNew++;
        else if (line.startsWith('\\ No newline at end of file')) fail(name, at(), 'a patched file must end with a newline');
        else fail(name, at(), `hunk ends early: ${seenOld}/${oldLines} old and ${seenNew}/${newLines} new lines`);
        body.push(line);
        i++;
      }
      if (seenOld !== oldLines || seenNew !== newLines) {
        fail(name, headerAt, `hunk counts ${oldLines},${newLines} but has ${seenOld} old and ${seenNew} new lines`);
      }
      if (baseRevision === null) {
        if (oldStart !== 0 || oldLines !== 0 || newStart !== 1 || hunks.length > 0) fail(name, headerAt, 'a new file is one hunk @@ -0,0 +1,N @@');
      } else {
        if (oldStart <= oldEnd) fail(name, headerAt, `hunk at old line ${oldStart} overlaps or precedes the previous one`);
        // With hunks in order and no offset, each starts where the old line plus earlier growth says.
        if (newStart !== oldStart + delta) fail(name, headerAt, `new start ${newStart} should be ${oldStart + delta}`);
      }
      delta += newLines - oldLines;
      oldEnd = oldStart + oldLines - 1;
      hunks.push({ oldStart, oldLines, newStart, newLines, body });
    }
    if (hunks.length === 0) fail(name, at(), `no hunks for ${path}`);
    files.push({ path, baseRevision, hunks });
  }
  return { name, text, files };
}

export const PATCH_DIR = 'patches/openbsd-7.8';

/** Every `*.patch` in the series directory, parsed, in series order. */
export function readPatchSeries(root: string): PatchFile[] {
  const dir = join(root, PATCH_DIR);
  return readdirSync(dir)
    .filter((file) => file.endsWith('.patch'))
    .sort()
    .map((file) => parseCvsDiff(file, readFileSync(join(dir, file), 'utf8')));
}

/** The lines a hunk adds or keeps: the text of the patched file around it. */
export function addedText(file: FilePatch): string {
  return file.hunks
    .flatMap((hunk) => hunk.body.filter((line) => line.startsWith('+')).map((line) => line.slice(1)))
    .join('\n');
}

/** A function the patch adds, from its `int` line to the `}` in column 0. */
export function addedFunction(file: FilePatch, name: string): string {
  const added = addedText(file).split('\n');
  const start = added.findIndex((line, i) => line === 'int' && added[i + 1]?.startsWith(`${name}(`));
  if (start < 0) throw new Error(`the pf patch adds no function ${name}() to ${file.path}`);
  const end = added.indexOf('}', start);
  if (end < 0) throw new Error(`${name}() has no closing brace in column 0`);
  return added.slice(start, end + 1).join('\n');
}
