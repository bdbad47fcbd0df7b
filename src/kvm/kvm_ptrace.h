/*
 * kvm_ptrace.h: internals shared by the ptrace backend's two files: the
 * layout of the guest process's reserved pages, the stub's offsets, and
 * the boot of the guest process (kvm_ptrace_stub.c).
 */
#ifndef KVM_PTRACE_H
#define KVM_PTRACE_H

#include <linux/filter.h>
#include <stdint.h>
#include <sys/types.h>

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
#define PT_OFF_SYSRET 0x29u  /* after the one `syscall` instruction */
#define PT_OFF_DONE 0x3bu    /* rip after the loop's int3 */
#define PT_OFF_HANDLER 0x100u
#define PT_OFF_HANDLED 0x101u /* rip after the handler's int3 */

/* The command page: up to PT_CMD_MAX system calls of 7 words (nr and six
 * arguments), then data the boot commands point at. */
#define PT_CMD_MAX 64u
#define PT_CMD_WORDS 7u
#define PT_DATA_SA 0xe00u     /* struct k_sigaction for the handler */
#define PT_DATA_SS 0xe40u     /* stack_t for sigaltstack */
#define PT_DATA_SEIZED 0xff8u /* boot: the parent has seized the child */

/* What the child needs between clone and the stub, prepared before the
 * clone so that the child calls nothing but raw system calls. */
struct pt_boot {
	pid_t ppid;
	int memfd;
	uint32_t *seized;   /* in the slab, shared with the child */
	uint64_t ncmd;      /* boot commands in the command page */
	uint64_t as_limit;  /* RLIMIT_AS for the child */
	uint64_t rseq;      /* the thread's rseq area (inherited), or 0 */
	uint32_t rseq_len;
	struct sock_filter filter[32];
	struct sock_fprog prog;
};

void pt__stub_write(uint8_t *page);
void pt__boot_prepare(struct pt_boot *b, uint8_t *slab, int memfd,
    uint64_t slab_bytes);
pid_t pt__spawn(struct pt_boot *b);

#endif /* KVM_PTRACE_H */
