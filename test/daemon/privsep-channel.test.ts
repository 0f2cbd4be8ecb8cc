/**
 * The channel between maped's parent and child (src/daemon/privsep-channel.ts):
 * JSON lines whose length is bounded in bytes while they are read, never
 * held past the bound however they are split into chunks.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MessageChannel } from '../../src/daemon/privsep-channel.js';
import { ChildRequestSchema, MAX_CHILD_MESSAGE_BYTES, ParentMessageSchema } from '../../src/daemon/privsep-messages.js';
import { tooLargeFailure } from '../../src/daemon/privsep-parent.js';
import { MAX_ANCHOR_TEXT } from '../../src/openbsd/index.js';

/** What the channel uses of a socket: 'data' is emitted by the test, chunk by chunk. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  writable = true;
  readonly written: string[] = [];
  write(data: Buffer, flushed: () => void): boolean {
    this.written.push(data.toString('utf8'));
    setImmediate(flushed);
    return true;
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.writable = false;
    this.emit('close');
  }
}

const Schema = z.strictObject({ type: z.literal('x'), text: z.string() });
type Message = z.infer<typeof Schema>;
const line = (text: string): string => `${JSON.stringify({ type: 'x', text } satisfies Message)}\n`;
/** Bytes of the line for `text`, its newline not counted: the bound that line is exactly at. */
const bytesOf = (text: string): number => Buffer.byteLength(line(text)) - 1;

function open(maxLineBytes: number, overlong: 'close' | 'skip' = 'close') {
  const socket = new FakeSocket();
  const got: Message[] = [];
  const problems: string[] = [];
  let closed = 0;
  const channel = new MessageChannel<Message, Message>(socket as unknown as Socket, {
    maxLineBytes,
    maxSendBytes: maxLineBytes,
    schema: Schema,
    overlong,
    onMessage: (m) => got.push(m),
    onProblem: (why) => problems.push(why),
    onClose: () => closed++,
  });
  /** The bytes of the partial line the channel holds. */
  const held = (): number => (channel as unknown as { partial: number }).partial;
  const feed = (...chunks: (string | Buffer)[]): void => {
    for (const chunk of chunks) socket.emit('data', Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, 'utf8'));
  };
  return { socket, channel, got, problems, closed: () => closed, held, feed };
}

describe('MessageChannel', () => {
  it('several messages in one chunk: each delivered, in order', () => {
    const c = open(1000);
    c.feed(line('one') + line('two') + line('three'));
    expect(c.got.map((m) => m.text)).toEqual(['one', 'two', 'three']);
    expect(c.problems).toEqual([]);
  });

  it('a message split across chunks, a multi-byte character cut in two, is delivered whole', () => {
    const c = open(1000);
    const bytes = Buffer.from(line('a€b') + line('next'), 'utf8');
    const euro = bytes.indexOf(Buffer.from('€', 'utf8'));
    // Byte by byte up to the middle of the euro sign, then the rest at once.
    for (let i = 0; i < euro + 2; i++) c.feed(bytes.subarray(i, i + 1));
    expect(c.got).toEqual([]);
    c.feed(bytes.subarray(euro + 2));
    expect(c.got.map((m) => m.text)).toEqual(['a€b', 'next']);
    expect(c.problems).toEqual([]);
  });

  it('a line exactly at the bound passes; one byte more is refused', () => {
    const text = 'a'.repeat(100);
    const at = open(bytesOf(text));
    at.feed(line(text));
    expect(at.got).toEqual([{ type: 'x', text }]);
    expect(at.problems).toEqual([]);

    const over = open(bytesOf(text) - 1);
    over.feed(line(text));
    expect(over.got).toEqual([]);
    expect(over.problems).toEqual([`a message longer than ${bytesOf(text) - 1} bytes`]);
    expect(over.socket.destroyed).toBe(true);
  });

  it('the bound is in bytes, not characters: "€" is three', () => {
    const text = '€'.repeat(100);
    expect(bytesOf(text)).toBe(line(text).length - 1 + 200);
    const at = open(bytesOf(text));
    at.feed(line(text));
    expect(at.got).toEqual([{ type: 'x', text }]);
    // Fewer characters than the bound, more bytes.
    const characters = open(line(text).length);
    characters.feed(line(text));
    expect(characters.got).toEqual([]);
    expect(characters.problems).toEqual([`a message longer than ${line(text).length} bytes`]);
  });

  it('a line over the bound in many small chunks is refused as it crosses it, never held past it, and nothing after it is read', () => {
    const max = 4096;
    const c = open(max);
    const chunk = 'a'.repeat(100);
    let fed = 0;
    while (c.problems.length === 0) {
      c.feed(chunk);
      fed += chunk.length;
      expect(c.held()).toBeLessThanOrEqual(max);
    }
    // Refused with the chunk that took it past the bound, not later.
    expect(fed).toBe(Math.ceil((max + 1) / chunk.length) * chunk.length);
    expect(c.problems).toEqual([`a message longer than ${max} bytes`]);
    expect(c.socket.destroyed).toBe(true);
    expect(c.closed()).toBe(1);
    // What still comes is dropped unread: no message, no second problem.
    c.feed(`${chunk}\n${line('after')}`);
    expect(c.held()).toBe(0);
    expect(c.got).toEqual([]);
    expect(c.problems).toHaveLength(1);
  });

  it('the child\'s side (skip): a line over the bound is dropped as it comes, and the next one read', () => {
    const max = 1024;
    const c = open(max, 'skip');
    for (let i = 0; i < 100; i++) {
      c.feed('b'.repeat(100));
      expect(c.held()).toBeLessThanOrEqual(max);
    }
    c.feed(`bbb\n${line('after')}`);
    expect(c.problems).toEqual([`a message longer than ${max} bytes`]);
    expect(c.got).toEqual([{ type: 'x', text: 'after' }]);
    expect(c.socket.destroyed).toBe(false);
  });

  it('a line that is not JSON, or does not validate, is a problem of its own; the owner decides', () => {
    const c = open(1000, 'skip');
    c.feed('{"type": "x", "text": \n', `${JSON.stringify({ type: 'y' })}\n`, line('fine'));
    expect(c.problems).toEqual(['a message that is not JSON', expect.stringMatching(/^a message that does not validate \(type: .+\)$/)]);
    expect(c.got).toEqual([{ type: 'x', text: 'fine' }]);
  });

  it('sends one line a message, and nothing longer than the other side reads', async () => {
    const c = open(bytesOf('abc'));
    let flushed = false;
    expect(c.channel.send({ type: 'x', text: 'abc' }, () => (flushed = true))).toBe(true);
    expect(c.channel.send({ type: 'x', text: 'abcd' })).toBe(false);
    expect(c.socket.written).toEqual([line('abc')]);
    await new Promise((r) => setImmediate(r));
    expect(flushed).toBe(true);
    c.channel.close();
    expect(c.channel.send({ type: 'x', text: 'abc' })).toBe(false);
  });

  it('the largest request a child of maped\'s may send, a pfctl run with an anchor of MAX_ANCHOR_TEXT characters, fits MAX_CHILD_MESSAGE_BYTES', () => {
    // Newlines and quotes are what the anchor text escapes, two bytes each.
    const stdin = '"\n'.repeat(MAX_ANCHOR_TEXT / 2);
    const run = { type: 'run', id: Number.MAX_SAFE_INTEGER, file: `/${'p'.repeat(4094)}`, args: Array.from({ length: 64 }, () => 'w'.repeat(128)), stdin, timeoutMs: 600_000, maxOutput: 64 * 1024 * 1024 };
    expect(ChildRequestSchema.safeParse(run).success).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(run))).toBeLessThanOrEqual(MAX_CHILD_MESSAGE_BYTES);
  });
});

describe('an answer the channel to the child cannot carry', () => {
  it('goes as a short failure of the same request, valid for the child; short answers have none', () => {
    const run = { ok: true, exitCode: 0, stdout: 'x'.repeat(10), stderr: '', failure: null, timedOut: false, spawnError: null };
    const ran = tooLargeFailure({ type: 'ran', id: 7, run });
    expect(ran).toMatchObject({ type: 'ran', id: 7, run: { ok: false, stdout: '', failure: 'the output is too large to hand to the unprivileged part' } });
    expect(ParentMessageSchema.safeParse(ran).success).toBe(true);
    const file = tooLargeFailure({ type: 'file', id: 8, text: 'x', error: null });
    expect(file).toEqual({ type: 'file', id: 8, text: null, error: 'too large to hand to the unprivileged part' });
    expect(ParentMessageSchema.safeParse(file).success).toBe(true);
    expect(tooLargeFailure({ type: 'done', id: 9, error: null })).toBeNull();
  });
});
