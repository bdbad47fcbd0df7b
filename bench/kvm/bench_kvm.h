/*
 * bench_kvm.h: what the native benchmarks share: a monotonic clock and a
 * context running hand-written guest code at 0x400000.
 */
#ifndef BENCH_KVM_H
#define BENCH_KVM_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "kvm.h"

#define BK_CODE 0x400000ull

static inline uint64_t
bk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A context of (mem) bytes with (code) at BK_CODE and rip there;
 * NULL when the backend refuses. */
static inline struct kvm_ctx *
bk_code_ctx(const uint8_t *code, size_t len, uint64_t mem)
{
	struct kvm_guest_regs r;
	struct kvm_ctx *ctx;

	if (kvm_ctx_new(NULL, mem, &ctx) != KVM_OK)
		return NULL;
	memset(&r, 0, sizeof(r));
	r.rip = BK_CODE;
	r.rflags = 0x202;
	if (kvm_mem_load(ctx, BK_CODE, code, len,
	        KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_EXEC) != KVM_OK ||
	    kvm_regs_set(ctx, &r) != KVM_OK) {
		kvm_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

#endif /* BENCH_KVM_H */
