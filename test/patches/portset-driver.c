/*
 * Runs the pf patch's port-set functions outside the kernel. The test
 * extracts pf_mape_portset_valid() and pf_mape_portset_pick() from the
 * added lines of sys/net/pf_lb.c in patches/openbsd-7.8 into
 * "portset-extracted.c"; kernel-shim.h gives them the little they need
 * from the kernel (the fixed-width types and arc4random_uniform), and this
 * file prints what they choose, so the test can judge it against RFC 7597 §5.1.
 *
 *   draws   a k psid n seed   n picks, nothing busy: one port per line
 *   exhaust a k psid seed     pick until every port is taken: the ports,
 *                             then "rc R calls C" for the pick that failed
 *   allbusy a k psid seed     everything busy: the ports busy() was asked
 *                             about, then "rc R"
 *   invalid a k psid          "valid V rc R calls C"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-shim.h"
#include "portset-extracted.c"

static unsigned char taken[65536];
static unsigned long calls;
static int everything_busy;

static int
busy(void *arg, u_int16_t port)
{
	(void)arg;
	calls++;
	if (everything_busy) {
		printf("%u\n", port);
		return (1);
	}
	return (taken[port]);
}

int
main(int argc, char *argv[])
{
	u_int8_t a, k;
	u_int16_t psid, port;
	int rc;
	long i, n;

	if (argc < 5) {
		fprintf(stderr, "usage: driver mode a k psid [n] [seed]\n");
		return (2);
	}
	a = (u_int8_t)atoi(argv[2]);
	k = (u_int8_t)atoi(argv[3]);
	psid = (u_int16_t)atoi(argv[4]);

	if (strcmp(argv[1], "invalid") == 0) {
		port = 0;
		rc = pf_mape_portset_pick(a, k, psid, busy, NULL, &port);
		printf("valid %d rc %d calls %lu\n",
		    pf_mape_portset_valid(a, k, psid), rc, calls);
		return (0);
	}
	if (strcmp(argv[1], "draws") == 0 && argc == 7) {
		n = atol(argv[5]);
		rng_state = strtoull(argv[6], NULL, 10);
		for (i = 0; i < n; i++) {
			if (pf_mape_portset_pick(a, k, psid, busy, NULL,
			    &port) != 0) {
				printf("rc failed\n");
				return (1);
			}
			printf("%u\n", port);
		}
		return (0);
	}
	if (strcmp(argv[1], "exhaust") == 0 && argc == 6) {
		rng_state = strtoull(argv[5], NULL, 10);
		for (;;) {
			calls = 0;
			rc = pf_mape_portset_pick(a, k, psid, busy, NULL, &port);
			if (rc != 0)
				break;
			if (taken[port]) {
				printf("duplicate %u\n", port);
				return (1);
			}
			taken[port] = 1;
			printf("%u\n", port);
		}
		printf("rc %d calls %lu\n", rc, calls);
		return (0);
	}
	if (strcmp(argv[1], "allbusy") == 0 && argc == 6) {
		rng_state = strtoull(argv[5], NULL, 10);
		everything_busy = 1;
		rc = pf_mape_portset_pick(a, k, psid, busy, NULL, &port);
		printf("rc %d\n", rc);
		return (0);
	}
	fprintf(stderr, "driver: bad arguments\n");
	return (2);
}
