/**
 * The fake route(8) of test/support/fake-openbsd answers as OpenBSD 7.8's
 * does: the table as sbin/route/show.c 1.123 p_rtentry prints it (lines
 * 296-353, labels only under -v), `get` as route.c 1.267 print_getmsg (lines
 * 1693-1811), and a refused change as route.c 1.267 newroute reports it
 * (lines 806-834: stdout, exit status 1).
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRouteShow } from '../../src/openbsd/index.js';
import { createFakeOpenBSD, type FakeOpenBSD } from '../support/fake-openbsd/index.js';

const fakes: FakeOpenBSD[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.cleanup();
});

async function router(): Promise<FakeOpenBSD> {
  const f = await createFakeOpenBSD({ kernelPortset: false });
  fakes.push(f);
  f.editState((s) => {
    s.interfaces.gif0 = { flags: ['UP', 'POINTOPOINT', 'RUNNING', 'MULTICAST'], mtu: 1460, index: 9, groups: ['gif'], gif: true, tunnel: null, inet: [{ address: '192.0.2.18', peer: '0.0.0.1', netmask: '0xffffffff' }], inet6: [] };
    s.interfaces.em1 = { flags: ['UP', 'BROADCAST', 'RUNNING'], mtu: 1500, index: 3, groups: [], tunnel: null, inet: [{ address: '192.168.0.2', peer: '192.168.0.1', netmask: '0xffffff00' }], inet6: [] };
  });
  return f;
}

const route = (f: FakeOpenBSD, ...args: string[]) => spawnSync(f.tools.route, args, { encoding: 'utf8', timeout: 30_000 });

describe('fake route(8)', () => {
  it('show -inet prints labels, quoted, only under -v, in the layout maped parses', async () => {
    const f = await router();
    expect(route(f, '-n', 'add', '-inet', 'default', '192.168.0.1', '-ifp', 'em1', '-label', 'dhcp leased').status).toBe(0);
    expect(route(f, '-n', 'add', '-inet', 'default', '0.0.0.1', '-ifp', 'gif0', '-priority', '7', '-label', 'maped').status).toBe(0);
    const verbose = route(f, '-nv', 'show', '-inet');
    expect(verbose.stdout.split('\n').slice(0, 6)).toEqual([
      'Routing tables',
      '',
      'Internet:',
      'Destination        Gateway            Flags   Refs      Use   Mtu  Prio Iface Label',
      'default            0.0.0.1            UGS        0        0     -     7 gif0  "maped"',
      'default            192.168.0.1        UGS        0        0     -     8 em1   "dhcp leased"',
    ]);
    expect(parseRouteShow(verbose.stdout)).toMatchObject({ ok: true, value: [{ label: 'maped' }, { label: 'dhcp leased' }] });
    // -v as a flag of its own, as getopt takes it.
    expect(route(f, '-n', '-v', 'show', '-inet').stdout).toBe(verbose.stdout);
    const plain = route(f, '-n', 'show', '-inet').stdout;
    expect(plain).not.toContain('"');
    expect(plain.split('\n')[3]).toBe('Destination        Gateway            Flags   Refs      Use   Mtu  Prio Iface');
    expect(parseRouteShow(plain)).toMatchObject({ ok: true, value: [{ label: null }, { label: null }] });
  });

  it('get names the priority as print_getmsg does, empty parentheses for one without a name', async () => {
    const f = await router();
    expect(route(f, '-n', 'get', '-inet', 'default')).toMatchObject({ status: 1, stdout: 'get net default: not in table\n', stderr: '' });
    route(f, '-n', 'add', '-inet', 'default', '0.0.0.1', '-ifp', 'gif0', '-priority', '7', '-label', 'maped');
    expect(route(f, '-n', 'get', '-inet', 'default').stdout).toContain('   priority: 7 ()\n');
    route(f, '-n', 'delete', '-inet', 'default', '0.0.0.1', '-priority', '7');
    route(f, '-n', 'add', '-inet', 'default', '0.0.0.1', '-label', 'maped');
    const got = route(f, '-n', 'get', '-inet', 'default').stdout;
    expect(got).toContain('   priority: 8 (static)\n');
    expect(got).toContain('      label: maped\n');
  });

  it('reports a refused change on stdout with exit status 1, and a bad priority as getpriority does', async () => {
    const f = await router();
    route(f, '-n', 'add', '-inet', 'default', '0.0.0.1', '-ifp', 'gif0', '-priority', '7', '-label', 'maped');
    expect(route(f, '-n', 'add', '-inet', 'default', '192.168.0.1', '-ifp', 'em1', '-priority', '7')).toMatchObject({
      status: 1,
      stdout: 'add net default: gateway 192.168.0.1: File exists\n',
      stderr: '',
    });
    expect(route(f, '-n', 'delete', '-inet', 'default', '0.0.0.1', '-ifp', 'gif0', '-priority', '9')).toMatchObject({
      status: 1,
      stdout: 'delete net default: gateway 0.0.0.1: not in table\n',
    });
    expect(route(f, '-n', 'add', '-inet', 'default', '0.0.0.1', '-priority', 'high')).toMatchObject({ status: 1, stderr: 'route: priority is invalid: high\n' });
    expect(route(f, '-n', 'add', '-inet', 'default', '0.0.0.1', '-priority', '64')).toMatchObject({ status: 1, stderr: 'route: priority is too large: 64\n' });
    expect(route(f, '-n', 'add', '-inet', 'default', '0.0.0.1', '-priority', '1')).toMatchObject({ status: 1, stdout: 'add net default: gateway 0.0.0.1: Invalid argument\n' });
  });
});
