/**
 * The ABI the pf patch changes, compiled: struct pf_pool as sys/net/pfvar.h
 * 1.543 lays it out (members in order; pf_addr_wrap, pf_poolhashkey and
 * pf_addr as in the same file, IFNAMSIZ 16, RTLABEL_LEN 32), before and after
 * the patch, with the patch's own struct pf_mape_portset and pf_pool member
 * lines taken from patches/openbsd-7.8. The system C compiler lays it out for
 * LP64 (-m64: amd64, arm64), for i386 (-m32) and for ILP32 with 8-byte
 * aligned 64-bit integers (-m32 -malign-double, as armv7 and powerpc align
 * them). Only `cc -S` runs, so no 32-bit libraries are needed.
 *
 * Why it matters: struct pf_pool is in struct pf_rule three times (nat, rdr,
 * route), and struct pfioc_rule's size is encoded in the numbers of
 * DIOCADDRULE, DIOCGETRULES, DIOCGETRULE and DIOCCHANGERULE (_IOWR). If the
 * pool does not grow, a patched pfctl and a stock kernel agree on those
 * numbers and the port set is silently lost; if it grows, the kernel refuses
 * the unknown ioctls (pf_ioctl.c 1.423 pfioctl(): EACCES on a read-only
 * descriptor, ENODEV otherwise).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../packaging/mdoc.js';
import { addedText, readPatchSeries } from './cvs-diff.js';

const pfvar = readPatchSeries(REPO_ROOT)
  .flatMap((patch) => patch.files)
  .find((file) => file.path === 'sys/net/pfvar.h');

/** `struct pf_mape_portset { ... };` exactly as the patch adds it. */
function patchedPortsetStruct(): string {
  const added = addedText(pfvar!).split('\n');
  const start = added.indexOf('struct pf_mape_portset {');
  const end = added.indexOf('};', start);
  if (start < 0 || end < 0) throw new Error('the pf patch adds no struct pf_mape_portset to sys/net/pfvar.h');
  return added.slice(start, end + 1).join('\n');
}

/** The member lines the patch adds to struct pf_pool. */
function patchedPoolMembers(): string[] {
  // The hunk whose context is the end of struct pf_pool: its last member, opts.
  const hunk = pfvar!.hunks.find((h) => h.body.includes(' \tu_int8_t\t\t opts;'));
  if (hunk === undefined) throw new Error('no sys/net/pfvar.h hunk inside struct pf_pool');
  return hunk.body.filter((line) => line.startsWith('+')).map((line) => line.slice(1));
}

const MODEL = (portset: string, members: readonly string[]): string => `
typedef __UINT8_TYPE__ u_int8_t;
typedef __UINT16_TYPE__ u_int16_t;
typedef __UINT32_TYPE__ u_int32_t;
typedef __UINT64_TYPE__ u_int64_t;

struct pf_addr {
	union {
		u_int8_t addr8[16];
		u_int16_t addr16[8];
		u_int32_t addr32[4];
	} pfa;
};

struct pf_addr_wrap {
	union {
		struct {
			struct pf_addr addr;
			struct pf_addr mask;
		} a;
		char ifname[16];
		char tblname[32];
		char rtlabelname[32];
		u_int32_t rtlabel;
	} v;
	union {
		void *dyn;
		void *tbl;
		int dyncnt;
		int tblcnt;
	} p;
	u_int8_t type;
	u_int8_t iflags;
};

struct pf_poolhashkey {
	union {
		u_int8_t key8[16];
		u_int16_t key16[8];
		u_int32_t key32[4];
	} pfk;
};

#define POOL_1_543 \\
	struct pf_addr_wrap addr; \\
	struct pf_poolhashkey key; \\
	struct pf_addr counter; \\
	char ifname[16]; \\
	void *kif; \\
	int tblidx; \\
	u_int64_t states; \\
	int curweight; \\
	u_int16_t weight; \\
	u_int16_t proxy_port[2]; \\
	u_int8_t port_op; \\
	u_int8_t opts;

struct pf_pool_stock { POOL_1_543 };

${portset}

struct pf_pool_patched {
	POOL_1_543
${members.join('\n')}
};

/* The series' first revision: a 4-byte port set, the review's finding. */
struct pf_mape_portset_4 { u_int8_t offset; u_int8_t psidlen; u_int16_t psid; };
struct pf_pool_4 { POOL_1_543 struct pf_mape_portset_4 mape; };

const unsigned int layout[] = {
	sizeof(struct pf_pool_stock),
	sizeof(struct pf_pool_patched),
	sizeof(struct pf_pool_4),
	sizeof(struct pf_mape_portset),
	__alignof__(struct pf_pool_stock),
};
`;

interface Layout {
  readonly stock: number;
  readonly patched: number;
  readonly fourByte: number;
  readonly portset: number;
  readonly align: number;
}

const ABIS = {
  LP64: ['-m64'],
  i386: ['-m32'],
  'ILP32, 8-byte int64': ['-m32', '-malign-double'],
} as const;

const layouts = new Map<string, Layout>();
let dir: string | undefined;

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

beforeAll(() => {
  if (pfvar === undefined) throw new Error('no sys/net/pfvar.h in the patch series');
  dir = mkdtempSync(join(tmpdir(), 'maped-pf-pool-'));
  const source = join(dir, 'pf-pool-layout.c');
  writeFileSync(source, MODEL(patchedPortsetStruct(), patchedPoolMembers()));
  for (const [abi, flags] of Object.entries(ABIS)) {
    const cc = spawnSync('cc', [...flags, '-std=c11', '-Wall', '-Werror', '-S', '-o', '-', source], { encoding: 'utf8' });
    if (cc.error !== undefined) throw new Error(`cannot run the system C compiler (cc): ${cc.error.message}`);
    if (cc.status !== 0) throw new Error(`cc ${flags.join(' ')} failed:\n${cc.stderr}`);
    const values = [...cc.stdout.matchAll(/^\s*\.long\s+(\d+)\s*$/gm)].map((m) => Number(m[1]));
    if (values.length !== 5) throw new Error(`cc ${flags.join(' ')}: expected 5 sizes in the assembly, found ${values.length}`);
    const [stock, patched, fourByte, portset, align] = values as [number, number, number, number, number];
    layouts.set(abi, { stock, patched, fourByte, portset, align });
  }
});

describe('struct pf_pool with the pf patch, compiled for LP64 and ILP32', () => {
  it.each(Object.keys(ABIS))('%s: the pool grows by the whole port set, so the DIOC*RULE* ioctl numbers change', (abi) => {
    const layout = layouts.get(abi)!;
    expect(layout.portset).toBe(8);
    // Tail padding is less than the alignment (at most 8), so 8 more bytes always show.
    expect(layout.patched).toBeGreaterThan(layout.stock);
    expect(layout.patched - layout.stock).toBe(8);
  });

  it('the sizes are the ones the review measured for the stock pool (136 bytes on LP64)', () => {
    expect(layouts.get('LP64')).toMatchObject({ stock: 136, patched: 144, align: 8 });
    expect(layouts.get('i386')).toMatchObject({ stock: 116, patched: 124, align: 4 });
    expect(layouts.get('ILP32, 8-byte int64')).toMatchObject({ stock: 120, patched: 128, align: 8 });
  });

  it('a 4-byte port set would vanish into tail padding where 64-bit integers are 8-byte aligned (the silent mismatch)', () => {
    expect(layouts.get('LP64')!.fourByte).toBe(layouts.get('LP64')!.stock);
    expect(layouts.get('ILP32, 8-byte int64')!.fourByte).toBe(layouts.get('ILP32, 8-byte int64')!.stock);
    expect(layouts.get('i386')!.fourByte).toBeGreaterThan(layouts.get('i386')!.stock);
  });
});
