/**
 * A sh wrapper in front of each fake tool that injects one fault on one
 * argv: exit 1, hang ignoring SIGTERM, or hang with a child holding the
 * pipes. What to inject is read from files in the fake's directory at each
 * call, so a test switches faults on and off while maped runs. A hanging
 * wrapper appends its pid (and its child's) to `fault.pids`, so a test can
 * check that maped killed the whole process group.
 */
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FakeOpenBSD, FakeState, FakeToolName } from './fake-openbsd/index.js';

export type WrapperFault = 'exit1' | 'hang' | 'hang-child';

const TOOLS: readonly FakeToolName[] = ['ifconfig', 'route', 'pfctl', 'dhcp6leasectl', 'sysctl'];

function script(dir: string, tool: string): string {
  return [
    '#!/bin/sh',
    `if [ -f '${dir}/fault' ]; then`,
    `  IFS= read -r want < '${dir}/fault.argv'`,
    `  if [ "${tool} $*" = "$want" ]; then`,
    `    read -r mode < '${dir}/fault'`,
    '    case "$mode" in',
    `      exit1) echo "${tool}: injected failure" >&2; exit 1 ;;`,
    `      hang) echo $$ >> '${dir}/fault.pids'; trap '' TERM; while :; do sleep 1; done ;;`,
    `      hang-child) sleep 1000 & echo "$$ $!" >> '${dir}/fault.pids'; trap '' TERM; while :; do sleep 1; done ;;`,
    '    esac',
    '  fi',
    'fi',
    `exec '${dir}/${tool}' "$@"`,
    '',
  ].join('\n');
}

export interface WrappedTools {
  /** The wrappers' paths, for maped.conf's `tool` lines. */
  readonly tools: Record<FakeToolName, string>;
  /** From the next call on, `<tool> <args>` (joined with spaces) gets `fault`. */
  setFault(argv: string, fault: WrapperFault): Promise<void>;
  clearFault(): Promise<void>;
  /** The pids of the wrappers that hung so far, and of their children. */
  hungPids(): Promise<number[]>;
}

export async function wrapTools(fake: FakeOpenBSD): Promise<WrappedTools> {
  const wrapped = join(fake.dir, 'wrap');
  await mkdir(wrapped);
  const tools = {} as Record<FakeToolName, string>;
  for (const tool of TOOLS) {
    const path = join(wrapped, tool);
    await writeFile(path, script(fake.dir, tool));
    await chmod(path, 0o755);
    tools[tool] = path;
  }
  return {
    tools,
    async setFault(argv, fault) {
      await writeFile(join(fake.dir, 'fault.argv'), `${argv}\n`);
      await writeFile(join(fake.dir, 'fault'), `${fault}\n`);
    },
    async clearFault() {
      await rm(join(fake.dir, 'fault'), { force: true });
    },
    async hungPids() {
      const text = await readFile(join(fake.dir, 'fault.pids'), 'utf8').catch(() => '');
      return text.split(/\s+/).filter((w) => w !== '').map(Number);
    },
  };
}

/** What maped may change, comparable across fakes (interface indexes depend on creation order). */
export function configuredSystem(s: FakeState) {
  const interfaces = Object.fromEntries(Object.entries(s.interfaces).map(([name, i]) => [name, { ...i, index: 0 }]));
  return { interfaces, routes: s.routes, anchors: Object.fromEntries(Object.entries(s.anchors).filter(([, rules]) => rules.length > 0)) };
}
