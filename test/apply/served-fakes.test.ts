/**
 * The benchmark's served fake tools (a C client per call, one server
 * running tools.mjs) must answer exactly as the tests' per-process Node tools:
 * the same script of calls, failures included, gives the same exit status,
 * output, log and final state in both modes.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeOpenBSD, type FakeOpenBSD, type FakeToolName } from '../support/fake-openbsd/index.js';

const ANCHOR = readFileSync(join(import.meta.dirname, '..', 'openbsd', 'golden', 'cosmote-kernel.txt'), 'utf8')
  .split('# anchor\n')[1]!;

interface Call {
  tool: FakeToolName;
  args: string[];
  stdin?: string;
}

/** A first apply, reads in between, a refused ruleset, an injected failure, a kill and a teardown. */
const SCRIPT: Call[] = [
  { tool: 'ifconfig', args: ['em0'] },
  { tool: 'ifconfig', args: ['gif0'] },
  { tool: 'route', args: ['-n', 'show', '-inet'] },
  { tool: 'ifconfig', args: ['em0', 'inet6', '2a02:586:6234:bf00:0:57ca:3ad2:3f', 'prefixlen', '128', 'alias'] },
  { tool: 'ifconfig', args: ['gif0', 'create'] },
  { tool: 'ifconfig', args: ['gif0', 'tunnel', '2a02:586:6234:bf00:0:57ca:3ad2:3f', '2a02:586::406'] },
  { tool: 'ifconfig', args: ['gif0', 'mtu', '1460'] },
  { tool: 'ifconfig', args: ['gif0', 'inet', '87.202.58.210', '0.0.0.1', 'netmask', '255.255.255.255'] },
  { tool: 'ifconfig', args: ['gif0', 'up'] },
  { tool: 'route', args: ['-n', 'add', '-inet', 'default', '0.0.0.1', '-ifp', 'gif0', '-priority', '7', '-label', 'maped'] },
  { tool: 'pfctl', args: ['-o', 'none', '-a', 'maped', '-f', '-'], stdin: ANCHOR },
  { tool: 'pfctl', args: ['-o', 'none', '-a', 'maped', '-f', '-'], stdin: 'match out on gif0 nat-to (gif0) map-e-portset 16/6/63\n' },
  { tool: 'pfctl', args: ['-a', 'maped', '-sr'] },
  { tool: 'ifconfig', args: ['gif0'] },
  { tool: 'route', args: ['-nv', 'show', '-inet'] },
  { tool: 'dhcp6leasectl', args: ['-l', 'em0'] },
  { tool: 'route', args: ['-n', 'delete', '-inet', 'default', '0.0.0.1', '-ifp', 'gif0', '-priority', '7'] },
  { tool: 'pfctl', args: ['-ss', '-vv'] },
  { tool: 'pfctl', args: ['-k', 'id', '-k', '5f3a1b2c00000001'] },
  { tool: 'pfctl', args: ['-a', 'maped', '-F', 'all'] },
  { tool: 'route', args: ['-n', 'delete', '-inet', 'default', '0.0.0.1', '-ifp', 'gif0', '-priority', '7'] },
  { tool: 'ifconfig', args: ['gif0', 'destroy'] },
  { tool: 'ifconfig', args: ['nosuch0'] },
];

function call(fake: FakeOpenBSD, { tool, args, stdin }: Call): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(fake.tools[tool], args, { encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
    );
    child.stdin!.end(stdin ?? '');
  });
}

async function play(served: boolean) {
  const fake = await createFakeOpenBSD({ kernelPortset: true, served });
  fakes.push(fake);
  fake.setLeasectl('em0', 'em0 [Bound]\n\tIA_PD 0: 2a02:586:6234:bf00::/56\n\tlease 7 days\n');
  fake.failNext('route', 'delete', 1);
  const answers = [];
  for (const step of SCRIPT) answers.push(await call(fake, step));
  return { answers, log: fake.log(), state: fake.state(), runs: fake.runTimes().length };
}

const fakes: FakeOpenBSD[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.cleanup();
});

describe('served fake tools', () => {
  it('answer a script of calls exactly as the per-process tools do', async () => {
    const [perProcess, served] = await Promise.all([play(false), play(true)]);
    expect(served.answers).toEqual(perProcess.answers);
    expect(served.log).toEqual(perProcess.log);
    expect(served.state).toEqual(perProcess.state);
    expect(served.runs).toBe(SCRIPT.length);
    // The script did what it says: the ruleset loaded, the bad one was refused, the failure was injected.
    expect(perProcess.answers[12]!.stdout).toContain('map-e-portset 6/6/63');
    expect(perProcess.answers[14]!.stdout).toMatch(/ gif0  "maped"\n/);
    expect(perProcess.answers[11]).toMatchObject({ code: 1, stderr: 'stdin:1: map-e-portset 16/6/63: offset must be 0-15\n' });
    expect(perProcess.answers[16]).toMatchObject({ code: 1, stderr: 'route: writing to routing socket: Device busy\n' });
    expect(perProcess.answers[17]!.stdout).toContain('   id: 5f3a1b2c00000001 creatorid: 6fa5c2d1\n');
    expect(perProcess.answers[18]!.stderr).toBe('killed 1 states\n');
    expect(perProcess.answers.at(-1)!.code).not.toBe(0);
  });
});
