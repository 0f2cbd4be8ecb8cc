/**
 * Reads Prometheus text exposition with a third-party parser
 * (parse-prometheus-text-format) and holds it to what maped promises on top
 * of parsing: every family typed counter or gauge with a HELP text, names
 * under `maped_`, counters ending in `_total`, every value a number.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface MetricSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface ParsedMetrics {
  readonly families: ReadonlyMap<string, { readonly type: 'counter' | 'gauge'; readonly help: string; readonly samples: readonly MetricSample[] }>;
  /** The value of `name` whose labels include `labels`; throws if there is not exactly one. */
  value(name: string, labels?: Record<string, string>): number;
  has(name: string): boolean;
}

export function parseMetrics(text: string): ParsedMetrics {
  const families = new Map<string, { type: 'counter' | 'gauge'; help: string; samples: MetricSample[] }>();
  for (const family of parsePrometheusTextFormat(text)) {
    if (!/^maped_[a-z0-9_]+$/.test(family.name)) throw new Error(`metric ${family.name}: not a maped_ name`);
    if (family.type !== 'COUNTER' && family.type !== 'GAUGE') throw new Error(`metric ${family.name}: type ${family.type}`);
    if (family.help.trim() === '') throw new Error(`metric ${family.name}: no HELP`);
    if (family.type === 'COUNTER' && !family.name.endsWith('_total')) throw new Error(`counter ${family.name} does not end in _total`);
    if (families.has(family.name)) throw new Error(`metric ${family.name}: family given twice`);
    const samples = family.metrics.map((m) => {
      const value = Number(m.value);
      if (m.value.trim() === '' || Number.isNaN(value)) throw new Error(`metric ${family.name}: value "${m.value}" is not a number`);
      return { labels: m.labels ?? {}, value };
    });
    families.set(family.name, { type: family.type === 'COUNTER' ? 'counter' : 'gauge', help: family.help, samples });
  }
  return {
    families,
    has: (name) => families.has(name),
    value(name, labels = {}) {
      const matching = (families.get(name)?.samples ?? []).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
      if (matching.length !== 1) throw new Error(`metric ${name}${JSON.stringify(labels)}: ${matching.length} samples`);
      return matching[0]!.value;
    },
  };
}
