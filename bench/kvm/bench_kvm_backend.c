/*
 * bench_kvm_backend: what the active backend (KVM or ptrace) costs a
 * Linux personality, each figure against its peer in the same run:
 *   - a system call served by the host: a guest looping on getpid, every
 *     call an exit answered with kvm_syscall_return, against the same
 *     getpid loop run natively on this host;
 *   - a program's life in a context: acquire from the pool, run guest/hello
 *     under the C syscall server, release (reset), against a cold context
 *     created and freed around the same run;
 *   - the time budget: how far past a 1 ms budget a spinning guest runs.
 *   bench_kvm_backend HELLO [SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench_kvm.h"
#include "kvm.h"
#include "serve.h"

/* ns per getpid served by the host, for at most (limit_ns) */
static double
guest_getpid(uint64_t limit_ns, long *trips)
{
	/* clang-format off */
	static const uint8_t loop[] = {
		0xb8, 0x27, 0x00, 0x00, 0x00, /* mov eax, 39 (getpid) */
		0x0f, 0x05,                   /* syscall */
		0xeb, 0xf7,                   /* jmp back to mov */
	};
	/* clang-format on */
	struct kvm_ctx *ctx = bk_code_ctx(loop, sizeof(loop), 16u << 20);
	struct kvm_exit ex;
	uint64_t t0, pid = (uint64_t)getpid();
	long n = 0;

	if (ctx == NULL)
		return -1;
	t0 = bk_now_ns();
	while (bk_now_ns() - t0 < limit_ns && n < 1000000) {
		if (kvm_ctx_run(ctx, 1000000, &ex) != KVM_OK ||
		    ex.kind != KVM_EXITK_SYSCALL || ex.u.syscall.nr != 39)
			break;
		kvm_syscall_return(ctx, pid);
		n++;
	}
	t0 = bk_now_ns() - t0;
	kvm_ctx_free(ctx);
	*trips = n;
	return n > 0 ? (double)t0 / (double)n : -1;
}

static double
host_getpid(long n)
{
	uint64_t t0 = bk_now_ns();
	long i;

	for (i = 0; i < n; i++)
		(void)syscall(SYS_getpid);
	return (double)(bk_now_ns() - t0) / (double)n;
}

static int
run_hello(struct kvm_ctx *ctx, const void *img, size_t len)
{
	static struct serve_proc p;

	return serve_exec(&p, ctx, img, len, 0, NULL) == KVM_OK &&
	        serve_run(&p, 2000000) && p.status == 0
	    ? 0
	    : -1;
}

static void
budget_overshoot(int runs)
{
	static const uint8_t spin[] = {0xeb, 0xfe}; /* jmp . */
	struct kvm_ctx *ctx = bk_code_ctx(spin, sizeof(spin), 16u << 20);
	struct kvm_exit ex;
	double sum = 0, max = 0, o;
	int i, n = 0;

	if (ctx == NULL)
		return;
	for (i = 0; i < runs; i++) {
		if (kvm_ctx_run(ctx, 1000, &ex) != KVM_OK ||
		    ex.kind != KVM_EXITK_BUDGET)
			continue;
		o = ((double)ex.ran_ns - 1e6) / 1e3;
		sum += o;
		max = o > max ? o : max;
		n++;
	}
	kvm_ctx_free(ctx);
	if (n > 0)
		printf("budget 1 ms         %4d runs   overshoot mean %7.1f us"
		       "  max %7.1f us\n",
		    n, sum / n, max);
}

int
main(int argc, char **argv)
{
	struct kvm_config cfg = {.slab_max = 64u << 20, .pool_max = 4};
	double secs = argc > 2 ? atof(argv[2]) : 2.0, g, h, cold, pooled;
	enum kvm_err err = kvm_probe();
	struct kvm_pool *pool;
	struct kvm_ctx *ctx;
	uint64_t t0;
	size_t len = 0;
	void *img;
	long trips = 0;
	int i, n = 30;

	if (err != KVM_OK) {
		printf("skip: %s\n", kvm_strerror(err));
		return 77;
	}
	if (argc < 2 || (img = serve_slurp(argv[1], &len)) == NULL) {
		fprintf(stderr, "usage: bench_kvm_backend HELLO [SECONDS]\n");
		return 2;
	}
	printf("backend             %s\n", kvm_backend());
	g = guest_getpid((uint64_t)(secs * 1e9), &trips);
	h = host_getpid(1000000);
	printf("syscall round trip  guest getpid served by the host %9.0f ns"
	       " (%ld trips)   host getpid %6.0f ns   guest/host %6.0f\n",
	    g, trips, h, g / h);

	t0 = bk_now_ns();
	for (i = 0; i < n; i++) {
		if (kvm_ctx_new(&cfg, 16u << 20, &ctx) != KVM_OK ||
		    run_hello(ctx, img, len) != 0)
			return 1;
		kvm_ctx_free(ctx);
	}
	cold = (double)(bk_now_ns() - t0) / n / 1e3;
	if (kvm_pool_new(&cfg, &pool) != KVM_OK)
		return 1;
	/* the pool's first context is a cold one: not a pooled cycle */
	if (kvm_pool_acquire(pool, 16u << 20, &ctx) != KVM_OK)
		return 1;
	kvm_pool_release(pool, ctx);
	t0 = bk_now_ns();
	for (i = 0; i < n; i++) {
		if (kvm_pool_acquire(pool, 16u << 20, &ctx) != KVM_OK ||
		    run_hello(ctx, img, len) != 0)
			return 1;
		kvm_pool_release(pool, ctx);
	}
	pooled = (double)(bk_now_ns() - t0) / n / 1e3;
	kvm_pool_free(pool);
	printf("hello in a context  cold (create + run + free) %8.0f us"
	       "   pooled (acquire + run + reset) %8.0f us"
	       "   cold/pooled %5.2f\n",
	    cold, pooled, cold / pooled);
	budget_overshoot(50);
	free(img);
	return 0;
}
