/**
 * What must hold outside maped's own configuration for the softwire to carry
 * anything, and what maped cannot fix (they are the admin's pf.conf,
 * rc.conf.local and sysctl.conf): the main ruleset calls the anchor
 * (`pfctl -a maped -f -` loads rules whether or not anything evaluates
 * them), pf is enabled, and the router forwards IPv4. Read once after an
 * apply (docs/architecture.md §3.6); each problem is one warning. Pure: the
 * commands to run and what their output means.
 */
import type { Command } from './command-argv.js';

/** The three reads, run side by side. */
export const systemCheckCommands = {
  /** The main ruleset (no `-a`); an anchor call prints as `anchor "name" …` (sbin/pfctl/pfctl_parser.c 1.352 print_rule, lines 738-748). */
  mainRules: (): Command => ({ tool: 'pfctl', args: ['-sr'] }),
  /** sbin/pfctl/pfctl_parser.c 1.352 print_status: the first line is `Status: Enabled …` or `Status: Disabled …` (lines 537, 549-554). */
  pfInfo: (): Command => ({ tool: 'pfctl', args: ['-si'] }),
  /** sysctl(8) prints `net.inet.ip.forwarding=1`. */
  forwarding: (): Command => ({ tool: 'sysctl', args: ['net.inet.ip.forwarding'] }),
};

/**
 * Whether a `pfctl -sr` listing of the main ruleset evaluates the anchor: an
 * `anchor "<name>"` rule, or for a nested name `a/b` a wildcard `anchor
 * "a/*"`, which evaluates the anchors directly below `a` (pf.conf(5) ANCHORS).
 */
export function callsAnchor(listing: string, anchor: string): boolean {
  const parent = anchor.includes('/') ? anchor.slice(0, anchor.lastIndexOf('/')) : null;
  return listing.split('\n').some((line) => {
    const m = /^anchor "([^"]*)"(?:\s|$)/.exec(line.trim());
    return m !== null && (m[1] === anchor || (parent !== null && m[1] === `${parent}/*`));
  });
}

/** true or false from `pfctl -si`; null when there is no status line. */
export function pfEnabled(info: string): boolean | null {
  const m = /^Status: (Enabled|Disabled)\b/m.exec(info);
  return m === null ? null : m[1] === 'Enabled';
}

/** The value of `net.inet.ip.forwarding=N`; null when the output says something else. */
export function forwardingValue(output: string): number | null {
  const m = /^net\.inet\.ip\.forwarding=([0-9]+)\s*$/m.exec(output);
  return m === null ? null : Number(m[1]);
}

/** Each read's output, or why it could not be had. */
export interface SystemFacts {
  readonly mainRules: string | { readonly error: string };
  readonly pfInfo: string | { readonly error: string };
  readonly forwarding: string | { readonly error: string };
}

/** One warning per problem, each saying what to do; none when all is well. */
export function systemWarnings(facts: SystemFacts, anchor: string): string[] {
  const warnings: string[] = [];
  if (typeof facts.pfInfo !== 'string') warnings.push(`cannot tell whether pf is enabled: pfctl -si: ${facts.pfInfo.error}`);
  else {
    const enabled = pfEnabled(facts.pfInfo);
    if (enabled === null) warnings.push('cannot tell whether pf is enabled: pfctl -si printed no Status line');
    else if (!enabled) warnings.push('pf is not enabled: nothing is translated; enable it with pfctl -e (pf=YES in rc.conf.local, the default)');
  }
  if (typeof facts.mainRules !== 'string') warnings.push(`cannot read the main ruleset: pfctl -sr: ${facts.mainRules.error}`);
  else if (!callsAnchor(facts.mainRules, anchor)) {
    warnings.push(`the main pf ruleset does not call anchor "${anchor}": add it to /etc/pf.conf after your nat-to rules and before your filter rules`);
  }
  if (typeof facts.forwarding !== 'string') warnings.push(`cannot read net.inet.ip.forwarding: ${facts.forwarding.error}`);
  else {
    const value = forwardingValue(facts.forwarding);
    // 2 forwards only IPsec-processed packets (sysctl(2) IPCTL_FORWARDING).
    if (value !== 1) {
      warnings.push(`net.inet.ip.forwarding is ${value ?? 'unreadable'}, not 1: the LANs cannot reach the tunnel; set net.inet.ip.forwarding=1 (and in /etc/sysctl.conf)`);
    }
  }
  return warnings;
}
