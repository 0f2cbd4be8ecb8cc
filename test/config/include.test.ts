import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_INCLUDE_DEPTH, loadConfig, parseConfig } from '../../src/config/index.js';
import { parseError, parsed } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'maped-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

function loaded(path: string) {
  const result = loadConfig(path);
  if (!result.ok) expect.fail(result.error);
  return result.value;
}

function loadError(path: string): string {
  const result = loadConfig(path);
  if (result.ok) expect.fail(`expected ${path} to be refused`);
  return result.error;
}

describe('include', () => {
  it('reads a relative name from the including file’s directory, at every level', () => {
    const main = write('etc/maped.conf', 'wan em0\ninclude "maped.d/pf.conf"\n');
    write('etc/maped.d/pf.conf', 'pf portset stock\ninclude "tools.conf"\n');
    write('etc/maped.d/tools.conf', 'tool pfctl "/fake/pfctl"\n');
    const config = loaded(main);
    expect(config.pf.portset).toBe('stock');
    expect(config.tools.pfctl).toBe('/fake/pfctl');
  });

  it('reads an absolute name as it is, and a bare word works as the name', () => {
    const other = write('elsewhere/rules.conf', 'on-exit teardown\n');
    const main = write('maped.conf', `wan em0\ninclude ${other}\n`);
    expect(loaded(main).onExit).toBe('teardown');
  });

  it('an included file without a final newline ends its last statement', () => {
    write('part.conf', 'wan em0');
    const main = write('maped.conf', 'include "part.conf"\non-exit teardown\n');
    expect(loaded(main)).toMatchObject({ wan: 'em0', onExit: 'teardown' });
  });

  it('macros flow both ways: defined before the include, and by the included file', () => {
    write('macros.conf', 'lans = "{" $lan 10.2.0.0/24 "}"\n');
    const main = write('maped.conf', 'lan = 10.1.0.0/24\ninclude "macros.conf"\nwan em0\nnat from $lans\n');
    expect(loaded(main).natFrom).toHaveLength(2);
  });

  it('the include name may come from a macro', () => {
    write('conf.d/a.conf', 'wan em7\n');
    const main = write('maped.conf', 'd = conf.d\ninclude $d/a.conf\n');
    expect(loaded(main).wan).toBe('em7');
  });

  it(`accepts ${MAX_INCLUDE_DEPTH} nested includes`, () => {
    for (let i = 1; i <= MAX_INCLUDE_DEPTH; i++) write(`${i}.conf`, i === MAX_INCLUDE_DEPTH ? 'wan em0\n' : `include "${i + 1}.conf"\n`);
    const main = write('maped.conf', 'include "1.conf"\n');
    expect(loaded(main).wan).toBe('em0');
  });

  it(`refuses nesting deeper than ${MAX_INCLUDE_DEPTH} and names the chain`, () => {
    for (let i = 1; i <= MAX_INCLUDE_DEPTH + 1; i++) write(`${i}.conf`, `include "${i + 1}.conf"\n`);
    const main = write('maped.conf', 'wan em0\ninclude "1.conf"\n');
    const chain = [main, ...Array.from({ length: MAX_INCLUDE_DEPTH + 1 }, (_, i) => join(dir, `${i + 1}.conf`))];
    expect(loadError(main)).toBe(`${join(dir, '8.conf')}:1:9: include nested deeper than 8: ${chain.join(' -> ')}`);
  });

  it('refuses a file that includes itself', () => {
    const main = write('maped.conf', 'wan em0\ninclude "./maped.conf"\n');
    expect(loadError(main)).toBe(`${main}:2:9: include loop: ${main} -> ${main}`);
  });

  it('refuses a loop through other files and names the chain', () => {
    const main = write('maped.conf', 'wan em0\ninclude "a.conf"\n');
    write('a.conf', 'include "sub/b.conf"\n');
    write('sub/b.conf', '# back up\ninclude "../a.conf"\n');
    const a = join(dir, 'a.conf');
    const b = join(dir, 'sub/b.conf');
    expect(loadError(main)).toBe(`${b}:2:9: include loop: ${main} -> ${a} -> ${b} -> ${a}`);
  });

  it('including the same file twice, not nested, is no loop (its settings then clash)', () => {
    write('nat.conf', 'nat from 10.0.0.0/24\n');
    const main = write('maped.conf', 'wan em0\ninclude "nat.conf"\ninclude "nat.conf"\n');
    expect(loadError(main)).toBe(`${join(dir, 'nat.conf')}:1:10: nat from: duplicate 10.0.0.0/24`);
  });

  it('an unreadable include is reported at its name', () => {
    const main = write('maped.conf', 'wan em0\ninclude "missing.conf"\n');
    expect(loadError(main)).toBe(`${main}:2:9: cannot read include file "${join(dir, 'missing.conf')}": no such file or directory`);
  });

  it('errors inside an included file name that file and its line', () => {
    write('bad.conf', '\n\ntunnel gif0 mtu 100\n');
    const main = write('maped.conf', 'wan em0\ninclude "bad.conf"\n');
    expect(loadError(main)).toBe(`${join(dir, 'bad.conf')}:3:17: mtu 100 out of range (1280-8192)`);
  });

  it('a duplicate across files names the other file', () => {
    write('wan.conf', 'wan em1\n');
    const main = write('maped.conf', 'wan em0\ninclude "wan.conf"\n');
    expect(loadError(main)).toBe(`${join(dir, 'wan.conf')}:1:1: duplicate wan, first set at ${main}:1`);
  });

  it('a block cannot stay open past the end of an included file', () => {
    write('open.conf', 'rule {\n\tea-len 16\n');
    const main = write('maped.conf', 'wan em0\ninclude "open.conf"\n}\n');
    // The including file's "}" then has no "{" of its own: both are said.
    expect(loadError(main).split('\n')).toEqual([
      `${join(dir, 'open.conf')}:1:6: unbalanced brace: "{" is never closed`,
      `${main}:3:1: unbalanced brace: "}" without a matching "{"`,
    ]);
  });

  it('include is a statement of its own line', () => {
    expect(parseError('wan em0\ninclude "a.conf" "b.conf"\n')).toBe('/etc/maped.conf:2:18: syntax error: unexpected quoted string "b.conf", expected end of line');
  });
});

describe('parseConfig stays pure: include goes through readFile only', () => {
  it('reads includes from the given function, relative to the including name', () => {
    const files = new Map([['/etc/maped.d/wan.conf', 'wan em2\n']]);
    const asked: string[] = [];
    const config = parsed('include "maped.d/wan.conf"\n', (path) => {
      asked.push(path);
      return files.get(path) ?? null;
    });
    expect(config.wan).toBe('em2');
    expect(asked).toEqual(['/etc/maped.d/wan.conf']);
  });

  it('without readFile an include cannot be read', () => {
    expect(parseError('wan em0\ninclude "x.conf"\n')).toBe('/etc/maped.conf:2:9: cannot read include file "/etc/x.conf"');
  });

  it('a relative config name gives relative include names', () => {
    const result = parseConfig('include "b.conf"\n', 'conf/a.conf', (path) => (path === 'conf/b.conf' ? 'wan em0\n' : null));
    expect(result.ok).toBe(true);
  });
});

describe('loadConfig', () => {
  it('reads and parses a file', () => {
    expect(loaded(write('maped.conf', 'wan em0\n')).wan).toBe('em0');
  });

  it('a missing file is one line naming it', () => {
    const path = join(dir, 'nope.conf');
    expect(loadError(path)).toBe(`${path}: no such file or directory`);
  });

  it('a directory is refused with the system’s reason', () => {
    expect(loadError(dir)).toBe(`${dir}: not a regular file`);
  });
});
