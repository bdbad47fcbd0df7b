/*
 * pf_native.c: native code under messenger control (spec Part B). A
 * messenger creates a native context (a KVM vCPU, or a traced process
 * where /dev/kvm is missing, with its own guest memory, src/kvm), states its memory map, loads code, sets registers and
 * runs it for a bounded time; every exit comes back to it as a dict, so
 * the messenger decides what comes next — including serving the guest's
 * system calls (messengers/linux.m0).
 *
 * Contexts are named by random keys (capabilities) and belong to the
 * process that made them: they are returned to the pool when it ends.
 * KVM_RUN blocks, so a run never takes the loop thread for more than one
 * slice (PF_NATIVE_SLICE_US): a longer budget is served in slices over
 * several turns of the scheduler while the process waits, and other
 * processes, links and timers run in between.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "pf_native.h"

/* Guest time of one turn of the scheduler at the normal share. */
#define PF_NATIVE_SLICE_US 2000
/* A turn when no other process waits to run: each turn's end stops the
 * guest and passes through the scheduler (~0.1 ms on this VM, 6% of a
 * compute-bound guest at 2 ms turns); alone, only the event loop waits
 * the longer for it. */
#define PF_NATIVE_ALONE_US 10000
/* The longest budget one _nrn may ask for. */
#define PF_NATIVE_RUN_MAX_US (60ull * PF_US_PER_S)
/* Strings of argv or envp, and the bytes of one. */
#define PF_NATIVE_MAX_STRINGS 1024
#define PF_NATIVE_MAX_STRING 65536
/* The most bytes one _nrd reads (a string's limit). */
#define PF_NATIVE_MAX_READ ((1u << 24) - 1)
/* Where _nel loads a position-independent executable. */
#define PF_NATIVE_PIE_BASE 0x400000

/* A run in progress, for the process waiting on it (its work). */
struct pf_nrun {
	struct pf_native *n;
	struct pf_nctx *c;
	uint64_t left_us;
	uint64_t ran_ns;
};

static bool native_step(void *ud, struct pf_proc *p);

static int
u64_arg(struct m0_state *s, uint32_t k, uint64_t *v)
{
	int64_t i;
	int err = m0_get_int(s, k, &i);
	if (!err)
		*v = (uint64_t)i; /* addresses above 2^63 read as negative */
	return err;
}

/* bytes _nnw key */
static int
op_new(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	int64_t bytes;
	int err = m0_get_int(s, 0, &bytes);
	if (err)
		return err;
	if (pf__native_ready(n))
		return n->e_unavail;
	if (bytes <= 0 || (uint64_t)bytes > n->slab_max)
		return M0_ERANGE_CHECK;
	if (!pf_proc_native_take(PROC(s), (uint64_t)bytes))
		return n->e_limit; /* the process's or origin's caps, memory */
	struct pf_nctx *c = calloc(1, sizeof(*c));
	if (!c) {
		pf_proc_native_give(PROC(s), (uint64_t)bytes);
		return n->e_limit;
	}
	c->bytes = (uint64_t)bytes;
	enum kvm_err ke = kvm_pool_acquire(n->pool, (uint64_t)bytes, &c->ctx);
	if (ke) {
		pf_proc_native_give(PROC(s), c->bytes);
		free(c);
		return pf__native_kerr(n, ke);
	}
	if (getrandom(&c->key, sizeof(c->key), 0) != sizeof(c->key))
		abort(); /* keys are capabilities: never guessable */
	if ((err = m0_push_key(s, c->key))) {
		kvm_pool_release(n->pool, c->ctx);
		pf_proc_native_give(PROC(s), c->bytes);
		free(c);
		return err;
	}
	c->owner = PROC(s);
	c->next = n->all;
	n->all = c;
	m0_drop_under(s, 1); /* the key replaces the size */
	return M0_OK;
}

static void
ctx_drop(struct pf_native *n, struct pf_nctx *c)
{
	struct pf_nctx **pp = &n->all;
	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	pf_proc_native_give(c->owner, c->bytes);
	if (c->dead)
		kvm_ctx_free(c->ctx); /* never back into the pool */
	else
		kvm_pool_release(n->pool, c->ctx);
	free(c);
}

/* key _nfr */
static int
op_free(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	uint64_t key;
	int err = m0_get_key(s, 0, &key);
	if (err)
		return err;
	for (struct pf_nctx *c = n->all; c; c = c->next)
		if (c->key == key && c->owner == PROC(s)) {
			ctx_drop(n, c);
			m0_pop(s, 1);
			return M0_OK;
		}
	return n->e_key;
}

/* key addr len prot _nmp | key addr len prot _npr | key addr len _num */
static int
map_op(struct m0_state *s, struct pf_native *n, int what)
{
	struct pf_nctx *c = NULL; /* set by pf__native_ctx(); gcc cannot tell */
	uint64_t addr, len, prot = 0;
	uint32_t base = what == 2 ? 0 : 1;
	int err;
	if ((what != 2 && (err = u64_arg(s, 0, &prot))) ||
	    (err = u64_arg(s, base, &len)) ||
	    (err = u64_arg(s, base + 1, &addr)) ||
	    (err = pf__native_ctx(n, s, base + 2, &c)))
		return err;
	if (prot > 15)
		return M0_ERANGE_CHECK;
	enum kvm_err ke = what == 0
	    ? kvm_mem_map(c->ctx, addr, len, (unsigned)prot)
	    : what == 1 ? kvm_mem_protect(c->ctx, addr, len, (unsigned)prot)
	                : kvm_mem_unmap(c->ctx, addr, len);
	if (ke)
		return pf__native_kerr(n, ke);
	m0_pop(s, base + 3);
	return M0_OK;
}

static int
op_map(struct m0_state *s, void *ud)
{
	return map_op(s, ud, 0);
}

static int
op_protect(struct m0_state *s, void *ud)
{
	return map_op(s, ud, 1);
}

static int
op_unmap(struct m0_state *s, void *ud)
{
	return map_op(s, ud, 2);
}

/* key _nls [ [start len prot] ... ] */
static int
op_maps(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nctx *c = NULL; /* set by pf__native_ctx(); gcc cannot tell */
	int err = pf__native_ctx(n, s, 0, &c);
	if (err)
		return err;
	uint32_t depth = m0_state_depth(s);
	kvm_gva_t cur = 0;
	struct kvm_range r;
	enum kvm_err ke;
	while ((ke = kvm_mem_next(c->ctx, &cur, &r)) == KVM_OK) {
		if ((err = m0_push_int(s, (int64_t)r.start)) ||
		    (err = m0_push_int(s, (int64_t)r.len)) ||
		    (err = m0_push_int(s, r.prot)) || (err = m0_pack(s, 3)))
			break;
	}
	if (!err && ke != KVM_ERR_END)
		err = pf__native_kerr(n, ke);
	if (!err)
		err = m0_pack(s, m0_state_depth(s) - depth);
	if (err) {
		m0_pop(s, m0_state_depth(s) - depth);
		return err;
	}
	m0_drop_under(s, 1);
	return M0_OK;
}

/* src dst _ncp: maps in dst every range src has, with its protection,
 * and copies the bytes (fork in messengers/linux.m0). dst's map must be
 * free where src has pages; after an error dst may hold a part. */
static int
op_copy(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nctx *src = NULL, *dst = NULL; /* set by pf__native_ctx() */
	int err;
	if ((err = pf__native_ctx(n, s, 1, &src)) ||
	    (err = pf__native_ctx(n, s, 0, &dst)))
		return err;
	if (src == dst)
		return n->e_mem;
	uint8_t *buf = malloc(1u << 16);
	if (!buf)
		return n->e_limit;
	kvm_gva_t cur = 0;
	struct kvm_range r;
	enum kvm_err ke;
	while ((ke = kvm_mem_next(src->ctx, &cur, &r)) == KVM_OK &&
	    (ke = kvm_mem_map(dst->ctx, r.start, r.len, r.prot)) == KVM_OK) {
		for (uint64_t off = 0; off < r.len && ke == KVM_OK;
		     off += 1u << 16) {
			size_t k =
			    r.len - off < (1u << 16) ? r.len - off : 1u << 16;
			ke = kvm_mem_read(src->ctx, r.start + off, buf, k);
			if (ke == KVM_OK)
				ke = kvm_mem_write(
				    dst->ctx, r.start + off, buf, k);
		}
		if (ke != KVM_OK)
			break;
	}
	free(buf);
	if (ke != KVM_ERR_END)
		return pf__native_kerr(n, ke);
	m0_pop(s, 2);
	return M0_OK;
}

/* key addr string _nwr */
static int
op_write(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nctx *c = NULL; /* set by pf__native_ctx(); gcc cannot tell */
	uint64_t addr;
	const uint8_t *p;
	size_t len;
	int err;
	if ((err = m0_get_string(s, 0, &p, &len)) ||
	    (err = u64_arg(s, 1, &addr)) || (err = pf__native_ctx(n, s, 2, &c)))
		return err;
	enum kvm_err ke = kvm_mem_write(c->ctx, addr, p, len);
	if (ke)
		return pf__native_kerr(n, ke);
	m0_pop(s, 3);
	return M0_OK;
}

/* key addr len _nrd string */
static int
op_read(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nctx *c = NULL; /* set by pf__native_ctx(); gcc cannot tell */
	uint64_t addr, len;
	int err;
	if ((err = u64_arg(s, 0, &len)) || (err = u64_arg(s, 1, &addr)) ||
	    (err = pf__native_ctx(n, s, 2, &c)))
		return err;
	if (len > PF_NATIVE_MAX_READ)
		return M0_ERANGE_CHECK;
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return n->e_limit;
	enum kvm_err ke = kvm_mem_read(c->ctx, addr, buf, len);
	if (ke) {
		free(buf);
		return pf__native_kerr(n, ke);
	}
	err = m0_push_string(s, buf, len);
	free(buf);
	if (err)
		return err;
	m0_drop_under(s, 3);
	return M0_OK;
}

/* key addr string prot _nld: map pages for the bytes and copy them */
static int
op_load(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nctx *c = NULL; /* set by pf__native_ctx(); gcc cannot tell */
	uint64_t addr, prot;
	const uint8_t *p;
	size_t len;
	int err;
	if ((err = u64_arg(s, 0, &prot)) ||
	    (err = m0_get_string(s, 1, &p, &len)) ||
	    (err = u64_arg(s, 2, &addr)) || (err = pf__native_ctx(n, s, 3, &c)))
		return err;
	if (prot > 15)
		return M0_ERANGE_CHECK;
	enum kvm_err ke = kvm_mem_load(c->ctx, addr, p, len, (unsigned)prot);
	if (ke)
		return pf__native_kerr(n, ke);
	m0_pop(s, 4);
	return M0_OK;
}

/* Copies element i of the string array at operand k, NUL-terminated. */
static char **
strings(struct m0_state *s, uint32_t k, int *err)
{
	size_t cnt = 0;
	if (m0_is_null(s, k) == 1)
		return NULL;
	if ((*err = m0_get_array_len(s, k, &cnt)))
		return NULL;
	if (cnt > PF_NATIVE_MAX_STRINGS) {
		*err = M0_ERANGE_CHECK;
		return NULL;
	}
	char **v = calloc(cnt + 1, sizeof(*v));
	if (!v) {
		*err = M0_EIMPLEMENTATION_LIMIT;
		return NULL;
	}
	for (size_t i = 0; i < cnt && !*err; i++) {
		const uint8_t *p;
		size_t len;
		if ((*err = m0_get_array_string(s, k, i, &p, &len)))
			break;
		if (len > PF_NATIVE_MAX_STRING || !(v[i] = malloc(len + 1))) {
			*err = M0_ERANGE_CHECK;
			break;
		}
		memcpy(v[i], p, len);
		v[i][len] = 0;
	}
	return v;
}

static void
strings_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int
set_int(struct m0_state *s, const char *name, int64_t v)
{
	int err = m0_push_int(s, v);
	return err ? err : m0_set_field(s, name);
}

static int
set_name(struct m0_state *s, const char *name, const char *v)
{
	int err = m0_push_name(s, v);
	return err ? err : m0_set_field(s, name);
}

/* key elf argv envp _nel dict: load a static ELF executable with a Linux
 * initial stack; argv and envp are arrays of strings or null. */
static int
op_exec(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nctx *c = NULL; /* set by pf__native_ctx(); gcc cannot tell */
	const uint8_t *img;
	size_t len, cnt;
	int err = M0_OK;
	if ((err = pf__native_ctx(n, s, 3, &c)) ||
	    (err = m0_get_string(s, 2, &img, &len)))
		return err;
	if (m0_is_null(s, 1) != 1 && (err = m0_get_array_len(s, 1, &cnt)))
		return err;
	if (m0_is_null(s, 0) != 1 && (err = m0_get_array_len(s, 0, &cnt)))
		return err;
	char **argv = strings(s, 1, &err);
	char **envp = err ? NULL : strings(s, 0, &err);
	struct kvm_elf_info info;
	enum kvm_err ke = KVM_OK;
	if (!err) {
		ke = kvm_elf_load(c->ctx, img, len, PF_NATIVE_PIE_BASE, &info);
		if (!ke) {
			struct kvm_stack_args a = {
			    .argv = (const char *const *)argv,
			    .envp = (const char *const *)envp};
			ke = kvm_elf_stack(c->ctx, &info, &a);
		}
		if (ke)
			err = pf__native_kerr(n, ke);
	}
	strings_free(argv);
	strings_free(envp);
	if (err)
		return err;
	if ((err = m0_push_dict(s)) ||
	    (err = set_int(s, "entry", (int64_t)info.entry)) ||
	    (err = set_int(s, "base", (int64_t)info.base)) ||
	    (err = set_int(s, "lo", (int64_t)info.lo)) ||
	    (err = set_int(s, "hi", (int64_t)info.hi)) ||
	    (err = set_int(s, "phdr", (int64_t)info.phdr)) ||
	    (err = set_int(s, "phnum", info.phnum)))
		return err;
	m0_drop_under(s, 4);
	return M0_OK;
}

#define REGS(X)                                                                \
	X(rax)                                                                 \
	X(rbx)                                                                 \
	X(rcx)                                                                 \
	X(rdx)                                                                 \
	X(rsi)                                                                 \
	X(rdi)                                                                 \
	X(rbp)                                                                 \
	X(rsp)                                                                 \
	X(r8)                                                                  \
	X(r9)                                                                  \
	X(r10)                                                                 \
	X(r11)                                                                 \
	X(r12)                                                                 \
	X(r13)                                                                 \
	X(r14)                                                                 \
	X(r15)                                                                 \
	X(rip)                                                                 \
	X(rflags)                                                              \
	X(fs_base)                                                             \
	X(gs_base)

/* key _nrg dict */
static int
op_regs(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nctx *c = NULL; /* set by pf__native_ctx(); gcc cannot tell */
	int err = pf__native_ctx(n, s, 0, &c);
	if (err)
		return err;
	struct kvm_guest_regs r;
	kvm_regs_get(c->ctx, &r);
	if ((err = m0_push_dict(s)))
		return err;
#define GETR(f)                                                                \
	if (!err)                                                              \
		err = set_int(s, #f, (int64_t)r.f);
	REGS(GETR)
#undef GETR
	if (err)
		return err;
	m0_drop_under(s, 1);
	return M0_OK;
}

/* key dict _nsr: sets the registers the dict names */
static int
op_setregs(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nctx *c = NULL; /* set by pf__native_ctx(); gcc cannot tell */
	int err = pf__native_ctx(n, s, 1, &c);
	if (err)
		return err;
	struct kvm_guest_regs r;
	kvm_regs_get(c->ctx, &r);
	int64_t v;
	int found;
#define SETR(f)                                                                \
	if (!err && !(err = m0_get_field_int(s, 0, #f, &v, &found)) && found)  \
		r.f = (uint64_t)v;
	REGS(SETR)
#undef SETR
	if (err)
		return err;
	enum kvm_err ke = kvm_regs_set(c->ctx, &r);
	if (ke)
		return pf__native_kerr(n, ke);
	m0_pop(s, 2);
	return M0_OK;
}

/* key value _nsy: the return value of the system call it stopped at */
static int
op_sysret(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nctx *c = NULL; /* set by pf__native_ctx(); gcc cannot tell */
	int64_t v;
	int err;
	if ((err = m0_get_int(s, 0, &v)) || (err = pf__native_ctx(n, s, 1, &c)))
		return err;
	kvm_syscall_return(c->ctx, (uint64_t)v);
	m0_pop(s, 2);
	return M0_OK;
}

/* key budget_us _nrn: waits for the exit, then pushes it as a dict */
static int
op_run(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nctx *c = NULL; /* set by pf__native_ctx(); gcc cannot tell */
	int64_t budget;
	int err;
	if ((err = m0_get_int(s, 0, &budget)) ||
	    (err = pf__native_ctx(n, s, 1, &c)))
		return err;
	if (budget <= 0 || (uint64_t)budget > n->run_max_us)
		return M0_ERANGE_CHECK;
	struct pf_proc *p = PROC(s);
	struct pf_nrun *r = calloc(1, sizeof(*r));
	if (!r)
		return n->e_limit;
	r->n = n;
	r->c = c;
	r->left_us = (uint64_t)budget;
	pf_proc_set_work(p, native_step, r);
	m0_pop(s, 2);
	return M0_EXT_BLOCK;
}

/* Pushes the exit record as a dict (spec Part B: exits are data). */
static int
push_exit(struct m0_state *s, const struct kvm_exit *e, uint64_t ran_ns)
{
	static const char *const kinds[] = {
	    "halt", "io", "syscall", "fault", "exception", "budget", "error"};
	static const char *const acc[] = {"read", "write", "exec"};
	int err = m0_push_dict(s);
	if (!err)
		err = set_name(s, "kind", kinds[e->kind]);
	if (!err)
		err = set_int(s, "ns", (int64_t)ran_ns);
	if (err)
		return err;
	switch (e->kind) {
	case KVM_EXITK_HALT:
		return set_int(s, "status", e->u.halt.status);
	case KVM_EXITK_IO:
		if ((err = set_int(s, "port", e->u.io.port)) ||
		    (err = set_int(s, "size", e->u.io.size)) ||
		    (err = set_int(s, "out", e->u.io.out)) ||
		    (err = set_int(s, "count", e->u.io.count)))
			return err;
		return set_int(s, "value", e->u.io.value);
	case KVM_EXITK_SYSCALL:
		/* The arguments as an array: MØ names cannot hold digits. */
		err = set_int(s, "nr", (int64_t)e->u.syscall.nr);
		for (int i = 0; i < 6 && !err; i++)
			err = m0_push_int(s, (int64_t)e->u.syscall.arg[i]);
		if (!err && (err = m0_pack(s, 6)))
			m0_pop(s, 6);
		if (!err)
			err = m0_set_field(s, "args");
		return err;
	case KVM_EXITK_PAGE_FAULT:
		if ((err = set_int(s, "addr", (int64_t)e->u.page_fault.addr)) ||
		    (err = set_name(
		         s, "access", acc[e->u.page_fault.access])) ||
		    (err = set_int(s, "user", e->u.page_fault.user)) ||
		    (err = set_int(s, "present", e->u.page_fault.present)))
			return err;
		return set_int(s, "code", e->u.page_fault.error_code);
	case KVM_EXITK_EXCEPTION:
		if ((err = set_int(s, "vector", e->u.exception.vector)))
			return err;
		return set_int(s, "code", e->u.exception.error_code);
	case KVM_EXITK_ERROR:
		if ((err = set_int(s, "reason", e->u.error.reason)))
			return err;
		return set_int(s, "detail", (int64_t)e->u.error.detail);
	default:
		return M0_OK;
	}
}

/*
 * One scheduler turn of a process waiting on a native run (its work,
 * include/pf_svc.h): at most one slice of guest time, as long as the
 * meter's share rule allows. Returns true when the run is over and the
 * exit record (or an error) has been pushed.
 */
static bool
native_step(void *ud, struct pf_proc *p)
{
	struct pf_nrun *r = ud;
	struct pf_native *n = r->n;
	struct kvm_exit e;
	uint64_t share = pf_proc_native_turn(
	    p, pf_proc_alone(p) ? PF_NATIVE_ALONE_US : PF_NATIVE_SLICE_US);
	n->turns++;
	uint64_t slice = r->left_us < share ? r->left_us : share;
	enum kvm_err ke = kvm_ctx_run(r->c->ctx, slice, &e);
	if (ke == KVM_OK) {
		r->ran_ns += e.ran_ns;
		pf_proc_charge_native(p, e.ran_ns);
		r->left_us -= slice < r->left_us ? slice : r->left_us;
		if (e.kind == KVM_EXITK_BUDGET && r->left_us > 0)
			return false;
		if (e.kind == KVM_EXITK_ERROR)
			r->c->dead = true;
	}
	int err = ke ? pf__native_kerr(n, ke) : push_exit(p->s, &e, r->ran_ns);
	free(r);
	if (err)
		m0_push_null(p->s); /* cannot describe the exit: null */
	m0_state_resume_int(p->s, 0, 0);
	return true;
}

/* The process ends: a run it waited on stops, its contexts go back to
 * the pool. */
static void
svc_proc_end(void *ud, struct pf_proc *p)
{
	struct pf_native *n = ud;
	if (p->work == native_step) {
		free(p->work_ud);
		pf_proc_set_work(p, NULL, NULL);
	}
	struct pf_nctx *c = n->all, *next;
	for (; c; c = next) {
		next = c->next;
		if (c->owner == p)
			ctx_drop(n, c);
	}
	pf__nfile_proc_end(n, p);
}

/* Guest memory the process holds in its contexts (rent). */
static uint64_t
svc_proc_bytes(void *ud, struct pf_proc *p)
{
	struct pf_native *n = ud;
	uint64_t b = 0;
	for (struct pf_nctx *c = n->all; c; c = c->next)
		if (c->owner == p)
			b += kvm_ctx_mem_used(c->ctx);
	return b + pf__nfile_bytes(n, p);
}

static void
svc_free(void *ud)
{
	struct pf_native *n = ud;
	pf__native_warm_join(n);
	while (n->all)
		ctx_drop(n, n->all);
	pf__nfile_free_all(n);
	if (n->pool)
		kvm_pool_free(n->pool);
	free(n);
}

/* The backend in use (KVM, or ptrace where /dev/kvm is missing) and the
 * guest turns so far. */
static void
svc_stats(void *ud, struct pf_status *st)
{
	struct pf_native *n = ud;
	pf_status_word(st, "native", "backend", kvm_backend());
	pf_status_add(st, "native", "turns", (int64_t)n->turns,
	    "guest turns: 2 ms each while others wait to run, else 10 ms");
}

int
pf_native_init(
    struct pf_platform *pf, uint64_t slab_max, uint32_t ctx_max, bool warm)
{
	struct pf_native *n = calloc(1, sizeof(*n));
	if (!n)
		return PF_ERR_NOMEM;
	struct m0_global *g = pf_global(pf);
	if (!slab_max)
		slab_max = pf->cfg.native_slab;
	if (!ctx_max)
		ctx_max = pf->cfg.native_contexts;
	n->slab_max = slab_max ? slab_max : PF_NATIVE_SLAB;
	n->run_max_us = PF_NATIVE_RUN_MAX_US;
	n->kc =
	    (struct kvm_config){.slab_max = n->slab_max, .ctx_max = ctx_max};
	n->e_unavail = m0_global_add_error(g, "native_unavailable");
	n->e_key = m0_global_add_error(g, "native_key");
	n->e_mem = m0_global_add_error(g, "native_memory");
	n->e_limit = m0_global_add_error(g, "native_limit");
	n->e_elf = m0_global_add_error(g, "bad_elf");
	n->e_dead = m0_global_add_error(g, "native_dead");
	static const struct {
		const char *name, *alias;
		m0_ext_fn fn;
	} ops[] = {{"_nnw", "nativenew", op_new},
	    {"_nfr", "nativefree", op_free}, {"_nmp", "nativemap", op_map},
	    {"_npr", "nativeprotect", op_protect},
	    {"_num", "nativeunmap", op_unmap}, {"_nls", "nativemaps", op_maps},
	    {"_ncp", "nativecopy", op_copy}, {"_nwr", "nativewrite", op_write},
	    {"_nrd", "nativeread", op_read}, {"_nld", "nativeload", op_load},
	    {"_nel", "nativeexec", op_exec}, {"_nrg", "nativeregs", op_regs},
	    {"_nsr", "nativesetregs", op_setregs},
	    {"_nsy", "nativereturn", op_sysret}, {"_nrn", "nativerun", op_run}};
	int err = n->e_dead < 0 ? PF_ERR_INTERP : PF_OK;
	for (size_t i = 0; !err && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (m0_global_add_op(
		        g, ops[i].name, ops[i].alias, ops[i].fn, n))
			err = PF_ERR_INTERP;
	if (!err)
		err = pf__nfile_init(n, g);
	const struct pf_service svc = {.name = "native",
	    .ud = n,
	    .proc_end = svc_proc_end,
	    .proc_bytes = svc_proc_bytes,
	    .stats = svc_stats,
	    .free = svc_free};
	if (!err)
		err = pf_add_service(pf, &svc);
	if (err)
		svc_free(n);
	else if (warm)
		pf__native_warm(n);
	return err;
}
