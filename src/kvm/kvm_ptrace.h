/*
 * kvm_ptrace.h: internals shared by the ptrace backend's two files: the
 * layout of the guest process's reserved pages, the stub's offsets, and
 * the boot of the guest process (kvm_ptrace_stub.c).
 */
#ifndef KVM_PTRACE_H
#define KVM_PTRACE_H

#include <linux/filter.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>
#include <time.h>

#include "kvm_int.h"

/*
 * The guest process holds four pages of its own, mapped from the first
 * four pages of the slab (whose KVM meaning, GDT/IDT/trampoline/IST, does
 * not apply here) at a fixed address no Linux program normally uses:
 *   PT_STUB        slab 0x0000  stub code, r-x
 *   PT_CMD         slab 0x1000  command list for the stub, r--
 *   PT_ALT         slab 0x2000  signal stack (2 pages), rw-
 * Guest mappings may not touch [PT_STUB, PT_STUB_END), and must lie in
 * what Linux gives a process: [mmap_min_addr, PT_TASK_END).
 */
#define PT_STUB 0x700000000000ull
#define PT_CMD (PT_STUB + 0x1000)
#define PT_ALT (PT_STUB + 0x2000)
#define PT_ALT_SIZE 0x2000ull
#define PT_STUB_END (PT_STUB + 0x4000)
#define PT_TASK_END 0x7ffffffff000ull

/* Stub code offsets (see kvm_ptrace_stub.c). */
#define PT_OFF_LOOP 0x00u
#define PT_OFF_SYSRET 0x29u /* after the one `syscall` instruction */
#define PT_OFF_DONE 0x3bu   /* rip after the loop's int3 */
#define PT_OFF_HANDLER 0x100u
#define PT_OFF_HANDLED 0x101u /* rip after the handler's int3 */

/* The command page: up to PT_CMD_MAX system calls of 7 words (nr and six
 * arguments), then data the boot commands point at. */
#define PT_CMD_MAX 64u
#define PT_CMD_WORDS 7u
#define PT_DATA_SA 0xe00u     /* struct k_sigaction for the handler */
#define PT_DATA_SS 0xe40u     /* stack_t for sigaltstack */
#define PT_DATA_PROG 0xe60u   /* struct sock_fprog of the run filter */
#define PT_DATA_FILTER 0xe70u /* its instructions (at most 49) */
#define PT_DATA_SEIZED 0xff8u /* boot: the parent has seized the child */

/* The descriptors the guest process keeps, at fixed numbers: the slab's
 * memfd and its end of the socket pair that brings host descriptors
 * (kvm_hostfd_place). Everything else is closed at the boot. */
#define PT_CHILD_MEMFD 3
#define PT_CHILD_SOCK 4

/* Where a descriptor is received: a msghdr, its iovec, one data byte and
 * the control buffer, at the bottom of the signal stack (frames are
 * written from the top; the stub runs only between faults). */
#define PT_RX_MSG 0x00u
#define PT_RX_IOV 0x40u
#define PT_RX_BYTE 0x50u
#define PT_RX_CTL 0x60u

/* What the child needs between clone and the stub, prepared before the
 * clone so that the child calls nothing but raw system calls. */
struct pt_boot {
	pid_t ppid;
	int memfd, sock;   /* in the parent; moved to PT_CHILD_* */
	uint32_t *seized;  /* in the slab, shared with the child */
	uint64_t ncmd;     /* boot commands in the command page */
	uint64_t as_limit; /* RLIMIT_AS for the child */
	uint64_t rseq;     /* the thread's rseq area (inherited), or 0 */
	uint32_t rseq_len;
	struct sock_filter filter[64];
	struct sock_fprog prog;
};

#define PT_DIRTY_MAX 16

/* One run of the guest process's actual map: [lo, hi) shows the slab
 * from offset gpa with the host protection prot. */
struct pt_run {
	uint64_t lo, hi, gpa;
	int prot;
};

/* Slab pages a pool reset zeroes in place (8 MiB); beyond, it punches. */
#define PT_KEEP_PAGES 2048u

/* Runs the process map may hold before it is treated as unknown. */
#define PT_HAVE_MAX 65536u

/* Work for the tracer thread. */
enum pt_op {
	PT_OP_NONE,
	PT_OP_SPAWN,
	PT_OP_RUN,
	PT_OP_QUIT,
	PT_OP_RAW, /* tests: one raw call through the stub */
	PT_OP_FD,  /* place or close a host descriptor */
};

struct kvm__pt {
	int memfd;
	int sock;               /* our end of the guest process's socket pair */
	uint64_t hostfds;       /* bit i: KVM_HOSTFD_BASE + i placed */
	uint64_t hostfds_stale; /* placed for an earlier user: to close */
	int fd_host, fd_guest;  /* PT_OP_FD arguments */
	pid_t pid;              /* the guest process; 0 when it is gone */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum pt_op op; /* request for the tracer thread */
	int done;
	enum kvm_err op_err;
	uint64_t budget_us; /* PT_OP_RUN arguments */
	struct kvm_exit *ex;
	uint64_t raw[7]; /* PT_OP_RAW: nr and arguments; raw[0]: result */
	timer_t timer;
	int timer_ok;
	uint64_t armed_until; /* the timer's expiry (CLOCK_MONOTONIC ns) */
	struct kvm__kick kick;
	struct user_regs_struct regs; /* the guest's registers */
	int regs_dirty;
	unsigned long long cs, ss; /* 64-bit user selectors */
	uint8_t *xinit, *xsave;    /* initial / saved FPU state */
	size_t xsize;
	int xreset; /* initial FPU state due */
	struct {
		uint64_t lo, hi;
	} dirty[PT_DIRTY_MAX];
	unsigned ndirty;
	int dirty_all;
	/* What the process has mapped now (sorted, disjoint), so that a sync
	 * maps only what differs and unmaps only what is there: after a pool
	 * reset the next tenant's identical layout costs no call at all.
	 * have_lost: not known (too many runs, or a failed sync); then the
	 * next sync unmaps every gap, as if anything could be there. */
	struct pt_run *have;
	unsigned nhave;
	int have_lost;
	unsigned in_size; /* width of a pending `in`, 0: none */
	int wstatus;      /* how the process ended */
};

/* kvm_ptrace_stub.c */
void kvm__pt_stub_write(uint8_t *page);
void kvm__pt_boot_prepare(
    struct pt_boot *b, uint8_t *slab, int memfd, int sock, uint64_t slab_bytes);
pid_t kvm__pt_spawn(struct pt_boot *b);

/* kvm_ptrace_fork.c: the mappings a clone must not inherit */
struct pt_marks {
	struct {
		uintptr_t lo, hi;
	} * r;
	size_t n, cap;
};
/* Marks every private anonymous writable mapping but those holding
 * (keep) and (stack) MADV_DONTFORK; kvm__pt_dofork() unmarks them. The
 * pair holds a process-wide lock: one clone at a time. */
void kvm__pt_dontfork(struct pt_marks *m, const void *keep, const void *stack);
void kvm__pt_dofork(struct pt_marks *m);

/* kvm_ptrace_trace.c */
void *kvm__pt_main(void *ctx);
enum kvm_err kvm__pt_call(struct kvm__pt *pt, enum pt_op op);
void kvm__pt_error(
    struct kvm_ctx *ctx, struct kvm_exit *ex, uint32_t reason, uint64_t detail);

#endif /* KVM_PTRACE_H */
