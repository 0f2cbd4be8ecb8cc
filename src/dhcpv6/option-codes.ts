/**
 * DHCPv6 Softwire46 option codes (RFC 7598 §4–5, IANA "DHCPv6 Option Codes")
 * and the caps that keep the work on a hostile input bounded.
 */

export const OPTION_S46_RULE = 89;
export const OPTION_S46_BR = 90;
export const OPTION_S46_DMR = 91;
export const OPTION_S46_V4V6BIND = 92;
export const OPTION_S46_PORTPARAMS = 93;
export const OPTION_S46_CONT_MAPE = 94;
export const OPTION_S46_CONT_MAPT = 95;
export const OPTION_S46_CONT_LW = 96;

export type S46ContainerCode = typeof OPTION_S46_CONT_MAPE | typeof OPTION_S46_CONT_MAPT | typeof OPTION_S46_CONT_LW;

const NAMES: Readonly<Record<number, string>> = {
  [OPTION_S46_RULE]: 'S46_RULE',
  [OPTION_S46_BR]: 'S46_BR',
  [OPTION_S46_DMR]: 'S46_DMR',
  [OPTION_S46_V4V6BIND]: 'S46_V4V6BIND',
  [OPTION_S46_PORTPARAMS]: 'S46_PORTPARAMS',
  [OPTION_S46_CONT_MAPE]: 'S46_CONT_MAPE',
  [OPTION_S46_CONT_MAPT]: 'S46_CONT_MAPT',
  [OPTION_S46_CONT_LW]: 'S46_CONT_LW',
};

/** `S46_RULE` for 89, `option 65520` for a code this module does not know. */
export function optionName(code: number): string {
  return NAMES[code] ?? `option ${code}`;
}

export function isS46ContainerCode(code: number): code is S46ContainerCode {
  return code === OPTION_S46_CONT_MAPE || code === OPTION_S46_CONT_MAPT || code === OPTION_S46_CONT_LW;
}

/**
 * Caps. The wire format already bounds every length (16-bit option-length)
 * and nesting is fixed at three levels (container → rule/bind → port
 * parameters; unknown options are skipped, never descended into), so the
 * work is linear in the input. These caps also bound the size of the result,
 * far above anything a real server sends (a DHCPv6 reply fits in 1500 bytes
 * for dhcp6leased: struct imsg_dhcp's packet[1500] in
 * sbin/dhcp6leased/dhcp6leased.h 1.10).
 */
export const MAX_OPTIONS_PER_LEVEL = 512;
export const MAX_CONTAINERS = 16;
export const MAX_RULES_PER_CONTAINER = 128;
export const MAX_BRS_PER_CONTAINER = 16;
