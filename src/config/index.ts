/** maped.conf(5): grammar in, validated config out, canonical text back (docs/architecture.md §3.7). */
export type {
  AftrSpec,
  InterfaceIdMode,
  MapedConfig,
  OnExit,
  PortsetMode,
  SoftwireChoice,
  StaticDslite,
  StaticIpip,
  StaticLw4o6,
  StaticRule,
  ToolName,
} from './types.js';
export {
  DEFAULT_CONFIG_PATH,
  DEFAULT_INTERFACE_ID,
  DEFAULT_ON_EXIT,
  DEFAULT_PF_ANCHOR,
  DEFAULT_PORTSET,
  DEFAULT_STATE_DIR,
  DEFAULT_TOOLS,
  DEFAULT_TUNNEL_INTERFACE,
  MAX_INCLUDE_DEPTH,
  childFilesDir,
  defaultLeaseFile,
} from './defaults.js';
export { CONFIG_KEYWORDS } from './keywords.js';
export { MTU_MAX, MTU_MIN } from './schema.js';
export { parseConfig, type ReadFile } from './parse.js';
export { loadConfig } from './load.js';
export { printConfig } from './print.js';
