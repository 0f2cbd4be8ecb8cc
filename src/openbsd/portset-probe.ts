/**
 * `pf portset auto`: what the two probe runs of pfctl(8) say about the
 * map-e-portset patch. Pure: the runs' outcomes in, a mode or an error out.
 *
 * 1. `pfctl -nf -` with PORTSET_PROBE asks pfctl alone (-n loads nothing,
 *    pfctl.c 1.397 pfctl_load_rule() skips DIOCADDRULE, lines 1592-1599): does it parse
 *    map-e-portset, offset 0 included?
 * 2. `pfctl -a <anchor> -sr` asks the kernel: DIOCGETRULES carries struct
 *    pfioc_rule, whose size is in the ioctl number (_IOWR). The patch makes
 *    struct pf_pool 8 bytes larger, so a pfctl and a kernel built from
 *    different pfvar.h do not know each other's number, and the kernel
 *    answers an unknown ioctl on pfctl's read-only descriptor with EACCES,
 *    or with EPERM at securelevel > 1 (pf_ioctl.c 1.423 pfioctl(), lines
 *    1069 ff.: `return (EPERM);` under `if (securelevel > 1)`, lines
 *    1074–1121; `return (EACCES);` under `if (!(flags & FWRITE))`, lines
 *    1123–1170); pfctl prints strerror() alone and still exits 0
 *    (pfctlShowWarning in pfctl-output.ts: pfctl.c 1.397 lines 894-899
 *    and 2808-2812). A missing anchor (EINVAL, "Anchor does not exist")
 *    or any other failure says nothing about the ABI and is left to the
 *    reading of the live state.
 */
import { err, ok, type Result } from '../map/index.js';

/** One probe run: whether pfctl exited 0, and what it wrote to stderr. */
export interface ProbeRun {
  readonly ok: boolean;
  readonly stderr: string;
}

/** The whole of pfctl's complaint when the kernel does not know a rule ioctl. */
const UNKNOWN_IOCTL = /^pfctl: (Permission denied|Operation not permitted)$/m;

export function judgePortsetProbe(parse: ProbeRun, kernel: ProbeRun): Result<'kernel' | 'stock'> {
  // Whatever the exit status: pfctl -sr exits 0 after the warning.
  const refused = UNKNOWN_IOCTL.exec(kernel.stderr);
  if (refused) {
    const answer = `pfctl -sr: ${refused[1]}`;
    return err(
      parse.ok
        ? `pfctl has the map-e-portset patch but the running kernel does not take its rule ioctls (${answer}): boot the kernel built with the patch, or install a stock pfctl`
        : `pfctl and the running kernel disagree on the pf rule layout (${answer}): the kernel was built from another net/pfvar.h, likely with the map-e-portset patch; install pfctl built from the same sources`,
    );
  }
  return ok(parse.ok ? 'kernel' : 'stock');
}
