/**
 * `maped --dry-run`'s report (src/daemon/dry-run.ts) goes to a terminal:
 * whatever a reason or warning quotes, no control character gets there raw.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dryRunReport } from '../../src/daemon/dry-run.js';
import type { Driver, DriverReport } from '../../src/daemon/driver.js';
import type { LeaseSources } from '../../src/daemon/lease-reading.js';
import { configFrom } from '../support/config.js';
import { REPO_ROOT } from '../support/vectors.js';

const LEASE = readFileSync(join(REPO_ROOT, 'examples', 'lease', 'em0'), 'utf8');
const config = configFrom('wan em0\nlease file "/var/db/dhcp6leased/em0"\n');
const sources: LeaseSources = {
  readFile: () => Promise.resolve(LEASE),
  leasectl: () => Promise.resolve(null),
};

function driverSaying(report: Partial<DriverReport>): Driver {
  return {
    converge: () =>
      Promise.resolve({ ok: true, commands: [], anchorText: null, error: null, mtu: null, portset: null, warnings: [], ...report }),
  };
}

// ESC [2J clears a screen; CSI (U+009B) is its one-character form; a newline would start a line of its own.
const HOSTILE = 'x\u001b[2Jy\u009b31m\nforged line';

describe('the dry-run report', () => {
  it('escapes control characters in a failed plan\'s reason', async () => {
    const { ok, report } = await dryRunReport(config, sources, driverSaying({ ok: false, error: HOSTILE }));
    expect(ok).toBe(false);
    expect(report).toMatch(/^error: x\\x1b\[2Jy\\x9b31m\\x0aforged line\n$/m);
    expect(report).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(report.split('\n').filter((line) => line.startsWith('forged'))).toEqual([]);
  });

  it('escapes them in warnings and in the commands it would run, and still prints the plan', async () => {
    const { ok, report } = await dryRunReport(
      config,
      sources,
      driverSaying({ warnings: [HOSTILE], commands: [['/sbin/ifconfig', 'gif0', HOSTILE]], anchorText: `pass # ${HOSTILE}\n` }),
    );
    expect(ok).toBe(true);
    expect(report).toContain('IPv4 192.0.2.18\n');
    expect(report).toContain('warning: x\\x1b[2Jy\\x9b31m\\x0aforged line\n');
    expect(report).toContain('  /sbin/ifconfig gif0 x\\x1b[2Jy\\x9b31m\\x0aforged line\n');
    expect(report).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
});
