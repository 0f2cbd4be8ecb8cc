import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseExpired, parseLeasectl, queryLeasectl } from '../../src/lease/index.js';
import { formatIpv6Prefix } from '../../src/map/index.js';
import { vectorPath } from '../support/vectors.js';

describe('parseLeasectl', () => {
  it('reads every state dhcp6leased names', () => {
    for (const state of ['Down', 'Init', 'Requesting', 'Bound', 'Renewing', 'Rebinding', 'Rebooting']) {
      const status = parseLeasectl(`em0 [${state}]\n`);
      expect(status.ok && status.value.state).toBe(state);
    }
  });

  it('gives no prefix and no lease time for an interface without a PD', () => {
    expect(parseLeasectl('em0 [Init]\n')).toEqual({ ok: true, value: { interface: 'em0', state: 'Init', prefixes: [], leaseSeconds: null } });
  });

  it('turns each rounded unit into seconds and reads several IA_PDs', () => {
    const status = parseLeasectl('pppoe0 [Renewing]\n\tIA_PD 0: 2001:db8:1::/56\n\tIA_PD 1: 2001:db8:2::/60\n\tlease 3 hours\n');
    if (!status.ok) throw new Error(status.error);
    expect(status.value.prefixes.map(formatIpv6Prefix)).toEqual(['2001:db8:1::/56', '2001:db8:2::/60']);
    expect(status.value.leaseSeconds).toBe(3 * 3600);
    for (const [text, seconds] of [['1 second', 1], ['45 seconds', 45], ['1 minute', 60], ['1 day', 86400]] as const) {
      const s = parseLeasectl(`em0 [Bound]\n\tIA_PD 0: 2001:db8::/56\n\tlease ${text}\n`);
      expect(s.ok && s.value.leaseSeconds).toBe(seconds);
    }
  });

  it('skips lines it does not know', () => {
    const status = parseLeasectl('em0 [Bound]\n\tsomething new: 42\n\tIA_PD 0: 2001:db8::/56\n');
    expect(status.ok && status.value.prefixes.length).toBe(1);
  });

  it.each([
    ['empty output', '', `dhcp6leasectl: expected "<interface> [<state>]" on the first line, got ''`],
    ['an error instead of a status', 'non-autoconf interface em1\n', `dhcp6leasectl: expected "<interface> [<state>]" on the first line, got 'non-autoconf interface em1'`],
    ['an unknown state', 'em0 [Sleeping]\n', `dhcp6leasectl:1: unknown state 'Sleeping'`],
    ['a bad prefix', 'em0 [Bound]\n\tIA_PD 0: 2001:db8::zz/56\n', `dhcp6leasectl:2: IA_PD prefix: Only hex digits permitted in 'zz' in '2001:db8::zz'`],
    ['an unknown unit', 'em0 [Bound]\n\tlease 7 weeks\n', `dhcp6leasectl:2: unknown lease time unit 'weeks'`],
    ['a bad lease-seconds', 'em0 [Bound]\n\tlease-seconds: soon\n', `dhcp6leasectl:2: lease seconds 'soon' is not a whole number`],
    ['a MAP-E block with a duplicate BR', 'em0 [Bound]\n\tMAP-E\n\t\tBR: 2001:db8::1\n\t\tBR: 2001:db8::1\n', 'dhcp6leasectl:4: duplicate BR 2001:db8::1'],
    ['a MAP-E block with a garbled rule', 'em0 [Bound]\n\tMAP-E\n\t\trule: flags 0 ea-len 16 192.0.2.0/24\n', 'dhcp6leasectl:3: rule: expected "flags <n> ea-len <n> <ipv4>/<len> <ipv6>/<len>"'],
    ['a MAP-E block with a link-local BR', 'em0 [Bound]\n\tMAP-E\n\t\tBR: fe80::1\n', 'dhcp6leasectl:3: BR address: fe80::1 is a link-local address, not a unicast address (RFC 7597 §5.4)'],
    ['a MAP-E block with the unspecified BR', 'em0 [Bound]\n\tMAP-E\n\t\tBR: ::\n', 'dhcp6leasectl:3: BR address: :: is the unspecified address, not a unicast address (RFC 7597 §5.4)'],
    ['a portparams line without its psid', 'em0 [Bound]\n\tMAP-E\n\t\tportparams: offset 6 psid-len 8\n', 'dhcp6leasectl:3: portparams: expected "offset <n> psid-len <n> psid <n>"'],
    ['a portparams line with a word after it', 'em0 [Bound]\n\tMAP-E\n\t\tportparams: offset 6 psid-len 8 psid 42 x\n', 'dhcp6leasectl:3: portparams: expected "offset <n> psid-len <n> psid <n>"'],
    ['a portparams line with key=value', 'em0 [Bound]\n\tMAP-E\n\t\tportparams: offset=6 psid-len=8 psid=42\n', 'dhcp6leasectl:3: portparams: expected "offset <n> psid-len <n> psid <n>"'],
    ['a BR line with two addresses', 'em0 [Bound]\n\tMAP-E\n\t\tBR: 2001:db8::1 2001:db8::2\n', 'dhcp6leasectl:3: BR: expected "BR: <ipv6>"'],
    ['an S46 line without its colon', 'em0 [Bound]\n\tS46 94 00\n', 'dhcp6leasectl:2: S46: expected "S46 <code>: <hex>"'],
    ['an IA_PD line without its colon', 'em0 [Bound]\n\tIA_PD 0 2001:db8::/56\n', 'dhcp6leasectl:2: IA_PD: expected "IA_PD <n>: <ipv6>/<len>"'],
    ['a lease-seconds line with a unit', 'em0 [Bound]\n\tlease-seconds: 60 s\n', 'dhcp6leasectl:2: lease-seconds: expected "lease-seconds: <n>"'],
    ['a lease time unit with controls', 'em0 [Bound]\n\tlease 7 \u001b]0;owned\u0007\n', "dhcp6leasectl:2: unknown lease time unit '\\x1b]0;owned\\x07'"],
    ['a 10,000-character lease time unit', `em0 [Bound]\n\tlease 7 ${'w'.repeat(10_000)}\n`, `dhcp6leasectl:2: unknown lease time unit '${'w'.repeat(64)}…'`],
    ['a MAP-E block with a BR only', 'em0 [Bound]\n\tMAP-E\n\t\tBR: 2001:db8::1\n', 'dhcp6leasectl: MAP-E block: MAP-E BR given without any rule'],
  ])('refuses %s', (_what, text, message) => {
    expect(parseLeasectl(text)).toEqual({ ok: false, error: message });
  });
});

describe('queryLeasectl against a fake dhcp6leasectl', () => {
  let dir: string;
  let tool: string;
  let log: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'maped-leasectl-'));
    tool = join(dir, 'dhcp6leasectl');
    log = join(dir, 'argv.log');
    const fixture = vectorPath('lease', 'stock-dhcp6leasectl-l.txt');
    // Logs its argv; answers for em0 like the real tool, fails for others, hangs for "hang0".
    await writeFile(
      tool,
      [
        '#!/bin/sh',
        `printf '%s\\n' "$*" >> '${log}'`,
        'if [ "$2" = "hang0" ]; then exec sleep 5; fi',
        `if [ "$1" = "-l" ] && [ "$2" = "em0" ]; then cat '${fixture}'; exit 0; fi`,
        'echo "dhcp6leasectl: non-autoconf interface $2" >&2',
        'exit 1',
        '',
      ].join('\n'),
    );
    await chmod(tool, 0o755);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the tool with exactly -l <if> and sets the deadline on the given monotonic clock', async () => {
    const query = await queryLeasectl(tool, 'em0', { now: () => 1000 });
    if (!query.ok) throw new Error(query.error);
    expect(query.value.state).toBe('Bound');
    expect(query.value.observedAt).toBe(1000);
    expect(query.value.expiresAt).toBe(1000 + 7 * 86400 * 1000);
    expect(leaseExpired(query.value, 1000 + 7 * 86400 * 1000 - 1)).toBe(false);
    expect(leaseExpired(query.value, 1000 + 7 * 86400 * 1000)).toBe(true);
    expect((await readFile(log, 'utf8')).trim().split('\n')).toContain('-l em0');
  });

  it('reports the tool’s own error line when it fails', async () => {
    expect(await queryLeasectl(tool, 'em1')).toEqual({ ok: false, error: `${tool} -l em1: dhcp6leasectl: non-autoconf interface em1` });
  });

  it('gives up after the timeout', async () => {
    expect(await queryLeasectl(tool, 'hang0', { timeoutMs: 200 })).toEqual({ ok: false, error: `${tool} -l hang0: no answer within 200 ms` });
  });

  it('refuses an interface name that is not one, without running anything', async () => {
    const before = await readFile(log, 'utf8');
    expect(await queryLeasectl(tool, '-w')).toEqual({ ok: false, error: "dhcp6leasectl: '-w' is not an interface name" });
    expect(await readFile(log, 'utf8')).toBe(before);
  });

  it('reports a missing tool', async () => {
    const query = await queryLeasectl(join(dir, 'absent'), 'em0');
    expect(query.ok).toBe(false);
    if (!query.ok) expect(query.error).toMatch(/absent -l em0: .*ENOENT/);
  });
});
