/** The ports a `map-e-portset a/k/psid` pool holds (RFC 7597 §5.1), port 0 left out. */
import { portSet } from '../../../src/map/index.js';

export function portSetFor([offset, length, psid]: readonly [number, number, number]): number[] {
  const ports: number[] = [];
  for (const [first, last] of portSet(offset, length, psid).ranges) {
    for (let port = Math.max(first, 1); port <= last; port++) ports.push(port);
  }
  return ports;
}
