/*
 * kvm_ptrace.c: the second backend, for hosts without /dev/kvm. The guest
 * runs in a separate host process whose address space holds only the
 * guest's pages and four stub pages, traced with PTRACE_SEIZE:
 *
 *  - guest memory is the slab, a memfd that this process maps too, so the
 *    map bookkeeping (page tables in the slab, kvm_mmap.c) and the
 *    checked copies of kvm_mem_read/write are shared with KVM; the guest
 *    process maps slab pages at the guest's addresses with the guest's
 *    protection. Map changes are recorded as dirty ranges and applied
 *    before the next run, in one batch of mmap/munmap calls that the stub
 *    executes (kvm_ptrace_stub.c);
 *  - every guest system call stops at its seccomp filter (RET_TRACE,
 *    PTRACE_O_TRACESECCOMP) before it executes, and is skipped (the
 *    kernel never runs it): a syscall exit. The exception are reads and
 *    seeks on the host descriptors placed with kvm_hostfd_place(), which
 *    the kernel runs without a stop (kvm_ptrace_stub.c, the filters);
 *  - a fault signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) is let
 *    through to a handler in the stub that traps at once: the signal
 *    frame holds the hardware's trap number, error code and cr2, so the
 *    exit carries the same fields as on KVM. The guest's registers and
 *    FPU state are restored from the stop before the handler ran.
 *    `in`/`out` to the hypercall ports (a #GP in a process) are decoded
 *    and reported as on KVM;
 *  - the time budget: a timer aimed at the tracer thread whose handler
 *    interrupts the tracee (PTRACE_INTERRUPT);
 *  - ptrace requests are accepted only from the tracer thread, so every
 *    context has one thread that spawned its process and does all the
 *    tracing; kvm_ctx_run hands the run to it. The process dies with the
 *    context, with that thread (PTRACE_O_EXITKILL, PR_SET_PDEATHSIG), and
 *    so with the daemon.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvm_ptrace.h"

static uint64_t pt__min_addr = 65536;

/* ---- the backend operations (caller's thread) ---- */

static void
pt__regs_init(struct kvm__pt *pt)
{
	memset(&pt->regs, 0, sizeof(pt->regs));
	pt->regs.eflags = KVM__RFLAGS_FIXED;
	pt->regs.cs = pt->cs;
	pt->regs.ss = pt->ss;
	pt->regs_dirty = 1;
	pt->in_size = 0;
}

static void pt_destroy(struct kvm_ctx *ctx);

static enum kvm_err
pt_create(struct kvm_ctx *ctx)
{
	uint64_t bytes = ctx->slab_pages * KVM__PAGE;
	struct kvm__pt *pt;
	pthread_attr_t attr;
	enum kvm_err err;

	if ((pt = calloc(1, sizeof(*pt))) == NULL)
		return KVM_ERR_NOMEM;
	ctx->pt = pt;
	pt->memfd = -1;
	pt->sock = -1;
	pthread_mutex_init(&pt->mu, NULL);
	pthread_cond_init(&pt->cv, NULL);
	pt->memfd = (int)syscall(SYS_memfd_create, "mzero-guest", MFD_CLOEXEC);
	if (pt->memfd < 0 || ftruncate(pt->memfd, (off_t)bytes) < 0)
		goto err_sys;
	ctx->slab = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_NORESERVE, pt->memfd, 0);
	if (ctx->slab == MAP_FAILED) {
		ctx->slab = NULL;
		goto err_sys;
	}
	kvm__slab_reset(ctx);
	if (pthread_attr_init(&attr) != 0)
		goto err_sys;
	pthread_attr_setstacksize(&attr, 256u << 10);
	if (pthread_create(&pt->thread, &attr, kvm__pt_main, ctx) != 0) {
		pthread_attr_destroy(&attr);
		goto err_sys;
	}
	pthread_attr_destroy(&attr);
	pt->op = PT_OP_NONE;
	if ((err = kvm__pt_call(pt, PT_OP_SPAWN)) != KVM_OK) {
		pt_destroy(ctx);
		return err;
	}
	pt->dirty_all = 0;
	pt__regs_init(pt);
	ctx->state = KVM__ST_USER;
	return KVM_OK;
err_sys:
	if (ctx->slab != NULL)
		munmap(ctx->slab, bytes);
	if (pt->memfd >= 0)
		close(pt->memfd);
	pthread_mutex_destroy(&pt->mu);
	pthread_cond_destroy(&pt->cv);
	free(pt);
	ctx->pt = NULL;
	return KVM_ERR_SYS;
}

static void
pt_destroy(struct kvm_ctx *ctx)
{
	struct kvm__pt *pt = ctx->pt;

	(void)kvm__pt_call(pt, PT_OP_QUIT);
	pthread_join(pt->thread, NULL);
	munmap(ctx->slab, ctx->slab_pages * KVM__PAGE);
	close(pt->memfd);
	if (pt->sock >= 0)
		close(pt->sock);
	pthread_mutex_destroy(&pt->mu);
	pthread_cond_destroy(&pt->cv);
	free(pt->xinit);
	free(pt->xsave);
	free(pt->have);
	free(pt);
	ctx->pt = NULL;
}

/* The pool's reset, all on this side: the guest process keeps running
 * (stopped) and is brought in line at the next run. Every slab page a
 * user was given since the last reset is zeroed here, so nothing of
 * this user stays behind: the first PT_KEEP_PAGES with memset, keeping
 * them resident in both processes' page tables (a next user of the same
 * layout then costs neither a map call nor a page fault), the rest
 * punched out of the memfd (memory back to the host; they read as
 * zero). The process's map is then made equal to the next user's at
 * its first run, changing only what differs (pt->have); its registers
 * and FPU state are set to the initial ones. */
static enum kvm_err
pt_reset(struct kvm_ctx *ctx)
{
	struct kvm__pt *pt = ctx->pt;
	uint64_t from = KVM__RESV_PAGES, keep = from + PT_KEEP_PAGES;

	if (pt->pid <= 0)
		return KVM_ERR_SYS;
	/* user half of the PML4; the command page and signal stack (old
	 * frames hold the previous user's registers) */
	memset(ctx->slab + KVM__GPA_PML4, 0, 256 * sizeof(uint64_t));
	memset(ctx->slab + 0x1000, 0, 3 * KVM__PAGE);
	if (ctx->dirty_hi > keep) {
		if (fallocate(pt->memfd,
		        FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		        (off_t)(keep * KVM__PAGE),
		        (off_t)((ctx->dirty_hi - keep) * KVM__PAGE)) < 0)
			return KVM_ERR_SYS;
		ctx->dirty_hi = keep;
	}
	if (ctx->dirty_hi > from)
		memset(ctx->slab + from * KVM__PAGE, 0,
		    (ctx->dirty_hi - from) * KVM__PAGE);
	ctx->dirty_hi = from;
	/* the user's host descriptors: closed before anything runs again */
	pt->hostfds_stale |= pt->hostfds;
	pt->hostfds = 0;
	pt->dirty_all = 1;
	pt->ndirty = 0;
	pt__regs_init(pt);
	pt->xreset = 1;
	ctx->state = KVM__ST_USER;
	return KVM_OK;
}

static enum kvm_err
pt_resize(struct kvm_ctx *ctx)
{
	(void)ctx; /* the process may map the whole slab already */
	return KVM_OK;
}

static enum kvm_err
pt_run(struct kvm_ctx *ctx, uint64_t budget_us, struct kvm_exit *ex)
{
	struct kvm__pt *pt = ctx->pt;
	uint64_t t0 = kvm__now_ns();
	enum kvm_err err;

	memset(ex, 0, sizeof(*ex));
	if (ctx->state == KVM__ST_BROKEN) {
		kvm__pt_error(ctx, ex, 0, 0);
		return KVM_OK;
	}
	pt->budget_us = budget_us;
	pt->ex = ex;
	err = kvm__pt_call(pt, PT_OP_RUN);
	ex->ran_ns = kvm__now_ns() - t0;
	return err;
}

static void
pt_regs_get(struct kvm_ctx *ctx, struct kvm_guest_regs *g)
{
	const struct user_regs_struct *r = &ctx->pt->regs;

	g->rax = r->rax, g->rbx = r->rbx, g->rcx = r->rcx, g->rdx = r->rdx;
	g->rsi = r->rsi, g->rdi = r->rdi, g->rbp = r->rbp, g->rsp = r->rsp;
	g->r8 = r->r8, g->r9 = r->r9, g->r10 = r->r10, g->r11 = r->r11;
	g->r12 = r->r12, g->r13 = r->r13, g->r14 = r->r14, g->r15 = r->r15;
	g->rip = r->rip, g->rflags = r->eflags;
	g->fs_base = r->fs_base, g->gs_base = r->gs_base;
}

static enum kvm_err
pt_regs_set(struct kvm_ctx *ctx, const struct kvm_guest_regs *g)
{
	struct user_regs_struct *r = &ctx->pt->regs;
	uint64_t flags = (g->rflags & KVM__RFLAGS_USER) | KVM__RFLAGS_FIXED;

	/* Linux takes only user addresses as bases */
	if (g->fs_base >= PT_TASK_END || g->gs_base >= PT_TASK_END)
		return KVM_ERR_REGS;
	r->rax = g->rax, r->rbx = g->rbx, r->rcx = g->rcx, r->rdx = g->rdx;
	r->rsi = g->rsi, r->rdi = g->rdi, r->rbp = g->rbp, r->rsp = g->rsp;
	r->r8 = g->r8, r->r9 = g->r9, r->r10 = g->r10, r->r11 = g->r11;
	r->r12 = g->r12, r->r13 = g->r13, r->r14 = g->r14, r->r15 = g->r15;
	r->rip = g->rip, r->eflags = flags;
	r->fs_base = g->fs_base, r->gs_base = g->gs_base;
	if (ctx->state == KVM__ST_SYSCALL) {
		/* as sysret leaves them on KVM */
		r->rcx = g->rip;
		r->r11 = flags;
	}
	ctx->pt->regs_dirty = 1;
	return KVM_OK;
}

static void
pt_syscall_return(struct kvm_ctx *ctx, uint64_t value)
{
	ctx->pt->regs.rax = value;
	ctx->pt->regs_dirty = 1;
}

static void
pt_io_in_set(struct kvm_ctx *ctx, uint32_t value)
{
	struct kvm__pt *pt = ctx->pt;

	switch (pt->in_size) {
	case 4: /* a 32-bit write clears the upper half */
		pt->regs.rax = value;
		break;
	case 2:
		pt->regs.rax = (pt->regs.rax & ~0xffffull) | (value & 0xffff);
		break;
	case 1:
		pt->regs.rax = (pt->regs.rax & ~0xffull) | (value & 0xff);
		break;
	default:
		return;
	}
	pt->regs_dirty = 1;
}

static void
pt_map_changed(struct kvm_ctx *ctx, kvm_gva_t gva, uint64_t len, int narrowed)
{
	struct kvm__pt *pt = ctx->pt;
	uint64_t lo = gva, hi = gva + len;
	unsigned i;

	(void)narrowed;
	if (pt->dirty_all)
		return;
	if (len == 0) {
		pt->dirty_all = 1;
		return;
	}
	/* merge with every range it touches */
	for (i = 0; i < pt->ndirty;) {
		if (lo <= pt->dirty[i].hi && hi >= pt->dirty[i].lo) {
			if (pt->dirty[i].lo < lo)
				lo = pt->dirty[i].lo;
			if (pt->dirty[i].hi > hi)
				hi = pt->dirty[i].hi;
			pt->dirty[i] = pt->dirty[--pt->ndirty];
			i = 0;
			continue;
		}
		i++;
	}
	if (pt->ndirty == PT_DIRTY_MAX) {
		pt->dirty_all = 1;
		return;
	}
	pt->dirty[pt->ndirty].lo = lo;
	pt->dirty[pt->ndirty].hi = hi;
	pt->ndirty++;
}

static enum kvm_err
pt_hostfd(struct kvm_ctx *ctx, int hostfd, int guestfd)
{
	struct kvm__pt *pt = ctx->pt;

	pt->fd_host = hostfd;
	pt->fd_guest = guestfd;
	return kvm__pt_call(pt, PT_OP_FD);
}

static int
pt_range_ok(kvm_gva_t gva, uint64_t len)
{
	return gva >= pt__min_addr && gva + len <= PT_TASK_END &&
	    (gva >= PT_STUB_END || gva + len <= PT_STUB);
}

const struct kvm__ops kvm__ops_ptrace = {
    .name = "ptrace",
    .create = pt_create,
    .destroy = pt_destroy,
    .reset = pt_reset,
    .resize = pt_resize,
    .run = pt_run,
    .regs_get = pt_regs_get,
    .regs_set = pt_regs_set,
    .syscall_return = pt_syscall_return,
    .io_in_set = pt_io_in_set,
    .map_changed = pt_map_changed,
    .range_ok = pt_range_ok,
    .hostfd = pt_hostfd,
};

/* Whether this host lets us run the backend: one guest process booted
 * and destroyed. Also reads the lowest address a process may map. */
enum kvm_err
kvm__ptrace_probe(void)
{
	struct kvm_ctx *ctx;
	unsigned long long v;
	enum kvm_err err;
	FILE *f;

	if ((f = fopen("/proc/sys/vm/mmap_min_addr", "re")) != NULL) {
		if (fscanf(f, "%llu", &v) == 1 && v <= (1ull << 32))
			pt__min_addr = (v + KVM__PAGE - 1) & ~(KVM__PAGE - 1);
		fclose(f);
	}
	if (pt__min_addr < KVM__PAGE)
		pt__min_addr = KVM__PAGE;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return KVM_ERR_NOMEM;
	ctx->ops = &kvm__ops_ptrace;
	ctx->cfg.slab_max = 64 * KVM__PAGE;
	ctx->slab_pages = ctx->limit = 64;
	ctx->dirty_hi = KVM__RESV_PAGES;
	if ((ctx->bitmap = calloc(1, sizeof(uint64_t))) == NULL) {
		free(ctx);
		return KVM_ERR_NOMEM;
	}
	err = pt_create(ctx);
	if (err == KVM_OK)
		pt_destroy(ctx);
	free(ctx->bitmap);
	free(ctx);
	return err == KVM_OK ? KVM_OK : KVM_ERR_SYS;
}

pid_t
kvm__ptrace_pid(const struct kvm_ctx *ctx)
{
	return ctx->pt != NULL ? ctx->pt->pid : 0;
}

/* For tests: has the guest process run one system call through the stub
 * (as the sync does), and returns its result, or -1 when the process is
 * gone. */
int64_t
kvm__ptrace_raw(struct kvm_ctx *ctx, const uint64_t call[7])
{
	struct kvm__pt *pt = ctx->pt;

	memcpy(pt->raw, call, sizeof(pt->raw));
	if (kvm__pt_call(pt, PT_OP_RAW) != KVM_OK)
		return -1;
	return (int64_t)pt->raw[0];
}
