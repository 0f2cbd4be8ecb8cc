import { describe, expect, it } from 'vitest';
import type { Status } from '../../src/control/protocol.js';
import { renderPrometheusText } from '../../src/control/prometheus-text.js';
import { metricFamilies, newApplyCounters } from '../../src/daemon/metrics.js';
import { newFetchCounters } from '../../src/provision/index.js';
import type { UsageReport } from '../../src/daemon/usage-monitor.js';
import { parseMetrics } from '../support/prometheus.js';

const status = (overrides: Partial<Status> = {}): Status => ({
  state: 'active',
  reason: null,
  softwire: 'map-e',
  origin: 'dhcpv6',
  lease: { source: 'file', interface: 'em0', endUserPrefix: '2001:db8:12:3400::/56', dhcpState: 'Bound', expiresAt: '2026-12-08T00:00:00.000Z' },
  rule: null,
  map: {
    ipv4: '192.0.2.18',
    ipv4PrefixLen: 32,
    psidOffset: 6,
    psidLen: 8,
    psid: 52,
    ceIPv6: '2001:db8:12:3400:0:c000:212:34',
    br: '2001:db8:ffff::1',
    portSets: [[1232, 1235]],
    portCount: 252,
  },
  tunnel: { interface: 'gif0', mtu: 1460 },
  pf: { anchor: 'maped', portset: 'kernel' },
  lastApply: { at: '2026-12-07T00:00:01.500Z', ok: true, commands: 9, error: null },
  nextRetryAt: null,
  warnings: ['one warning'],
  forwards: [
    { proto: 'tcp', ports: [1233, 1233], to: '192.168.1.10', toPort: 22, active: true, reason: null },
    { proto: 'udp', ports: [80, 80], to: '192.168.1.10', toPort: null, active: false, reason: 'port 80 is not in the port set (psid 52/8 offset 6)' },
    { proto: 'tcp-udp', ports: [2256, 2257], to: '192.168.1.11', toPort: null, active: true, reason: null },
  ],
  pid: 4242,
  version: '0.1.0',
  ...overrides,
});

const usage: UsageReport = {
  at: '2026-12-07T00:01:00.000Z',
  ipv4: '192.0.2.18',
  total: 252,
  inUse: 17,
  peak: 40,
  ranges: [{ first: 1232, last: 1235, inUse: 1 }],
  top: [{ host: '192.168.1.10', ports: 17 }],
};

describe('Prometheus text format', () => {
  it('the metrics of an active maped parse, with HELP and TYPE, in conventional names and units', () => {
    const counters = { ok: 3, failed: 1, commands: 27, lastDurationSeconds: 0.042 };
    const m = parseMetrics(renderPrometheusText(metricFamilies(status(), counters, usage)));
    expect(m.value('maped_state', { state: 'active' })).toBe(1);
    expect(m.families.get('maped_state')!.samples.filter((s) => s.value === 0)).toHaveLength(6);
    expect(m.value('maped_applies_total', { result: 'ok' })).toBe(3);
    expect(m.value('maped_applies_total', { result: 'failed' })).toBe(1);
    expect(m.families.get('maped_applies_total')!.type).toBe('counter');
    expect(m.value('maped_commands_total')).toBe(27);
    expect(m.value('maped_last_apply_duration_seconds')).toBe(0.042);
    expect(m.value('maped_last_apply_timestamp_seconds')).toBe(Date.parse('2026-12-07T00:00:01.500Z') / 1000);
    expect(m.value('maped_lease_expiry_timestamp_seconds')).toBe(Date.parse('2026-12-08T00:00:00Z') / 1000);
    expect(m.value('maped_port_set_ports')).toBe(252);
    expect(m.value('maped_ports_in_use')).toBe(17);
    expect(m.value('maped_ports_in_use_peak')).toBe(40);
    expect(m.value('maped_warnings')).toBe(1);
    expect(m.value('maped_forwards', { state: 'active' })).toBe(2);
    expect(m.value('maped_forwards', { state: 'inactive' })).toBe(1);
    expect(m.value('maped_info', { version: '0.1.0' })).toBe(1);
  });

  it('facts not known are left out, not reported as zero', () => {
    const m = parseMetrics(
      renderPrometheusText(metricFamilies(status({ state: 'waiting', lease: null, map: null, lastApply: null }), newApplyCounters(), null)),
    );
    expect(m.value('maped_state', { state: 'waiting' })).toBe(1);
    expect(m.value('maped_applies_total', { result: 'ok' })).toBe(0);
    for (const name of ['maped_port_set_ports', 'maped_ports_in_use', 'maped_lease_expiry_timestamp_seconds', 'maped_last_apply_duration_seconds']) {
      expect(m.has(name), name).toBe(false);
    }
  });

  it('with a provision block: HB46PP fetches by result (every result, zeros too) and the time of the last valid one', () => {
    const fetches = newFetchCounters();
    fetches.byOutcome.valid = 2;
    fetches.byOutcome['bad-data'] = 1;
    fetches.lastValidAt = Date.parse('2026-12-07T00:10:00.250Z');
    const m = parseMetrics(renderPrometheusText(metricFamilies(status(), newApplyCounters(), null, fetches)));
    expect(m.families.get('maped_provisioning_fetches_total')!.type).toBe('counter');
    const byResult = Object.fromEntries(m.families.get('maped_provisioning_fetches_total')!.samples.map((s) => [s.labels.result, s.value]));
    expect(byResult).toEqual({ valid: 2, 'no-record': 0, 'dns-failure': 0, 'no-answer': 0, 'bad-data': 1 });
    expect(m.value('maped_provisioning_last_success_timestamp_seconds')).toBe(Date.parse('2026-12-07T00:10:00.250Z') / 1000);
    // Before any valid reply the time is not known: left out, not 0.
    const none = parseMetrics(renderPrometheusText(metricFamilies(status(), newApplyCounters(), null, newFetchCounters())));
    expect(none.value('maped_provisioning_fetches_total', { result: 'valid' })).toBe(0);
    expect(none.has('maped_provisioning_last_success_timestamp_seconds')).toBe(false);
    // Without a provision block neither family is there.
    const off = parseMetrics(renderPrometheusText(metricFamilies(status(), newApplyCounters(), null)));
    expect(off.has('maped_provisioning_fetches_total')).toBe(false);
  });

  it('escapes label values and help text so a parser reads them back whole', () => {
    const text = renderPrometheusText([
      { name: 'maped_test', help: 'back\\slash and\nnewline', type: 'gauge', samples: [{ value: 1, labels: { v: 'a "quoted"\\ value\nnext' } }] },
    ]);
    expect(text.split('\n').filter((l) => l !== '')).toHaveLength(3);
    const m = parseMetrics(text);
    expect(m.families.get('maped_test')!.samples[0]!.labels).toEqual({ v: 'a "quoted"\\ value\nnext' });
  });

  it('refuses a counter not named _total and bad names: these are bugs, not data', () => {
    expect(() => renderPrometheusText([{ name: 'maped_applies', help: 'x', type: 'counter', samples: [{ value: 1 }] }])).toThrow(/_total/);
    expect(() => renderPrometheusText([{ name: 'maped-x', help: 'x', type: 'gauge', samples: [{ value: 1 }] }])).toThrow(/name/);
    expect(() => renderPrometheusText([{ name: 'maped_x', help: 'x', type: 'gauge', samples: [{ value: 1, labels: { 'a-b': '1' } }] }])).toThrow(/label/);
  });
});
