/*
 * kvm_int.h: internals of the native-code core. Includes <linux/kvm.h> on
 * purpose: any clash between its ~650 KVM_* names and ours breaks the build.
 */
#ifndef KVM_INT_H
#define KVM_INT_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "kvm.h"

/*
 * Slab layout (guest-physical). The first KVM__RESV_PAGES pages are the
 * reserved area; the kernel half maps them at KVM__KBASE + gpa,
 * supervisor-only, so ring 3 can neither read nor write them and the user
 * map (lower half only) can never reach them. Page-table pages for the user
 * half come from the slab allocator like data pages but are never mapped.
 */
#define KVM__PAGE 4096ull
#define KVM__KBASE 0xffffffffffe00000ull /* top 2 MiB: disp32-addressable */
#define KVM__GPA_GDT 0x0000ull           /* GDT at +0, TSS at +KVM__TSS_OFF */
#define KVM__TSS_OFF 0x80ull
#define KVM__GPA_IDT 0x1000ull   /* 256 gates of 16 bytes */
#define KVM__GPA_TRAMP 0x2000ull /* ring-0 trampoline code */
#define KVM__GPA_STACK 0x3000ull /* cr2 slot at +0, IST1 stack at the top */
#define KVM__GPA_PML4 0x4000ull
#define KVM__GPA_KPDPT 0x5000ull
#define KVM__GPA_KPD 0x6000ull
#define KVM__GPA_KPT 0x7000ull
#define KVM__RESV_PAGES 8u
#define KVM__CR2_SLOT (KVM__GPA_STACK)
#define KVM__IST_TOP (KVM__GPA_STACK + KVM__PAGE)
/* The frame the exception stubs leave on the IST stack while exiting:
 * vector, error code, then the CPU's rip, cs, rflags, rsp, ss. */
#define KVM__FRAME (KVM__IST_TOP - 7 * 8)

/* Trampoline offsets within its page, and the ports it exits through.
 * Both ports lie outside the TSS I/O bitmap's allowed range, so ring 3
 * cannot fake a trampoline exit (it gets #GP). */
#define KVM__TR_STUB(v) ((uint64_t)(v)*16)
#define KVM__TR_COMMON 0x200u
#define KVM__TR_SYSCALL 0x300u
#define KVM__LSTAR (KVM__KBASE + KVM__GPA_TRAMP + KVM__TR_SYSCALL)
#define KVM__PORT_EXC 0xf0u
#define KVM__PORT_SYSCALL 0xf1u

/* Selectors; STAR makes sysret load CS 0x2b and SS 0x23. */
#define KVM__SEL_KCODE 0x08u
#define KVM__SEL_KDATA 0x10u
#define KVM__SEL_UDATA 0x23u
#define KVM__SEL_UCODE 0x2bu
#define KVM__SEL_TSS 0x30u
#define KVM__TSS_LIMIT (104u + (KVM_PORT_BASE + KVM_PORT_COUNT) / 8u)

/* rflags bits the guest (or the caller) may hold: CF PF AF ZF SF TF DF OF
 * AC ID. IF and the reserved bit 1 are always set; IOPL stays 0. */
#define KVM__RFLAGS_USER 0x240dd5ull
#define KVM__RFLAGS_FIXED 0x202ull

/* Page-table entry bits. */
#define KVM__PTE_P 0x1ull
#define KVM__PTE_W 0x2ull
#define KVM__PTE_U 0x4ull
#define KVM__PTE_NX (1ull << 63)
#define KVM__PTE_ADDR 0x000ffffffffff000ull
/* Software bit (ignored by the MMU) that records KVM_PROT_READ. */
#define KVM__PTE_R (1ull << 9)

/* What a preemption signal acts on (sival_ptr of the per-context timer):
 * KVM sets immediate_exit in the run page; the ptrace backend interrupts
 * its tracee (the handler runs on the tracer thread, the only thread that
 * may). */
struct kvm__kick {
	struct kvm_run *run;
	pid_t pid;
	volatile sig_atomic_t fired;
};

struct kvm__pt; /* the ptrace backend's state (kvm_ptrace.c) */

/* A backend: what differs between running the guest in a KVM vCPU and in
 * a traced host process. The map bookkeeping (page tables in the slab),
 * the ELF loader and the pool are shared. */
struct kvm__ops {
	const char *name;
	enum kvm_err (*create)(struct kvm_ctx *ctx); /* slab and machine */
	void (*destroy)(struct kvm_ctx *ctx);
	enum kvm_err (*reset)(struct kvm_ctx *ctx);  /* for the pool */
	enum kvm_err (*resize)(struct kvm_ctx *ctx); /* limit changed */
	enum kvm_err (*run)(
	    struct kvm_ctx *ctx, uint64_t budget_us, struct kvm_exit *ex);
	void (*regs_get)(struct kvm_ctx *ctx, struct kvm_guest_regs *g);
	enum kvm_err (*regs_set)(
	    struct kvm_ctx *ctx, const struct kvm_guest_regs *g);
	void (*syscall_return)(struct kvm_ctx *ctx, uint64_t value);
	void (*io_in_set)(struct kvm_ctx *ctx, uint32_t value);
	/* [gva, gva+len) changed in the map (all of it when len is 0) */
	void (*map_changed)(
	    struct kvm_ctx *ctx, kvm_gva_t gva, uint64_t len, int narrowed);
	/* extra range rule (the host's user space); NULL: the user half */
	int (*range_ok)(kvm_gva_t gva, uint64_t len);
	/* kvm_hostfd_place (hostfd >= 0) or _close (hostfd < 0); NULL: the
	 * backend has no host descriptors */
	enum kvm_err (*hostfd)(struct kvm_ctx *ctx, int hostfd, int guestfd);
};

/* Where the vCPU stands after the last exit, which decides how the ring-3
 * registers are read and written (see kvm_x86_64.c). */
enum kvm__state {
	KVM__ST_USER,    /* vCPU in ring 3: registers are the guest's */
	KVM__ST_SYSCALL, /* in the trampoline after `syscall`: rcx/r11 */
	KVM__ST_EXC,     /* in the trampoline after a trap: frame on IST */
	KVM__ST_BROKEN,  /* unexpected exit: only free/release allowed */
};

struct kvm_ctx {
	const struct kvm__ops *ops;
	struct kvm__pt *pt; /* ptrace backend, else NULL */
	struct kvm_config cfg;
	int vmfd, vcpufd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *slab;       /* cfg.slab_max bytes reserved, NORESERVE */
	uint64_t slab_pages; /* pages reserved */
	uint64_t limit;      /* pages the current user may hold */
	uint64_t slot_pages; /* pages in the KVM memory slot (>= limit) */
	uint64_t *bitmap;    /* one bit per slab page: allocated */
	uint64_t used;       /* allocated pages incl. reserved */
	uint64_t hint;       /* next page to try */
	uint64_t hiwater;    /* pages below this may be allocated */
	uint64_t dirty_hi;   /* pages at or above this are known zero */
	enum kvm__state state;
	uint64_t fs_base, gs_base;
	int bases_dirty;
	int tlb_dirty;    /* a present PTE was removed or narrowed */
	int ran;          /* KVM_RUN since the slot was last (re)added */
	uint8_t *in_data; /* pending `in` data in the run page, or NULL */
	unsigned in_size;
	timer_t timer;
	pid_t timer_tid; /* thread the timer signals; 0: no timer */
	struct kvm__kick kick;
	struct kvm_sregs sregs0;  /* initial special registers */
	struct kvm_xsave *xsave0; /* initial FPU/SSE/AVX state, or NULL */
	struct kvm_ctx *next;     /* pool idle list */
};

/* kvm.c */
extern const struct kvm__ops kvm__ops_kvm;
extern const struct kvm__ops kvm__ops_ptrace;
extern int kvm__devfd;
extern struct kvm_cpuid2 *kvm__cpuid;
extern int kvm__run_size;
enum kvm_err kvm__global_init(void);
uint8_t *kvm__gpa(struct kvm_ctx *ctx, uint64_t gpa, uint64_t len);
enum kvm_err kvm__page_alloc(struct kvm_ctx *ctx, uint64_t *gpa);
void kvm__page_free(struct kvm_ctx *ctx, uint64_t gpa);
void kvm__slab_reset(struct kvm_ctx *ctx);
enum kvm_err kvm__slot_reset(struct kvm_ctx *ctx);
enum kvm_err kvm__slot_set(struct kvm_ctx *ctx, int present);
uint64_t kvm__pages_for(uint64_t bytes);

/* kvm_vcpu.c */
uint64_t kvm__now_ns(void);
enum kvm_err kvm__timer_make(timer_t *timer, struct kvm__kick *kick);
void kvm__timer_arm_raw(timer_t timer, uint64_t ns);
enum kvm_err kvm__kvm_run(
    struct kvm_ctx *ctx, uint64_t budget_us, struct kvm_exit *ex);
void kvm__kvm_io_in_set(struct kvm_ctx *ctx, uint32_t value);
void kvm__page_fault_exit(struct kvm_exit *ex, uint64_t addr, uint32_t ec);
void kvm__syscall_exit(struct kvm_exit *ex, uint64_t nr, const uint64_t arg[6]);

/* kvm_x86_64.c */
enum kvm_err kvm__arch_init(struct kvm_ctx *ctx);
enum kvm_err kvm__arch_reset(struct kvm_ctx *ctx);
void kvm__tables_write(struct kvm_ctx *ctx);
int kvm__canonical(uint64_t a);
uint64_t *kvm__walk(
    struct kvm_ctx *ctx, uint64_t gva, int create, enum kvm_err *err);
enum kvm_err kvm__apply_bases(struct kvm_ctx *ctx);
void kvm__raw_dump(struct kvm_ctx *ctx, struct kvm_exit *ex);
void kvm__kvm_regs_get(struct kvm_ctx *ctx, struct kvm_guest_regs *g);
enum kvm_err kvm__kvm_regs_set(
    struct kvm_ctx *ctx, const struct kvm_guest_regs *g);
void kvm__kvm_syscall_return(struct kvm_ctx *ctx, uint64_t value);
int kvm__regs_valid(const struct kvm_guest_regs *g);

/* kvm_tramp.c */
void kvm__tramp_write(uint8_t *page);

/* kvm_mmap.c */
uint64_t kvm__prot_pte(unsigned prot);
enum kvm_err kvm__map_union(struct kvm_ctx *ctx, kvm_gva_t gva, unsigned prot);
uint64_t *kvm__leaf(struct kvm_ctx *ctx, kvm_gva_t gva);
int kvm__find(struct kvm_ctx *ctx, kvm_gva_t *gva, uint64_t *pte);

/* kvm_ptrace.c */
enum kvm_err kvm__ptrace_probe(void);
pid_t kvm__ptrace_pid(const struct kvm_ctx *ctx);
int64_t kvm__ptrace_raw(struct kvm_ctx *ctx, const uint64_t call[7]);

#endif /* KVM_INT_H */
