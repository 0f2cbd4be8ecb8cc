import type { PortRange } from '../map/index.js';

/** `1232-1235 2256-2259 … 64720-64723`: all ranges when few, else the first and last three. */
export function formatPortRanges(ranges: readonly PortRange[], keep = 3): string {
  const one = ([first, last]: PortRange): string => (first === last ? `${first}` : `${first}-${last}`);
  if (ranges.length <= keep * 2 + 1) return ranges.map(one).join(' ');
  return [...ranges.slice(0, keep).map(one), '…', ...ranges.slice(-keep).map(one)].join(' ');
}
