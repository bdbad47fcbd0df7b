/*
 * kvm_x86_64.c: the x86-64 side: descriptor tables, control registers,
 * MSRs, 4-level page-table walks, and the ring-3 view of the registers.
 *
 * The vCPU starts directly in 64-bit ring 3 (no boot code). The kernel
 * half holds only the reserved area; the user half is built on demand.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm_int.h"

#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u
#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define MSR_KGS_BASE 0xc0000102u

#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)

#define RFLAGS_USER KVM__RFLAGS_USER
#define RFLAGS_FIXED KVM__RFLAGS_FIXED

/* Syscall entry clears TF, IF, DF, NT and AC while in the trampoline. */
#define FMASK_VALUE 0x44700ull

int
kvm__canonical(uint64_t a)
{
	return a < KVM_USER_END || a >= 0xffff800000000000ull;
}

static uint64_t
kvm__seg_desc(uint8_t access, uint8_t flags)
{
	/* base 0, limit 0xfffff; access byte at bits 40..47, flags (G, D/B,
	 * L) at 52..55. Accessed bits are preset: the CPU never writes. */
	return 0xffffull | (uint64_t)access << 40 | 0xfull << 48 |
	    (uint64_t)flags << 52;
}

static void
kvm__gdt_write(uint8_t *p)
{
	uint64_t gdt[8], tss = KVM__KBASE + KVM__GPA_GDT + KVM__TSS_OFF;
	uint8_t *t = p + KVM__TSS_OFF;
	uint16_t iomap = 104;
	uint64_t ist = KVM__KBASE + KVM__IST_TOP;

	memset(gdt, 0, sizeof(gdt));
	gdt[1] = kvm__seg_desc(0x9b, 0xa); /* 0x08 kernel code, L, G */
	gdt[2] = kvm__seg_desc(0x93, 0xc); /* 0x10 kernel data */
	gdt[3] = kvm__seg_desc(0xfb, 0xc); /* 0x18 user code 32 (for STAR) */
	gdt[4] = kvm__seg_desc(0xf3, 0xc); /* 0x20 user data */
	gdt[5] = kvm__seg_desc(0xfb, 0xa); /* 0x28 user code 64 */
	/* 0x30: 64-bit TSS descriptor, 16 bytes, type 9 (available). */
	gdt[6] = (KVM__TSS_LIMIT & 0xffffull) | (tss & 0xffffffull) << 16 |
	    0x89ull << 40 | (uint64_t)((KVM__TSS_LIMIT >> 16) & 0xf) << 48 |
	    ((tss >> 24) & 0xffull) << 56;
	gdt[7] = tss >> 32;
	memcpy(p, gdt, sizeof(gdt));

	/* TSS: rsp0 at 4, ist1 at 36, I/O map base at 102. */
	memset(t, 0, 104);
	memcpy(t + 4, &ist, 8);
	memcpy(t + 36, &ist, 8);
	memcpy(t + 102, &iomap, 2);
	/* I/O bitmap: ports 0..KVM_PORT_BASE+COUNT-1, a set bit denies;
	 * ports beyond the TSS limit are denied too. Then the 0xff byte the
	 * CPU may read past the end. */
	memset(t + 104, 0xff, (KVM_PORT_BASE + KVM_PORT_COUNT) / 8 + 1);
	memset(t + 104 + KVM_PORT_BASE / 8, 0, KVM_PORT_COUNT / 8);
}

static void
kvm__idt_write(uint8_t *p)
{
	uint64_t off, lo, hi;
	unsigned v;
	uint8_t attr;

	memset(p, 0, KVM__PAGE); /* vectors 32..255: not present -> #GP */
	for (v = 0; v < 32; v++) {
		off = KVM__KBASE + KVM__GPA_TRAMP + KVM__TR_STUB(v);
		/* Interrupt gate (IF cleared), present; DPL 3 for #BP and #OF
		 * so that int3 and into from ring 3 arrive as themselves. */
		attr = (v == 3 || v == 4) ? 0xee : 0x8e;
		lo = (off & 0xffff) | (uint64_t)KVM__SEL_KCODE << 16 |
		    1ull << 32 /* IST1 */ | (uint64_t)attr << 40 |
		    ((off >> 16) & 0xffff) << 48;
		hi = off >> 32;
		memcpy(p + v * 16, &lo, 8);
		memcpy(p + v * 16 + 8, &hi, 8);
	}
}

/* Kernel half: PML4[511] -> PDPT[511] -> PD[511] -> PT[0..3], mapping the
 * descriptor page, IDT, trampoline and stack at KVM__KBASE, supervisor
 * only. Page tables themselves are never mapped. */
void
kvm__tables_write(struct kvm_ctx *ctx)
{
	uint64_t *pml4 = (uint64_t *)(ctx->slab + KVM__GPA_PML4);
	uint64_t *pdpt = (uint64_t *)(ctx->slab + KVM__GPA_KPDPT);
	uint64_t *pd = (uint64_t *)(ctx->slab + KVM__GPA_KPD);
	uint64_t *pt = (uint64_t *)(ctx->slab + KVM__GPA_KPT);

	memset(ctx->slab, 0, KVM__RESV_PAGES * KVM__PAGE);
	kvm__gdt_write(ctx->slab + KVM__GPA_GDT);
	kvm__idt_write(ctx->slab + KVM__GPA_IDT);
	kvm__tramp_write(ctx->slab + KVM__GPA_TRAMP);
	pml4[511] = KVM__GPA_KPDPT | KVM__PTE_P | KVM__PTE_W;
	pdpt[511] = KVM__GPA_KPD | KVM__PTE_P | KVM__PTE_W;
	pd[511] = KVM__GPA_KPT | KVM__PTE_P | KVM__PTE_W;
	pt[0] = KVM__GPA_GDT | KVM__PTE_P | KVM__PTE_W | KVM__PTE_NX;
	pt[1] = KVM__GPA_IDT | KVM__PTE_P | KVM__PTE_NX;
	pt[2] = KVM__GPA_TRAMP | KVM__PTE_P;
	pt[3] = KVM__GPA_STACK | KVM__PTE_P | KVM__PTE_W | KVM__PTE_NX;
}

static void
kvm__seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 3;
	s->s = 1;
	s->l = code ? 1 : 0;
	s->db = code ? 0 : 1;
	s->g = 1;
}

static void
kvm__sregs_build(struct kvm_sregs *sr)
{
	kvm__seg(&sr->cs, KVM__SEL_UCODE, 0xb, 1);
	kvm__seg(&sr->ss, KVM__SEL_UDATA, 0x3, 0);
	sr->ds = sr->es = sr->fs = sr->gs = sr->ss;
	memset(&sr->tr, 0, sizeof(sr->tr));
	sr->tr.base = KVM__KBASE + KVM__GPA_GDT + KVM__TSS_OFF;
	sr->tr.limit = KVM__TSS_LIMIT;
	sr->tr.selector = KVM__SEL_TSS;
	sr->tr.type = 0xb; /* busy 64-bit TSS */
	sr->tr.present = 1;
	memset(&sr->ldt, 0, sizeof(sr->ldt));
	sr->ldt.type = 2;
	sr->ldt.unusable = 1;
	sr->gdt.base = KVM__KBASE + KVM__GPA_GDT;
	sr->gdt.limit = 8 * 8 - 1;
	sr->idt.base = KVM__KBASE + KVM__GPA_IDT;
	sr->idt.limit = 256 * 16 - 1;
	sr->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
	sr->cr3 = KVM__GPA_PML4;
	sr->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sr->efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	sr->cr2 = 0;
	sr->cr8 = 0;
	memset(sr->interrupt_bitmap, 0, sizeof(sr->interrupt_bitmap));
}

static enum kvm_err
kvm__msrs_set(struct kvm_ctx *ctx, uint64_t fs, uint64_t gs, int all)
{
	union {
		struct kvm_msrs h;
		uint8_t b[sizeof(struct kvm_msrs) +
		    6 * sizeof(struct kvm_msr_entry)];
	} m;
	struct kvm_msr_entry *e = m.h.entries;
	uint32_t n = 0;

	memset(&m, 0, sizeof(m));
	e[n].index = MSR_FS_BASE, e[n++].data = fs;
	e[n].index = MSR_GS_BASE, e[n++].data = gs;
	e[n].index = MSR_KGS_BASE, e[n++].data = 0;
	if (all) {
		e[n].index = MSR_STAR;
		e[n++].data =
		    (uint64_t)(0x18 | 3) << 48 | (uint64_t)KVM__SEL_KCODE << 32;
		e[n].index = MSR_LSTAR;
		e[n++].data = KVM__LSTAR;
		e[n].index = MSR_FMASK, e[n++].data = FMASK_VALUE;
	}
	m.h.nmsrs = n;
	if (ioctl(ctx->vcpufd, KVM_SET_MSRS, &m) != (int)n)
		return KVM_ERR_SYS;
	return KVM_OK;
}

enum kvm_err
kvm__apply_bases(struct kvm_ctx *ctx)
{
	if (!ctx->bases_dirty)
		return KVM_OK;
	ctx->bases_dirty = 0;
	return kvm__msrs_set(ctx, ctx->fs_base, ctx->gs_base, 0);
}

/* Registers, MSRs, events and FPU back to the initial state; used at
 * creation (after saving that state) and by the pool's reset. */
static enum kvm_err
kvm__vcpu_state_init(struct kvm_ctx *ctx, int all_msrs)
{
	struct kvm_regs r;
	struct kvm_vcpu_events ev;
	if (ioctl(ctx->vcpufd, KVM_SET_SREGS, &ctx->sregs0) < 0)
		return KVM_ERR_SYS;
	if (kvm__msrs_set(ctx, 0, 0, all_msrs) != KVM_OK)
		return KVM_ERR_SYS;
	/* through the sync-regs page: applied by the next KVM_RUN, and
	 * one ioctl cheaper than KVM_SET_REGS */
	memset(&r, 0, sizeof(r));
	r.rflags = RFLAGS_FIXED;
	ctx->run->s.regs.regs = r;
	ctx->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	ctx->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	ctx->run->immediate_exit = 0;
	memset(&ev, 0, sizeof(ev));
	if (ioctl(ctx->vcpufd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return KVM_ERR_SYS;
	if (ctx->xsave0 != NULL &&
	    ioctl(ctx->vcpufd, KVM_SET_XSAVE, ctx->xsave0) < 0)
		return KVM_ERR_SYS;
	ctx->state = KVM__ST_USER;
	ctx->fs_base = ctx->gs_base = 0;
	ctx->bases_dirty = 0;
	ctx->in_data = NULL;
	return KVM_OK;
}

enum kvm_err
kvm__arch_init(struct kvm_ctx *ctx)
{
	kvm__tables_write(ctx);
	if (ioctl(ctx->vcpufd, KVM_SET_CPUID2, kvm__cpuid) < 0)
		return KVM_ERR_SYS;
	if (ioctl(ctx->vcpufd, KVM_GET_SREGS, &ctx->sregs0) < 0)
		return KVM_ERR_SYS;
	kvm__sregs_build(&ctx->sregs0);
	if (ioctl(kvm__devfd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
		ctx->xsave0 = calloc(1, sizeof(*ctx->xsave0));
		if (ctx->xsave0 == NULL)
			return KVM_ERR_NOMEM;
		if (ioctl(ctx->vcpufd, KVM_GET_XSAVE, ctx->xsave0) < 0)
			return KVM_ERR_SYS;
	}
	return kvm__vcpu_state_init(ctx, 1);
}

enum kvm_err
kvm__arch_reset(struct kvm_ctx *ctx)
{
	uint64_t *pml4 = (uint64_t *)(ctx->slab + KVM__GPA_PML4);
	int ran = ctx->ran;

	/* User half of the PML4 and the stack page (stale frames, cr2). */
	memset(pml4, 0, 256 * sizeof(uint64_t));
	memset(ctx->slab + KVM__GPA_STACK, 0, KVM__PAGE);

	/* the previous user's translations must not survive */
	if (kvm__slot_reset(ctx) != KVM_OK)
		return KVM_ERR_SYS;
	if (!ran) {
		/* The vCPU never ran for this user: KVM still holds the
		 * state of the last full reset, and only the sync-regs page
		 * and our caches can differ. Saves four ioctls. */
		memset(&ctx->run->s.regs.regs, 0, sizeof(struct kvm_regs));
		ctx->run->s.regs.regs.rflags = RFLAGS_FIXED;
		ctx->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
		ctx->state = KVM__ST_USER;
		ctx->fs_base = ctx->gs_base = 0;
		ctx->bases_dirty = 0;
		ctx->in_data = NULL;
		return KVM_OK;
	}
	/* STAR, LSTAR, FMASK: the guest cannot change them */
	return kvm__vcpu_state_init(ctx, 0);
}

/* Finds the leaf entry for (gva), creating missing tables when (create).
 * Returns NULL when a level is missing (no create) or the slab is full. */
uint64_t *
kvm__walk(struct kvm_ctx *ctx, uint64_t gva, int create, enum kvm_err *err)
{
	uint64_t table = KVM__GPA_PML4, *e, gpa;
	int level, shift;
	enum kvm_err e2;

	*err = KVM_ERR_UNMAPPED;
	for (level = 4; level > 1; level--) {
		shift = 12 + 9 * (level - 1);
		e = (uint64_t *)kvm__gpa(
		    ctx, table + ((gva >> shift) & 511) * 8, 8);
		if (e == NULL)
			return NULL;
		if (!(*e & KVM__PTE_P)) {
			if (!create)
				return NULL;
			if ((e2 = kvm__page_alloc(ctx, &gpa)) != KVM_OK) {
				*err = e2;
				return NULL;
			}
			/* Permissive upper levels: the leaf decides. */
			*e = gpa | KVM__PTE_P | KVM__PTE_W | KVM__PTE_U;
		}
		table = *e & KVM__PTE_ADDR;
	}
	e = (uint64_t *)kvm__gpa(ctx, table + ((gva >> 12) & 511) * 8, 8);
	if (e != NULL)
		*err = KVM_OK;
	return e;
}

static uint64_t *
kvm__frame(struct kvm_ctx *ctx)
{
	return (uint64_t *)(ctx->slab + KVM__FRAME);
}

void
kvm_regs_get(struct kvm_ctx *ctx, struct kvm_guest_regs *g)
{
	ctx->ops->regs_get(ctx, g);
}

enum kvm_err
kvm_regs_set(struct kvm_ctx *ctx, const struct kvm_guest_regs *g)
{
	if (!kvm__regs_valid(g))
		return KVM_ERR_REGS;
	return ctx->ops->regs_set(ctx, g);
}

void
kvm_syscall_return(struct kvm_ctx *ctx, uint64_t value)
{
	ctx->ops->syscall_return(ctx, value);
}

/* rip, rsp and the bases canonical, rip in the lower half. */
int
kvm__regs_valid(const struct kvm_guest_regs *g)
{
	return kvm__canonical(g->rip) && kvm__canonical(g->rsp) &&
	    kvm__canonical(g->fs_base) && kvm__canonical(g->gs_base) &&
	    g->rip < KVM_USER_END;
}

void
kvm__kvm_regs_get(struct kvm_ctx *ctx, struct kvm_guest_regs *g)
{
	const struct kvm_regs *r = &ctx->run->s.regs.regs;
	uint64_t *f;

	g->rax = r->rax, g->rbx = r->rbx, g->rcx = r->rcx, g->rdx = r->rdx;
	g->rsi = r->rsi, g->rdi = r->rdi, g->rbp = r->rbp, g->rsp = r->rsp;
	g->r8 = r->r8, g->r9 = r->r9, g->r10 = r->r10, g->r11 = r->r11;
	g->r12 = r->r12, g->r13 = r->r13, g->r14 = r->r14, g->r15 = r->r15;
	g->rip = r->rip, g->rflags = r->rflags;
	g->fs_base = ctx->fs_base, g->gs_base = ctx->gs_base;
	switch (ctx->state) {
	case KVM__ST_SYSCALL:
		g->rip = r->rcx;
		g->rflags = r->r11;
		break;
	case KVM__ST_EXC:
		f = kvm__frame(ctx);
		g->rip = f[2];
		g->rflags = f[4];
		g->rsp = f[5];
		break;
	default:
		break;
	}
}

enum kvm_err
kvm__kvm_regs_set(struct kvm_ctx *ctx, const struct kvm_guest_regs *g)
{
	struct kvm_regs *r = &ctx->run->s.regs.regs;
	uint64_t flags = (g->rflags & RFLAGS_USER) | RFLAGS_FIXED, *f;
	uint64_t krip = r->rip, krsp = r->rsp, kfl = r->rflags;

	r->rax = g->rax, r->rbx = g->rbx, r->rcx = g->rcx, r->rdx = g->rdx;
	r->rsi = g->rsi, r->rdi = g->rdi, r->rbp = g->rbp, r->rsp = g->rsp;
	r->r8 = g->r8, r->r9 = g->r9, r->r10 = g->r10, r->r11 = g->r11;
	r->r12 = g->r12, r->r13 = g->r13, r->r14 = g->r14, r->r15 = g->r15;
	r->rip = g->rip, r->rflags = flags;
	switch (ctx->state) {
	case KVM__ST_SYSCALL:
		/* vCPU sits before sysretq: it returns to rcx with r11. */
		r->rcx = g->rip;
		r->r11 = flags;
		r->rip = krip;
		r->rflags = kfl;
		break;
	case KVM__ST_EXC:
		/* vCPU sits before iretq: the frame is the ring-3 state. */
		f = kvm__frame(ctx);
		f[2] = g->rip;
		f[4] = flags;
		f[5] = g->rsp;
		r->rip = krip;
		r->rsp = krsp;
		r->rflags = kfl;
		break;
	default:
		break;
	}
	ctx->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	if (g->fs_base != ctx->fs_base || g->gs_base != ctx->gs_base) {
		ctx->fs_base = g->fs_base;
		ctx->gs_base = g->gs_base;
		ctx->bases_dirty = 1;
	}
	return KVM_OK;
}

void
kvm__kvm_syscall_return(struct kvm_ctx *ctx, uint64_t value)
{
	ctx->run->s.regs.regs.rax = value;
	ctx->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

/* For KVM_EXITK_ERROR: the raw vCPU state, whatever ring it is in. */
void
kvm__raw_dump(struct kvm_ctx *ctx, struct kvm_exit *ex)
{
	struct kvm_regs r;
	struct kvm_sregs sr;
	struct kvm_guest_regs *g = &ex->u.error.regs;

	memset(&r, 0, sizeof(r));
	memset(&sr, 0, sizeof(sr));
	(void)ioctl(ctx->vcpufd, KVM_GET_REGS, &r);
	(void)ioctl(ctx->vcpufd, KVM_GET_SREGS, &sr);
	g->rax = r.rax, g->rbx = r.rbx, g->rcx = r.rcx, g->rdx = r.rdx;
	g->rsi = r.rsi, g->rdi = r.rdi, g->rbp = r.rbp, g->rsp = r.rsp;
	g->r8 = r.r8, g->r9 = r.r9, g->r10 = r.r10, g->r11 = r.r11;
	g->r12 = r.r12, g->r13 = r.r13, g->r14 = r.r14, g->r15 = r.r15;
	g->rip = r.rip, g->rflags = r.rflags;
	g->fs_base = sr.fs.base, g->gs_base = sr.gs.base;
	ex->u.error.cr0 = sr.cr0, ex->u.error.cr2 = sr.cr2;
	ex->u.error.cr3 = sr.cr3, ex->u.error.cr4 = sr.cr4;
	ex->u.error.efer = sr.efer;
	ex->u.error.cs = sr.cs.selector, ex->u.error.ss = sr.ss.selector;
}
