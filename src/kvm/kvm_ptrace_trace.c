/*
 * kvm_ptrace_trace.c: the tracer thread of a ptrace-backend context (see
 * kvm_ptrace.c). Only the thread that attached may make ptrace requests,
 * so each context has one; it spawns and boots the guest process, applies
 * the map changes through the stub, runs the guest and turns every stop
 * into an exit record. Callers hand it work with kvm__pt_call().
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <elf.h>
#include <unistd.h>

#include "kvm_ptrace.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif
#define PT_XSTATE_MAX 65536u

static int
pt__wait(struct kvm__pt *pt, int *st)
{
	pid_t r;

	do
		r = waitpid(pt->pid, st, __WALL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	if (WIFEXITED(*st) || WIFSIGNALED(*st)) {
		pt->wstatus = *st;
		pt->pid = 0;
		pt->kick.pid = 0;
		return -1;
	}
	return 0;
}

static void
pt__kill(struct kvm__pt *pt)
{
	int st;

	if (pt->pid <= 0)
		return;
	kill(pt->pid, SIGKILL);
	while (pt->pid > 0 && pt__wait(pt, &st) == 0)
		;
	pt->pid = 0;
	pt->kick.pid = 0;
}

static int
pt__getregs(struct kvm__pt *pt, struct user_regs_struct *r)
{
	return (int)ptrace(PTRACE_GETREGS, pt->pid, 0, r);
}

static int
pt__xstate(struct kvm__pt *pt, int set, uint8_t *buf)
{
	struct iovec iov = {.iov_base = buf, .iov_len = pt->xsize};

	return (int)ptrace(set ? PTRACE_SETREGSET : PTRACE_GETREGSET, pt->pid,
	    (void *)(uintptr_t)NT_X86_XSTATE, &iov);
}

/* Runs the (n) commands in the command page through the stub. Returns
 * 0, or -1 with errno (a failed call: its -errno). The guest's registers
 * stay in pt->regs and are written back before the guest runs again. */
static int
pt__stub_run(struct kvm_ctx *ctx, unsigned n, uint64_t *rax)
{
	struct kvm__pt *pt = ctx->pt;
	struct user_regs_struct r = pt->regs;
	int st;

	r.rip = PT_STUB + PT_OFF_LOOP;
	r.r12 = PT_CMD;
	r.r13 = n;
	r.eflags = KVM__RFLAGS_FIXED; /* no TF: the guest may have set it */
	r.orig_rax = (unsigned long long)-1;
	r.cs = pt->cs;
	r.ss = pt->ss;
	pt->regs_dirty = 1;
	if (ptrace(PTRACE_SETREGS, pt->pid, 0, &r) < 0 ||
	    ptrace(PTRACE_CONT, pt->pid, 0, 0) < 0)
		return -1;
	for (;;) {
		if (pt__wait(pt, &st) < 0) {
			errno = ESRCH;
			return -1;
		}
		if (pt__getregs(pt, &r) < 0)
			return -1;
		if (WSTOPSIG(st) == SIGTRAP && (st >> 16) == 0 &&
		    r.rip == PT_STUB + PT_OFF_DONE)
			break;
		/* a stray interrupt or someone's signal: not for the stub */
		if (ptrace(PTRACE_CONT, pt->pid, 0, 0) < 0)
			return -1;
	}
	if (rax != NULL)
		*rax = r.rax;
	if (r.r13 != 0) {
		errno = (int)-(int64_t)r.rax;
		return -1;
	}
	return 0;
}

/* Command batching for the sync, and the runs it wants mapped. */
struct pt_batch {
	struct kvm_ctx *ctx;
	unsigned n;
	int failed;
	struct pt_run *want;
	unsigned nwant, want_cap;
	int want_lost; /* no memory for (want): the process map is unknown */
};

static void
pt__emit(struct pt_batch *b, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
    uint64_t a3, uint64_t a4, uint64_t a5)
{
	uint64_t *w;

	if (b->failed)
		return;
	if (b->n == PT_CMD_MAX) {
		if (pt__stub_run(b->ctx, b->n, NULL) < 0)
			b->failed = 1;
		b->n = 0;
	}
	w = (uint64_t *)(void *)(b->ctx->slab + 0x1000) + PT_CMD_WORDS * b->n++;
	w[0] = nr, w[1] = a0, w[2] = a1, w[3] = a2;
	w[4] = a3, w[5] = a4, w[6] = a5;
}

/* munmap [a, b) in the child, never the stub pages */
static void
pt__emit_unmap(struct pt_batch *b, uint64_t a, uint64_t e)
{
	if (e > PT_TASK_END)
		e = PT_TASK_END;
	if (a >= e)
		return;
	if (a < PT_STUB_END && e > PT_STUB) {
		pt__emit_unmap(b, a, PT_STUB);
		pt__emit_unmap(b, PT_STUB_END, e);
		return;
	}
	pt__emit(b, SYS_munmap, a, e - a, 0, 0, 0, 0);
}

/* Closes the host descriptors an earlier user of the context left. */
static void
pt__close_stale(struct pt_batch *b)
{
	struct kvm__pt *pt = b->ctx->pt;
	unsigned i;

	for (i = 0; i < KVM_HOSTFD_MAX && pt->hostfds_stale != 0; i++)
		if (pt->hostfds_stale & (1ull << i)) {
			pt__emit(
			    b, SYS_close, KVM_HOSTFD_BASE + i, 0, 0, 0, 0, 0);
			pt->hostfds_stale &= ~(1ull << i);
		}
}

/* ---- the process's actual map (pt->have) ---- */

/* Appends [lo, hi) at gpa to the sorted runs (v), merging it with the
 * last one when it continues it. (v) has room. */
static void
pt__run_add(struct pt_run *v, unsigned *n, uint64_t lo, uint64_t hi,
    uint64_t gpa, int prot)
{
	struct pt_run *p = *n > 0 ? &v[*n - 1] : NULL;

	if (lo >= hi)
		return;
	if (p != NULL && p->hi == lo && p->prot == prot &&
	    p->gpa + (p->hi - p->lo) == gpa) {
		p->hi = hi;
		return;
	}
	v[*n].lo = lo, v[*n].hi = hi, v[*n].gpa = gpa, v[*n].prot = prot;
	(*n)++;
}

/* The index of the first run of the process map ending above (a). */
static unsigned
pt__have_at(const struct kvm__pt *pt, uint64_t a)
{
	unsigned lo = 0, hi = pt->nhave, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (pt->have[mid].hi <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether the process shows (r) already, exactly as (r) asks. */
static int
pt__have_same(const struct kvm__pt *pt, const struct pt_run *r)
{
	const struct pt_run *h;
	unsigned i;

	if (pt->have_lost || (i = pt__have_at(pt, r->lo)) == pt->nhave)
		return 0;
	h = &pt->have[i];
	return h->lo <= r->lo && r->hi <= h->hi && h->prot == r->prot &&
	    h->gpa + (r->lo - h->lo) == r->gpa;
}

/* Unmaps the part of the gap [a, e) that the process has mapped (all of
 * it when that is not known). */
static void
pt__unmap_gap(struct pt_batch *b, uint64_t a, uint64_t e)
{
	const struct kvm__pt *pt = b->ctx->pt;
	unsigned i, j;
	uint64_t from, to;

	if (a >= e)
		return;
	if (pt->have_lost) {
		pt__emit_unmap(b, a, e);
		return;
	}
	i = pt__have_at(pt, a);
	if (i == pt->nhave || pt->have[i].lo >= e)
		return; /* nothing there */
	from = pt->have[i].lo > a ? pt->have[i].lo : a;
	j = pt__have_at(pt, e - 1);
	if (j < pt->nhave && pt->have[j].lo < e)
		to = e;
	else
		to = pt->have[j - 1].hi; /* j > i: run i ends below e */
	pt__emit_unmap(b, from, to);
}

static void
pt__have_forget(struct kvm__pt *pt)
{
	pt->have_lost = 1;
	pt->nhave = 0;
}

/* After a sync of [lo, hi) (all of the process's range when (full)):
 * the process map is the old one outside it and (b)'s runs inside. */
static void
pt__have_update(struct pt_batch *b, uint64_t lo, uint64_t hi, int full)
{
	struct kvm__pt *pt = b->ctx->pt;
	struct pt_run *v, *h;
	unsigned n = 0, i, cap;

	if (b->want_lost || (pt->have_lost && !full))
		return;
	if (full)
		pt->nhave = 0;
	cap = pt->nhave + b->nwant + 2;
	if (cap > PT_HAVE_MAX || (v = malloc(cap * sizeof(*v))) == NULL) {
		pt__have_forget(pt);
		return;
	}
	for (i = 0; i < pt->nhave && pt->have[i].lo < lo; i++) {
		h = &pt->have[i];
		pt__run_add(
		    v, &n, h->lo, h->hi < lo ? h->hi : lo, h->gpa, h->prot);
	}
	for (i = 0; i < b->nwant; i++)
		pt__run_add(v, &n, b->want[i].lo, b->want[i].hi, b->want[i].gpa,
		    b->want[i].prot);
	for (i = pt__have_at(pt, hi); i < pt->nhave; i++) {
		h = &pt->have[i];
		if (h->lo >= hi)
			pt__run_add(v, &n, h->lo, h->hi, h->gpa, h->prot);
		else
			pt__run_add(
			    v, &n, hi, h->hi, h->gpa + (hi - h->lo), h->prot);
	}
	free(pt->have);
	pt->have = v;
	pt->nhave = n;
	pt->have_lost = 0;
}

/* Records (r) as wanted; on no memory the process map becomes unknown
 * (the sync itself is still right). */
static void
pt__want(struct pt_batch *b, const struct pt_run *r)
{
	struct pt_run *v;
	unsigned cap;

	if (b->want_lost)
		return;
	if (b->nwant == b->want_cap) {
		cap = b->want_cap ? 2 * b->want_cap : 64;
		if (cap > PT_HAVE_MAX ||
		    (v = realloc(b->want, cap * sizeof(*v))) == NULL) {
			pt__have_forget(b->ctx->pt);
			b->want_lost = 1;
			return;
		}
		b->want = v;
		b->want_cap = cap;
	}
	b->want[b->nwant++] = *r;
}

static int
pt__host_prot(uint64_t pte)
{
	int p = PROT_READ;

	if (!(pte & KVM__PTE_U))
		return PROT_NONE; /* supervisor-only: ring 3 faults */
	if (pte & KVM__PTE_W)
		p |= PROT_WRITE;
	if (!(pte & KVM__PTE_NX))
		p |= PROT_EXEC;
	return p;
}

#define PT_PTE_PROT (KVM__PTE_W | KVM__PTE_U | KVM__PTE_NX)

/* Makes the child's [lo, hi) what the map says: runs of pages with
 * consecutive slab offsets and equal protection become one mmap unless
 * the process has them so already; what it has in the gaps is
 * unmapped. */
static void
pt__sync_range(struct pt_batch *b, uint64_t lo, uint64_t hi, int full)
{
	struct kvm_ctx *ctx = b->ctx;
	uint64_t a = lo, p, pte, n, *e;
	struct pt_run r;

	b->nwant = 0;
	while (a < hi) {
		p = a;
		if (!kvm__find(ctx, &p, &pte) || p >= hi) {
			pt__unmap_gap(b, a, hi);
			break;
		}
		pt__unmap_gap(b, a, p);
		r.gpa = pte & KVM__PTE_ADDR;
		for (n = 1; p + n * KVM__PAGE < hi; n++) {
			e = kvm__leaf(ctx, p + n * KVM__PAGE);
			if (e == NULL ||
			    (*e & KVM__PTE_ADDR) != r.gpa + n * KVM__PAGE ||
			    (*e & PT_PTE_PROT) != (pte & PT_PTE_PROT))
				break;
		}
		r.lo = p;
		r.hi = p + n * KVM__PAGE;
		r.prot = pt__host_prot(pte);
		if (!pt__have_same(ctx->pt, &r))
			pt__emit(b, SYS_mmap, r.lo, r.hi - r.lo,
			    (uint64_t)r.prot, MAP_SHARED | MAP_FIXED,
			    PT_CHILD_MEMFD, r.gpa);
		pt__want(b, &r);
		a = r.hi;
	}
	pt__have_update(b, lo, hi, full);
}

/* Applies the map changes since the last run to the child. */
static int
pt__sync(struct kvm_ctx *ctx)
{
	struct kvm__pt *pt = ctx->pt;
	struct pt_batch b = {.ctx = ctx};
	unsigned i;

	pt__close_stale(&b);
	if (pt->dirty_all)
		pt__sync_range(&b, 0, PT_TASK_END, 1);
	else
		for (i = 0; i < pt->ndirty; i++)
			pt__sync_range(&b, pt->dirty[i].lo, pt->dirty[i].hi, 0);
	pt->dirty_all = 0;
	pt->ndirty = 0;
	if (!b.failed && b.n > 0 && pt__stub_run(ctx, b.n, NULL) < 0)
		b.failed = 1;
	free(b.want);
	if (b.failed)
		pt__have_forget(pt);
	return b.failed ? -1 : 0;
}

/* An ERROR exit; the context is broken from now on. */
void
kvm__pt_error(
    struct kvm_ctx *ctx, struct kvm_exit *ex, uint32_t reason, uint64_t detail)
{
	memset(&ex->u, 0, sizeof(ex->u));
	ex->kind = KVM_EXITK_ERROR;
	ex->u.error.reason = reason;
	ex->u.error.detail = detail;
	kvm_regs_get(ctx, &ex->u.error.regs);
	ex->u.error.cs = (uint16_t)ctx->pt->regs.cs;
	ex->u.error.ss = (uint16_t)ctx->pt->regs.ss;
	ctx->state = KVM__ST_BROKEN;
}

static int
pt__read(struct kvm_ctx *ctx, uint64_t gva, uint8_t *b)
{
	return kvm_mem_read(ctx, gva, b, 1) == KVM_OK ? 0 : -1;
}

/* A #GP at an `in` or `out` to a hypercall port: reports it as KVM does
 * (HALT or IO, rip after the instruction). Returns 0 when it was not
 * such an instruction. String forms (ins/outs) stay a #GP. */
static int
pt__io(struct kvm_ctx *ctx, struct kvm_exit *ex)
{
	struct kvm__pt *pt = ctx->pt;
	struct user_regs_struct *r = &pt->regs;
	uint8_t op = 0, imm = 0;
	unsigned len = 1, size, port, wide = 0, out;
	uint32_t mask;

	if (pt__read(ctx, r->rip, &op) < 0)
		return 0;
	if (op == 0x66) {
		wide = 1;
		if (pt__read(ctx, r->rip + 1, &op) < 0)
			return 0;
		len = 2;
	}
	switch (op) {
	case 0xe4:
	case 0xe5:
	case 0xe6:
	case 0xe7:
		if (pt__read(ctx, r->rip + len, &imm) < 0)
			return 0;
		port = imm;
		len++;
		break;
	case 0xec:
	case 0xed:
	case 0xee:
	case 0xef:
		port = (unsigned)(r->rdx & 0xffff);
		break;
	default:
		return 0;
	}
	if (port < KVM_PORT_BASE || port >= KVM_PORT_BASE + KVM_PORT_COUNT)
		return 0;
	size = (op & 1) ? (wide ? 2 : 4) : 1;
	out = (op & 2) != 0;
	mask = size == 4 ? 0xffffffffu : size == 2 ? 0xffffu : 0xffu;
	r->rip += len;
	pt->regs_dirty = 1;
	ctx->state = KVM__ST_USER;
	if (!out) {
		pt->in_size = size;
		kvm_io_in_set(ctx, 0);
	}
	if (out && port == KVM_PORT_HALT) {
		ex->kind = KVM_EXITK_HALT;
		ex->u.halt.status = (uint32_t)r->rax & mask;
		return 1;
	}
	ex->kind = KVM_EXITK_IO;
	ex->u.io.port = (uint16_t)port;
	ex->u.io.size = (uint8_t)size;
	ex->u.io.out = (uint8_t)out;
	ex->u.io.count = 1;
	ex->u.io.value = out ? (uint32_t)r->rax & mask : 0;
	return 1;
}

/*
 * A fault signal stopped the guest: let it reach the stub's handler, read
 * the hardware's view from the signal frame, restore the guest. Returns
 * 1 with the exit filled, or -1 (the process is unusable).
 */
static int
pt__fault(struct kvm_ctx *ctx, int sig, struct kvm_exit *ex)
{
	struct kvm__pt *pt = ctx->pt;
	struct user_regs_struct h;
	uint64_t gregs[NGREG], off;
	int st, code = 0;
	siginfo_t si;
	uint32_t ec;

	if (sig == SIGSYS) {
		/* a call into the vsyscall page, trapped by the filter (the
		 * emulation already "returned"): undo the return and report
		 * the fetch fault KVM reports */
		if (ptrace(PTRACE_GETSIGINFO, pt->pid, 0, &si) < 0 ||
		    si.si_code != 1 /* SYS_SECCOMP */)
			return -1;
		pt->regs.rip = (uint64_t)(uintptr_t)si.si_call_addr;
		pt->regs.rsp -= 8;
		pt->regs_dirty = 1;
		ctx->state = KVM__ST_EXC;
		kvm__page_fault_exit(ex, pt->regs.rip, 0x15);
		return 1;
	}
	/* The fast path for hypercalls: a #GP (SIGSEGV from the kernel
	 * itself) at an `in`/`out` to a hypercall port needs no frame. */
	if (sig == SIGSEGV && ptrace(PTRACE_GETSIGINFO, pt->pid, 0, &si) == 0 &&
	    si.si_code == SI_KERNEL && pt__io(ctx, ex))
		return 1;
	if (pt__xstate(pt, 0, pt->xsave) < 0 ||
	    ptrace(PTRACE_CONT, pt->pid, 0, (void *)(uintptr_t)sig) < 0)
		return -1;
	for (;;) {
		if (pt__wait(pt, &st) < 0 || pt__getregs(pt, &h) < 0)
			return -1;
		if ((st >> 16) == PTRACE_EVENT_STOP) {
			if (ptrace(PTRACE_CONT, pt->pid, 0, 0) < 0)
				return -1;
			continue;
		}
		if (WSTOPSIG(st) == SIGTRAP &&
		    h.rip == PT_STUB + PT_OFF_HANDLED)
			break;
		return -1; /* the frame could not be delivered */
	}
	/* rdx = &ucontext, rsi = &siginfo, both on the signal stack */
	off = offsetof(ucontext_t, uc_mcontext.gregs);
	if (h.rdx < PT_ALT ||
	    h.rdx - PT_ALT > PT_ALT_SIZE - off - sizeof(gregs) ||
	    h.rsi < PT_ALT || h.rsi - PT_ALT > PT_ALT_SIZE - 16)
		return -1;
	memcpy(gregs, ctx->slab + (h.rdx - PT_STUB) + off, sizeof(gregs));
	memcpy(&code, ctx->slab + (h.rsi - PT_STUB) + 8, sizeof(code));
	pt->regs_dirty = 1; /* back to the state at the fault */
	if (pt__xstate(pt, 1, pt->xsave) < 0)
		return -1;
	ctx->state = KVM__ST_EXC;
	ec = (uint32_t)gregs[REG_ERR];
	switch (gregs[REG_TRAPNO]) {
	case 14:
		/* a PROT_NONE (supervisor-only) page is not present to the
		 * MMU, but it is mapped: KVM says present */
		if (sig == SIGSEGV && code == SEGV_ACCERR)
			ec |= 1;
		kvm__page_fault_exit(ex, gregs[REG_CR2], ec | 4);
		return 1;
	case 13:
		if (ec == 0 && pt__io(ctx, ex))
			return 1;
		break;
	default:
		if (gregs[REG_TRAPNO] >= 32)
			return -1;
		break;
	}
	ex->kind = KVM_EXITK_EXCEPTION;
	ex->u.exception.vector = (uint32_t)gregs[REG_TRAPNO];
	ex->u.exception.error_code = ec;
	return 1;
}

/* A system call stop. `int 0x80` arrives here too (a compat system call
 * in a process): on KVM it is a #GP, so it is reported as one. */
static void
pt__syscall(struct kvm_ctx *ctx, struct kvm_exit *ex)
{
	struct kvm__pt *pt = ctx->pt;
	struct user_regs_struct *r = &pt->regs;
	uint8_t b0 = 0, b1 = 0;

	r->rax = r->orig_rax; /* as the guest left it, as on KVM */
	pt->regs_dirty = 1;
	if (r->cs != pt->cs ||
	    (pt__read(ctx, r->rip - 2, &b0) == 0 &&
	        pt__read(ctx, r->rip - 1, &b1) == 0 && b0 == 0xcd &&
	        b1 == 0x80)) {
		r->rip -= 2;
		ctx->state = KVM__ST_EXC;
		ex->kind = KVM_EXITK_EXCEPTION;
		ex->u.exception.vector = 13;
		ex->u.exception.error_code = b0 == 0xcd ? 0x80 * 8 + 2 : 0;
		return;
	}
	ctx->state = KVM__ST_SYSCALL;
	const uint64_t arg[6] = {r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9};
	kvm__syscall_exit(ex, r->orig_rax, arg);
}

static int
pt__is_fault_sig(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
	    sig == SIGFPE || sig == SIGTRAP || sig == SIGSYS;
}

/*
 * The budget timer is left armed when a run ends: most runs end in an
 * exit long before their budget, and disarming and arming it again cost
 * two system calls per exit. A run arms it only when it is not pending
 * or would fire after this run's deadline; when it fires before the
 * deadline (armed by an earlier run), the run re-arms it for the rest
 * and goes on. So a BUDGET exit is reported only at the run's own
 * deadline, and an earlier run's expiry costs at most one interrupt.
 */
static void
pt__arm(struct kvm__pt *pt, uint64_t now, uint64_t deadline)
{
	kvm__timer_arm_raw(pt->timer, deadline - now);
	pt->armed_until = deadline;
}

static enum kvm_err
pt__run(struct kvm_ctx *ctx)
{
	struct kvm__pt *pt = ctx->pt;
	struct kvm_exit *ex = pt->ex;
	uint64_t budget = pt->budget_us, now, ns, until, deadline = 0;
	int st, sig, r;

	if (pt->pid <= 0) {
		kvm__pt_error(ctx, ex, 0, (uint64_t)pt->wstatus);
		return KVM_OK;
	}
	if (pt__sync(ctx) < 0) {
		kvm__pt_error(ctx, ex, 1, (uint64_t)errno);
		return KVM_OK;
	}
	if (pt->xreset) {
		if (pt__xstate(pt, 1, pt->xinit) < 0) {
			kvm__pt_error(ctx, ex, 2, (uint64_t)errno);
			return KVM_OK;
		}
		pt->xreset = 0;
	}
	pt->kick.fired = 0;
	if (budget > 0) {
		now = kvm__now_ns();
		ns = budget > UINT64_MAX / 1000 ? UINT64_MAX / 1000 * 1000
		                                : budget * 1000ull;
		deadline = ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
		if (pt->armed_until <= now || pt->armed_until > deadline)
			pt__arm(pt, now, deadline);
	}
	for (;;) {
		if (pt->regs_dirty) {
			pt->regs.orig_rax = (unsigned long long)-1;
			if (ptrace(PTRACE_SETREGS, pt->pid, 0, &pt->regs) < 0) {
				kvm__pt_error(ctx, ex, 3, (uint64_t)errno);
				break;
			}
			pt->regs_dirty = 0;
		}
		if (ptrace(PTRACE_CONT, pt->pid, 0, 0) < 0 ||
		    pt__wait(pt, &st) < 0 || pt__getregs(pt, &pt->regs) < 0) {
			kvm__pt_error(ctx, ex, 0,
			    pt->pid > 0 ? (uint64_t)errno
			                : (uint64_t)pt->wstatus);
			break;
		}
		sig = WSTOPSIG(st);
		if (sig == SIGTRAP && (st >> 16) == PTRACE_EVENT_SECCOMP) {
			pt__syscall(ctx, ex);
			break;
		}
		if ((st >> 16) == PTRACE_EVENT_STOP) {
			/* not fired: a late interrupt of an earlier run */
			if (!pt->kick.fired)
				continue;
			pt->kick.fired = 0;
			until = pt->armed_until;
			pt->armed_until = 0;
			if (deadline == 0)
				continue; /* an earlier run's timer; no budget */
			/* an earlier run's, set to expire before ours: set it
			 * for ours (the clock read here may lag the timer's by
			 * microseconds, so `now` cannot tell) */
			if (until < deadline &&
			    (now = kvm__now_ns()) < deadline) {
				pt__arm(pt, now, deadline);
				continue;
			}
			ctx->state = KVM__ST_USER;
			ex->kind = KVM_EXITK_BUDGET;
			break;
		}
		if ((st >> 16) == 0 && pt__is_fault_sig(sig)) {
			r = pt__fault(ctx, sig, ex);
			if (r < 0) {
				pt__kill(pt);
				kvm__pt_error(ctx, ex, 0, (uint64_t)sig);
			}
			break;
		}
		/* any other signal (someone's kill): suppressed */
	}
	return KVM_OK;
}

/* Spawns and boots the guest process (on the tracer thread). */
static enum kvm_err
pt__spawn_boot(struct kvm_ctx *ctx)
{
	struct kvm__pt *pt = ctx->pt;
	struct user_regs_struct r;
	struct pt_boot boot, *b = &boot; /* on this stack: the child's */
	struct pt_marks marks;
	struct iovec iov;
	int st, sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return KVM_ERR_SYS;
	kvm__pt_boot_prepare(
	    b, ctx->slab, pt->memfd, sv[1], ctx->slab_pages * KVM__PAGE);
	kvm__pt_dontfork(&marks, b, __builtin_frame_address(0));
	pt->pid = kvm__pt_spawn(b);
	kvm__pt_dofork(&marks);
	close(sv[1]);
	if (pt->pid < 0) {
		pt->pid = 0;
		close(sv[0]);
		return KVM_ERR_SYS;
	}
	pt->sock = sv[0];
	if (ptrace(PTRACE_SEIZE, pt->pid, 0,
	        PTRACE_O_EXITKILL | PTRACE_O_TRACESECCOMP) < 0) {
		kill(pt->pid, SIGKILL);
		waitpid(pt->pid, &st, __WALL);
		pt->pid = 0;
		return KVM_ERR_SYS;
	}
	__atomic_store_n(b->seized, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, b->seized, 1 /* FUTEX_WAKE */, 1, 0, 0, 0);
	/* until the stub's final int3: only foreign signals may intervene */
	for (;;) {
		if (pt__wait(pt, &st) < 0)
			return KVM_ERR_SYS;
		if (WSTOPSIG(st) == SIGTRAP && (st >> 16) == 0)
			break;
		if (ptrace(PTRACE_CONT, pt->pid, 0, 0) < 0)
			goto err;
	}
	if (pt__getregs(pt, &r) < 0 || r.rip != PT_STUB + PT_OFF_DONE ||
	    r.r13 != 0)
		goto err;
	pt->cs = r.cs;
	pt->ss = r.ss;
	pt->kick.pid = pt->pid;
	if (pt->xsize == 0) {
		pt->xinit = calloc(1, PT_XSTATE_MAX);
		if (pt->xinit == NULL)
			goto err;
		iov.iov_base = pt->xinit;
		iov.iov_len = PT_XSTATE_MAX;
		if (ptrace(PTRACE_GETREGSET, pt->pid,
		        (void *)(uintptr_t)NT_X86_XSTATE, &iov) < 0 ||
		    iov.iov_len < 576)
			goto err;
		pt->xsize = iov.iov_len;
		pt->xsave = calloc(1, pt->xsize);
		if (pt->xsave == NULL)
			goto err;
		/* The clean FPU state: what the child has is a copy of this
		 * thread's. x87 control word, MXCSR, all registers zero,
		 * x87 and SSE present (so MXCSR is taken), the rest init. */
		memset(pt->xinit, 0, pt->xsize);
		pt->xinit[0] = 0x7f, pt->xinit[1] = 0x03;   /* fcw 0x037f */
		pt->xinit[24] = 0x80, pt->xinit[25] = 0x1f; /* mxcsr 0x1f80 */
		pt->xinit[512] = 3; /* xstate_bv: x87, SSE */
	}
	pt->xreset = 1;
	return KVM_OK;
err:
	pt__kill(pt);
	return KVM_ERR_SYS;
}

static enum kvm_err
pt__raw(struct kvm_ctx *ctx)
{
	struct kvm__pt *pt = ctx->pt;
	uint64_t *w = (uint64_t *)(void *)(ctx->slab + 0x1000), rax = 0;

	if (pt->pid <= 0)
		return KVM_ERR_SYS;
	memcpy(w, pt->raw, sizeof(pt->raw));
	pt__have_forget(pt); /* the call may have changed the map */
	if (pt__stub_run(ctx, 1, &rax) < 0 && pt->pid <= 0)
		return KVM_ERR_SYS;
	pt->raw[0] = rax;
	return KVM_OK;
}

/*
 * Puts pt->fd_host at pt->fd_guest in the guest process (or closes
 * pt->fd_guest when fd_host < 0): the descriptor goes over the socket
 * pair, the stub receives it (recvmsg into the signal stack's bottom),
 * then moves it to its number (dup3) and closes the received one. A
 * descriptor sent but not taken would be the next one received, so any
 * failure after the send ends the guest process.
 */
static enum kvm_err
pt__hostfd(struct kvm_ctx *ctx)
{
	struct kvm__pt *pt = ctx->pt;
	uint64_t *w = (uint64_t *)(void *)(ctx->slab + 0x1000), rax = 0;
	uint8_t *rx = ctx->slab + 0x2000, byte = 0;
	char ctl[CMSG_SPACE(sizeof(int))];
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *cm;
	unsigned bit = (unsigned)(pt->fd_guest - KVM_HOSTFD_BASE);
	struct pt_batch b = {.ctx = ctx};
	int got;
	ssize_t r;

	if (pt->pid <= 0)
		return KVM_ERR_SYS;
	pt__close_stale(&b);
	if (b.n > 0 && pt__stub_run(ctx, b.n, NULL) < 0)
		goto dead;
	if (pt->fd_host < 0) {
		w[0] = SYS_close, w[1] = (uint64_t)pt->fd_guest;
		if (pt__stub_run(ctx, 1, NULL) < 0 && pt->pid <= 0)
			return KVM_ERR_SYS;
		pt->hostfds &= ~(1ull << bit);
		return KVM_OK; /* EBADF: nothing was there */
	}
	memset(&mh, 0, sizeof(mh));
	memset(ctl, 0, sizeof(ctl));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl;
	mh.msg_controllen = sizeof(ctl);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pt->fd_host, sizeof(int));
	do
		r = sendmsg(pt->sock, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		return KVM_ERR_SYS; /* nothing is queued */
	/* the guest process's msghdr, with its own addresses */
	memset(rx, 0, PT_RX_CTL + sizeof(ctl));
	mh.msg_iov = (struct iovec *)(uintptr_t)(PT_ALT + PT_RX_IOV);
	mh.msg_control = (void *)(uintptr_t)(PT_ALT + PT_RX_CTL);
	mh.msg_controllen = sizeof(ctl);
	memcpy(rx + PT_RX_MSG, &mh, sizeof(mh));
	iov.iov_base = (void *)(uintptr_t)(PT_ALT + PT_RX_BYTE);
	memcpy(rx + PT_RX_IOV, &iov, sizeof(iov));
	w[0] = SYS_recvmsg, w[1] = PT_CHILD_SOCK, w[2] = PT_ALT + PT_RX_MSG;
	w[3] = MSG_CMSG_CLOEXEC, w[4] = w[5] = w[6] = 0;
	if (pt__stub_run(ctx, 1, &rax) < 0 || rax != 1)
		goto dead;
	memcpy(&mh, rx + PT_RX_MSG, sizeof(mh));
	memcpy(ctl, rx + PT_RX_CTL, sizeof(ctl));
	cm = (struct cmsghdr *)(void *)ctl;
	if (mh.msg_controllen < CMSG_LEN(sizeof(int)) ||
	    cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		goto dead;
	memcpy(&got, CMSG_DATA(cm), sizeof(got));
	if (got < 0 || got == pt->fd_guest)
		goto dead;
	w[0] = SYS_dup3, w[1] = (uint64_t)got, w[2] = (uint64_t)pt->fd_guest;
	w[3] = w[4] = w[5] = w[6] = 0;
	w[7] = SYS_close, w[8] = (uint64_t)got;
	w[9] = w[10] = w[11] = w[12] = w[13] = 0;
	if (pt__stub_run(ctx, 2, NULL) < 0)
		goto dead;
	pt->hostfds |= 1ull << bit;
	return KVM_OK;
dead:
	pt__kill(pt);
	ctx->state = KVM__ST_BROKEN;
	return KVM_ERR_SYS;
}

void *
kvm__pt_main(void *arg)
{
	struct kvm_ctx *ctx = arg;
	struct kvm__pt *pt = ctx->pt;
	enum kvm_err err;
	enum pt_op op;
	sigset_t all;

	/* asynchronous signals are for the other threads; the guest
	 * process inherits this mask until its boot */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	pt->timer_ok = kvm__timer_make(&pt->timer, &pt->kick) == KVM_OK;
	pthread_mutex_lock(&pt->mu);
	for (;;) {
		while (pt->op == PT_OP_NONE)
			pthread_cond_wait(&pt->cv, &pt->mu);
		op = pt->op;
		pthread_mutex_unlock(&pt->mu);
		switch (op) {
		case PT_OP_SPAWN:
			err = pt->timer_ok ? pt__spawn_boot(ctx) : KVM_ERR_SYS;
			break;
		case PT_OP_RUN:
			err = pt__run(ctx);
			break;
		case PT_OP_RAW:
			err = pt__raw(ctx);
			break;
		case PT_OP_FD:
			err = pt__hostfd(ctx);
			break;
		default:
			pt__kill(pt);
			err = KVM_OK;
			break;
		}
		/* wake the caller after unlocking: woken while we held the
		 * mutex, it would block on it and need a second wake-up */
		pthread_mutex_lock(&pt->mu);
		pt->op = PT_OP_NONE;
		pt->op_err = err;
		pt->done = 1;
		pthread_mutex_unlock(&pt->mu);
		pthread_cond_broadcast(&pt->cv);
		if (op == PT_OP_QUIT)
			break;
		pthread_mutex_lock(&pt->mu);
	}
	if (pt->timer_ok)
		timer_delete(pt->timer);
	return NULL;
}

/* Hands (op) to the tracer thread and waits for its result. */
enum kvm_err
kvm__pt_call(struct kvm__pt *pt, enum pt_op op)
{
	enum kvm_err err;

	pthread_mutex_lock(&pt->mu);
	pt->op = op;
	pt->done = 0;
	pthread_mutex_unlock(&pt->mu);
	pthread_cond_broadcast(&pt->cv); /* unlocked: see kvm__pt_main */
	pthread_mutex_lock(&pt->mu);
	while (!pt->done)
		pthread_cond_wait(&pt->cv, &pt->mu);
	err = pt->op_err;
	pthread_mutex_unlock(&pt->mu);
	return err;
}
