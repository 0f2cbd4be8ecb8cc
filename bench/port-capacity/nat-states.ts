/**
 * The part of pf's state table a NAT port search consults: whether a state
 * already uses (translated port, destination) for TCP from the one MAP
 * address. pf_find_state_all() looks up exactly that key (pf_lb.c 1.76
 * lines 157–162 and 211: proto, translated address and port,
 * destination address and port); the inside source plays no part.
 */
export class NatStates {
  private readonly bits: Uint32Array;

  constructor(readonly destinations: number) {
    this.bits = new Uint32Array(destinations * 2048);
  }

  has(destination: number, port: number): boolean {
    return (this.bits[destination * 2048 + (port >>> 5)]! & (1 << (port & 31))) !== 0;
  }

  add(destination: number, port: number): void {
    this.bits[destination * 2048 + (port >>> 5)]! |= 1 << (port & 31);
  }

  delete(destination: number, port: number): void {
    this.bits[destination * 2048 + (port >>> 5)]! &= ~(1 << (port & 31));
  }
}
