/*
 * The kernel mode of the port-capacity bench: runs the pf patch's
 * pf_mape_portset_pick() over a workload. The bench extracts
 * pf_mape_portset_valid() and pf_mape_portset_pick() from the lines the
 * patch in patches/openbsd-7.8 adds to sys/net/pf_lb.c into
 * "portset-extracted.c"; test/patches/kernel-shim.h gives them the
 * fixed-width types and arc4random_uniform(), and this file answers, as busy(),
 * what pf_mape_port_busy() asks: does a state already use this port for
 * this destination (pf_find_state_all), or does in_baddynamic() refuse it.
 *
 *   kernel-sim a k psid destinations seed < events > outcomes
 *
 * events:   int32 in host order; d >= 0 opens a connection to destination
 *           d (connections are numbered from 0 in arrival order), -1 - id
 *           closes connection id.
 * outcomes: int32 in host order, one per connection: its port, or -1 when
 *           the pick failed (pf_get_transaddr returns -1, the packet is
 *           dropped with PFRES_TRANSLATE).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-shim.h"
#include "portset-extracted.c"

/* in_pcb.h 1.171 DEFBADDYNAMICPORTS_TCP: the workload is TCP. */
static const u_int16_t baddynamic_tcp[] = {
	587, 749, 750, 751, 853, 871, 2049,
	6000, 6001, 6002, 6003, 6004, 6005, 6006, 6007, 6008, 6009, 6010
};

static unsigned char baddynamic[65536];
static uint32_t *taken;		/* one 65536-bit map per destination */

struct busy_arg {
	long	dest;
};

static int
is_taken(long dest, u_int16_t port)
{
	return ((taken[dest * 2048 + (port >> 5)] >> (port & 31)) & 1);
}

static int
busy(void *arg, u_int16_t port)
{
	struct busy_arg *b = arg;

	return (is_taken(b->dest, port) || baddynamic[port]);
}

static void *
read_all(FILE *f, size_t *len)
{
	size_t cap = 1 << 20, n = 0, r;
	char *buf = malloc(cap);

	if (buf == NULL)
		return (NULL);
	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			char *bigger;

			cap *= 2;
			if ((bigger = realloc(buf, cap)) == NULL) {
				free(buf);
				return (NULL);
			}
			buf = bigger;
		}
	}
	*len = n;
	return (buf);
}

int
main(int argc, char *argv[])
{
	struct busy_arg b;
	int32_t *events, *outcomes, *conn_dest;
	size_t len, nevents, i, narrivals = 0, nconn = 0;
	long destinations;
	u_int16_t port;
	u_int8_t a, k;
	u_int16_t psid;

	if (argc != 6) {
		fprintf(stderr, "usage: kernel-sim a k psid destinations seed\n");
		return (2);
	}
	a = (u_int8_t)atoi(argv[1]);
	k = (u_int8_t)atoi(argv[2]);
	psid = (u_int16_t)atoi(argv[3]);
	destinations = atol(argv[4]);
	rng_state = strtoull(argv[5], NULL, 10);
	if (!pf_mape_portset_valid(a, k, psid) || destinations < 1 ||
	    destinations > 1000000) {
		fprintf(stderr, "kernel-sim: bad arguments\n");
		return (2);
	}
	for (i = 0; i < sizeof(baddynamic_tcp) / sizeof(baddynamic_tcp[0]); i++)
		baddynamic[baddynamic_tcp[i]] = 1;

	if ((events = read_all(stdin, &len)) == NULL || len % 4 != 0) {
		fprintf(stderr, "kernel-sim: cannot read the events\n");
		return (1);
	}
	nevents = len / 4;
	for (i = 0; i < nevents; i++)
		if (events[i] >= 0)
			narrivals++;
	taken = calloc((size_t)destinations * 2048, sizeof(uint32_t));
	outcomes = calloc(narrivals + 1, sizeof(int32_t));
	conn_dest = calloc(narrivals + 1, sizeof(int32_t));
	if (taken == NULL || outcomes == NULL || conn_dest == NULL) {
		fprintf(stderr, "kernel-sim: out of memory\n");
		return (1);
	}

	for (i = 0; i < nevents; i++) {
		int32_t e = events[i];

		if (e >= 0) {
			if (e >= destinations) {
				fprintf(stderr, "kernel-sim: destination %d\n", e);
				return (1);
			}
			b.dest = e;
			conn_dest[nconn] = e;
			if (pf_mape_portset_pick(a, k, psid, busy, &b, &port)
			    == 0) {
				taken[e * 2048L + (port >> 5)] |=
				    1U << (port & 31);
				outcomes[nconn] = port;
			} else
				outcomes[nconn] = -1;
			nconn++;
		} else {
			size_t id = (size_t)(-1 - (int64_t)e);

			if (id >= nconn) {
				fprintf(stderr, "kernel-sim: close of %zu\n",
				    id);
				return (1);
			}
			if (outcomes[id] >= 0)
				taken[conn_dest[id] * 2048L +
				    (outcomes[id] >> 5)] &=
				    ~(1U << (outcomes[id] & 31));
		}
	}
	if (fwrite(outcomes, sizeof(int32_t), nconn, stdout) != nconn ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "kernel-sim: cannot write the outcomes\n");
		return (1);
	}
	return (0);
}
