/**
 * The maped.conf(5) parser: a hand-written recursive descent over the
 * tokenizer's stream, in the shape of a parse.y grammar. It reads syntax and
 * records every value with the position it came from; the zod schema then
 * judges the values, and its first issue is reported at that position.
 *
 * Pure: the only way out is the `readFile` callback, used for `include`.
 */
import { posix, resolve } from 'node:path';
import { err, ok, type Result } from '../map/index.js';
import {
  DEFAULT_INTERFACE_ID,
  DEFAULT_METRICS,
  DEFAULT_ON_EXIT,
  DEFAULT_PF_ANCHOR,
  DEFAULT_PORTSET,
  DEFAULT_PROVISION_PRODUCT,
  DEFAULT_ROUTE_PRIORITY,
  DEFAULT_STATE_DIR,
  DEFAULT_TOOLS,
  DEFAULT_TUNNEL_INTERFACE,
  DEFAULT_USER,
  MAX_INCLUDE_DEPTH,
  defaultLeaseFile,
} from './defaults.js';
import {
  DSLITE_KEYWORDS,
  INTERFACE_ID_KEYWORDS,
  IPIP_KEYWORDS,
  LW4O6_KEYWORDS,
  SOFTWIRE_KEYWORDS,
  FORWARD_KEYWORDS,
  METRICS_KEYWORDS,
  ON_EXIT_KEYWORDS,
  PF_KEYWORDS,
  PORTSET_KEYWORDS,
  PREFIX_KEYWORDS,
  PROVISION_KEYWORDS,
  PROVISION_PROTOCOLS,
  RULE_KEYWORDS,
  TOOL_KEYWORDS,
  TOP_LEVEL_KEYWORDS,
  TUNNEL_KEYWORDS,
  didYouMean,
} from './keywords.js';
import { ConfigSyntaxError, fail, locatedMessage, type Position } from './position.js';
import type { RawForward } from './forward.js';
import {
  mapedConfigSchema,
  type RawConfig,
  type RawDslite,
  type RawIpip,
  type RawLw4o6,
  type RawProvision,
  type RawRule,
} from './schema.js';
import { Lexer, describeToken, type Token } from './tokenizer.js';
import type { InterfaceIdMode, MapedConfig, OnExit, PortsetMode, SoftwireChoice, ToolName } from './types.js';

/** An include's text; null or an error when it cannot be read (why, when known). */
export type ReadFile = (path: string) => string | null | { readonly error: string };

/** What all macro expansions of one configuration may add up to. */
export const MAX_EXPANDED_BYTES = 2 * 1024 * 1024;

interface Source {
  readonly file: string;
  readonly lexer: Lexer;
  peeked: Token | null;
}

/** `a, b or c` */
function alternatives(words: readonly string[]): string {
  return words.length === 1 ? words[0]! : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

const NUMBER = /^[0-9]+$/;

/** A field of a softwire block: its key in the raw value, and whether it is a number or a word. */
interface BlockField {
  readonly key: string;
  readonly expected: string | null;
}
type SoftwireBlock = 'lw4o6' | 'ipip' | 'dslite';
type RawBlock = Record<string, string | number>;
const ADDRESS_OR_NAME = 'an IPv6 address or a name';
const DNS_SERVER = 'a DNS server address';
/** Several fields may share a line, as in `psid-offset 6 psid-len 8 psid 3`; `expected` null: a number. */
const BLOCK_FIELDS: Record<SoftwireBlock, { keywords: readonly string[]; fields: Readonly<Record<string, BlockField>> }> = {
  lw4o6: {
    keywords: LW4O6_KEYWORDS,
    fields: {
      ipv4: { key: 'ipv4', expected: 'an IPv4 address' },
      'psid-offset': { key: 'psidOffset', expected: null },
      'psid-len': { key: 'psidLen', expected: null },
      psid: { key: 'psid', expected: null },
      'bind-prefix': { key: 'bindPrefix', expected: 'an IPv6 prefix' },
      aftr: { key: 'aftr', expected: ADDRESS_OR_NAME },
      dns: { key: 'dns', expected: DNS_SERVER },
    },
  },
  ipip: {
    keywords: IPIP_KEYWORDS,
    fields: {
      local: { key: 'local', expected: 'an IPv6 address' },
      remote: { key: 'remote', expected: 'an IPv6 address' },
      ipv4: { key: 'ipv4', expected: 'an IPv4 address or prefix' },
    },
  },
  dslite: {
    keywords: DSLITE_KEYWORDS,
    fields: { aftr: { key: 'aftr', expected: ADDRESS_OR_NAME }, dns: { key: 'dns', expected: DNS_SERVER } },
  },
};
const MACRO_NAME = /^[A-Za-z0-9_]+$/;

class Parser {
  private readonly sources: Source[] = [];
  private readonly expansionBudget = { left: MAX_EXPANDED_BYTES, limit: MAX_EXPANDED_BYTES };
  private readonly macros = new Map<string, string>();
  /** Issue path (`rules.0.eaLen`) → where its value was written, in file order. */
  private readonly positions = new Map<string, Position>();
  /** Single-valued settings already given, for "duplicate" errors. */
  private readonly given = new Map<string, Position>();
  /** Every syntax error met, in file order: like parse.y, the parser goes on after one. */
  readonly errors: string[] = [];
  /** Rule blocks with a syntax error: what they lack then is no news, and not reported. */
  readonly brokenRules = new Set<number>();

  private wan: string | undefined;
  private leaseFile: string | undefined;
  private prefix: 'autoconf' | undefined;
  private tunnel: RawConfig['tunnel'] | undefined;
  private readonly natFrom: string[] = [];
  private anchor: string | undefined;
  private portset: PortsetMode | undefined;
  private interfaceId: InterfaceIdMode | undefined;
  private readonly rules: RawRule[] = [];
  private provision: RawProvision | null = null;
  private softwire: SoftwireChoice | undefined;
  private readonly blocks: Partial<Record<SoftwireBlock, RawBlock>> = {};
  private onExit: OnExit | undefined;
  private metrics: boolean | undefined;
  private readonly forwards: RawForward[] = [];
  private readonly tools: Partial<Record<ToolName, string>> = {};
  private stateDir: string | undefined;
  private user: string | undefined;

  constructor(
    private readonly topFile: string,
    text: string,
    private readonly readFile: ReadFile,
  ) {
    this.push(topFile, text);
  }

  private push(file: string, text: string): void {
    const lexer = new Lexer(text, file, (name) => this.macros.get(name), this.expansionBudget);
    this.sources.push({ file, lexer, peeked: null });
  }

  private get source(): Source {
    return this.sources[this.sources.length - 1]!;
  }

  private peek(): Token {
    const source = this.source;
    source.peeked ??= source.lexer.next();
    return source.peeked;
  }

  private next(): Token {
    const token = this.peek();
    this.source.peeked = null;
    return token;
  }

  private record(key: string, at: Position): void {
    this.positions.set(key, at);
  }

  /** Refuses a second occurrence of a single-valued setting. */
  private once(key: string, label: string, at: Position): void {
    const first = this.given.get(key);
    if (first !== undefined) {
      const where = first.file === at.file ? `line ${first.line}` : `${first.file}:${first.line}`;
      fail(at, `duplicate ${label}, first set at ${where}`);
    }
    this.given.set(key, at);
  }

  // --- token expectations -------------------------------------------------

  /** A value: a bare word or a quoted string (OpenBSD's STRING). */
  private value(context: string, expected: string): Token {
    const token = this.next();
    if (token.kind === 'word' || token.kind === 'string') return token;
    return fail(token.at, `${context}: expected ${expected}, got ${describeToken(token)}`);
  }

  /** One of a fixed set of bare words; a quoted word is a string, not a keyword, as in parse.y. */
  private keyword<T extends string>(choices: readonly T[], context: string): { word: T; at: Position } {
    const token = this.next();
    if (token.kind === 'word' && (choices as readonly string[]).includes(token.text)) return { word: token.text as T, at: token.at };
    const hint = token.kind === 'word' ? didYouMean(token.text, choices) : '';
    return fail(token.at, `${context}: expected ${alternatives(choices)}, got ${describeToken(token)}${hint}`);
  }

  /** A bare decimal number (OpenBSD's NUMBER: a quoted "16" is a string). */
  private number(context: string): { value: number; at: Position } {
    const token = this.next();
    if (token.kind === 'word' && NUMBER.test(token.text)) {
      // Past 2^53 a number is rounded (1e+23) and zod adds a reason of its own: one line, as typed.
      if (!Number.isSafeInteger(Number(token.text))) fail(token.at, `${context} ${token.text} is too large`);
      return { value: Number(token.text), at: token.at };
    }
    return fail(token.at, `${context}: expected a number, got ${describeToken(token)}`);
  }

  /** The end of a statement: a newline, the end of a file, or (inside a block) its closing brace. */
  private end(inBlock = false): void {
    const token = this.peek();
    if (token.kind === 'newline') {
      this.next();
      return;
    }
    if (token.kind === 'eof' || (inBlock && token.kind === '}')) return;
    fail(token.at, `syntax error: unexpected ${describeToken(token)}, expected end of line`);
  }

  // --- grammar ------------------------------------------------------------

  parse(): RawConfig {
    for (;;) {
      const token = this.next();
      if (token.kind === 'newline') continue;
      if (token.kind === 'eof') {
        if (this.sources.length === 1) break;
        this.sources.pop();
        continue;
      }
      const done = this.recovering(() => {
        if (token.kind === '}') fail(token.at, 'unbalanced brace: "}" without a matching "{"');
        if (token.kind !== 'word') fail(token.at, `syntax error: expected a keyword, got ${describeToken(token)}`);
        if (this.peek().kind === '=') this.macro(token);
        else this.statement(token);
      }, false);
      if (done) break;
    }
    return this.finish();
  }

  /**
   * Runs one statement; a syntax error in it is recorded and the rest of its
   * line skipped, as parse.y's `grammar error '\n'` rule does, so the next
   * line is checked too. Inside a block the skip also stops before the
   * block's "}". A block the bad line opens is skipped whole, so that one
   * mistake (`interfce em0 {`) is one error, not one more for each line of
   * the block and its "}". Returns true when nothing more can be read (an
   * error while skipping: the lexer itself is stuck).
   */
  private recovering(statement: () => void, inBlock: boolean): boolean {
    try {
      statement();
      return false;
    } catch (error) {
      if (!(error instanceof ConfigSyntaxError)) throw error;
      this.errors.push(error.message);
    }
    try {
      const opened: Token[] = [];
      for (;;) {
        const token = this.peek();
        if (token.kind === 'eof') {
          if (opened.length > 0) this.errors.push(locatedMessage(opened[0]!.at, 'unbalanced brace: "{" is never closed'));
          return false;
        }
        if (opened.length === 0 && inBlock && token.kind === '}') return false;
        this.next();
        if (token.kind === '{') opened.push(token);
        else if (token.kind === '}' && opened.length > 0) opened.pop();
        else if (token.kind === 'newline' && opened.length === 0) return false;
      }
    } catch (error) {
      if (!(error instanceof ConfigSyntaxError)) throw error;
      if (this.errors.at(-1) !== error.message) this.errors.push(error.message);
      return true;
    }
  }

  /** `name = "value" …`: adjacent strings are joined with a space, as parse.y's `string` rule does. */
  private macro(name: Token): void {
    const equals = this.next();
    if (!MACRO_NAME.test(name.text)) fail(name.at, `invalid macro name "${name.text}" (letters, digits and "_" only)`);
    const parts: string[] = [];
    for (;;) {
      const token = this.peek();
      if (token.kind === 'newline' || token.kind === 'eof') break;
      if (token.kind !== 'word' && token.kind !== 'string') {
        fail(token.at, `macro ${name.text}: unexpected ${describeToken(token)} in value (quote it)`);
      }
      parts.push(this.next().text);
    }
    if (parts.length === 0) fail(equals.at, `macro ${name.text}: missing value`);
    this.macros.set(name.text, parts.join(' '));
    this.end();
  }

  private statement(keyword: Token): void {
    const at = keyword.at;
    switch (keyword.text) {
      case 'wan': {
        const name = this.value('wan', 'an interface name');
        this.once('wan', 'wan', at);
        this.wan = name.text;
        this.record('wan', name.at);
        break;
      }
      case 'lease': {
        this.keyword(['file'], 'lease');
        const path = this.value('lease file', 'a path');
        this.once('leaseFile', 'lease file', at);
        this.leaseFile = this.besideSource(path.text);
        this.record('leaseFile', path.at);
        break;
      }
      case 'prefix': {
        const source = this.keyword(PREFIX_KEYWORDS, 'prefix');
        this.once('prefix', 'prefix', at);
        this.prefix = source.word;
        this.record('prefix', source.at);
        break;
      }
      case 'tunnel':
        this.tunnelStatement(at);
        break;
      case 'nat':
        this.natStatement();
        break;
      case 'pf': {
        const sub = this.keyword(PF_KEYWORDS, 'pf');
        if (sub.word === 'anchor') {
          const name = this.value('pf anchor', 'an anchor name');
          this.once('pf.anchor', 'pf anchor', at);
          this.anchor = name.text;
          this.record('pf.anchor', name.at);
        } else {
          const mode = this.keyword(PORTSET_KEYWORDS, 'pf portset');
          this.once('pf.portset', 'pf portset', at);
          this.portset = mode.word;
          this.record('pf.portset', mode.at);
        }
        break;
      }
      case 'interface-id': {
        const mode = this.keyword(INTERFACE_ID_KEYWORDS, 'interface-id');
        this.once('interfaceId', 'interface-id', at);
        this.interfaceId = mode.word;
        this.record('interfaceId', mode.at);
        break;
      }
      case 'rule': {
        const index = this.rules.length;
        const before = this.errors.length;
        let closed = false;
        try {
          closed = this.ruleBlock(at);
        } finally {
          if (!closed || this.errors.length > before) this.brokenRules.add(index);
        }
        // A block cut short by a top-level keyword leaves that keyword to be read next.
        if (!closed) return;
        break;
      }
      case 'provision':
        this.provisionBlock(at);
        break;
      case 'softwire': {
        const kind = this.keyword(SOFTWIRE_KEYWORDS, 'softwire');
        this.once('softwire', 'softwire', at);
        this.softwire = kind.word;
        this.record('softwire', kind.at);
        break;
      }
      case 'lw4o6':
      case 'ipip':
      case 'dslite':
        this.softwireBlock(keyword.text as SoftwireBlock, at);
        break;
      case 'on-exit': {
        const mode = this.keyword(ON_EXIT_KEYWORDS, 'on-exit');
        this.once('onExit', 'on-exit', at);
        this.onExit = mode.word;
        this.record('onExit', mode.at);
        break;
      }
      case 'forward':
        this.forwardStatement(at);
        break;
      case 'metrics': {
        const choice = this.keyword(METRICS_KEYWORDS, 'metrics');
        this.once('metrics', 'metrics', at);
        this.metrics = choice.word === 'yes';
        this.record('metrics', choice.at);
        break;
      }
      case 'tool': {
        const tool = this.keyword(TOOL_KEYWORDS, 'tool');
        const path = this.value(`tool ${tool.word}`, 'an absolute path');
        this.once(`tools.${tool.word}`, `tool ${tool.word}`, at);
        this.tools[tool.word] = path.text;
        this.record(`tools.${tool.word}`, path.at);
        break;
      }
      case 'user': {
        const name = this.value('user', 'a user name');
        this.once('user', 'user', at);
        this.user = name.text;
        this.record('user', name.at);
        break;
      }
      case 'state-dir': {
        const path = this.value('state-dir', 'a path');
        this.once('stateDir', 'state-dir', at);
        this.stateDir = this.besideSource(path.text);
        this.record('stateDir', path.at);
        break;
      }
      case 'include':
        this.include(this.value('include', 'a file name'));
        return;
      default:
        if ((RULE_KEYWORDS as readonly string[]).includes(keyword.text)) fail(at, `${keyword.text} is only allowed inside a rule block`);
        fail(at, `unknown keyword "${keyword.text}"${didYouMean(keyword.text, TOP_LEVEL_KEYWORDS)}`);
    }
    this.end();
  }

  /** `tunnel gifN [mtu auto|N] [peer A] [route-priority N]`, the options in any order. */
  private tunnelStatement(at: Position): void {
    const name = this.value('tunnel', 'an interface name');
    this.once('tunnel', 'tunnel', at);
    this.record('tunnel.interface', name.at);
    const tunnel: RawConfig['tunnel'] = { interface: name.text, mtu: 'auto', peer: null, routePriority: DEFAULT_ROUTE_PRIORITY };
    this.tunnel = tunnel;
    const seen = new Set<string>();
    for (let next = this.peek(); next.kind === 'word' && (TUNNEL_KEYWORDS as readonly string[]).includes(next.text); next = this.peek()) {
      const option = this.next();
      if (seen.has(option.text)) fail(option.at, `duplicate tunnel ${option.text}`);
      seen.add(option.text);
      if (option.text === 'mtu') {
        const value = this.next();
        if (value.kind === 'word' && value.text === 'auto') tunnel.mtu = 'auto';
        else if (value.kind === 'word' && NUMBER.test(value.text)) {
          if (!Number.isSafeInteger(Number(value.text))) fail(value.at, `mtu ${value.text} is too large`);
          tunnel.mtu = Number(value.text);
        }
        else fail(value.at, `mtu: expected auto or a number, got ${describeToken(value)}`);
        this.record('tunnel.mtu', value.at);
      } else if (option.text === 'peer') {
        const value = this.value('tunnel peer', 'an IPv4 address');
        tunnel.peer = value.text;
        this.record('tunnel.peer', value.at);
      } else {
        const value = this.number('tunnel route-priority');
        tunnel.routePriority = value.value;
        this.record('tunnel.routePriority', value.at);
      }
    }
  }

  /** `nat from <prefix>` or `nat from { <prefix> … }`; repeated statements add to one list. */
  private natStatement(): void {
    this.keyword(['from'], 'nat');
    const add = (token: Token): void => {
      this.record(`natFrom.${this.natFrom.length}`, token.at);
      this.natFrom.push(token.text);
    };
    if (this.peek().kind !== '{') {
      add(this.value('nat from', 'an IPv4 prefix or a { } list'));
      return;
    }
    const open = this.next();
    for (;;) {
      const token = this.next();
      if (token.kind === 'newline' || token.kind === ',') continue;
      if (token.kind === '}') return;
      if (token.kind === 'eof') fail(open.at, 'unbalanced brace: "{" is never closed');
      if (token.kind === 'word' || token.kind === 'string') add(token);
      else fail(token.at, `nat from: unexpected ${describeToken(token)} in list`);
    }
  }

  /** `forward tcp|udp|tcp-udp port <p>[:<q>] to <address> [port <r>]`; each statement adds one. */
  private forwardStatement(at: Position): void {
    const key = `forwards.${this.forwards.length}`;
    this.record(key, at);
    const proto = this.keyword(FORWARD_KEYWORDS, 'forward');
    this.keyword(['port'], `forward ${proto.word}`);
    const ports = this.value(`forward ${proto.word} port`, 'a port or a range first:last');
    this.record(`${key}.ports`, ports.at);
    this.keyword(['to'], `forward ${proto.word} port ${ports.text}`);
    const to = this.value(`forward ${proto.word} port ${ports.text} to`, 'an IPv4 address');
    this.record(`${key}.to`, to.at);
    let toPort: number | null = null;
    if (this.peek().kind === 'word' && this.peek().text === 'port') {
      this.next();
      const port = this.number(`forward … to ${to.text} port`);
      toPort = port.value;
      this.record(`${key}.toPort`, port.at);
    }
    this.forwards.push({ proto: proto.word, ports: ports.text, to: to.text, toPort });
  }

  /** `rule { … }`, one statement per line. False when the "}" is missing and the block ended at a top-level keyword. */
  private ruleBlock(at: Position): boolean {
    const index = this.rules.length;
    const key = `rules.${index}`;
    this.record(key, at);
    const open = this.next();
    if (open.kind !== '{') fail(open.at, `rule: expected "{", got ${describeToken(open)}`);
    const rule: RawRule = {};
    this.rules.push(rule);
    const field = (name: keyof RawRule, label: string, statement: Position, value: Position): void => {
      this.once(`${key}.${name}`, label, statement);
      this.record(`${key}.${name}`, value);
    };
    for (;;) {
      const token = this.next();
      if (token.kind === 'newline') continue;
      if (token.kind === '}') return true;
      if (token.kind === 'eof') fail(open.at, 'unbalanced brace: "{" is never closed');
      if (token.kind === 'word' && (TOP_LEVEL_KEYWORDS as readonly string[]).includes(token.text)) {
        // Most likely the block's "}" is missing: say so, end the block here and
        // read the keyword as the statement it is, so one slip is one error.
        this.errors.push(locatedMessage(token.at, `${token.text} is not allowed inside a rule block (missing "}"?)`));
        this.source.peeked = token;
        return false;
      }
      const stuck = this.recovering(() => this.ruleStatement(token, rule, field), true);
      if (stuck) fail(open.at, 'unbalanced brace: "{" is never closed');
    }
  }

  /** `lw4o6 { … }`, `ipip { … }`, `dslite { … }`: one of each, fields by the table above. */
  private softwireBlock(name: SoftwireBlock, at: Position): void {
    this.once(name, `${name} block`, at);
    this.record(name, at);
    const open = this.next();
    if (open.kind !== '{') fail(open.at, `${name}: expected "{", got ${describeToken(open)}`);
    const { keywords, fields } = BLOCK_FIELDS[name];
    const block: RawBlock = {};
    this.blocks[name] = block;
    for (;;) {
      const token = this.next();
      if (token.kind === 'newline') continue;
      if (token.kind === '}') return;
      if (token.kind === 'eof') fail(open.at, 'unbalanced brace: "{" is never closed');
      if (token.kind !== 'word') fail(token.at, `${name}: expected a keyword, got ${describeToken(token)}`);
      const field = fields[token.text];
      if (field === undefined) {
        if ((TOP_LEVEL_KEYWORDS as readonly string[]).includes(token.text)) {
          fail(token.at, `${token.text} is not allowed inside a ${name} block (missing "}"?)`);
        }
        fail(token.at, `unknown ${name} keyword "${token.text}"${didYouMean(token.text, keywords)}`);
      }
      const key = `${name}.${field.key}`;
      this.once(key, `${name} ${token.text}`, token.at);
      if (field.expected === null) {
        const value = this.number(`${name} ${token.text}`);
        block[field.key] = value.value;
        this.record(key, value.at);
      } else {
        const value = this.value(`${name} ${token.text}`, field.expected);
        block[field.key] = value.text;
        this.record(key, value.at);
      }
    }
  }

  /** One line of a rule block. */
  private ruleStatement(
    token: Token,
    rule: RawRule,
    field: (name: keyof RawRule, label: string, statement: Position, value: Position) => void,
  ): void {
    if (token.kind !== 'word') fail(token.at, `rule: expected a keyword, got ${describeToken(token)}`);
    switch (token.text) {
      case 'ipv6-prefix':
      case 'ipv4-prefix':
      case 'br': {
        const name = token.text === 'br' ? 'br' : token.text === 'ipv6-prefix' ? 'ipv6Prefix' : 'ipv4Prefix';
        const value = this.value(token.text, token.text === 'br' ? 'an IPv6 address' : 'a prefix');
        field(name, token.text, token.at, value.at);
        rule[name] = value.text;
        break;
      }
      case 'ea-len':
      case 'psid-offset': {
        const name = token.text === 'ea-len' ? 'eaLen' : 'psidOffset';
        const value = this.number(token.text);
        field(name, token.text, token.at, value.at);
        rule[name] = value.value;
        break;
      }
      case 'psid-len': {
        const value = this.number('psid-len');
        field('psidLen', 'psid-len', token.at, value.at);
        rule.psidLen = value.value;
        const next = this.peek();
        if (next.kind === 'word' && next.text === 'psid') {
          this.next();
          const psid = this.number('psid');
          field('psid', 'psid', next.at, psid.at);
          rule.psid = psid.value;
        }
        break;
      }
      case 'psid': {
        const value = this.number('psid');
        field('psid', 'psid', token.at, value.at);
        rule.psid = value.value;
        break;
      }
      default:
        // A top-level keyword here most likely means the block's "}" is missing.
        if ((TOP_LEVEL_KEYWORDS as readonly string[]).includes(token.text)) {
          fail(token.at, `${token.text} is not allowed inside a rule block (missing "}"?)`);
        }
        fail(token.at, `unknown rule keyword "${token.text}"${didYouMean(token.text, RULE_KEYWORDS)}`);
    }
    this.end(true);
  }

  /** `provision hb46pp { url … dns … vendorid … product … user … password … server-name … ca-file … }` */
  private provisionBlock(at: Position): void {
    this.keyword(PROVISION_PROTOCOLS, 'provision');
    this.once('provision', 'provision', at);
    this.record('provision', at);
    const open = this.next();
    if (open.kind !== '{') fail(open.at, `provision hb46pp: expected "{", got ${describeToken(open)}`);
    const block: RawProvision = {};
    this.provision = block;
    const fields: Record<(typeof PROVISION_KEYWORDS)[number], keyof RawProvision> = {
      url: 'url',
      dns: 'dns',
      vendorid: 'vendorid',
      product: 'product',
      user: 'user',
      password: 'password',
      'server-name': 'serverName',
      'ca-file': 'caFile',
    };
    for (;;) {
      const token = this.next();
      if (token.kind === 'newline') continue;
      if (token.kind === '}') return;
      if (token.kind === 'eof') fail(open.at, 'unbalanced brace: "{" is never closed');
      if (token.kind !== 'word') fail(token.at, `provision hb46pp: expected a keyword, got ${describeToken(token)}`);
      if (!(PROVISION_KEYWORDS as readonly string[]).includes(token.text)) {
        if ((TOP_LEVEL_KEYWORDS as readonly string[]).includes(token.text)) {
          fail(token.at, `${token.text} is not allowed inside a provision block (missing "}"?)`);
        }
        fail(token.at, `unknown provision keyword "${token.text}"${didYouMean(token.text, PROVISION_KEYWORDS)}`);
      }
      const name = fields[token.text as (typeof PROVISION_KEYWORDS)[number]];
      const value = this.value(`provision ${token.text}`, 'a value');
      this.once(`provision.${name}`, `provision ${token.text}`, token.at);
      this.record(`provision.${name}`, value.at);
      block[name] = name === 'caFile' ? this.besideSource(value.text) : value.text;
      // Several settings may share a line (`user "u" password "p" server-name "s"`).
      const next = this.peek();
      if (next.kind === 'word' && (PROVISION_KEYWORDS as readonly string[]).includes(next.text)) continue;
      this.end(true);
    }
  }

  /**
   * A relative `lease file` or `state-dir` is taken from the directory of the
   * file it is written in, as `include` names are: never from the working
   * directory, so the daemon does not depend on where it was started, and a
   * self-contained tree (the bundled examples/) works wherever it lies.
   * Tool paths stay absolute: what maped executes is never looked up.
   */
  private besideSource(path: string): string {
    if (path === '' || posix.isAbsolute(path)) return path;
    // A config named relatively (-f examples/maped.conf) is relative to the working directory.
    return resolve(posix.dirname(this.source.file), path);
  }

  /**
   * `include "file"`: the file is read in place, as pf.conf does; a relative
   * name is taken from the including file's directory, so a config tree can
   * be moved as a whole.
   */
  private include(name: Token): void {
    this.end();
    const dir = posix.dirname(this.source.file);
    const file = posix.isAbsolute(name.text) ? posix.normalize(name.text) : posix.join(dir, name.text);
    const chain = this.sources.map((source) => source.file);
    // `-f ./loop.conf` and its include of "loop.conf" are one file.
    if (chain.some((f) => posix.resolve(f) === posix.resolve(file))) fail(name.at, `include loop: ${[...chain, file].join(' -> ')}`);
    if (chain.length > MAX_INCLUDE_DEPTH) {
      fail(name.at, `include nested deeper than ${MAX_INCLUDE_DEPTH}: ${[...chain, file].join(' -> ')}`);
    }
    const text = this.readFile(file);
    if (typeof text !== 'string') fail(name.at, `cannot read include file "${file}"${text === null ? '' : `: ${text.error}`}`);
    this.push(file, text);
  }

  private finish(): RawConfig {
    if (this.wan === undefined) throw new ConfigSyntaxError(`${this.topFile}: no wan interface (add "wan <interface>")`);
    return {
      wan: this.wan,
      leaseFile: this.leaseFile ?? defaultLeaseFile(this.wan),
      prefix: this.prefix ?? 'lease',
      tunnel: this.tunnel ?? { interface: DEFAULT_TUNNEL_INTERFACE, mtu: 'auto', peer: null, routePriority: DEFAULT_ROUTE_PRIORITY },
      natFrom: this.natFrom,
      pf: { anchor: this.anchor ?? DEFAULT_PF_ANCHOR, portset: this.portset ?? DEFAULT_PORTSET },
      interfaceId: this.interfaceId ?? DEFAULT_INTERFACE_ID,
      softwire: this.softwire ?? 'auto',
      rules: this.rules,
      // The table above gives each key its type: numbers for psid-*, words for the rest.
      lw4o6: (this.blocks.lw4o6 ?? null) as RawLw4o6 | null,
      ipip: (this.blocks.ipip ?? null) as RawIpip | null,
      dslite: (this.blocks.dslite ?? null) as RawDslite | null,
      provision: this.provision === null ? null : { product: DEFAULT_PROVISION_PRODUCT, ...this.provision },
      onExit: this.onExit ?? DEFAULT_ON_EXIT,
      forwards: this.forwards,
      metrics: this.metrics ?? DEFAULT_METRICS,
      tools: { ...DEFAULT_TOOLS, ...this.tools },
      stateDir: this.stateDir ?? DEFAULT_STATE_DIR,
      user: this.user ?? DEFAULT_USER,
    };
  }

  /**
   * The position of an issue's value: the longest recorded prefix of its
   * path (a rule without ea-len is reported at its `rule` keyword).
   */
  locate(path: readonly PropertyKey[]): { at: Position; order: number } | null {
    const keys = [...this.positions.keys()];
    for (let length = path.length; length > 0; length--) {
      const key = path.slice(0, length).map(String).join('.');
      const at = this.positions.get(key);
      if (at !== undefined) return { at, order: keys.indexOf(key) };
    }
    return null;
  }
}

const NO_FILES: ReadFile = () => null;

/**
 * Parses maped.conf text. `path` names the file in error messages and is the
 * base for relative `include` names, which `readFile` reads (null: cannot).
 */
export function parseConfig(text: string, path: string, readFile: ReadFile = NO_FILES): Result<MapedConfig> {
  const parser = new Parser(path, text, readFile);
  let raw: RawConfig | null = null;
  try {
    raw = parser.parse();
  } catch (error) {
    if (!(error instanceof ConfigSyntaxError)) throw error;
    parser.errors.push(error.message);
  }
  // Like parse.y, every error is reported, each with its place, then the file is refused.
  const errors = [...parser.errors];
  const checked = raw === null ? null : mapedConfigSchema.safeParse(raw);
  if (checked?.success && errors.length === 0) return ok(checked.data);

  const located: { message: string; order: number }[] = [];
  for (const issue of checked?.success === false ? checked.error.issues : []) {
    if (issue.path[0] === 'rules' && parser.brokenRules.has(Number(issue.path[1]))) continue;
    const place = parser.locate(issue.path);
    if (place === null) {
      located.push({ message: `${path}: ${issue.message}`, order: Infinity });
      continue;
    }
    // Two settings in conflict: blame the one written second, naming the first.
    const other = (issue as { params?: { conflict?: { path: string[]; message: string } } }).params?.conflict;
    const second = other === undefined ? null : parser.locate(other.path);
    if (other !== undefined && second !== null && second.order > place.order) {
      located.push({ message: locatedMessage(second.at, `${other.message} (line ${place.at.line})`), order: second.order });
    } else {
      const first = second === null ? '' : ` (line ${second.at.line})`;
      located.push({ message: locatedMessage(place.at, `${issue.message}${first}`), order: place.order });
    }
  }
  located.sort((a, b) => a.order - b.order);
  errors.push(...located.map((l) => l.message));
  return err(errors.length > 0 ? errors.join('\n') : `${path}: invalid configuration`);
}
