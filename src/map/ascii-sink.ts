/**
 * A growable byte buffer for ASCII text. `calc --batch` writes up to a few
 * hundred megabytes of port ranges; writing digits straight into bytes avoids
 * building (and collecting) millions of short JavaScript strings.
 */
const encoder = new TextEncoder();

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
    if (value < 10) {
      this.bytes[this.used++] = 48 + value;
      return;
    }
    let digits = 0;
    for (let v = value; v > 0; v = Math.floor(v / 10)) digits++;
    let at = this.used + digits;
    for (let v = value; v > 0; v = Math.floor(v / 10)) this.bytes[--at] = 48 + (v % 10);
    this.used += digits;
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
