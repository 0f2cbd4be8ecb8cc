/**
 * `route -n get -inet default` output (sbin/route/route.c `print_getmsg`):
 *
 *        route to: default
 *     destination: default
 *            mask: default
 *         gateway: 0.0.0.1
 *       interface: gif0
 *      if address: 192.0.2.66
 *        priority: 8 (static)
 *           flags: <UP,GATEWAY,DONE,STATIC>
 *           label: maped
 *          use       mtu    expire
 *            0         0         0
 *
 * `gateway:` is printed only for RTF_GATEWAY routes, `label:` only when the
 * route has one. Without a default route the RTM_GET write fails with ESRCH:
 * `route: writing to routing socket: No such process`.
 */
import { err, ok, parseIpv4, type Result } from '../map/index.js';

export interface DefaultRoute {
  readonly gateway: number | null;
  readonly interface: string | null;
  readonly ifAddress: number | null;
  readonly priority: number | null;
  readonly flags: readonly string[];
  readonly label: string | null;
}

export function isNoRoute(stderr: string): boolean {
  return /No such process|not in table/.test(stderr);
}

export function parseRouteGet(text: string): Result<DefaultRoute> {
  const fields = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const m = /^\s*([a-z][a-z ]*[a-z]):\s?(.*)$/.exec(raw);
    if (m !== null) fields.set(m[1]!, m[2]!.trim());
  }
  if (!fields.has('route to')) return err('route get output: no "route to:" line');
  const ipv4 = (key: string): Result<number | null> => {
    const value = fields.get(key);
    if (value === undefined) return ok(null);
    const parsed = parseIpv4(value);
    return parsed.ok ? parsed : err(`route get output: bad ${key} "${value}"`);
  };
  const gateway = ipv4('gateway');
  if (!gateway.ok) return gateway;
  const ifAddress = ipv4('if address');
  if (!ifAddress.ok) return ifAddress;
  const priorityText = fields.get('priority');
  const priority = priorityText === undefined ? null : Number.parseInt(priorityText, 10);
  const flagsText = fields.get('flags') ?? '';
  const flags = /^<(.*)>$/.exec(flagsText)?.[1]?.split(',') ?? [];
  return ok({
    gateway: gateway.value,
    interface: fields.get('interface') ?? null,
    ifAddress: ifAddress.value,
    priority: priority === null || Number.isNaN(priority) ? null : priority,
    flags,
    label: fields.get('label') ?? null,
  });
}
