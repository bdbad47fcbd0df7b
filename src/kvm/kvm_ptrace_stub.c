/*
 * kvm_ptrace_stub.c: the guest process of the ptrace backend, from the
 * clone to its first stop: the stub code it keeps, the seccomp filter it
 * runs under, and the boot that empties its address space.
 *
 * The child is cloned from the tracer thread of a possibly multithreaded
 * process (the daemon has libuv workers): between the clone and the stub
 * it runs only raw system calls on its copy of the stack, with every
 * asynchronous signal blocked (inherited from the tracer thread), and it
 * is not instrumented by the sanitizers.
 *
 * Boot, in the child:
 *   1. parent-death signal SIGKILL; exit if the parent already left;
 *      unregister the rseq area inherited from the thread (the kernel
 *      would write to it, unmapped, on a later return to user mode and
 *      kill the process with SIGSEGV);
 *   2. wait (futex on a slab word) until the parent has seized it;
 *   3. move the slab's memfd and the socket for host descriptors to
 *      their fixed numbers and close every other descriptor; resource
 *      limits;
 *      no new privileges; only the fault signals unblocked;
 *   4. map the four reserved slab pages at PT_STUB; RLIMIT_AS;
 *   5. install the seccomp filter and jump to the stub's command loop,
 *      which runs the boot commands the parent wrote into the command
 *      page: unmap everything below and above the stub pages (program,
 *      libraries, stacks, vDSO, vvar), install the fault handler and the
 *      signal stack, then the stricter run filter; then int3: the parent
 *      sees the child stopped with nothing mapped but the stub pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvm_ptrace.h"

/*
 * The stub (assembled with GNU as, intel syntax, checked with objdump).
 * The command loop runs r13 system calls described at r12 (7 words each:
 * nr, six arguments), stops at the first that fails (rax = -errno, r13 =
 * calls left), and traps to the tracer with int3. The handler is where
 * the kernel delivers a guest's fault signal: it traps at once, so the
 * tracer can read the signal frame (trap number, error code, cr2).
 */
/* clang-format off */
static const uint8_t pt__loop[] = {
	0x4d, 0x85, 0xed,             /* 00 test r13, r13 */
	0x74, 0x35,                   /* 03 jz done (0x3a) */
	0x49, 0x8b, 0x04, 0x24,       /* 05 mov rax, [r12] */
	0x49, 0x8b, 0x7c, 0x24, 0x08, /* 09 mov rdi, [r12+8] */
	0x49, 0x8b, 0x74, 0x24, 0x10, /* 0e mov rsi, [r12+16] */
	0x49, 0x8b, 0x54, 0x24, 0x18, /* 13 mov rdx, [r12+24] */
	0x4d, 0x8b, 0x54, 0x24, 0x20, /* 18 mov r10, [r12+32] */
	0x4d, 0x8b, 0x44, 0x24, 0x28, /* 1d mov r8, [r12+40] */
	0x4d, 0x8b, 0x4c, 0x24, 0x30, /* 22 mov r9, [r12+48] */
	0x0f, 0x05,                   /* 27 syscall */
	0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff, /* 29 cmp rax, -4095 */
	0x73, 0x09,                   /* 2f jae done */
	0x49, 0x83, 0xc4, 0x38,       /* 31 add r12, 56 */
	0x49, 0xff, 0xcd,             /* 35 dec r13 */
	0xeb, 0xc6,                   /* 38 jmp loop (0x00) */
	0xcc,                         /* 3a done: int3 */
	0xeb, 0xfd,                   /* 3b jmp done */
};
/* clang-format on */

/* clang-format off */
static const uint8_t pt__handler[] = {
	0xcc,       /* int3: the tracer reads the frame */
	0xeb, 0xfd, /* jmp back to the int3 */
};
/* clang-format on */

void
kvm__pt_stub_write(uint8_t *page)
{
	memset(page, 0xcc, KVM__PAGE); /* int3 everywhere else */
	memcpy(page + PT_OFF_LOOP, pt__loop, sizeof(pt__loop));
	memcpy(page + PT_OFF_HANDLER, pt__handler, sizeof(pt__handler));
}

/* seccomp_data offsets */
#define SD_NR 0
#define SD_ARCH 4
#define SD_IP_LO 8
#define SD_IP_HI 12
#define SD_ARG_LO(i) (16 + 8 * (i))
#define SD_ARG_HI(i) (20 + 8 * (i))

#define LD(off) (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(v) (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, (v))
/* jump from instruction (at) to label (t) when equal, else to (f); a
 * label of 0 means the next instruction */
#define JOFF(at, to) ((to) ? (to) - (at)-1 : 0)
#define JEQ(k, at, t, f)                                                       \
	(struct sock_filter)                                                   \
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), JOFF(at, t), JOFF(at, f))
#define JGE(k, at, t, f)                                                       \
	(struct sock_filter)                                                   \
	    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (k), JOFF(at, t), JOFF(at, f))

/*
 * The filters. A call from the stub's syscall instruction is allowed only
 * for what the stub does: mmap of the slab (shared, fixed), munmap,
 * mprotect, and recvmsg, dup3 and close to put host descriptors in place
 * (kvm_hostfd_place; they touch only the process's own descriptors);
 * anything else from there kills the process. Every call from anywhere
 * else is the guest's: SECCOMP_RET_TRACE stops it for the tracer, which
 * serves it as an exit and skips it (the kernel never runs it), except
 * read, pread64, readv, preadv, preadv2 and lseek on a descriptor number
 * in [KVM_HOSTFD_BASE, +KVM_HOSTFD_MAX): those the kernel runs, without a
 * stop, on whatever host descriptor the tracer put there (none: EBADF).
 * A call into the vsyscall page, whose emulation asks seccomp, traps
 * (SIGSYS), and the tracer reports it as the fetch fault it is on KVM;
 * another architecture's call (int 0x80) stops for the tracer, which
 * reports the #GP KVM gives. The boot filter also allows what the boot
 * needs once: rt_sigaction and sigaltstack for the handler, and seccomp,
 * whose last use installs the run filter on top (filters stack and the
 * strictest answer wins, so both treat the guest's calls alike).
 */
static unsigned
pt__filter(struct sock_filter *f, int boot)
{
	static const uint32_t plain[] = {__NR_munmap, __NR_mprotect,
	    __NR_recvmsg, __NR_dup3, __NR_close, __NR_rt_sigaction,
	    __NR_sigaltstack, __NR_seccomp};
	static const uint32_t pass[] = {__NR_read, __NR_pread64, __NR_readv,
	    __NR_preadv, __NR_preadv2, __NR_lseek};
	const unsigned np = sizeof(pass) / sizeof(pass[0]);
	const uint64_t ip = PT_STUB + PT_OFF_SYSRET;
	const unsigned k = boot ? 8 : 5; /* plain calls allowed */
	const unsigned allow = 15 + k, vsys = allow + 1, guest = vsys + 4;
	const unsigned check = guest + 1 + np, trace = check + 5;
	const unsigned kill = trace + 1, pass_ok = kill + 1;
	unsigned n = 0, i;

	f[n] = LD(SD_ARCH), n++;
	f[n] = JEQ(AUDIT_ARCH_X86_64, n, 0, trace), n++;
	f[n] = LD(SD_IP_HI), n++;
	f[n] = JEQ(0xffffffffu, n, vsys, 0), n++;
	f[n] = JEQ((uint32_t)(ip >> 32), n, 0, guest), n++;
	f[n] = LD(SD_IP_LO), n++;
	f[n] = JEQ((uint32_t)ip, n, 0, guest), n++;
	f[n] = LD(SD_NR), n++;
	for (i = 0; i < k; i++)
		f[n] = JEQ(plain[i], n, allow, 0), n++;
	f[n] = JEQ(__NR_mmap, n, 0, kill), n++;
	f[n] = LD(SD_ARG_LO(4)), n++;
	f[n] = JEQ(PT_CHILD_MEMFD, n, 0, kill), n++;
	f[n] = LD(SD_ARG_HI(4)), n++;
	f[n] = JEQ(0, n, 0, kill), n++;
	f[n] = LD(SD_ARG_LO(3)), n++;
	f[n] = JEQ(MAP_SHARED | MAP_FIXED, n, 0, kill), n++;
	f[n] = RET(SECCOMP_RET_ALLOW), n++; /* allow */
	f[n] = LD(SD_IP_LO), n++;           /* vsys */
	f[n] = JGE(0xff600000u, n, 0, kill), n++;
	f[n] = JGE(0xff601000u, n, kill, 0), n++;
	f[n] = RET(SECCOMP_RET_TRAP), n++;
	f[n] = LD(SD_NR), n++; /* guest */
	for (i = 0; i < np; i++)
		f[n] = JEQ(pass[i], n, check, i + 1 < np ? 0 : trace), n++;
	f[n] = LD(SD_ARG_HI(0)), n++; /* check */
	f[n] = JEQ(0, n, 0, trace), n++;
	f[n] = LD(SD_ARG_LO(0)), n++;
	f[n] = JGE(KVM_HOSTFD_BASE, n, 0, trace), n++;
	f[n] = JGE(KVM_HOSTFD_BASE + KVM_HOSTFD_MAX, n, trace, pass_ok), n++;
	f[n] = RET(SECCOMP_RET_TRACE), n++;        /* trace */
	f[n] = RET(SECCOMP_RET_KILL_PROCESS), n++; /* kill */
	f[n] = RET(SECCOMP_RET_ALLOW), n++;        /* pass_ok */
	return n;
}

/* x86-64 kernel struct sigaction and stack_t */
struct pt_ksa {
	uint64_t handler, flags, restorer, mask;
};
struct pt_stack {
	uint64_t sp;
	int32_t flags, pad;
	uint64_t size;
};

#define PT_SA_FLAGS (SA_SIGINFO | SA_ONSTACK | SA_NODEFER | 0x04000000)

static const int pt__fault_sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};

void
kvm__pt_boot_prepare(
    struct pt_boot *b, uint8_t *slab, int memfd, int sock, uint64_t slab_bytes)
{
	uint64_t *c = (uint64_t *)(void *)(slab + 0x1000);
	struct sock_filter *run;
	struct sock_fprog prog;
	struct pt_ksa sa;
	struct pt_stack ss;
	unsigned i, n = 0;

	memset(b, 0, sizeof(*b));
	b->ppid = getpid();
	b->memfd = memfd;
	b->sock = sock;
	b->seized = (uint32_t *)(void *)(slab + 0x1000 + PT_DATA_SEIZED);
	*b->seized = 0;
	/* the guest may hold the whole slab, plus the stub pages */
	b->as_limit = slab_bytes + (1u << 20);
	if (__rseq_size > 0) {
		b->rseq = (uint64_t)(uintptr_t)__builtin_thread_pointer() +
		    (uint64_t)__rseq_offset;
		b->rseq_len = __rseq_size < 32 ? 32 : __rseq_size;
	}
	kvm__pt_stub_write(slab);
	memset(slab + 0x1000, 0, 3 * KVM__PAGE);
	*b->seized = 0;
#define CMD(nr, a0, a1, a2, a3)                                                \
	do {                                                                   \
		uint64_t *w = c + PT_CMD_WORDS * n++;                          \
		w[0] = (nr), w[1] = (a0), w[2] = (a1), w[3] = (a2);            \
		w[4] = (a3), w[5] = 0, w[6] = 0;                               \
	} while (0)
	CMD(__NR_munmap, 0, PT_STUB, 0, 0);
	CMD(__NR_munmap, PT_STUB_END, PT_TASK_END - PT_STUB_END, 0, 0);
	sa.handler = PT_STUB + PT_OFF_HANDLER;
	sa.flags = PT_SA_FLAGS;
	sa.restorer = PT_STUB + PT_OFF_HANDLER;
	sa.mask = 0;
	memcpy(slab + 0x1000 + PT_DATA_SA, &sa, sizeof(sa));
	for (i = 0; i < sizeof(pt__fault_sigs) / sizeof(pt__fault_sigs[0]); i++)
		CMD(__NR_rt_sigaction, (uint64_t)pt__fault_sigs[i],
		    PT_CMD + PT_DATA_SA, 0, 8);
	memset(&ss, 0, sizeof(ss));
	ss.sp = PT_ALT;
	ss.size = PT_ALT_SIZE;
	memcpy(slab + 0x1000 + PT_DATA_SS, &ss, sizeof(ss));
	CMD(__NR_sigaltstack, PT_CMD + PT_DATA_SS, 0, 0, 0);
	/* the run filter, from the command page (the child's copy of our
	 * memory is gone by then) */
	run = (struct sock_filter *)(void *)(slab + 0x1000 + PT_DATA_FILTER);
	prog.len = (unsigned short)pt__filter(run, 0);
	prog.filter =
	    (struct sock_filter *)(uintptr_t)(PT_CMD + PT_DATA_FILTER);
	memcpy(slab + 0x1000 + PT_DATA_PROG, &prog, sizeof(prog));
	CMD(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, PT_CMD + PT_DATA_PROG, 0);
#undef CMD
	b->ncmd = n;
	b->prog.len = (unsigned short)pt__filter(b->filter, 1);
	b->prog.filter = b->filter;
}

#define PT_NOSAN __attribute__((no_sanitize("address", "undefined")))

static inline __attribute__((always_inline)) long
pt__sys(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long r;

	__asm__ volatile(
	    "syscall"
	    : "=a"(r)
	    : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
	    : "rcx", "r11", "memory");
	return r;
}

static inline __attribute__((always_inline)) void
pt__limit(int res, uint64_t v)
{
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = v;
	(void)pt__sys(__NR_prlimit64, 0, res, (long)&rl, 0, 0, 0);
}

/* The child from the clone on; never returns. */
static PT_NOSAN __attribute__((noreturn, noinline)) void
pt__child(const struct pt_boot *b)
{
	uint64_t mask;
	unsigned i;
	long m, k;

	(void)pt__sys(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0, 0);
	if (pt__sys(__NR_getppid, 0, 0, 0, 0, 0, 0) != b->ppid)
		goto die;
	if (b->rseq != 0 &&
	    pt__sys(__NR_rseq, (long)b->rseq, b->rseq_len, 1 /* UNREGISTER */,
	        RSEQ_SIG, 0, 0) != 0)
		goto die;
	while (__atomic_load_n(b->seized, __ATOMIC_ACQUIRE) == 0)
		(void)pt__sys(
		    __NR_futex, (long)b->seized, FUTEX_WAIT, 0, 0, 0, 0);
	/* the memfd and the socket to their fixed numbers (through numbers
	 * above both, so that neither overwrites the other), the rest closed */
	m = pt__sys(__NR_fcntl, b->memfd, F_DUPFD, PT_CHILD_SOCK + 1, 0, 0, 0);
	k = pt__sys(__NR_fcntl, b->sock, F_DUPFD, PT_CHILD_SOCK + 1, 0, 0, 0);
	if (m < 0 || k < 0 ||
	    pt__sys(__NR_dup3, m, PT_CHILD_MEMFD, 0, 0, 0, 0) < 0 ||
	    pt__sys(__NR_dup3, k, PT_CHILD_SOCK, 0, 0, 0, 0) < 0)
		goto die;
	(void)pt__sys(__NR_close_range, 0, PT_CHILD_MEMFD - 1, 0, 0, 0, 0);
	(void)pt__sys(__NR_close_range, PT_CHILD_SOCK + 1, ~0u, 0, 0, 0, 0);
	pt__limit(RLIMIT_NOFILE, KVM_HOSTFD_BASE + KVM_HOSTFD_MAX);
	pt__limit(RLIMIT_NPROC, 0);
	pt__limit(RLIMIT_CORE, 0);
	pt__limit(RLIMIT_FSIZE, 0);
	pt__limit(RLIMIT_MEMLOCK, 0);
	pt__limit(RLIMIT_MSGQUEUE, 0);
	pt__limit(RLIMIT_LOCKS, 0);
	if (pt__sys(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0) != 0)
		goto die;
	/* only the fault signals reach the handler; a blocked fault signal
	 * would be forced to its default action instead */
	mask = ~0ull;
	for (i = 0; i < sizeof(pt__fault_sigs) / sizeof(pt__fault_sigs[0]); i++)
		mask &= ~(1ull << (pt__fault_sigs[i] - 1));
	mask &= ~(1ull << (SIGSYS - 1));
	(void)pt__sys(
	    __NR_rt_sigprocmask, SIG_SETMASK, (long)&mask, 0, 8, 0, 0);
	if (pt__sys(__NR_mmap, (long)PT_STUB, KVM__PAGE, PROT_READ | PROT_EXEC,
	        MAP_SHARED | MAP_FIXED, PT_CHILD_MEMFD, 0) != (long)PT_STUB ||
	    pt__sys(__NR_mmap, (long)PT_CMD, KVM__PAGE, PROT_READ,
	        MAP_SHARED | MAP_FIXED, PT_CHILD_MEMFD,
	        KVM__PAGE) != (long)PT_CMD ||
	    pt__sys(__NR_mmap, (long)PT_ALT, (long)PT_ALT_SIZE,
	        PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, PT_CHILD_MEMFD,
	        2 * KVM__PAGE) != (long)PT_ALT)
		goto die;
	pt__limit(RLIMIT_AS, b->as_limit);
	if (pt__sys(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&b->prog, 0,
	        0, 0) != 0)
		goto die;
	__asm__ volatile("mov %0, %%r12\n\t"
	                 "mov %1, %%r13\n\t"
	                 "jmp *%2"
	                 :
	                 : "r"((uint64_t)PT_CMD), "r"(b->ncmd),
	                 "r"((uint64_t)PT_STUB + PT_OFF_LOOP)
	                 : "r12", "r13", "memory");
	__builtin_unreachable();
die:
	for (;;)
		(void)pt__sys(__NR_exit_group, 127, 0, 0, 0, 0, 0);
}

/* Clones the child (a fork without the atfork handlers of a threaded
 * process). Returns its pid, or -1. */
PT_NOSAN pid_t
kvm__pt_spawn(struct pt_boot *b)
{
	long pid = pt__sys(__NR_clone, SIGCHLD, 0, 0, 0, 0, 0);

	if (pid == 0)
		pt__child(b);
	if (pid < 0) {
		errno = (int)-pid;
		return -1;
	}
	return (pid_t)pid;
}
