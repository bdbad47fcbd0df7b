/*
 * test_kvm_mmap.c: the memory-map operators (map, unmap, protect, inspect,
 * read, write, load) and isolation: the guest reaches nothing outside its
 * map, the accessors refuse what is not mapped, and neither the guest nor
 * the caller can reach the page tables or the trampoline.
 */
#include "kvm_test.h"

#define RW (KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_WRITE)
#define RX (KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_EXEC)

static struct kvm_ctx *
t_ctx(void)
{
	struct kvm_ctx *ctx;

	assert_int_equal(kvm_ctx_new(NULL, 16u << 20, &ctx), KVM_OK);
	return ctx;
}

static void
test_map_argument_checks(void **state)
{
	struct kvm_ctx *ctx = t_ctx();

	(void)state;
	assert_int_equal(kvm_mem_map(ctx, 0x1001, 4096, RW), KVM_ERR_ALIGN);
	assert_int_equal(kvm_mem_map(ctx, 0x1000, 100, RW), KVM_ERR_ALIGN);
	assert_int_equal(kvm_mem_map(ctx, 0x1000, 0, RW), KVM_ERR_RANGE);
	assert_int_equal(
	    kvm_mem_map(ctx, KVM_USER_END, 4096, RW), KVM_ERR_RANGE);
	assert_int_equal(
	    kvm_mem_map(ctx, KVM_USER_END - 4096, 8192, RW), KVM_ERR_RANGE);
	assert_int_equal(
	    kvm_mem_map(ctx, 0xffffffffffe00000ull, 4096, RW), KVM_ERR_RANGE);
	assert_int_equal(
	    kvm_mem_map(ctx, 0x1000, ~0xfffull, RW), KVM_ERR_RANGE);
	/* the last user page: a vCPU maps it, a Linux process cannot */
	assert_int_equal(kvm_mem_map(ctx, KVM_USER_END - 4096, 4096, RW),
	    t_is_kvm() ? KVM_OK : KVM_ERR_RANGE);
	assert_int_equal(kvm_mem_map(ctx, 0x102000, 3 * 4096, RW), KVM_OK);
	/* overlapping an existing page: refused, nothing changed */
	assert_int_equal(
	    kvm_mem_map(ctx, 0x101000, 2 * 4096, RW), KVM_ERR_MAPPED);
	assert_int_equal(
	    kvm_mem_read(ctx, 0x101000, &(int){0}, 1), KVM_ERR_UNMAPPED);
	kvm_ctx_free(ctx);
}

static void
test_map_inspect_ranges(void **state)
{
	struct kvm_ctx *ctx = t_ctx();
	struct kvm_range r;
	kvm_gva_t cur = 0;

	(void)state;
	assert_int_equal(kvm_mem_next(ctx, &cur, &r), KVM_ERR_END);
	assert_int_equal(kvm_mem_map(ctx, 0x10000, 4 * 4096, RW), KVM_OK);
	assert_int_equal(kvm_mem_map(ctx, 0x14000, 2 * 4096, RX), KVM_OK);
	assert_int_equal(
	    kvm_mem_map(ctx, 0x7f0000000000ull, 4096, KVM_PROT_READ), KVM_OK);
	assert_int_equal(kvm_mem_protect(ctx, 0x11000, 4096, RX), KVM_OK);
	assert_int_equal(kvm_mem_next(ctx, &cur, &r), KVM_OK);
	assert_int_equal(r.start, 0x10000);
	assert_int_equal(r.len, 4096);
	assert_int_equal(r.prot, RW);
	assert_int_equal(kvm_mem_next(ctx, &cur, &r), KVM_OK);
	assert_int_equal(r.start, 0x11000);
	assert_int_equal(r.len, 4096);
	assert_int_equal(r.prot, RX);
	assert_int_equal(kvm_mem_next(ctx, &cur, &r), KVM_OK);
	assert_int_equal(r.start, 0x12000);
	assert_int_equal(r.len, 2 * 4096);
	assert_int_equal(kvm_mem_next(ctx, &cur, &r), KVM_OK);
	assert_int_equal(r.start, 0x14000);
	assert_int_equal(r.len, 2 * 4096);
	assert_int_equal(r.prot, RX);
	assert_int_equal(kvm_mem_next(ctx, &cur, &r), KVM_OK);
	assert_int_equal(r.start, 0x7f0000000000ull);
	assert_int_equal(r.prot, KVM_PROT_READ); /* supervisor-only */
	assert_int_equal(kvm_mem_next(ctx, &cur, &r), KVM_ERR_END);
	/* unmap a hole, skipping unmapped pages in the range */
	assert_int_equal(kvm_mem_unmap(ctx, 0x12000, 0x10000), KVM_OK);
	cur = 0x11800; /* unaligned cursors round up */
	assert_int_equal(kvm_mem_next(ctx, &cur, &r), KVM_OK);
	assert_int_equal(r.start, 0x7f0000000000ull);
	assert_int_equal(
	    kvm_mem_protect(ctx, 0x11000, 2 * 4096, RW), KVM_ERR_UNMAPPED);
	kvm_ctx_free(ctx);
}

static void
test_read_write_across_pages(void **state)
{
	struct kvm_ctx *ctx = t_ctx();
	uint8_t in[10000], out[10000];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7);
	assert_int_equal(kvm_mem_map(ctx, 0x20000, 4 * 4096, RW), KVM_OK);
	assert_int_equal(kvm_mem_write(ctx, 0x20ff0, in, sizeof(in)), KVM_OK);
	assert_int_equal(kvm_mem_read(ctx, 0x20ff0, out, sizeof(out)), KVM_OK);
	assert_memory_equal(in, out, sizeof(in));
	/* straddling the end of the map: refused, nothing written */
	memset(out, 0xee, sizeof(out));
	assert_int_equal(
	    kvm_mem_write(ctx, 0x23000, out, 8192), KVM_ERR_UNMAPPED);
	assert_int_equal(kvm_mem_read(ctx, 0x23000, out, 4096), KVM_OK);
	assert_int_equal(out[0], in[0x23000 - 0x20ff0]);
	/* kernel half and wrap-around are refused before any walk */
	assert_int_equal(
	    kvm_mem_read(ctx, 0xffffffffffe00000ull, out, 8), KVM_ERR_RANGE);
	assert_int_equal(
	    kvm_mem_read(ctx, 0xffffffffffe02000ull, out, 8), KVM_ERR_RANGE);
	assert_int_equal(
	    kvm_mem_write(ctx, 0x20000, in, SIZE_MAX), KVM_ERR_RANGE);
	assert_int_equal(
	    kvm_mem_read(ctx, KVM_USER_END - 4, out, 8), KVM_ERR_RANGE);
	assert_int_equal(kvm_mem_read(ctx, 0x20000, out, 0), KVM_OK);
	kvm_ctx_free(ctx);
}

static void
test_unmap_returns_pages(void **state)
{
	struct kvm_ctx *ctx = t_ctx();
	uint64_t base;
	int i;

	(void)state;
	base = kvm_ctx_mem_used(ctx);
	for (i = 0; i < 100; i++) {
		assert_int_equal(
		    kvm_mem_map(ctx, 0x40000000, 64 * 4096, RW), KVM_OK);
		assert_int_equal(
		    kvm_mem_unmap(ctx, 0x40000000, 64 * 4096), KVM_OK);
	}
	/* only the three table pages stay */
	assert_int_equal(kvm_ctx_mem_used(ctx), base + 3 * 4096);
	kvm_ctx_free(ctx);
}

/* Huge ranges cost what is mapped, not what is named. */
static void
test_huge_ranges_are_cheap(void **state)
{
	struct kvm_ctx *ctx = t_ctx();
	uint64_t base = kvm_ctx_mem_used(ctx);
	struct kvm_range r;
	kvm_gva_t cur = 0;

	(void)state;
	/* page 0 and the top page are not a process's to map */
	assert_int_equal(kvm_mem_map(ctx, 0, KVM_USER_END, RW),
	    t_is_kvm() ? KVM_ERR_SLAB_FULL : KVM_ERR_RANGE);
	assert_int_equal(
	    kvm_mem_map(ctx, 0x100000, 1ull << 40, RW), KVM_ERR_SLAB_FULL);
	assert_int_equal(kvm_ctx_mem_used(ctx), base);
	assert_int_equal(kvm_mem_map(ctx, 0x5000, 4096, RW), KVM_OK);
	assert_int_equal(kvm_mem_map(ctx, 0x7fff00000000ull, 4096, RW), KVM_OK);
	assert_int_equal(
	    kvm_mem_protect(ctx, 0, KVM_USER_END, RW), KVM_ERR_UNMAPPED);
	assert_int_equal(kvm_mem_unmap(ctx, 0, KVM_USER_END), KVM_OK);
	assert_int_equal(kvm_mem_next(ctx, &cur, &r), KVM_ERR_END);
	kvm_ctx_free(ctx);
}

/* Guest accesses: a loop reading [rbx] then writing [rbx]; each probe sets
 * rbx. mov eax,[rbx]; mov [rbx],eax; halt. */
/* clang-format off */
static const uint8_t t_probe[] = {
	0x8b, 0x03, /* mov eax, [rbx] */
	0x89, 0x03, /* mov [rbx], eax */
	T_HALT_EAX,
};
/* clang-format on */

static struct kvm_exit
t_probe_at(struct kvm_ctx *ctx, uint64_t addr)
{
	struct kvm_guest_regs r;
	struct kvm_exit ex;

	memset(&r, 0, sizeof(r));
	r.rip = T_CODE;
	r.rbx = addr;
	assert_int_equal(kvm_regs_set(ctx, &r), KVM_OK);
	assert_int_equal(kvm_ctx_run(ctx, 1000000, &ex), KVM_OK);
	return ex;
}

/* The guest cannot touch the kernel half (descriptor tables, IDT,
 * trampoline, its stack), supervisor pages, or unmapped addresses. */
static void
test_isolation_guest_faults(void **state)
{
	static const uint64_t kernel[] = {
	    0xffffffffffe00000ull, /* GDT/TSS */
	    0xffffffffffe01000ull, /* IDT */
	    0xffffffffffe02000ull, /* trampoline */
	    0xffffffffffe03ff0ull, /* IST stack */
	};
	struct kvm_ctx *ctx = t_ctx();
	struct kvm_exit ex;
	size_t i;

	(void)state;
	assert_int_equal(
	    kvm_mem_load(ctx, T_CODE, t_probe, sizeof(t_probe), RX), KVM_OK);
	for (i = 0; i < sizeof(kernel) / sizeof(kernel[0]); i++) {
		ex = t_probe_at(ctx, kernel[i]);
		assert_int_equal(ex.kind, KVM_EXITK_PAGE_FAULT);
		assert_int_equal(ex.u.page_fault.addr, kernel[i]);
		assert_int_equal(ex.u.page_fault.present, 1);
		assert_int_equal(ex.u.page_fault.user, 1);
	}
	/* beyond the kernel mappings, the rest of the slab (page tables):
	 * not even present (a process is told "present" for every kernel
	 * address, so that it learns nothing of the kernel's layout) */
	ex = t_probe_at(ctx, 0xffffffffffe04000ull);
	assert_int_equal(ex.kind, KVM_EXITK_PAGE_FAULT);
	assert_int_equal(ex.u.page_fault.present, t_is_kvm() ? 0 : 1);
	/* non-canonical address: #GP, not a page fault */
	ex = t_probe_at(ctx, 0x0000900000000000ull);
	assert_int_equal(ex.kind, KVM_EXITK_EXCEPTION);
	assert_int_equal(ex.u.exception.vector, 13);
	/* a supervisor-only page in the user half */
	assert_int_equal(
	    kvm_mem_map(ctx, T_DATA, 4096, KVM_PROT_READ | KVM_PROT_WRITE),
	    KVM_OK);
	ex = t_probe_at(ctx, T_DATA);
	assert_int_equal(ex.kind, KVM_EXITK_PAGE_FAULT);
	assert_int_equal(ex.u.page_fault.present, 1);
	assert_int_equal(ex.u.page_fault.access, KVM_ACCESS_READ);
	/* low and high unmapped user addresses */
	ex = t_probe_at(ctx, 0);
	assert_int_equal(ex.kind, KVM_EXITK_PAGE_FAULT);
	ex = t_probe_at(ctx, KVM_USER_END - 8);
	assert_int_equal(ex.kind, KVM_EXITK_PAGE_FAULT);
	/* after all that the trampoline still works */
	assert_int_equal(kvm_mem_protect(ctx, T_DATA, 4096, RW), KVM_OK);
	ex = t_probe_at(ctx, T_DATA);
	assert_int_equal(ex.kind, KVM_EXITK_HALT);
	kvm_ctx_free(ctx);
}

/* Every slab page the guest can write is a page it mapped: fill all of
 * the user's pages through the guest and check that the page tables still
 * work (the map answers as before) and the trampoline still exits. */
static void
test_isolation_guest_cannot_reach_tables(void **state)
{
	/* rep stosq over [rdi, rdi+8*rcx) with rax = -1, then halt */
	/* clang-format off */
	static const uint8_t fill[] = {
		0xf3, 0x48, 0xab, /* rep stosq */
		T_HALT_EAX,
	};
	/* clang-format on */
	struct kvm_ctx *ctx = t_ctx();
	struct kvm_guest_regs r;
	struct kvm_exit ex;
	struct kvm_range rg;
	kvm_gva_t cur = 0;

	(void)state;
	assert_int_equal(
	    kvm_mem_load(ctx, T_CODE, fill, sizeof(fill), RX), KVM_OK);
	assert_int_equal(kvm_mem_map(ctx, T_DATA, 256 * 4096, RW), KVM_OK);
	memset(&r, 0, sizeof(r));
	r.rip = T_CODE, r.rdi = T_DATA, r.rcx = 256 * 512, r.rax = ~0ull;
	assert_int_equal(kvm_regs_set(ctx, &r), KVM_OK);
	assert_int_equal(kvm_ctx_run(ctx, 1000000, &ex), KVM_OK);
	assert_int_equal(ex.kind, KVM_EXITK_HALT);
	/* and one more store beyond the end faults cleanly */
	r.rip = T_CODE, r.rdi = T_DATA + 256 * 4096 - 8, r.rcx = 2;
	assert_int_equal(kvm_regs_set(ctx, &r), KVM_OK);
	assert_int_equal(kvm_ctx_run(ctx, 1000000, &ex), KVM_OK);
	assert_int_equal(ex.kind, KVM_EXITK_PAGE_FAULT);
	assert_int_equal(ex.u.page_fault.addr, T_DATA + 256 * 4096);
	assert_int_equal(kvm_mem_next(ctx, &cur, &rg), KVM_OK);
	assert_int_equal(rg.start, T_CODE);
	assert_int_equal(kvm_mem_next(ctx, &cur, &rg), KVM_OK);
	assert_int_equal(rg.start, T_DATA);
	assert_int_equal(rg.len, 256 * 4096);
	assert_int_equal(kvm_mem_next(ctx, &cur, &rg), KVM_ERR_END);
	kvm_ctx_free(ctx);
}

/* Unmap and protect must take effect even though the vCPU's TLB cached
 * the old translation during the previous run. */
static void
test_unmap_protect_flush_tlb(void **state)
{
	struct kvm_ctx *ctx = t_ctx();
	struct kvm_exit ex;
	uint32_t v = 0x77;

	(void)state;
	assert_int_equal(
	    kvm_mem_load(ctx, T_CODE, t_probe, sizeof(t_probe), RX), KVM_OK);
	assert_int_equal(kvm_mem_map(ctx, T_DATA, 4096, RW), KVM_OK);
	assert_int_equal(kvm_mem_write(ctx, T_DATA, &v, 4), KVM_OK);
	ex = t_probe_at(ctx, T_DATA);
	assert_int_equal(ex.kind, KVM_EXITK_HALT);
	assert_int_equal(ex.u.halt.status, 0x77);
	assert_int_equal(kvm_mem_protect(ctx, T_DATA, 4096, RX), KVM_OK);
	ex = t_probe_at(ctx, T_DATA);
	assert_int_equal(ex.kind, KVM_EXITK_PAGE_FAULT);
	assert_int_equal(ex.u.page_fault.access, KVM_ACCESS_WRITE);
	assert_int_equal(ex.u.page_fault.present, 1);
	assert_int_equal(kvm_mem_unmap(ctx, T_DATA, 4096), KVM_OK);
	ex = t_probe_at(ctx, T_DATA);
	assert_int_equal(ex.kind, KVM_EXITK_PAGE_FAULT);
	assert_int_equal(ex.u.page_fault.access, KVM_ACCESS_READ);
	assert_int_equal(ex.u.page_fault.present, 0);
	kvm_ctx_free(ctx);
}

static void
test_load_unaligned_and_undo(void **state)
{
	static const uint8_t bytes[] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct kvm_ctx *ctx = t_ctx();
	uint8_t back[8];
	struct kvm_range r;
	kvm_gva_t cur = 0;

	(void)state;
	assert_int_equal(kvm_mem_load(ctx, 0x30ffc, bytes, 8, RW), KVM_OK);
	assert_int_equal(kvm_mem_read(ctx, 0x30ffc, back, 8), KVM_OK);
	assert_memory_equal(bytes, back, 8);
	assert_int_equal(kvm_mem_next(ctx, &cur, &r), KVM_OK);
	assert_int_equal(r.start, 0x30000);
	assert_int_equal(r.len, 2 * 4096);
	assert_int_equal(
	    kvm_mem_load(ctx, 0x31ff0, bytes, 8, RW), KVM_ERR_MAPPED);
	assert_int_equal(
	    kvm_mem_load(ctx, KVM_USER_END - 4, bytes, 8, RW), KVM_ERR_RANGE);
	kvm_ctx_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_map_argument_checks),
	    cmocka_unit_test(test_map_inspect_ranges),
	    cmocka_unit_test(test_read_write_across_pages),
	    cmocka_unit_test(test_unmap_returns_pages),
	    cmocka_unit_test(test_huge_ranges_are_cheap),
	    cmocka_unit_test(test_isolation_guest_faults),
	    cmocka_unit_test(test_isolation_guest_cannot_reach_tables),
	    cmocka_unit_test(test_unmap_protect_flush_tlb),
	    cmocka_unit_test(test_load_unaligned_and_undo),
	};

	t_require_kvm();
	return cmocka_run_group_tests_name("kvm_mmap", tests, NULL, NULL);
}
