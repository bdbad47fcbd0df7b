/*
 * pf_native.h: what the native-code files of the platform share (inside
 * src/platform only): the contexts a process holds (pf_native.c), the
 * host files it may place in them (pf_nfile.c), and the lookups both
 * use (pf_nctx.c).
 */
#ifndef PF_NATIVE_H
#define PF_NATIVE_H

#include <pthread.h>

#include "kvm.h"
#include "pf_int.h"

/* Guest memory made resident in the context a warm-up makes: a static
 * program's image and first pages (busybox: 2 MiB and its heap). */
#define PF_NATIVE_WARM_BYTES (8u << 20)

struct pf_nctx {
	uint64_t key;
	struct kvm_ctx *ctx;
	struct pf_proc *owner;
	uint64_t bytes; /* guest memory, counted by pf_proc_native_take() */
	bool dead;      /* an ERROR exit left it unusable */
	struct pf_nctx *next;
};

/* Host files a process may hold at once (_nfn). */
#define PF_NATIVE_FILES_MAX 256

/* A host file (_nfn): a sealed memfd holding bytes, one open file
 * description whose offset the guests it is placed in share with the
 * platform (_nfo, _nfs). Named by a number its owner alone can use. */
struct pf_nfile {
	int64_t id;
	int fd;
	uint64_t bytes; /* counted by file_take() */
	struct pf_proc *owner;
	struct pf_nfile *next;
};

struct pf_native {
	struct kvm_pool *pool;
	struct kvm_config kc; /* for the pool, made at the first request */
	bool probed;
	enum kvm_err avail; /* KVM_OK when a backend works (once probed) */
	uint64_t slab_max;
	uint64_t run_max_us;
	struct pf_nctx *all;
	struct pf_nfile *files;
	int64_t file_ids;
	uint64_t turns; /* native turns: a guest stop each */
	pthread_t warm; /* probe and first context (pf__native_warm) */
	bool warming;
	int e_unavail, e_key, e_mem, e_limit, e_elf, e_dead;
};

#define PROC(s) ((struct pf_proc *)m0_state_ud(s))

/* pf_nctx.c */
int pf__native_kerr(struct pf_native *n, enum kvm_err e);
int pf__native_ctx(
    struct pf_native *n, struct m0_state *s, uint32_t k, struct pf_nctx **out);
enum kvm_err pf__native_ready(struct pf_native *n);
void pf__native_warm(struct pf_native *n);
void pf__native_warm_join(struct pf_native *n);

/* pf_nfile.c */
int pf__nfile_init(struct pf_native *n, struct m0_global *g);
void pf__nfile_proc_end(struct pf_native *n, struct pf_proc *p);
uint64_t pf__nfile_bytes(struct pf_native *n, struct pf_proc *p);
void pf__nfile_free_all(struct pf_native *n);

#endif
