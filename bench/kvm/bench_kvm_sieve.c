/*
 * bench_kvm_sieve: the primes guest (sieve below 10,000,000) run in a
 * context under the test syscall server, against the same sieve compiled
 * into this host program. The MØ version is compared elsewhere.
 * Usage: bench_kvm_sieve PATH-TO-guest/primes [runs]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve.h"

#define N 10000000

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long
sieve(void)
{
	unsigned char *c = calloc(N, 1);
	long i, j, count = 0;

	if (c == NULL)
		exit(1);
	for (i = 2; i < N; i++) {
		if (c[i])
			continue;
		count++;
		for (j = i * i; j < N; j += i)
			c[j] = 1;
	}
	free(c);
	return count;
}

int
main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[2]) : 5, i;
	struct serve_proc *p = calloc(1, sizeof(*p));
	uint64_t t0, best_g = ~0ull, best_h = ~0ull, dt;
	struct kvm_ctx *ctx;
	size_t len;
	void *img;
	long n = 0;

	if (argc < 2 || p == NULL) {
		fprintf(stderr, "usage: bench_kvm_sieve guest/primes [runs]\n");
		return 2;
	}
	if (kvm_probe() != KVM_OK) {
		printf("skip: no /dev/kvm\n");
		return 77;
	}
	if ((img = serve_slurp(argv[1], &len)) == NULL)
		return 1;
	for (i = 0; i < runs; i++) {
		t0 = now_ns();
		if (kvm_ctx_new(NULL, 64u << 20, &ctx) != KVM_OK ||
		    serve_exec(p, ctx, img, len, 0, NULL) != KVM_OK ||
		    !serve_run(p, 60000000))
			return 1;
		dt = now_ns() - t0;
		kvm_ctx_free(ctx);
		if (dt < best_g)
			best_g = dt;
		t0 = now_ns();
		n = sieve();
		dt = now_ns() - t0;
		if (dt < best_h)
			best_h = dt;
	}
	printf("guest primes output: %.*s", (int)p->outlen, p->out);
	printf("host sieve: %ld primes\n", n);
	printf("sieve in guest (load+run, best of %d): %8.1f ms  (%llu "
	       "syscalls)\n",
	    runs, best_g / 1e6, (unsigned long long)p->nsyscalls);
	printf("sieve on host  (best of %d):           %8.1f ms\n", runs,
	    best_h / 1e6);
	printf("guest/host: %.2f\n", (double)best_g / (double)best_h);
	return 0;
}
