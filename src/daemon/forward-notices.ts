/**
 * Says in the log when a forward stops or starts being in force: a warning
 * once when its ports leave the port set, a line when a later mapping takes
 * it back; nothing while its verdict stays the same.
 */
import { describeForward, type ForwardState } from '../openbsd/index.js';

export class ForwardNotices {
  /** Verdict last said per forward (its description), true = active. */
  private readonly said = new Map<string, boolean>();

  /** The lines to log for `states`, and remembers them. */
  update(states: readonly ForwardState[]): { warnings: string[]; notices: string[] } {
    const warnings: string[] = [];
    const notices: string[] = [];
    const seen = new Set<string>();
    for (const state of states) {
      const name = describeForward(state.forward);
      seen.add(name);
      const before = this.said.get(name);
      if (before === state.active) continue;
      this.said.set(name, state.active);
      if (!state.active) warnings.push(`forward ${name} inactive: ${state.reason ?? 'not in force'}`);
      else if (before === false) notices.push(`forward ${name} active again`);
    }
    // A forward removed from the configuration is forgotten: if it comes back it is new.
    for (const name of [...this.said.keys()]) if (!seen.has(name)) this.said.delete(name);
    return { warnings, notices };
  }
}
