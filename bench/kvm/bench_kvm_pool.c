/*
 * bench_kvm_pool: a cold context (VM, vCPU, slot, tables) against a
 * pooled one. "acquire" is what a messenger's second native call pays;
 * "cycle" adds the reset that kvm_pool_release does on the releasing
 * thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_kvm.h"
#include "kvm.h"

/* Maps 16 pages and a code page, runs to a halt. */
static int
use(struct kvm_ctx *ctx)
{
	/* mov dx, 0x500 ; out dx, eax */
	static const uint8_t halt[] = {0x66, 0xba, 0x00, 0x05, 0xef};
	struct kvm_guest_regs r;
	struct kvm_exit ex;

	memset(&r, 0, sizeof(r));
	r.rip = 0x400000;
	if (kvm_mem_map(ctx, 0x600000, 16 * 4096,
	        KVM_PROT_USER | KVM_PROT_WRITE) != KVM_OK ||
	    kvm_mem_load(ctx, 0x400000, halt, sizeof(halt),
	        KVM_PROT_USER | KVM_PROT_EXEC) != KVM_OK ||
	    kvm_regs_set(ctx, &r) != KVM_OK ||
	    kvm_ctx_run(ctx, 100000, &ex) != KVM_OK ||
	    ex.kind != KVM_EXITK_HALT)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200, i;
	struct kvm_config cfg = {.slab_max = 64u << 20, .pool_max = 4};
	struct kvm_pool *pool;
	struct kvm_ctx *ctx;
	uint64_t t0, cold = 0, acq = 0, cyc = 0, t1;
	enum kvm_err err = kvm_probe();

	if (err != KVM_OK) {
		printf("skip: %s\n", kvm_strerror(err));
		return 77;
	}
	for (i = 0; i < n; i++) {
		t0 = bk_now_ns();
		if (kvm_ctx_new(&cfg, 16u << 20, &ctx) != KVM_OK)
			return 1;
		cold += bk_now_ns() - t0;
		kvm_ctx_free(ctx);
	}
	if (kvm_pool_new(&cfg, &pool) != KVM_OK)
		return 1;
	kvm_pool_acquire(pool, 16u << 20, &ctx);
	kvm_pool_release(pool, ctx);
	for (i = 0; i < n * 10; i++) {
		t0 = bk_now_ns();
		if (kvm_pool_acquire(pool, 16u << 20, &ctx) != KVM_OK)
			return 1;
		t1 = bk_now_ns();
		/* a little use, so the reset has something to undo */
		if (use(ctx) != 0)
			return 1;
		kvm_pool_release(pool, ctx);
		acq += t1 - t0;
		cyc += bk_now_ns() - t0;
	}
	kvm_pool_free(pool);
	printf("cold context create:       %9.1f us\n", cold / 1e3 / n);
	printf("pooled acquire:            %9.2f us\n", acq / 1e3 / (n * 10));
	printf("pooled acquire+run+reset:  %9.1f us\n", cyc / 1e3 / (n * 10));
	printf("ratio cold/pooled acquire: %9.0fx\n",
	    ((double)cold / n) / ((double)acq / (n * 10)));
	printf("ratio cold/pooled cycle:   %9.1fx\n",
	    ((double)cold / n) / ((double)cyc / (n * 10)));
	return 0;
}
