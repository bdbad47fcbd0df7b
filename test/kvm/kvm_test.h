/*
 * kvm_test.h: shared helpers of the kvm tests: skip (exit 77) when no
 * backend works (neither /dev/kvm nor the ptrace backend), a context with a raw code page and a stack, and the guest
 * snippets the tests run. Snippet bytes were produced by GNU as (intel
 * syntax) and are listed with their instructions.
 */
#ifndef KVM_TEST_H
#define KVM_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kvm.h"

#define T_CODE 0x400000ull
#define T_STACK 0x800000ull /* one page below T_STACK + 4096 */
#define T_DATA 0x600000ull

/* Exits 77 (meson: skipped) when no backend can be used here. */
static inline void
t_require_kvm(void)
{
	enum kvm_err err = kvm_probe();

	if (err != KVM_OK) {
		fprintf(stderr, "skip: %s\n", kvm_strerror(err));
		exit(77);
	}
	fprintf(stderr, "backend: %s\n", kvm_backend());
}

/* 1 when the guest runs in a KVM vCPU, 0 in a traced process. */
static inline int
t_is_kvm(void)
{
	return strcmp(kvm_backend(), "kvm") == 0;
}

/* Loads (code) into (ctx) (an empty map) in a user r-x page, with one
 * user rw page of stack, and points rip at it. */
static inline void
t_code_in(struct kvm_ctx *ctx, const uint8_t *code, size_t len)
{
	struct kvm_guest_regs r;

	assert_int_equal(kvm_mem_load(ctx, T_CODE, code, len,
	                     KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_EXEC),
	    KVM_OK);
	assert_int_equal(kvm_mem_map(ctx, T_STACK, 4096,
	                     KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_WRITE),
	    KVM_OK);
	memset(&r, 0, sizeof(r));
	r.rip = T_CODE;
	r.rsp = T_STACK + 4096;
	r.rflags = 0x202;
	assert_int_equal(kvm_regs_set(ctx, &r), KVM_OK);
}

/* A fresh 16 MiB context with (code) loaded as t_code_in() does. */
static inline struct kvm_ctx *
t_ctx_code(const uint8_t *code, size_t len)
{
	struct kvm_ctx *ctx;

	assert_int_equal(kvm_ctx_new(NULL, 16u << 20, &ctx), KVM_OK);
	t_code_in(ctx, code, len);
	return ctx;
}

static inline void
t_run(struct kvm_ctx *ctx, struct kvm_exit *ex, enum kvm_exit_kind kind)
{
	assert_int_equal(kvm_ctx_run(ctx, 2000000, ex), KVM_OK);
	if (ex->kind == KVM_EXITK_ERROR)
		fprintf(stderr, "error exit reason %u detail %#llx rip %#llx\n",
		    ex->u.error.reason, (unsigned long long)ex->u.error.detail,
		    (unsigned long long)ex->u.error.regs.rip);
	if (ex->kind != kind)
		fprintf(stderr, "kind %d: pf addr %#llx ec %#x / vector %u\n",
		    ex->kind, (unsigned long long)ex->u.page_fault.addr,
		    ex->u.page_fault.error_code, ex->u.exception.vector);
	assert_int_equal(ex->kind, kind);
}

/* mov dx, 0x500 ; out dx, eax: halt with status eax */
#define T_HALT_EAX 0x66, 0xba, 0x00, 0x05, 0xef

#endif /* KVM_TEST_H */
