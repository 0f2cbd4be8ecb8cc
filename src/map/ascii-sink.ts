/**
 * A growable byte buffer for ASCII text. `calc --batch` writes up to a few
 * hundred megabytes of port ranges; writing digits straight into bytes avoids
 * building (and collecting) millions of short JavaScript strings.
 */
import { ipv6Groups, ipv6ZeroRun } from './address.js';

const encoder = new TextEncoder();
const HEX_DIGITS = '0123456789abcdef';

export class AsciiSink {
  private bytes: Uint8Array;
  private used = 0;

  constructor(initialSize = 1 << 16) {
    this.bytes = new Uint8Array(initialSize);
  }

  get length(): number {
    return this.used;
  }

  private reserve(extra: number): void {
    if (this.used + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.used + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.used));
    this.bytes = grown;
  }

  /** Appends text known to be ASCII (JSON produced by us, addresses, digits). */
  text(value: string): void {
    this.reserve(value.length);
    if (value.length > 24) {
      this.used += encoder.encodeInto(value, this.bytes.subarray(this.used)).written;
      return;
    }
    for (let i = 0; i < value.length; i++) this.bytes[this.used++] = value.charCodeAt(i);
  }

  /** Appends bytes already written as ASCII. */
  bytesOf(chunk: Uint8Array): void {
    this.reserve(chunk.length);
    this.bytes.set(chunk, this.used);
    this.used += chunk.length;
  }

  /** A copy of what was written from `start` on. */
  copyFrom(start: number): Uint8Array {
    return this.bytes.slice(start, this.used);
  }

  byte(code: number): void {
    this.reserve(1);
    this.bytes[this.used++] = code;
  }

  /** Appends a non-negative integer below 2^53 in decimal. */
  uint(value: number): void {
    this.reserve(16);
    const bytes = this.bytes;
    if (value < 10) {
      bytes[this.used++] = 48 + value;
      return;
    }
    // Below 2^31, `| 0` divides in integer arithmetic; Math.floor is the slow general case.
    const small = value <= 0x7fffffff;
    let digits = 1;
    for (let v = value; v >= 10; v = small ? (v / 10) | 0 : Math.floor(v / 10)) digits++;
    let at = this.used + digits;
    for (let v = value; at > this.used; ) {
      const rest = small ? (v / 10) | 0 : Math.floor(v / 10);
      bytes[--at] = 48 + (small ? v - rest * 10 : v % 10);
      v = rest;
    }
    this.used += digits;
  }

  /** An IPv4 address in dotted decimal, as formatIpv4 writes it. */
  ipv4(address: number): void {
    this.uint(address >>> 24);
    this.byte(0x2e);
    this.uint((address >>> 16) & 0xff);
    this.byte(0x2e);
    this.uint((address >>> 8) & 0xff);
    this.byte(0x2e);
    this.uint(address & 0xff);
  }

  /** An IPv6 address in RFC 5952 form, as formatIpv6 writes it, without making strings. */
  ipv6(address: bigint): void {
    const groups = ipv6Groups(address);
    const run = ipv6ZeroRun(groups);
    this.reserve(39);
    const bytes = this.bytes;
    let at = this.used;
    for (let i = 0; i < 8; i++) {
      if (i === run.start) {
        // '::' stands for the whole run of zero groups.
        bytes[at++] = 0x3a;
        bytes[at++] = 0x3a;
        i += run.length - 1;
        continue;
      }
      if (i > 0 && i !== run.start + run.length) bytes[at++] = 0x3a;
      const g = groups[i]!;
      if (g >= 0x1000) bytes[at++] = HEX_DIGITS.charCodeAt(g >>> 12);
      if (g >= 0x100) bytes[at++] = HEX_DIGITS.charCodeAt((g >>> 8) & 0xf);
      if (g >= 0x10) bytes[at++] = HEX_DIGITS.charCodeAt((g >>> 4) & 0xf);
      bytes[at++] = HEX_DIGITS.charCodeAt(g & 0xf);
    }
    this.used = at;
  }

  /**
   * Direct access for hot loops: room for `extra` more bytes is ensured and the
   * array returned; write from index {@link length} on, then call {@link commit}.
   */
  claim(extra: number): Uint8Array {
    this.reserve(extra);
    return this.bytes;
  }

  /** Marks the bytes up to `end` (exclusive) as written. */
  commit(end: number): void {
    this.used = end;
  }

  /** What was written so far, not copied: valid until the next append or {@link clear}. */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.used);
  }

  /** Forgets what was written and keeps the buffer for reuse. */
  clear(): void {
    this.used = 0;
  }

  /** Hands over what was written and starts empty. */
  take(): Uint8Array {
    const out = this.bytes.subarray(0, this.used);
    this.bytes = new Uint8Array(this.bytes.length);
    this.used = 0;
    return out;
  }

  toString(): string {
    return new TextDecoder().decode(this.bytes.subarray(0, this.used));
  }
}
