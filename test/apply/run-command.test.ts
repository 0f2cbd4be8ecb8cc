import { afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/apply/index.js';
import type { Command } from '../../src/openbsd/index.js';

// /usr/bin/env stands in for ifconfig: it prints the environment it was given.
const TOOLS = { ifconfig: '/usr/bin/env', route: '/usr/bin/env', pfctl: '/usr/bin/env' };
const SHOW: Command = { tool: 'ifconfig', args: [] };

describe('runCommand', () => {
  afterEach(() => {
    delete process.env.MAPED_TEST_SECRET;
  });

  it("runs a tool with the C locale and PATH only, nothing else of maped's environment", async () => {
    process.env.MAPED_TEST_SECRET = 'must not reach a tool';
    const result = await runCommand(TOOLS, SHOW, { timeoutMs: 5000 });
    expect(result.ok).toBe(true);
    const lines = result.stdout.trim().split('\n').sort();
    expect(lines).toEqual([`LC_ALL=C`, `PATH=${process.env.PATH}`].sort());
  });

  it('names the first stderr line when a tool fails', async () => {
    const result = await runCommand(TOOLS, { tool: 'route', args: ['/nonexistent/tool'] }, { timeoutMs: 5000 });
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(/nonexistent\/tool/);
  });
});
