/*
 * pf_nctx.c: the native contexts' common lookups: the backend, probed at
 * the first request (or warmed up at once, in a thread); a context named
 * by its key; a backend error as the MØ error a messenger sees.
 */
#include "pf_native.h"

int
pf__native_kerr(struct pf_native *n, enum kvm_err e)
{
	switch (e) {
	case KVM_OK:
		return M0_OK;
	case KVM_ERR_NODEV:
	case KVM_ERR_API:
	case KVM_ERR_SYS:
		return n->e_unavail;
	case KVM_ERR_NOMEM:
	case KVM_ERR_LIMIT:
	case KVM_ERR_SLAB_CAP:
	case KVM_ERR_SLAB_FULL:
		return n->e_limit;
	case KVM_ERR_REGS:
		return M0_ERANGE_CHECK;
	case KVM_ERR_INVAL:
	case KVM_ERR_ALIGN:
	case KVM_ERR_RANGE:
	case KVM_ERR_MAPPED:
	case KVM_ERR_UNMAPPED:
	case KVM_ERR_END:
		return n->e_mem;
	default:
		return n->e_elf; /* the ELF_* errors and STACK */
	}
}

/* The context named by the key at operand k, owned by this process. */
int
pf__native_ctx(
    struct pf_native *n, struct m0_state *s, uint32_t k, struct pf_nctx **out)
{
	uint64_t key;
	int err = m0_get_key(s, k, &key);
	if (err)
		return err;
	for (struct pf_nctx *c = n->all; c; c = c->next)
		if (c->key == key && c->owner == PROC(s)) {
			if (c->dead)
				return n->e_dead;
			*out = c;
			return M0_OK;
		}
	return n->e_key;
}

/* The probe and the pool (n->avail, n->pool): what the first request
 * does, or the warm-up thread. */
static void
probe(struct pf_native *n)
{
	n->avail = kvm_probe();
	if (!n->avail)
		n->avail = kvm_pool_new(&n->kc, &n->pool);
}

static void *
warm_main(void *ud)
{
	struct pf_native *n = ud;
	probe(n);
	if (!n->avail)
		(void)kvm_pool_warm(n->pool, PF_NATIVE_WARM_BYTES);
	return NULL;
}

/* Nothing of n is touched on this thread until pf__native_warm_join(). */
void
pf__native_warm(struct pf_native *n)
{
	if (!n->probed && !n->warming &&
	    pthread_create(&n->warm, NULL, warm_main, n) == 0)
		n->warming = true;
}

void
pf__native_warm_join(struct pf_native *n)
{
	if (!n->warming)
		return;
	pthread_join(n->warm, NULL);
	n->warming = false;
	n->probed = true;
}

/*
 * The backend is probed at the first request for a context, not when the
 * platform starts: the ptrace probe forks and traces a child (about
 * 2.5 ms), which every m0 run and daemon start would otherwise pay
 * whether or not it ever runs native code. A host that will run native
 * code at once (m0run) warms it up instead (pf_native_init): the probe
 * and one context made in a thread while it reads the program.
 */
enum kvm_err
pf__native_ready(struct pf_native *n)
{
	pf__native_warm_join(n);
	if (n->probed)
		return n->avail;
	n->probed = true;
	probe(n);
	/* debug: m0 shares this and must keep stderr clean; m0ctl status
	 * names the backend too */
	if (n->avail)
		log_debug(
		    "native code: unavailable (%s)", kvm_strerror(n->avail));
	else
		log_debug("native code: %s backend", kvm_backend());
	return n->avail;
}
