/*
 * kvm_mmap.c: the memory map as the caller states it. User mappings live
 * only in the lower half (below KVM_USER_END), every page is backed by a
 * fresh slab page, and guest memory is reached only through the page
 * tables the core built, so neither the guest nor the caller can name a
 * host address outside the slab.
 */
#include <string.h>

#include "kvm_int.h"

uint64_t
kvm__prot_pte(unsigned prot)
{
	uint64_t pte = KVM__PTE_P;

	if (prot & KVM_PROT_READ)
		pte |= KVM__PTE_R;
	if (prot & KVM_PROT_WRITE)
		pte |= KVM__PTE_W;
	if (prot & KVM_PROT_USER)
		pte |= KVM__PTE_U;
	if (!(prot & KVM_PROT_EXEC))
		pte |= KVM__PTE_NX;
	return pte;
}

static unsigned
kvm__pte_prot(uint64_t pte)
{
	unsigned prot = 0;

	if (pte & KVM__PTE_R)
		prot |= KVM_PROT_READ;
	if (pte & KVM__PTE_W)
		prot |= KVM_PROT_WRITE;
	if (pte & KVM__PTE_U)
		prot |= KVM_PROT_USER;
	if (!(pte & KVM__PTE_NX))
		prot |= KVM_PROT_EXEC;
	return prot;
}

/* A page-aligned, non-empty range inside the user half, overflow-safe;
 * new mappings (creating) must also lie where the backend can map. */
static enum kvm_err
kvm__range_check(struct kvm_ctx *ctx, kvm_gva_t gva, uint64_t len, int creating)
{
	if ((gva | len) & (KVM__PAGE - 1))
		return KVM_ERR_ALIGN;
	if (len == 0 || gva >= KVM_USER_END || len > KVM_USER_END - gva)
		return KVM_ERR_RANGE;
	if (creating && ctx->ops->range_ok != NULL &&
	    !ctx->ops->range_ok(gva, len))
		return KVM_ERR_RANGE;
	return KVM_OK;
}

uint64_t *
kvm__leaf(struct kvm_ctx *ctx, kvm_gva_t gva)
{
	enum kvm_err err;
	uint64_t *e = kvm__walk(ctx, gva, 0, &err);

	return (e != NULL && (*e & KVM__PTE_P)) ? e : NULL;
}

/* Removing or narrowing a present entry leaves stale translations in the
 * vCPU's TLB, which survive exits (VPID/EPT tags). Before the next entry
 * kvm_ctx_run() makes KVM drop them (kvm__tlb_sync); until then a freed
 * page must not be trusted, and it is not: the guest is stopped. */
static void
kvm__tlb_flush(struct kvm_ctx *ctx, kvm_gva_t gva, uint64_t len)
{
	ctx->ops->map_changed(ctx, gva, len, 1);
}

enum kvm_err
kvm_mem_map(struct kvm_ctx *ctx, kvm_gva_t gva, uint64_t len, unsigned prot)
{
	enum kvm_err err;
	uint64_t off, *e, gpa;

	if ((err = kvm__range_check(ctx, gva, len, 1)) != KVM_OK)
		return err;
	/* bounds the loops below by the slab, not by the caller's len */
	if (len / KVM__PAGE > ctx->limit - ctx->used)
		return KVM_ERR_SLAB_FULL;
	for (off = 0; off < len; off += KVM__PAGE)
		if (kvm__leaf(ctx, gva + off) != NULL)
			return KVM_ERR_MAPPED;
	for (off = 0; off < len; off += KVM__PAGE) {
		e = kvm__walk(ctx, gva + off, 1, &err);
		if (e == NULL)
			goto err_undo;
		if ((err = kvm__page_alloc(ctx, &gpa)) != KVM_OK)
			goto err_undo;
		*e = gpa | kvm__prot_pte(prot);
	}
	ctx->ops->map_changed(ctx, gva, len, 0);
	return KVM_OK;
err_undo:
	if (off > 0)
		(void)kvm_mem_unmap(ctx, gva, off);
	return err;
}

enum kvm_err
kvm_mem_unmap(struct kvm_ctx *ctx, kvm_gva_t gva, uint64_t len)
{
	enum kvm_err err;
	kvm_gva_t a = gva, end;
	uint64_t pte, *e;

	if ((err = kvm__range_check(ctx, gva, len, 0)) != KVM_OK)
		return err;
	end = gva + len;
	/* jump from mapped page to mapped page: the whole user half costs
	 * what is mapped, not 2^35 steps */
	while (a < end && kvm__find(ctx, &a, &pte) && a < end) {
		if ((e = kvm__leaf(ctx, a)) != NULL) {
			kvm__page_free(ctx, *e & KVM__PTE_ADDR);
			*e = 0;
		}
		a += KVM__PAGE;
	}
	kvm__tlb_flush(ctx, gva, len);
	return KVM_OK;
}

enum kvm_err
kvm_mem_protect(struct kvm_ctx *ctx, kvm_gva_t gva, uint64_t len, unsigned prot)
{
	enum kvm_err err;
	uint64_t off, *e;

	if ((err = kvm__range_check(ctx, gva, len, 0)) != KVM_OK)
		return err;
	for (off = 0; off < len; off += KVM__PAGE)
		if (kvm__leaf(ctx, gva + off) == NULL)
			return KVM_ERR_UNMAPPED;
	for (off = 0; off < len; off += KVM__PAGE) {
		e = kvm__leaf(ctx, gva + off);
		*e = (*e & KVM__PTE_ADDR) | kvm__prot_pte(prot);
	}
	kvm__tlb_flush(ctx, gva, len);
	return KVM_OK;
}

/* The first present leaf at or above (gva), skipping empty tables whole. */
int
kvm__find(struct kvm_ctx *ctx, kvm_gva_t *gva, uint64_t *pte)
{
	uint64_t a = *gva, table, *e;
	int level, shift;

	while (a < KVM_USER_END) {
		table = KVM__GPA_PML4;
		for (level = 4; level >= 1; level--) {
			shift = 12 + 9 * (level - 1);
			e = (uint64_t *)kvm__gpa(
			    ctx, table + ((a >> shift) & 511) * 8, 8);
			if (e == NULL || !(*e & KVM__PTE_P))
				break;
			table = *e & KVM__PTE_ADDR;
		}
		if (level == 0) {
			*gva = a;
			*pte = *e;
			return 1;
		}
		/* skip the whole missing entry at this level */
		a = (a | ((1ull << shift) - 1)) + 1;
	}
	return 0;
}

enum kvm_err
kvm_mem_next(struct kvm_ctx *ctx, kvm_gva_t *cursor, struct kvm_range *out)
{
	kvm_gva_t a = *cursor & ~(KVM__PAGE - 1), n;
	uint64_t pte, *e;
	unsigned prot;

	if (a < *cursor)
		a += KVM__PAGE;
	if (a >= KVM_USER_END || !kvm__find(ctx, &a, &pte))
		return KVM_ERR_END;
	prot = kvm__pte_prot(pte);
	n = a + KVM__PAGE;
	while (n < KVM_USER_END && (e = kvm__leaf(ctx, n)) != NULL &&
	    kvm__pte_prot(*e) == prot)
		n += KVM__PAGE;
	out->start = a;
	out->len = n - a;
	out->prot = prot;
	*cursor = n;
	return KVM_OK;
}

/* Checks every page of [gva, gva+len) before any copy: all or nothing. */
static enum kvm_err
kvm__span_check(struct kvm_ctx *ctx, kvm_gva_t gva, size_t len)
{
	kvm_gva_t p;

	if (len == 0)
		return KVM_OK;
	if (gva >= KVM_USER_END || len > KVM_USER_END - gva)
		return KVM_ERR_RANGE;
	for (p = gva & ~(KVM__PAGE - 1); p < gva + len; p += KVM__PAGE)
		if (kvm__leaf(ctx, p) == NULL)
			return KVM_ERR_UNMAPPED;
	return KVM_OK;
}

static enum kvm_err
kvm__copy(
    struct kvm_ctx *ctx, kvm_gva_t gva, uint8_t *buf, size_t len, int to_guest)
{
	enum kvm_err err;
	uint64_t *e, in, n;
	uint8_t *host;

	if ((err = kvm__span_check(ctx, gva, len)) != KVM_OK)
		return err;
	while (len > 0) {
		e = kvm__leaf(ctx, gva);
		in = gva & (KVM__PAGE - 1);
		n = KVM__PAGE - in;
		if (n > len)
			n = len;
		host = kvm__gpa(ctx, (*e & KVM__PTE_ADDR) + in, n);
		if (host == NULL)
			return KVM_ERR_UNMAPPED; /* cannot happen: tables are ours */
		if (to_guest)
			memcpy(host, buf, n);
		else
			memcpy(buf, host, n);
		gva += n, buf += n, len -= n;
	}
	return KVM_OK;
}

enum kvm_err
kvm_mem_read(struct kvm_ctx *ctx, kvm_gva_t gva, void *buf, size_t len)
{
	return kvm__copy(ctx, gva, buf, len, 0);
}

enum kvm_err
kvm_mem_write(struct kvm_ctx *ctx, kvm_gva_t gva, const void *buf, size_t len)
{
	return kvm__copy(ctx, gva, (uint8_t *)(uintptr_t)buf, len, 1);
}

enum kvm_err
kvm_mem_load(struct kvm_ctx *ctx, kvm_gva_t gva, const void *bytes, size_t len,
    unsigned prot)
{
	kvm_gva_t lo, hi;
	enum kvm_err err;

	if (len == 0 || gva >= KVM_USER_END || len > KVM_USER_END - gva ||
	    KVM_USER_END - (gva + len) < KVM__PAGE)
		return KVM_ERR_RANGE;
	lo = gva & ~(KVM__PAGE - 1);
	hi = (gva + len + KVM__PAGE - 1) & ~(KVM__PAGE - 1);
	if (ctx->ops->range_ok != NULL && !ctx->ops->range_ok(lo, hi - lo))
		return KVM_ERR_RANGE;
	if ((err = kvm_mem_map(ctx, lo, hi - lo, prot)) != KVM_OK)
		return err;
	if ((err = kvm_mem_write(ctx, gva, bytes, len)) != KVM_OK)
		(void)kvm_mem_unmap(ctx, lo, hi - lo);
	return err;
}

/* For the ELF loader: maps the page at (gva) with (prot), or adds (prot)'s
 * rights to it when a previous segment already mapped it. */
enum kvm_err
kvm__map_union(struct kvm_ctx *ctx, kvm_gva_t gva, unsigned prot)
{
	uint64_t *e = kvm__leaf(ctx, gva), pte;

	if (e == NULL)
		return kvm_mem_map(ctx, gva, KVM__PAGE, prot);
	pte = *e | kvm__prot_pte(prot);
	if (prot & KVM_PROT_EXEC)
		pte &= ~KVM__PTE_NX;
	else if (!(*e & KVM__PTE_NX))
		pte &= ~KVM__PTE_NX;
	*e = pte;
	ctx->ops->map_changed(ctx, gva, KVM__PAGE, 0);
	return KVM_OK;
}
