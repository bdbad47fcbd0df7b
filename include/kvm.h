/*
 * kvm.h: native code under messenger control. A context is one KVM VM with
 * one vCPU and a guest-physical slab. The caller states the guest's virtual
 * memory map page by page; the core builds the x86-64 page tables, loads
 * raw bytes or static ELF executables, and runs the guest in ring 3 under a
 * tiny ring-0 trampoline that turns every trap (syscall, exception, page
 * fault) into an exit record for the caller, who may then change registers
 * and memory and resume. No MØ, no libuv: plain C, usable from any thread
 * (one thread at a time per context). See docs/kvm.md for the design.
 *
 * Guest ABI (the "hypercall convention"): ring-3 code may use `out` and
 * `in` on ports KVM_PORT_BASE .. KVM_PORT_BASE + KVM_PORT_COUNT - 1 (the
 * TSS I/O bitmap allows exactly these; any other port raises #GP).
 *   out to KVM_PORT_HALT        exit kind KVM_EXITK_HALT, status = value
 *   in/out to any other of them exit kind KVM_EXITK_IO
 * `hlt` in ring 3 is a #GP (exit kind KVM_EXITK_EXCEPTION, vector 13).
 */
#ifndef KVM_H
#define KVM_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t kvm_gva_t; /* guest virtual address */

#define KVM_PAGE_SIZE 4096u
#define KVM_PORT_BASE 0x500u
#define KVM_PORT_COUNT 16u
#define KVM_PORT_HALT KVM_PORT_BASE
/* Lowest address above the user half; user mappings end below it. */
#define KVM_USER_END 0x0000800000000000ull
/* Default stack for kvm_elf_stack() when the caller leaves top/size 0. */
#define KVM_STACK_TOP 0x00007ffffffff000ull
#define KVM_STACK_SIZE (256u * 1024u)
/* Real-time signal offset (SIGRTMIN + n) that preempts a running vCPU. */
#define KVM_SIGNAL_RT 5

struct kvm_ctx;  /* a VM, its vCPU and its slab */
struct kvm_pool; /* idle reset contexts */

/* Error codes: one list generates the enum and kvm_strerror(). */
#define KVM_ERRMAP(X)                                                          \
	X(NODEV, "/dev/kvm cannot be opened")                                  \
	X(API, "KVM API version or a needed capability is missing")            \
	X(SYS, "a KVM or system call failed")                                  \
	X(NOMEM, "out of host memory")                                         \
	X(INVAL, "invalid argument")                                           \
	X(LIMIT, "context limit reached")                                      \
	X(SLAB_CAP, "requested slab exceeds the configured cap")               \
	X(SLAB_FULL, "guest slab has no free page")                            \
	X(ALIGN, "address or length not page aligned")                         \
	X(RANGE, "address range outside the user half")                        \
	X(MAPPED, "page already mapped")                                       \
	X(UNMAPPED, "page not mapped")                                         \
	X(REGS, "register value rejected (non-canonical address)")             \
	X(END, "no more ranges")                                               \
	X(ELF_SHORT, "ELF: file shorter than its header")                      \
	X(ELF_MAGIC, "ELF: bad magic")                                         \
	X(ELF_CLASS, "ELF: not 64-bit little-endian version 1")                \
	X(ELF_MACHINE, "ELF: not x86-64")                                      \
	X(ELF_TYPE, "ELF: not ET_EXEC or ET_DYN")                              \
	X(ELF_PHDR, "ELF: program header table out of bounds")                 \
	X(ELF_INTERP, "ELF: dynamic executable (PT_INTERP) not supported")     \
	X(ELF_NOLOAD, "ELF: no loadable segment")                              \
	X(ELF_TOOMANY, "ELF: too many loadable segments")                      \
	X(ELF_SEGMENT, "ELF: segment file range out of bounds")                \
	X(ELF_MEMSZ, "ELF: segment file size exceeds memory size")             \
	X(ELF_ADDR, "ELF: segment address out of range")                       \
	X(ELF_ALIGN, "ELF: segment offset and address not congruent")          \
	X(ELF_OVERLAP, "ELF: segments overlap or are out of order")            \
	X(ELF_ENTRY, "ELF: entry point out of range")                          \
	X(ELF_BASE, "ELF: load base not page aligned or out of range")         \
	X(STACK, "initial stack does not fit")

enum kvm_err {
	KVM_OK = 0,
#define KVM__E(id, s) KVM_ERR_##id,
	KVM_ERRMAP(KVM__E)
#undef KVM__E
	    KVM_ERR_N
};

/* Page protection bits for kvm_mem_map() and kvm_mem_protect(). A page
 * without KVM_PROT_USER is supervisor-only: ring-3 guest code faults on it.
 * Every mapped page is readable by the CPU (x86 has no write-only pages);
 * KVM_PROT_READ is recorded for kvm_mem_next() only. */
enum kvm_prot {
	KVM_PROT_READ = 1,
	KVM_PROT_WRITE = 2,
	KVM_PROT_EXEC = 4,
	KVM_PROT_USER = 8,
};

struct kvm_config {
	uint64_t slab_max; /* bytes; 0: 1 GiB; at most 3 GiB */
	uint32_t pool_max; /* idle contexts a pool keeps; 0: 8 */
	uint32_t ctx_max;  /* live contexts a pool hands out; 0: 64 */
};

/* Registers the caller sees: always the ring-3 view of the guest. */
struct kvm_guest_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags, fs_base, gs_base;
};

enum kvm_exit_kind {
	KVM_EXITK_HALT,       /* out to KVM_PORT_HALT */
	KVM_EXITK_IO,         /* in/out to another hypercall port */
	KVM_EXITK_SYSCALL,    /* `syscall` instruction */
	KVM_EXITK_PAGE_FAULT, /* #PF (vector 14) */
	KVM_EXITK_EXCEPTION,  /* any other of the 32 exception vectors */
	KVM_EXITK_BUDGET,     /* time budget used up */
	KVM_EXITK_ERROR,      /* unexpected KVM exit; context unusable */
};

enum kvm_access {
	KVM_ACCESS_READ,
	KVM_ACCESS_WRITE,
	KVM_ACCESS_EXEC,
};

struct kvm_exit {
	enum kvm_exit_kind kind;
	uint64_t ran_ns; /* wall time of this kvm_ctx_run() call */
	union {
		struct {
			uint32_t status; /* value written to the port */
		} halt;
		struct {
			uint16_t port;
			uint8_t size;   /* 1, 2 or 4 bytes */
			uint8_t out;    /* 1: out (guest writes), 0: in */
			uint32_t count; /* >1 for rep outs/ins */
			uint32_t value; /* out: first value written */
		} io;
		struct {
			uint64_t nr;     /* rax */
			uint64_t arg[6]; /* rdi rsi rdx r10 r8 r9 */
		} syscall;
		struct {
			kvm_gva_t addr; /* cr2 */
			uint32_t error_code;
			enum kvm_access access;
			uint8_t user;    /* fault raised in ring 3 */
			uint8_t present; /* protection violation, not a miss */
		} page_fault;
		struct {
			uint32_t vector;
			uint32_t error_code; /* 0 for vectors without one */
		} exception;
		struct {
			uint32_t reason; /* KVM exit_reason, or 0 */
			uint64_t detail; /* hardware or internal error code */
			struct kvm_guest_regs regs; /* raw vCPU registers */
			uint64_t cr0, cr2, cr3, cr4, efer;
			uint16_t cs, ss;
		} error;
	} u;
};

/* One run of pages with equal protection, as kvm_mem_next() reports it. */
struct kvm_range {
	kvm_gva_t start;
	uint64_t len;
	unsigned prot; /* enum kvm_prot bits */
};

/* What kvm_elf_check() found and kvm_elf_load() loaded. */
struct kvm_elf_info {
	kvm_gva_t entry; /* e_entry + base */
	kvm_gva_t base;  /* 0 for ET_EXEC */
	kvm_gva_t phdr;  /* address of the program headers, or 0 */
	uint32_t phnum, phent;
	kvm_gva_t lo, hi; /* page-aligned span of the PT_LOAD segments */
	int is_dyn;       /* ET_DYN (static-PIE) */
};

/* Arguments of kvm_elf_stack(). Zero/NULL fields take the defaults. */
struct kvm_stack_args {
	const char *const *argv; /* NULL-terminated; NULL: { "prog", NULL } */
	const char *const *envp; /* NULL-terminated; NULL: empty */
	kvm_gva_t top;           /* 0: KVM_STACK_TOP */
	uint64_t size;           /* 0: KVM_STACK_SIZE */
	const uint8_t *random;   /* 16 bytes for AT_RANDOM; NULL: getrandom */
};

/*
 * kvm_strerror: a constant English message for (err); never NULL.
 */
const char *kvm_strerror(enum kvm_err err);

/*
 * kvm_probe: chooses the backend once per process and checks that it
 * works: KVM when /dev/kvm opens and offers what the core needs, else the
 * ptrace backend (the guest runs in a traced, sandboxed host process; see
 * docs/kvm.md). The environment variable MZERO_NATIVE=kvm or =ptrace
 * forces one (=auto or unset: the default choice).
 * Returns KVM_OK, or KVM_ERR_NODEV / KVM_ERR_API (no KVM, and no ptrace
 * backend either, or the forced one fails), KVM_ERR_SYS (ptrace forced
 * and unusable), KVM_ERR_INVAL (MZERO_NATIVE names no backend).
 */
enum kvm_err kvm_probe(void);

/*
 * kvm_backend: the name of the active backend, "kvm" or "ptrace", or
 * "none" when kvm_probe() fails. Constant string.
 */
const char *kvm_backend(void);

/*
 * kvm_ctx_new: creates a cold context: a VM, one vCPU in ring 3, a slab of
 * (slab_size) bytes (rounded up to pages, at most (cfg)->slab_max), an empty
 * user map and zeroed registers. (cfg) may be NULL for the defaults and is
 * copied. The caller owns *(out) and frees it with kvm_ctx_free().
 * Returns KVM_OK; on error *(out) is NULL and nothing leaks.
 */
enum kvm_err kvm_ctx_new(
    const struct kvm_config *cfg, uint64_t slab_size, struct kvm_ctx **out);

/*
 * kvm_ctx_free: destroys (ctx) and all its memory; NULL is ignored. Must not
 * run while another thread is inside kvm_ctx_run() on (ctx).
 */
void kvm_ctx_free(struct kvm_ctx *ctx);

/*
 * Host descriptors in the guest (ptrace backend only): a guest process
 * may hold real host descriptors at the numbers [KVM_HOSTFD_BASE,
 * KVM_HOSTFD_BASE + KVM_HOSTFD_MAX). Its read, pread64, readv, preadv,
 * preadv2 and lseek calls on those numbers are run by the host kernel
 * without an exit; every other call, and these calls on other numbers,
 * exit as always. A pool reset closes them.
 */
#define KVM_HOSTFD_BASE 256
#define KVM_HOSTFD_MAX 64

/*
 * kvm_hostfd_place: puts a duplicate of (hostfd), which refers to the
 * same open file description (offset shared), at (guestfd) in the guest,
 * replacing what was there. The caller keeps (hostfd). Give only
 * read-only descriptors of files the guest may read.
 * Returns KVM_OK, KVM_ERR_RANGE (guestfd outside the range), KVM_ERR_NODEV
 * (the KVM backend has no host descriptors), KVM_ERR_SYS.
 */
enum kvm_err kvm_hostfd_place(struct kvm_ctx *ctx, int hostfd, int guestfd);

/* kvm_hostfd_close: closes (guestfd) in the guest (nothing there: OK). */
enum kvm_err kvm_hostfd_close(struct kvm_ctx *ctx, int guestfd);

/*
 * kvm_ctx_mem_used: bytes of slab held by (ctx): mapped pages plus page
 * tables and the reserved area. For charging.
 */
uint64_t kvm_ctx_mem_used(const struct kvm_ctx *ctx);

/*
 * kvm_pool_new: creates a pool that hands out contexts and takes them back
 * reset (see kvm_pool_release). (cfg) may be NULL and is copied. The caller
 * frees *(out) with kvm_pool_free(). Thread-safe (one mutex).
 * Returns KVM_OK, or KVM_ERR_NOMEM.
 */
enum kvm_err kvm_pool_new(const struct kvm_config *cfg, struct kvm_pool **out);

/*
 * kvm_pool_free: destroys (pool) and its idle contexts. Contexts still out
 * must have been released before; NULL is ignored.
 */
void kvm_pool_free(struct kvm_pool *pool);

/*
 * kvm_pool_acquire: hands out a context whose usable slab is (slab_size)
 * bytes: an idle reset one when there is one (cheap), else a cold one.
 * The context belongs to the caller until kvm_pool_release().
 * Returns KVM_OK; KVM_ERR_LIMIT when ctx_max contexts are out; the errors
 * of kvm_ctx_new().
 */
enum kvm_err kvm_pool_acquire(
    struct kvm_pool *pool, uint64_t slab_size, struct kvm_ctx **out);

/*
 * kvm_pool_release: takes (ctx) back from its user. The context is reset:
 * every user mapping and page table is dropped (pages are zeroed when next
 * allocated), registers, FPU/SSE/AVX state, fs/gs bases and pending
 * events return to their initial values. Kept idle if the pool has room,
 * else freed. (ctx) must come from kvm_pool_acquire() on (pool).
 */
void kvm_pool_release(struct kvm_pool *pool, struct kvm_ctx *ctx);

/*
 * kvm_pool_warm: creates one context into the idle list of (pool) (unless
 * it holds pool_max already), with the first (populate) bytes of its
 * usable slab made resident, so that the first user neither waits for
 * the creation nor faults those pages in one at a time (on a virtual
 * machine a first touch can cost ~10 µs a page). Meant for a thread of
 * its own at start-up. Returns KVM_OK or the creation's error.
 */
enum kvm_err kvm_pool_warm(struct kvm_pool *pool, uint64_t populate);

/*
 * kvm_pool_idle: number of idle contexts in (pool).
 */
unsigned kvm_pool_idle(struct kvm_pool *pool);

/*
 * kvm_mem_map: maps (len) bytes at (gva), both page aligned, with (prot)
 * (enum kvm_prot bits). Fresh zeroed pages come from the slab. All pages
 * must be unmapped before; on error nothing changes. A range larger than
 * the free slab is refused at once, so the cost is bounded by the slab.
 * Returns KVM_OK, or KVM_ERR_ALIGN, RANGE, MAPPED, SLAB_FULL.
 */
enum kvm_err kvm_mem_map(
    struct kvm_ctx *ctx, kvm_gva_t gva, uint64_t len, unsigned prot);

/*
 * kvm_mem_unmap: unmaps the pages of [gva, gva+len) that are mapped and
 * returns them to the slab; unmapped pages in the range are skipped (in
 * whole empty tables at a time: the cost is what is mapped, not len).
 * Returns KVM_OK, or KVM_ERR_ALIGN, RANGE.
 */
enum kvm_err kvm_mem_unmap(struct kvm_ctx *ctx, kvm_gva_t gva, uint64_t len);

/*
 * kvm_mem_protect: sets (prot) on every page of [gva, gva+len); all must be
 * mapped, else KVM_ERR_UNMAPPED and nothing changes.
 * Returns KVM_OK, or KVM_ERR_ALIGN, RANGE, UNMAPPED.
 */
enum kvm_err kvm_mem_protect(
    struct kvm_ctx *ctx, kvm_gva_t gva, uint64_t len, unsigned prot);

/*
 * kvm_mem_next: inspects the map. Finds the first mapped page at or above
 * *(cursor) and reports the longest run of consecutive pages with the same
 * protection in *(out); advances *(cursor) past it.
 * Returns KVM_OK, or KVM_ERR_END when nothing is mapped above *(cursor).
 */
enum kvm_err kvm_mem_next(
    struct kvm_ctx *ctx, kvm_gva_t *cursor, struct kvm_range *out);

/*
 * kvm_mem_read: copies (len) bytes of guest memory at (gva) to (buf).
 * Every page touched must be mapped (any protection: the caller is the
 * guest's operating system); otherwise nothing is copied.
 * Returns KVM_OK, or KVM_ERR_RANGE, UNMAPPED.
 */
enum kvm_err kvm_mem_read(
    struct kvm_ctx *ctx, kvm_gva_t gva, void *buf, size_t len);

/*
 * kvm_mem_write: copies (len) bytes from (buf) into guest memory at (gva),
 * with the same checks as kvm_mem_read(); all or nothing.
 */
enum kvm_err kvm_mem_write(
    struct kvm_ctx *ctx, kvm_gva_t gva, const void *buf, size_t len);

/*
 * kvm_mem_load: maps the pages covering [gva, gva+len) with (prot) (gva need
 * not be aligned) and copies (bytes) there: "raw bytes at an address".
 * Returns as kvm_mem_map(); on error the new pages are unmapped again.
 */
enum kvm_err kvm_mem_load(struct kvm_ctx *ctx, kvm_gva_t gva, const void *bytes,
    size_t len, unsigned prot);

/*
 * kvm_regs_get: fills (regs) with the guest's ring-3 registers. After a
 * syscall exit rip is the instruction after `syscall` and rcx/r11 hold
 * rip/rflags as Linux leaves them; after a fault rip is the faulting
 * instruction.
 */
void kvm_regs_get(struct kvm_ctx *ctx, struct kvm_guest_regs *regs);

/*
 * kvm_regs_set: sets the ring-3 registers used by the next kvm_ctx_run().
 * rflags is sanitised (IOPL 0, IF 1, no VM/NT/RF). After a syscall exit rcx
 * and r11 are overwritten by rip and rflags, as `sysret` would.
 * Returns KVM_OK, or KVM_ERR_REGS when rip, rsp, fs_base or gs_base is not
 * a canonical address (nothing is changed then).
 */
enum kvm_err kvm_regs_set(
    struct kvm_ctx *ctx, const struct kvm_guest_regs *regs);

/*
 * kvm_syscall_return: sets rax to (value): the cheap way to answer a
 * syscall exit before resuming.
 */
void kvm_syscall_return(struct kvm_ctx *ctx, uint64_t value);

/*
 * kvm_io_in_set: the value the guest's pending `in` (exit kind IO with
 * out == 0) receives when resumed; default 0.
 */
void kvm_io_in_set(struct kvm_ctx *ctx, uint32_t value);

/*
 * kvm_ctx_run: runs the guest until its next exit or until (budget_us)
 * microseconds of wall time have passed (0: no budget), and describes the
 * exit in *(exit). The caller may then change registers and memory and
 * call again to resume: after a syscall or I/O the guest continues after
 * the instruction, after a fault or exception it re-executes the faulting
 * instruction unless rip was changed. May run on any thread, one at a time
 * per context. Preemption uses a per-context POSIX timer that signals the
 * running thread (signal SIGRTMIN + KVM_SIGNAL_RT, handler installed on first use).
 * Returns KVM_OK with an exit record (also for KVM_EXITK_ERROR, after which
 * the context only accepts kvm_ctx_free or kvm_pool_release), or
 * KVM_ERR_SYS if the timer could not be set up.
 */
enum kvm_err kvm_ctx_run(
    struct kvm_ctx *ctx, uint64_t budget_us, struct kvm_exit *exit);

/*
 * kvm_elf_check: validates a static x86-64 ELF executable of (len) bytes
 * at (img) for loading at (base) (ET_DYN only; ignored for ET_EXEC) without
 * touching any context: every header field is bounds-checked with
 * overflow-safe arithmetic. Fills *(info) (may be NULL).
 * Returns KVM_OK or a distinct KVM_ERR_ELF_* code. Never reads outside
 * [img, img+len).
 */
enum kvm_err kvm_elf_check(
    const void *img, size_t len, kvm_gva_t base, struct kvm_elf_info *info);

/*
 * kvm_elf_load: kvm_elf_check() then maps every PT_LOAD segment with its
 * permissions (user pages; read implied), copies the file bytes, zeroes
 * bss, and sets rip to the entry point. (img) is borrowed.
 * Returns KVM_OK, an ELF error, or a kvm_mem_map() error (the map may then
 * hold part of the image).
 */
enum kvm_err kvm_elf_load(struct kvm_ctx *ctx, const void *img, size_t len,
    kvm_gva_t base, struct kvm_elf_info *info);

/*
 * kvm_elf_stack: maps a user stack (read/write, no exec) and lays out
 * argc, argv, envp and auxv (AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ,
 * AT_BASE, AT_FLAGS, AT_ENTRY, AT_UID.., AT_SECURE, AT_RANDOM, AT_HWCAP,
 * AT_CLKTCK, AT_EXECFN, AT_NULL) as Linux does for a static executable
 * described by (info); sets rsp to argc's address and rip to info->entry,
 * other registers 0.
 * Returns KVM_OK, KVM_ERR_STACK if the strings do not fit, or a map error.
 */
enum kvm_err kvm_elf_stack(struct kvm_ctx *ctx, const struct kvm_elf_info *info,
    const struct kvm_stack_args *args);

#endif /* KVM_H */
