/*
 * serve.h: a test-only Linux personality in C. It runs a static musl
 * program in a context and serves the system calls such a program needs,
 * using only the public kvm.h API: the proof that the API suffices for
 * the MØ personality messenger that will do the same job.
 */
#ifndef SERVE_H
#define SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "kvm.h"

#define SERVE_OUT_MAX 65536

struct serve_proc {
	struct kvm_ctx *ctx;
	struct kvm_elf_info info;
	uint64_t brk_start, brk_cur, mmap_next;
	char out[SERVE_OUT_MAX]; /* what fds 1 and 2 received */
	size_t outlen;
	int exited, status;
	uint64_t nsyscalls;
	struct kvm_exit last; /* the exit that stopped serve_run */
};

/* Loads (img) into (ctx) (ET_DYN at (base)), builds the stack with (argv)
 * (NULL: {"prog"}) and readies the heap. Returns the loader's error. */
enum kvm_err serve_exec(struct serve_proc *p, struct kvm_ctx *ctx,
    const void *img, size_t len, kvm_gva_t base, const char *const *argv);

/* Runs until the program exits (returns 1), an exit other than syscall or
 * budget stops it, or (limit_us) of run time passed (returns 0; the
 * stopping exit is in p->last). */
int serve_run(struct serve_proc *p, uint64_t limit_us);

/* Reads a whole file; NULL on error. The caller frees it. */
void *serve_slurp(const char *path, size_t *len);

#endif /* SERVE_H */
