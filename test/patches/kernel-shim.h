/*
 * What the pf patch's port-set functions (pf_mape_portset_valid() and
 * pf_mape_portset_pick(), cut from the lines the patch adds to
 * sys/net/pf_lb.c) need from the kernel to run as a user program: the
 * fixed-width BSD types and arc4random_uniform(), with a seeded,
 * deterministic generator in place of arc4random so a run can be
 * repeated. Included by test/patches/portset-driver.c and
 * bench/port-capacity/kernel-sim.c, before "portset-extracted.c".
 */
#ifndef KERNEL_SHIM_H
#define KERNEL_SHIM_H

#include <stdint.h>

typedef uint8_t		u_int8_t;
typedef uint16_t	u_int16_t;
typedef uint32_t	u_int32_t;

static uint64_t rng_state;

static u_int32_t
rng_next(void)
{
	/* splitmix64: a deterministic stand-in for the kernel's arc4random. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (u_int32_t)((z ^ (z >> 31)) >> 32);
}

/* Uniform in [0, bound), as arc4random_uniform(3) promises. */
static u_int32_t
arc4random_uniform(u_int32_t bound)
{
	u_int32_t r, min;

	if (bound < 2)
		return (0);
	min = -bound % bound;
	do
		r = rng_next();
	while (r < min);
	return (r % bound);
}

#endif /* KERNEL_SHIM_H */
