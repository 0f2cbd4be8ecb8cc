/**
 * in_baddynamic(9) for TCP: ports the kernel never hands out dynamically,
 * and which pf's port searches skip (pf_lb.c 1.76 lines 211–212 and 223–224;
 * the kernel patch's busy() calls it too). The default list of
 * netinet/in_pcb.h 1.171 `DEFBADDYNAMICPORTS_TCP`; an admin may change it
 * with the net.inet.tcp.baddynamic sysctl. The port sets of the bench start
 * at 1024 or above, so only 2049 and 6000–6010 can fall inside one.
 */
export const BAD_DYNAMIC_TCP: readonly number[] = [587, 749, 750, 751, 853, 871, 2049, 6000, 6001, 6002, 6003, 6004, 6005, 6006, 6007, 6008, 6009, 6010];

const bad = new Uint8Array(65536);
for (const port of BAD_DYNAMIC_TCP) bad[port] = 1;

export function inBadDynamicTcp(port: number): boolean {
  return bad[port] === 1;
}
