/**
 * What Linux's /proc says about a process the test did not start itself
 * (maped in the background is the child of a launcher that has exited).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The fields of /proc/<pid>/stat after the command name (proc(5)): state, ppid, pgrp, session, …; null when there is no such process. */
function statFields(pid: number): string[] | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name is in parentheses and may itself hold spaces or ')'.
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/**
 * Whether `pid` has exited. An orphan's zombie counts as exited: this
 * machine's init does not always reap the orphans it inherits.
 */
export function processGone(pid: number): boolean {
  const fields = statFields(pid);
  return fields === null || fields[0] === 'Z';
}

/** The session id of `pid` (setsid(2) makes it the pid itself); null when there is no such process. */
export function sessionOf(pid: number): number | null {
  const fields = statFields(pid);
  return fields === null ? null : Number(fields[3]);
}

/** The pids whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

/** The command line of `pid`, its arguments joined by spaces; '' when there is no such process. */
export function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** The live processes (zombies left out) whose command line holds `text`. */
export function processesNaming(text: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^[0-9]+$/.test(name))
    .map(Number)
    .filter((pid) => pid !== process.pid && commandLineOf(pid).includes(text) && !processGone(pid));
}

/** What descriptor `fd` of `pid` is open on, as its /proc link reads (`/dev/null`, `pipe:[123]`, `socket:[456]`). */
export function descriptorTarget(pid: number, fd: number): string {
  return readlinkSync(`/proc/${pid}/fd/${fd}`);
}

/** The resident set of `pid` in KiB, as /proc/<pid>/status says (VmRSS). */
export function residentKiB(pid: number): number {
  const found = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (found === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(found[1]);
}
