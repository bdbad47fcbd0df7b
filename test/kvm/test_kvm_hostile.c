/*
 * test_kvm_hostile.c: guests that try to get out. On either backend: a
 * raw system call is an exit and never executes; the vsyscall page (the
 * one way a process's code reaches the kernel without a syscall
 * instruction) is a fetch fault; writes to read-only pages, jumps to
 * unmapped memory, privileged instructions and endless loops all come
 * back as exits and leave the guest resumable. The ptrace backend's
 * sandbox on top: the guest process holds nothing but its pages and the
 * stub, no descriptor but the slab's and the socket host descriptors come
 * through, runs under seccomp, and dies with its context, with a seccomp
 * violation, and with the process that owns it; host descriptors placed
 * for a guest are read by the kernel and gone for the pool's next user.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvm_test.h"
#include "kvm_int.h"

static volatile sig_atomic_t t_usr1;

static void
t_on_usr1(int sig)
{
	(void)sig;
	t_usr1++;
}

/* kill(getppid-ish target, SIGUSR1), then exit_group(3), then halt: the
 * test's own pid goes in at offset 6. */
static void
test_raw_syscalls_never_execute(void **state)
{
	/* clang-format off */
	uint8_t code[] = {
		0xb8, 0x3e, 0x00, 0x00, 0x00, /* mov eax, 62 (kill) */
		0xbf, 0x00, 0x00, 0x00, 0x00, /* mov edi, <pid> */
		0xbe, 0x0a, 0x00, 0x00, 0x00, /* mov esi, 10 (SIGUSR1) */
		0x0f, 0x05,                   /* syscall */
		0xb8, 0xe7, 0x00, 0x00, 0x00, /* mov eax, 231 (exit_group) */
		0xbf, 0x03, 0x00, 0x00, 0x00, /* mov edi, 3 */
		0x0f, 0x05,                   /* syscall */
		T_HALT_EAX,
	};
	/* clang-format on */
	int32_t pid = (int32_t)getpid();
	struct sigaction sa;
	struct kvm_ctx *ctx;
	struct kvm_exit ex;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = t_on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	memcpy(code + 6, &pid, 4);
	ctx = t_ctx_code(code, sizeof(code));
	t_run(ctx, &ex, KVM_EXITK_SYSCALL);
	assert_int_equal(ex.u.syscall.nr, 62);
	assert_int_equal(ex.u.syscall.arg[0], (uint64_t)pid);
	assert_int_equal(ex.u.syscall.arg[1], SIGUSR1);
	kvm_syscall_return(ctx, (uint64_t)-EPERM);
	t_run(ctx, &ex, KVM_EXITK_SYSCALL);
	assert_int_equal(ex.u.syscall.nr, 231);
	/* the guest asked to exit and is still there */
	t_run(ctx, &ex, KVM_EXITK_HALT);
	assert_int_equal(ex.u.halt.status, 231);
	assert_int_equal(t_usr1, 0);
	kvm_ctx_free(ctx);
}

/* A call into the vsyscall page: on KVM an unmapped page; in a process
 * the kernel would emulate gettimeofday there, which the seccomp filter
 * traps. Either way a fetch fault at the target, and the guest goes on. */
static void
test_vsyscall_is_a_fault(void **state)
{
	/* clang-format off */
	static const uint8_t code[] = {
		0x48, 0xc7, 0xc0, 0x00, 0x00, 0x60, 0xff, /* mov rax, vsys */
		0xff, 0xd0,                               /* call rax */
		0xb8, 0x07, 0x00, 0x00, 0x00,             /* mov eax, 7 */
		T_HALT_EAX,
	};
	/* clang-format on */
	struct kvm_ctx *ctx = t_ctx_code(code, sizeof(code));
	struct kvm_guest_regs r;
	struct kvm_exit ex;

	(void)state;
	t_run(ctx, &ex, KVM_EXITK_PAGE_FAULT);
	assert_int_equal(ex.u.page_fault.addr, 0xffffffffff600000ull);
	assert_int_equal(ex.u.page_fault.access, KVM_ACCESS_EXEC);
	assert_int_equal(ex.u.page_fault.user, 1);
	kvm_regs_get(ctx, &r);
	assert_int_equal(r.rip, 0xffffffffff600000ull);
	assert_int_equal(r.rsp, T_STACK + 4096 - 8); /* the call's push */
	/* return to the caller by hand: the guest lives on */
	assert_int_equal(kvm_mem_read(ctx, r.rsp, &r.rip, 8), KVM_OK);
	assert_int_equal(r.rip, T_CODE + 9);
	r.rsp += 8;
	assert_int_equal(kvm_regs_set(ctx, &r), KVM_OK);
	t_run(ctx, &ex, KVM_EXITK_HALT);
	assert_int_equal(ex.u.halt.status, 7);
	kvm_ctx_free(ctx);
}

/* The guest overwrites its own code: refused, code unchanged. */
static void
test_write_to_own_code_refused(void **state)
{
	/* clang-format off */
	static const uint8_t code[] = {
		0x48, 0x8d, 0x05, 0xf9, 0xff, 0xff, 0xff, /* lea rax, [rip-7] */
		0xc6, 0x00, 0xcc,                         /* mov [rax], 0xcc */
		T_HALT_EAX,
	};
	/* clang-format on */
	struct kvm_ctx *ctx = t_ctx_code(code, sizeof(code));
	struct kvm_exit ex;
	uint8_t back[sizeof(code)];

	(void)state;
	t_run(ctx, &ex, KVM_EXITK_PAGE_FAULT);
	assert_int_equal(ex.u.page_fault.addr, T_CODE);
	assert_int_equal(ex.u.page_fault.access, KVM_ACCESS_WRITE);
	assert_int_equal(ex.u.page_fault.present, 1);
	assert_int_equal(kvm_mem_read(ctx, T_CODE, back, sizeof(back)), KVM_OK);
	assert_memory_equal(back, code, sizeof(code));
	kvm_ctx_free(ctx);
}

/* Jumps far away: unmapped user memory, the kernel half, a non-canonical
 * address (#GP, no fault address). */
static void
test_jumps_to_unmapped(void **state)
{
	static const uint8_t code[] = {0xff, 0xe3}; /* jmp rbx */
	static const struct {
		uint64_t to;
		enum kvm_exit_kind kind;
	} c[] = {
	    {0x10000000ull, KVM_EXITK_PAGE_FAULT},
	    {0x7ffffff00000ull, KVM_EXITK_PAGE_FAULT},
	    {0xffffffffffe02000ull, KVM_EXITK_PAGE_FAULT},
	    {0x0000900000000000ull, KVM_EXITK_EXCEPTION},
	};
	struct kvm_ctx *ctx = t_ctx_code(code, sizeof(code));
	struct kvm_guest_regs r;
	struct kvm_exit ex;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		kvm_regs_get(ctx, &r);
		r.rip = T_CODE;
		r.rbx = c[i].to;
		assert_int_equal(kvm_regs_set(ctx, &r), KVM_OK);
		t_run(ctx, &ex, c[i].kind);
		if (c[i].kind == KVM_EXITK_PAGE_FAULT) {
			assert_int_equal(ex.u.page_fault.addr, c[i].to);
			assert_int_equal(
			    ex.u.page_fault.access, KVM_ACCESS_EXEC);
		} else {
			assert_int_equal(ex.u.exception.vector, 13);
		}
	}
	kvm_ctx_free(ctx);
}

/* Privileged instructions: each a #GP exit, none with an effect. */
static void
test_privileged_instructions(void **state)
{
	static const uint8_t wrmsr[] = {0x0f, 0x30};
	static const uint8_t rdmsr[] = {0x0f, 0x32};
	static const uint8_t lgdt[] = {0x0f, 0x01, 0x13};   /* lgdt [rbx] */
	static const uint8_t invlpg[] = {0x0f, 0x01, 0x3b}; /* invlpg [rbx] */
	static const uint8_t outb[] = {0xe6, 0x80};         /* out 0x80, al */
	static const uint8_t inb[] = {0xec};                /* in al, dx (0) */
	static const uint8_t sti[] = {0xfb};
	static const uint8_t movcr0[] = {0x0f, 0x22, 0xc0}; /* mov cr0, rax */
	const struct {
		const uint8_t *code;
		size_t len;
	} c[] = {
	    {wrmsr, 2},
	    {rdmsr, 2},
	    {lgdt, 3},
	    {invlpg, 3},
	    {outb, 2},
	    {inb, 1},
	    {sti, 1},
	    {movcr0, 3},
	};
	struct kvm_guest_regs r;
	struct kvm_ctx *ctx;
	struct kvm_exit ex;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		ctx = t_ctx_code(c[i].code, c[i].len);
		kvm_regs_get(ctx, &r);
		r.rbx = T_STACK; /* a harmless operand for lgdt/invlpg */
		assert_int_equal(kvm_regs_set(ctx, &r), KVM_OK);
		t_run(ctx, &ex, KVM_EXITK_EXCEPTION);
		assert_int_equal(ex.u.exception.vector, 13);
		kvm_regs_get(ctx, &r);
		assert_int_equal(r.rip, T_CODE);
		kvm_ctx_free(ctx);
	}
}

/* A guest that never stops, not even for signals it cannot see: every
 * budget ends it, and the next run resumes it. */
static void
test_runs_forever_budget(void **state)
{
	/* clang-format off */
	static const uint8_t code[] = {
		0xfa,             /* cli (a #GP; skipped by the test) */
		0x48, 0xff, 0xc0, /* inc rax */
		0xeb, 0xfb,       /* jmp inc */
	};
	/* clang-format on */
	struct kvm_ctx *ctx = t_ctx_code(code, sizeof(code));
	struct kvm_guest_regs r;
	struct kvm_exit ex;
	uint64_t last = 0;
	int i, moved;

	(void)state;
	t_run(ctx, &ex, KVM_EXITK_EXCEPTION);
	kvm_regs_get(ctx, &r);
	r.rip += 1;
	assert_int_equal(kvm_regs_set(ctx, &r), KVM_OK);
	/* every run ends by its budget; the count goes on across runs (a
	 * loaded host may not schedule the guest within one short budget,
	 * so progress is asked of the series, boundedly) */
	for (i = 0, moved = 0; i < 200 && moved < 5; i++) {
		assert_int_equal(kvm_ctx_run(ctx, 3000, &ex), KVM_OK);
		assert_int_equal(ex.kind, KVM_EXITK_BUDGET);
		assert_true(ex.ran_ns >= 3000000ull);
		kvm_regs_get(ctx, &r);
		assert_true(r.rax >= last);
		moved += r.rax > last;
		last = r.rax;
	}
	assert_int_equal(moved, 5);
	kvm_ctx_free(ctx);
}

/* ---- the ptrace backend's sandbox ---- */

static int
t_proc_lines(pid_t pid, const char *file, const char *needle)
{
	char path[64], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (needle == NULL || strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

/* The guest process: its map holds the stub pages, the guest's pages and
 * (where the kernel has one) the vsyscall page, nothing else; one file
 * descriptor; seccomp filter mode; no new privileges. */
static void
test_ptrace_process_is_empty(void **state)
{
	static const uint8_t code[] = {T_HALT_EAX};
	struct kvm_ctx *ctx;
	struct kvm_exit ex;
	char path[64];
	struct dirent *d;
	pid_t pid;
	DIR *dir;
	int fds = 0, all, memfd, vsys;

	(void)state;
	if (t_is_kvm())
		skip();
	ctx = t_ctx_code(code, sizeof(code));
	t_run(ctx, &ex, KVM_EXITK_HALT); /* the map is applied at a run */
	pid = kvm__ptrace_pid(ctx);
	assert_true(pid > 0);
	all = t_proc_lines(pid, "maps", NULL);
	memfd = t_proc_lines(pid, "maps", "/memfd:mzero-guest");
	vsys = t_proc_lines(pid, "maps", "[vsyscall]");
	/* stub, command page, signal stack; code; stack */
	assert_int_equal(memfd, 5);
	assert_int_equal(all, memfd + vsys);
	assert_int_equal(t_proc_lines(pid, "maps", "[vdso]"), 0);
	assert_int_equal(t_proc_lines(pid, "status", "Seccomp:\t2"), 1);
	/* the boot filter and the stricter run filter on top */
	assert_int_equal(t_proc_lines(pid, "status", "Seccomp_filters:\t2"), 1);
	assert_int_equal(t_proc_lines(pid, "status", "NoNewPrivs:\t1"), 1);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	assert_non_null(dir = opendir(path));
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			fds++;
	closedir(dir);
	/* the slab's memfd and the socket that brings host descriptors */
	assert_int_equal(fds, 2);
	kvm_ctx_free(ctx);
}

/* The filter kills the process for any call the stub does not make: one
 * forbidden call injected through the stub ends it, and the context
 * reports an error exit from then on. What the boot needed once
 * (rt_sigaction) is forbidden after it; what the map needs is not. */
static void
test_ptrace_filter_kills_forbidden_call(void **state)
{
	static const uint8_t code[] = {T_HALT_EAX};
	const uint64_t getpid_call[7] = {SYS_getpid};
	const uint64_t open_call[7] = {SYS_openat, (uint64_t)AT_FDCWD, 0, 0};
	const uint64_t munmap_call[7] = {SYS_munmap, 0x10000000, 4096};
	const uint64_t sigaction_call[7] = {SYS_rt_sigaction, SIGSEGV, 0, 0, 8};
	struct kvm_ctx *ctx;
	struct kvm_exit ex;
	int st;

	(void)state;
	if (t_is_kvm())
		skip();
	ctx = t_ctx_code(code, sizeof(code));
	assert_int_equal(kvm__ptrace_raw(ctx, getpid_call), -1);
	assert_int_equal(kvm__ptrace_pid(ctx), 0);
	assert_int_equal(kvm_ctx_run(ctx, 100000, &ex), KVM_OK);
	assert_int_equal(ex.kind, KVM_EXITK_ERROR);
	kvm_ctx_free(ctx);
	ctx = t_ctx_code(code, sizeof(code));
	assert_int_equal(kvm__ptrace_raw(ctx, open_call), -1);
	kvm_ctx_free(ctx);
	ctx = t_ctx_code(code, sizeof(code));
	assert_int_equal(kvm__ptrace_raw(ctx, munmap_call), 0);
	assert_true(kvm__ptrace_pid(ctx) > 0);
	assert_int_equal(kvm__ptrace_raw(ctx, sigaction_call), -1);
	assert_int_equal(kvm__ptrace_pid(ctx), 0);
	kvm_ctx_free(ctx);
	/* the tracer reaped it: no child of ours is left */
	assert_int_equal(waitpid(-1, &st, WNOHANG | __WALL), -1);
	assert_int_equal(errno, ECHILD);
}

/* Host descriptors: a read on a placed number is the kernel's, with no
 * exit, on the caller's open file description (the offset moves for
 * both); a number of the range with nothing there is the kernel's EBADF;
 * a read outside the range exits as always. The pool's reset closes
 * what a user placed: the next user's read is EBADF. KVM has none. */
static void
test_ptrace_hostfd(void **state)
{
	/* clang-format off */
	static const uint8_t code[] = {
		0xb8, 0x00, 0x00, 0x00, 0x00, /* mov eax, 0 (read) */
		0xbf, 0x00, 0x01, 0x00, 0x00, /* mov edi, 256 */
		0xbe, 0x00, 0x00, 0x80, 0x00, /* mov esi, T_STACK */
		0xba, 0x05, 0x00, 0x00, 0x00, /* mov edx, 5 */
		0x0f, 0x05,                   /* syscall */
		T_HALT_EAX,
		0xb8, 0x00, 0x00, 0x00, 0x00, /* mov eax, 0 (read) */
		0xbf, 0x01, 0x01, 0x00, 0x00, /* mov edi, 257 */
		0xbe, 0x00, 0x00, 0x80, 0x00, /* mov esi, T_STACK */
		0xba, 0x05, 0x00, 0x00, 0x00, /* mov edx, 5 */
		0x0f, 0x05,                   /* syscall */
		T_HALT_EAX,
		0xb8, 0x00, 0x00, 0x00, 0x00, /* mov eax, 0 (read) */
		0xbf, 0xff, 0x00, 0x00, 0x00, /* mov edi, 255 */
		0x0f, 0x05,                   /* syscall */
	};
	/* clang-format on */
	struct kvm_config cfg = {0};
	struct kvm_pool *pool;
	struct kvm_ctx *ctx, *again;
	struct kvm_guest_regs r;
	struct kvm_exit ex;
	char buf[8] = {0};
	int fd;

	(void)state;
	fd = (int)syscall(SYS_memfd_create, "t-hostfd", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello, world", 12), 12);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(kvm_pool_new(&cfg, &pool), KVM_OK);
	assert_int_equal(kvm_pool_acquire(pool, 16u << 20, &ctx), KVM_OK);
	if (t_is_kvm()) {
		assert_int_equal(
		    kvm_hostfd_place(ctx, fd, KVM_HOSTFD_BASE), KVM_ERR_NODEV);
		goto out;
	}
	assert_int_equal(
	    kvm_hostfd_place(ctx, fd, KVM_HOSTFD_BASE - 1), KVM_ERR_RANGE);
	assert_int_equal(
	    kvm_hostfd_place(ctx, fd, KVM_HOSTFD_BASE + KVM_HOSTFD_MAX),
	    KVM_ERR_RANGE);
	t_code_in(ctx, code, sizeof(code));
	assert_int_equal(kvm_hostfd_place(ctx, fd, KVM_HOSTFD_BASE), KVM_OK);
	t_run(ctx, &ex, KVM_EXITK_HALT);
	assert_int_equal(ex.u.halt.status, 5);
	assert_int_equal(kvm_mem_read(ctx, T_STACK, buf, 5), KVM_OK);
	assert_string_equal(buf, "hello");
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 5); /* one description */
	t_run(ctx, &ex, KVM_EXITK_HALT);
	assert_int_equal(ex.u.halt.status, (uint32_t)-EBADF);
	t_run(ctx, &ex, KVM_EXITK_SYSCALL);
	assert_int_equal(ex.u.syscall.nr, 0);
	assert_int_equal(ex.u.syscall.arg[0], 255);
	/* the next user of the context finds nothing at 256 */
	kvm_pool_release(pool, ctx);
	assert_int_equal(kvm_pool_acquire(pool, 16u << 20, &again), KVM_OK);
	assert_ptr_equal(again, ctx);
	t_code_in(ctx, code, sizeof(code));
	t_run(ctx, &ex, KVM_EXITK_HALT);
	assert_int_equal(ex.u.halt.status, (uint32_t)-EBADF);
	/* placed and closed again: EBADF too */
	assert_int_equal(kvm_hostfd_place(ctx, fd, KVM_HOSTFD_BASE), KVM_OK);
	assert_int_equal(kvm_hostfd_close(ctx, KVM_HOSTFD_BASE), KVM_OK);
	kvm_regs_get(ctx, &r);
	r.rip = T_CODE; /* the read of 256 again */
	assert_int_equal(kvm_regs_set(ctx, &r), KVM_OK);
	t_run(ctx, &ex, KVM_EXITK_HALT);
	assert_int_equal(ex.u.halt.status, (uint32_t)-EBADF);
out:
	kvm_pool_release(pool, ctx);
	kvm_pool_free(pool);
	close(fd);
}

/* The guest process dies with its context. */
static void
test_ptrace_process_dies_with_context(void **state)
{
	static const uint8_t code[] = {0xeb, 0xfe};
	struct kvm_ctx *ctx;
	struct kvm_exit ex;
	pid_t pid;

	(void)state;
	if (t_is_kvm())
		skip();
	ctx = t_ctx_code(code, sizeof(code));
	assert_int_equal(kvm_ctx_run(ctx, 1000, &ex), KVM_OK);
	pid = kvm__ptrace_pid(ctx);
	assert_int_equal(kill(pid, 0), 0);
	kvm_ctx_free(ctx);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

/* ... and with its owner: a process that holds a context (with a guest
 * spinning in it) is killed; its guest process must follow. The test is
 * a subreaper, so the orphan comes to it and can be waited for. */
static void
test_ptrace_process_dies_with_owner(void **state)
{
	static const uint8_t code[] = {0xeb, 0xfe};
	int fd[2], st;
	pid_t owner, guest = 0, r;
	uint64_t t0;
	struct timespec ts;

	(void)state;
	if (t_is_kvm())
		skip();
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	assert_int_equal(pipe(fd), 0);
	owner = fork();
	assert_true(owner >= 0);
	if (owner == 0) {
		struct kvm_ctx *ctx;
		struct kvm_guest_regs g;
		struct kvm_exit ex;
		pid_t p = 0;

		if (kvm_ctx_new(NULL, 1u << 20, &ctx) == KVM_OK &&
		    kvm_mem_load(ctx, T_CODE, code, 2,
		        KVM_PROT_USER | KVM_PROT_EXEC) == KVM_OK) {
			memset(&g, 0, sizeof(g));
			g.rip = T_CODE;
			(void)kvm_regs_set(ctx, &g);
			(void)kvm_ctx_run(ctx, 1000, &ex);
			p = kvm__ptrace_pid(ctx);
		}
		if (write(fd[1], &p, sizeof(p)) != sizeof(p))
			_exit(1);
		/* a run without end: the owner is killed inside it */
		(void)kvm_ctx_run(ctx, 0, &ex);
		_exit(0);
	}
	close(fd[1]);
	assert_int_equal(read(fd[0], &guest, sizeof(guest)), sizeof(guest));
	close(fd[0]);
	assert_true(guest > 0);
	assert_int_equal(kill(owner, SIGKILL), 0);
	assert_int_equal(waitpid(owner, &st, 0), owner);
	/* bounded wait for the orphaned guest process to die */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (uint64_t)ts.tv_sec;
	do {
		r = waitpid(guest, &st, WNOHANG | __WALL);
		if (r == 0) {
			ts.tv_sec = 0;
			ts.tv_nsec = 10000000;
			nanosleep(&ts, NULL);
			clock_gettime(CLOCK_MONOTONIC, &ts);
		}
	} while (r == 0 && (uint64_t)ts.tv_sec - t0 < 10);
	assert_int_equal(r, guest);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}

/* A context whose guest process was killed from outside: error exits,
 * and the pool does not keep it. */
static void
test_ptrace_killed_process_is_error(void **state)
{
	static const uint8_t code[] = {0xeb, 0xfe};
	struct kvm_ctx *ctx;
	struct kvm_exit ex;

	(void)state;
	if (t_is_kvm())
		skip();
	ctx = t_ctx_code(code, sizeof(code));
	assert_int_equal(kill(kvm__ptrace_pid(ctx), SIGKILL), 0);
	assert_int_equal(kvm_ctx_run(ctx, 100000, &ex), KVM_OK);
	assert_int_equal(ex.kind, KVM_EXITK_ERROR);
	assert_int_equal(kvm_ctx_run(ctx, 100000, &ex), KVM_OK);
	assert_int_equal(ex.kind, KVM_EXITK_ERROR);
	kvm_ctx_free(ctx);
}

/* The FPU state is the guest's: a fault trip through the handler must
 * not clobber xmm registers, and a reset must clear them. */
static void
test_fpu_survives_faults_and_resets(void **state)
{
	/* clang-format off */
	static const uint8_t code[] = {
		0x66, 0x48, 0x0f, 0x6e, 0xc3, /* movq xmm0, rbx */
		0x0f, 0x0b,                   /* ud2 */
		0x66, 0x48, 0x0f, 0x7e, 0xc0, /* movq rax, xmm0 */
		T_HALT_EAX,
	};
	/* clang-format on */
	/* clang-format off */
	static const uint8_t peek[] = {
		0x66, 0x48, 0x0f, 0x7e, 0xc0, /* movq rax, xmm0 */
		T_HALT_EAX,
	};
	/* clang-format on */
	struct kvm_config cfg = {.slab_max = 8u << 20, .pool_max = 1};
	struct kvm_guest_regs r;
	struct kvm_pool *pool;
	struct kvm_ctx *c;
	struct kvm_exit ex;

	(void)state;
	assert_int_equal(kvm_pool_new(&cfg, &pool), KVM_OK);
	assert_int_equal(kvm_pool_acquire(pool, 1u << 20, &c), KVM_OK);
	assert_int_equal(kvm_mem_load(c, T_CODE, code, sizeof(code),
	                     KVM_PROT_USER | KVM_PROT_EXEC),
	    KVM_OK);
	memset(&r, 0, sizeof(r));
	r.rip = T_CODE, r.rbx = 0x1234abcd;
	assert_int_equal(kvm_regs_set(c, &r), KVM_OK);
	t_run(c, &ex, KVM_EXITK_EXCEPTION);
	kvm_regs_get(c, &r);
	r.rip += 2;
	assert_int_equal(kvm_regs_set(c, &r), KVM_OK);
	t_run(c, &ex, KVM_EXITK_HALT);
	assert_int_equal(ex.u.halt.status, 0x1234abcd);
	kvm_pool_release(pool, c);
	assert_int_equal(kvm_pool_acquire(pool, 1u << 20, &c), KVM_OK);
	assert_int_equal(kvm_mem_load(c, T_CODE, peek, sizeof(peek),
	                     KVM_PROT_USER | KVM_PROT_EXEC),
	    KVM_OK);
	memset(&r, 0, sizeof(r));
	r.rip = T_CODE;
	assert_int_equal(kvm_regs_set(c, &r), KVM_OK);
	t_run(c, &ex, KVM_EXITK_HALT);
	assert_int_equal(ex.u.halt.status, 0);
	kvm_pool_release(pool, c);
	kvm_pool_free(pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_raw_syscalls_never_execute),
	    cmocka_unit_test(test_vsyscall_is_a_fault),
	    cmocka_unit_test(test_write_to_own_code_refused),
	    cmocka_unit_test(test_jumps_to_unmapped),
	    cmocka_unit_test(test_privileged_instructions),
	    cmocka_unit_test(test_runs_forever_budget),
	    cmocka_unit_test(test_fpu_survives_faults_and_resets),
	    cmocka_unit_test(test_ptrace_process_is_empty),
	    cmocka_unit_test(test_ptrace_filter_kills_forbidden_call),
	    cmocka_unit_test(test_ptrace_process_dies_with_context),
	    cmocka_unit_test(test_ptrace_process_dies_with_owner),
	    cmocka_unit_test(test_ptrace_killed_process_is_error),
	    cmocka_unit_test(test_ptrace_hostfd),
	};

	t_require_kvm();
	return cmocka_run_group_tests_name("kvm_hostile", tests, NULL, NULL);
}
