import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { lineSplitter, messageFilter } from '../../src/daemon/route-monitor.js';
import { createFakeOpenBSD, type FakeOpenBSD } from '../support/fake-openbsd/index.js';
import { processGone } from '../support/procfs.js';
import { REPO_ROOT } from '../support/vectors.js';

const fakes: FakeOpenBSD[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.cleanup();
});

describe('route -n monitor output', () => {
  it('splits chunks into lines, whatever the chunk boundaries', () => {
    const lines: string[] = [];
    const feed = lineSplitter(100, (line) => lines.push(line));
    for (const chunk of ['RTM_NEW', 'ADDR: x\nsockaddrs: <IFP>\n', ' em0 2001:db8::1\n\n']) feed(chunk);
    expect(lines).toEqual(['RTM_NEWADDR: x', 'sockaddrs: <IFP>', ' em0 2001:db8::1', '']);
  });

  it('cuts an overlong line at the limit and drops its rest, across chunks too', () => {
    const lines: string[] = [];
    const feed = lineSplitter(8, (line) => lines.push(line));
    feed('0123456789abc');
    feed('defgh\nshort\n');
    feed('x'.repeat(50) + '\nend\n');
    expect(lines).toEqual(['01234567', 'short', 'xxxxxxxx', 'end']);
  });

  it('says yes once for an address message about the interface, and no for others', () => {
    const concerns = messageFilter('em0');
    const verdicts = (text: string) => text.split('\n').map((line) => concerns(line));
    // print_rtmsg's type line, pmsg_addrs' sockaddrs line and the addresses.
    expect(verdicts('RTM_NEWADDR: address being added to iface: len 168, metric 0, flags:<UP>\nsockaddrs: <NETMASK,IFP,IFA>\n ffff:ffff:ffff:ffff:: em0 2001:db8::1\n')).toEqual([
      false, false, true, false,
    ]);
    expect(verdicts('RTM_DELADDR: address being removed from iface: len 168\nsockaddrs: <NETMASK,IFP,IFA>\n ffff:ffff:ffff:ffff:: em10 2001:db8::1\n')).toEqual([
      false, false, false, false,
    ]);
    expect(verdicts('RTM_ADD: Add Route: len 192, pid: 0\nsockaddrs: <DST,GATEWAY,IFP>\n default 192.0.2.1 em0\n')).toEqual([false, false, false, false]);
    expect(verdicts('RTM_IFINFO: iface status change: len 168, if# 1, name: em0, link: up, flags:<UP>')).toEqual([true]);
  });
});

describe('the monitor process', () => {
  it('ends when maped exits without closing it (the shutdown deadline\'s process.exit), though in a group of its own', async () => {
    const fake = await createFakeOpenBSD();
    fakes.push(fake);
    const pids = join(fake.dir, 'route-monitor.pids');
    const script = join(REPO_ROOT, 'test', 'support', 'route-monitor-exit.ts');
    await expect(promisify(execFile)(process.execPath, ['--import', 'tsx', script, fake.tools.route, pids], { cwd: REPO_ROOT })).rejects.toMatchObject({ code: 1 });
    const [monitor] = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    expect(monitor).toBeGreaterThan(0);
    // SIGKILL from the exit handler: gone at once, not at its next write.
    const deadline = Date.now() + 5000;
    while (!processGone(monitor!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(processGone(monitor!)).toBe(true);
  });
});
