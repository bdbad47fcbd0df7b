/*
 * kvm_vcpu.c: the run loop. KVM_RUN, then switch on run->exit_reason, and
 * turn what happened into a struct kvm_exit. Preemption: a per-context
 * POSIX timer (CLOCK_MONOTONIC, SIGEV_THREAD_ID to the running thread)
 * whose handler sets run->immediate_exit. If the signal lands before the
 * thread enters KVM_RUN, immediate_exit makes KVM_RUN return at once; if it
 * lands while the guest runs, the signal itself kicks the vCPU out. Either
 * way no expiry is lost, which is the race a plain signal would have.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvm_int.h"

/* Budget for finishing a trampoline path that the timer interrupted:
 * 20 us, doubling up to 100 ms. */
#define KVM__KERNEL_GRACE_NS 20000ull
#define KVM__KERNEL_GRACE_MAX_NS 100000000ull

static pthread_once_t kvm__sig_once = PTHREAD_ONCE_INIT;

static void
kvm__on_signal(int sig, siginfo_t *si, void *uc)
{
	struct kvm__kick *k;
	int saved = errno;

	(void)sig, (void)uc;
	if (si->si_code != SI_TIMER)
		return;
	k = si->si_value.sival_ptr;
	if (k == NULL)
		return;
	k->fired = 1;
	if (k->run != NULL)
		k->run->immediate_exit = 1;
	/* runs on the tracer thread, the only one ptrace accepts */
	if (k->pid > 0)
		(void)syscall(SYS_ptrace, PTRACE_INTERRUPT, k->pid, 0, 0);
	errno = saved;
}

static void
kvm__sig_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = kvm__on_signal;
	sa.sa_flags = SA_SIGINFO; /* no SA_RESTART: KVM_RUN must see EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN + KVM_SIGNAL_RT, &sa, NULL);
}

/* A timer aimed at the calling thread whose expiry acts on (kick). Also
 * unblocks the signal for this thread, or it could not be interrupted. */
enum kvm_err
kvm__timer_make(timer_t *timer, struct kvm__kick *kick)
{
	struct sigevent sev;
	sigset_t set;

	pthread_once(&kvm__sig_once, kvm__sig_install);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGRTMIN + KVM_SIGNAL_RT;
	sev.sigev_value.sival_ptr = kick;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, timer) < 0)
		return KVM_ERR_SYS;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + KVM_SIGNAL_RT);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return KVM_OK;
}

void
kvm__timer_arm_raw(timer_t timer, uint64_t ns)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(ns / 1000000000ull);
	its.it_value.tv_nsec = (long)(ns % 1000000000ull);
	timer_settime(timer, 0, &its, NULL);
}

/* A timer aimed at the calling thread, made once per context and thread. */
static enum kvm_err
kvm__timer_ready(struct kvm_ctx *ctx)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);

	if (ctx->timer_tid == tid)
		return KVM_OK;
	if (ctx->timer_tid != 0) {
		timer_delete(ctx->timer);
		ctx->timer_tid = 0;
	}
	if (kvm__timer_make(&ctx->timer, &ctx->kick) != KVM_OK)
		return KVM_ERR_SYS;
	ctx->timer_tid = tid;
	return KVM_OK;
}

static void
kvm__timer_arm(struct kvm_ctx *ctx, uint64_t ns)
{
	kvm__timer_arm_raw(ctx->timer, ns);
}

uint64_t
kvm__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static enum kvm_err
kvm__tlb_sync(struct kvm_ctx *ctx)
{
	if (!ctx->tlb_dirty)
		return KVM_OK;
	ctx->tlb_dirty = 0;
	return kvm__slot_reset(ctx);
}

static void
kvm__error(
    struct kvm_ctx *ctx, struct kvm_exit *ex, uint32_t reason, uint64_t detail)
{
	ex->kind = KVM_EXITK_ERROR;
	ex->u.error.reason = reason;
	ex->u.error.detail = detail;
	kvm__raw_dump(ctx, ex);
	ctx->state = KVM__ST_BROKEN;
}

/* A syscall exit: the number and the six argument registers of the
 * x86-64 Linux convention, in their order. */
void
kvm__syscall_exit(struct kvm_exit *ex, uint64_t nr, const uint64_t arg[6])
{
	ex->kind = KVM_EXITK_SYSCALL;
	ex->u.syscall.nr = nr;
	memcpy(ex->u.syscall.arg, arg, sizeof(ex->u.syscall.arg));
}

/* Fills a syscall exit record from the registers. */
static void
kvm__syscall_record(struct kvm_ctx *ctx, struct kvm_exit *ex)
{
	const struct kvm_regs *r = &ctx->run->s.regs.regs;
	const uint64_t arg[6] = {r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9};

	kvm__syscall_exit(ex, r->rax, arg);
}

/* Some hypervisors that offer the KVM API (PVM, which runs the guest's
 * ring 0 in hardware ring 3 and emulates it) perform `syscall` from a
 * guest that has not enabled their own event protocol as a jump to LSTAR
 * without the switch to ring 0: the fetch then faults on the supervisor
 * trampoline page, with rcx and r11 already holding the return rip and
 * rflags. That fault is the syscall: rewrite the frame so that the resume
 * (iretq) lands after the syscall instruction, as sysret would. A ring-3
 * jump to LSTAR gets the same treatment, which grants nothing: it is a
 * syscall followed by a jump to rcx. */
static void
kvm__syscall_by_fault(struct kvm_ctx *ctx, struct kvm_exit *ex)
{
	const struct kvm_regs *r = &ctx->run->s.regs.regs;
	uint64_t *f = (uint64_t *)(ctx->slab + KVM__FRAME);

	f[2] = r->rcx;
	f[4] = (r->r11 & KVM__RFLAGS_USER) | KVM__RFLAGS_FIXED;
	kvm__syscall_record(ctx, ex);
}

/* A page-fault exit from the address and the hardware error code. */
void
kvm__page_fault_exit(struct kvm_exit *ex, uint64_t addr, uint32_t ec)
{
	ex->kind = KVM_EXITK_PAGE_FAULT;
	ex->u.page_fault.addr = addr;
	ex->u.page_fault.error_code = ec;
	ex->u.page_fault.present = ec & 1;
	ex->u.page_fault.user = (ec >> 2) & 1;
	ex->u.page_fault.access = (ec & 0x10) ? KVM_ACCESS_EXEC
	    : (ec & 2)                        ? KVM_ACCESS_WRITE
	                                      : KVM_ACCESS_READ;
}

/* A trampoline exit through the exception port: decode the frame. */
static void
kvm__exc_exit(struct kvm_ctx *ctx, struct kvm_exit *ex)
{
	const uint64_t *f = (const uint64_t *)(ctx->slab + KVM__FRAME);
	uint64_t cr2;
	uint32_t ec = (uint32_t)f[1];

	if ((f[3] & 3) != 3 || f[0] >= 32) {
		/* the trampoline itself faulted: nothing to resume */
		kvm__error(ctx, ex, 0, f[0] << 32 | ec);
		return;
	}
	ctx->state = KVM__ST_EXC;
	if (f[0] == 14) {
		memcpy(&cr2, ctx->slab + KVM__CR2_SLOT, 8);
		if (cr2 == KVM__LSTAR && f[2] == KVM__LSTAR) {
			kvm__syscall_by_fault(ctx, ex);
			return;
		}
		kvm__page_fault_exit(ex, cr2, ec);
		return;
	}
	ex->kind = KVM_EXITK_EXCEPTION;
	ex->u.exception.vector = (uint32_t)f[0];
	ex->u.exception.error_code = ec;
}

/* Returns 1 when the exit is final, 0 to enter the guest again. */
static int
kvm__io_exit(struct kvm_ctx *ctx, struct kvm_exit *ex)
{
	struct kvm_run *run = ctx->run;
	const struct kvm_regs *r = &run->s.regs.regs;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t v = 0;

	if (run->io.port == KVM__PORT_SYSCALL &&
	    run->io.direction == KVM_EXIT_IO_OUT) {
		ctx->state = KVM__ST_SYSCALL;
		kvm__syscall_record(ctx, ex);
		return 1;
	}
	if (run->io.port == KVM__PORT_EXC &&
	    run->io.direction == KVM_EXIT_IO_OUT) {
		kvm__exc_exit(ctx, ex);
		return 1;
	}
	if (run->io.port < KVM_PORT_BASE ||
	    run->io.port >= KVM_PORT_BASE + KVM_PORT_COUNT ||
	    run->io.size > 4 || r->rip >= KVM_USER_END) {
		/* the TSS bitmap allows no other port to ring 3 */
		kvm__error(ctx, ex, KVM_EXIT_IO, run->io.port);
		return 1;
	}
	ctx->state = KVM__ST_USER;
	if (run->io.direction == KVM_EXIT_IO_OUT) {
		memcpy(&v, data, run->io.size);
	} else {
		memset(data, 0, (size_t)run->io.size * run->io.count);
		ctx->in_data = data;
		ctx->in_size = run->io.size;
	}
	if (run->io.port == KVM_PORT_HALT &&
	    run->io.direction == KVM_EXIT_IO_OUT) {
		ex->kind = KVM_EXITK_HALT;
		ex->u.halt.status = v;
		return 1;
	}
	ex->kind = KVM_EXITK_IO;
	ex->u.io.port = run->io.port;
	ex->u.io.size = run->io.size;
	ex->u.io.out = run->io.direction == KVM_EXIT_IO_OUT;
	ex->u.io.count = run->io.count;
	ex->u.io.value = v;
	return 1;
}

void
kvm__kvm_io_in_set(struct kvm_ctx *ctx, uint32_t value)
{
	if (ctx->in_data != NULL)
		memcpy(ctx->in_data, &value, ctx->in_size);
}

void
kvm_io_in_set(struct kvm_ctx *ctx, uint32_t value)
{
	ctx->ops->io_in_set(ctx, value);
}

enum kvm_err
kvm_ctx_run(struct kvm_ctx *ctx, uint64_t budget_us, struct kvm_exit *ex)
{
	return ctx->ops->run(ctx, budget_us, ex);
}

enum kvm_err
kvm__kvm_run(struct kvm_ctx *ctx, uint64_t budget_us, struct kvm_exit *ex)
{
	struct kvm_run *run = ctx->run;
	uint64_t t0 = kvm__now_ns();
	uint64_t grace = KVM__KERNEL_GRACE_NS;
	enum kvm_err err;
	int r, armed = 0;

	memset(ex, 0, sizeof(*ex));
	if (ctx->state == KVM__ST_BROKEN) {
		kvm__error(ctx, ex, 0, 0);
		return KVM_OK;
	}
	if ((err = kvm__apply_bases(ctx)) != KVM_OK ||
	    (err = kvm__tlb_sync(ctx)) != KVM_OK)
		return err;
	run->immediate_exit = 0;
	if (budget_us > 0) {
		if ((err = kvm__timer_ready(ctx)) != KVM_OK)
			return err;
		/* clamp: a budget over ~584 years would overflow the ns */
		kvm__timer_arm(ctx,
		    budget_us > UINT64_MAX / 1000 ? UINT64_MAX / 1000 * 1000
		                                  : budget_us * 1000ull);
		armed = 1;
	}
	ctx->in_data = NULL;
	ctx->ran = 1;
	for (;;) {
		r = ioctl(ctx->vcpufd, KVM_RUN, 0);
		if (r < 0 && errno != EINTR && errno != EAGAIN) {
			kvm__error(ctx, ex, 0, (uint64_t)errno);
			break;
		}
		if (r < 0 || run->exit_reason == KVM_EXIT_INTR) {
			if (!run->immediate_exit)
				continue; /* someone else's signal */
			if (run->s.regs.regs.rip >= KVM_USER_END) {
				/* Stopped inside the trampoline: let it reach
				 * its exit or ring 3 before reporting. The
				 * grace doubles each time: where the trampoline
				 * is emulated (PVM) and the host is loaded, a
				 * fixed short grace could expire before any
				 * progress, forever. */
				run->immediate_exit = 0;
				kvm__timer_arm(ctx, grace);
				if (grace < KVM__KERNEL_GRACE_MAX_NS)
					grace *= 2;
				continue;
			}
			ctx->state = KVM__ST_USER;
			ex->kind = KVM_EXITK_BUDGET;
			break;
		}
		if (run->exit_reason == KVM_EXIT_IO) {
			if (kvm__io_exit(ctx, ex))
				break;
			continue;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_FAIL_ENTRY:
			kvm__error(ctx, ex, run->exit_reason,
			    run->fail_entry.hardware_entry_failure_reason);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			kvm__error(
			    ctx, ex, run->exit_reason, run->internal.suberror);
			break;
		default: /* SHUTDOWN (triple fault), HLT in ring 0, MMIO.. */
			kvm__error(ctx, ex, run->exit_reason, 0);
			break;
		}
		break;
	}
	if (armed)
		kvm__timer_arm(ctx, 0);
	ex->ran_ns = kvm__now_ns() - t0;
	return KVM_OK;
}
