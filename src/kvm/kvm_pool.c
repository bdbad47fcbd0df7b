/*
 * kvm_pool.c: a pool of reset contexts. Creating a VM costs a millisecond
 * or more (KVM_CREATE_VM, vCPU, memory slot); handing out an idle context
 * costs a mutex and a pointer. The reset work happens at release, on the
 * releasing thread, so acquire stays cheap for the next user.
 *
 * What a reset does (kvm__ctx_reset): every user mapping and page-table
 * page returns to the allocator, which zeroes a page when it hands it out
 * again, so no byte of a previous user's memory can reach the next one;
 * the reserved area's user-visible state (PML4 user half, trap frame, cr2
 * slot) is cleared; general registers, segment and control registers,
 * MSRs (fs/gs bases), pending events and the FPU/SSE/AVX state return to
 * their initial values (when the guest ran for this user; otherwise KVM
 * still holds the state of the last full reset and only the sync-regs
 * page is reset). The VM, vCPU, slot, slab mapping and timer stay.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "kvm_int.h"

struct kvm_pool {
	pthread_mutex_t lock;
	struct kvm_config cfg;
	struct kvm_ctx *idle;
	unsigned nidle, nout;
};

enum kvm_err
kvm_pool_new(const struct kvm_config *cfg, struct kvm_pool **out)
{
	struct kvm_pool *p;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return KVM_ERR_NOMEM;
	if (cfg != NULL)
		p->cfg = *cfg;
	if (p->cfg.pool_max == 0)
		p->cfg.pool_max = 8;
	if (p->cfg.ctx_max == 0)
		p->cfg.ctx_max = 64;
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return KVM_ERR_NOMEM;
	}
	*out = p;
	return KVM_OK;
}

void
kvm_pool_free(struct kvm_pool *p)
{
	struct kvm_ctx *c;

	if (p == NULL)
		return;
	while ((c = p->idle) != NULL) {
		p->idle = c->next;
		kvm_ctx_free(c);
	}
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static enum kvm_err
kvm__ctx_reset(struct kvm_ctx *ctx)
{
	kvm__slab_reset(ctx);
	return ctx->ops->reset(ctx);
}

enum kvm_err
kvm_pool_acquire(struct kvm_pool *p, uint64_t slab_size, struct kvm_ctx **out)
{
	struct kvm_ctx *c;
	enum kvm_err err;
	uint64_t pages;

	*out = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->nout >= p->cfg.ctx_max) {
		pthread_mutex_unlock(&p->lock);
		return KVM_ERR_LIMIT;
	}
	p->nout++;
	if ((c = p->idle) != NULL) {
		p->idle = c->next;
		p->nidle--;
	}
	pthread_mutex_unlock(&p->lock);
	if (c != NULL) {
		pages = (slab_size + KVM__PAGE - 1) / KVM__PAGE;
		if (slab_size > c->cfg.slab_max) {
			err = KVM_ERR_SLAB_CAP;
			goto err_back;
		}
		c->limit =
		    pages < KVM__RESV_PAGES + 1 ? KVM__RESV_PAGES + 1 : pages;
		c->next = NULL;
		/* a user of another size may need the machine resized */
		if (c->ops->resize(c) != KVM_OK) {
			kvm_ctx_free(c);
			pthread_mutex_lock(&p->lock);
			p->nout--;
			pthread_mutex_unlock(&p->lock);
			return KVM_ERR_SYS;
		}
		*out = c;
		return KVM_OK;
	}
	if ((err = kvm_ctx_new(&p->cfg, slab_size, out)) != KVM_OK) {
		pthread_mutex_lock(&p->lock);
		p->nout--;
		pthread_mutex_unlock(&p->lock);
	}
	return err;
err_back:
	pthread_mutex_lock(&p->lock);
	c->next = p->idle;
	p->idle = c;
	p->nidle++;
	p->nout--;
	pthread_mutex_unlock(&p->lock);
	return err;
}

/* Puts a reset context among the idle ones, unless the pool holds
 * pool_max already: then it is returned, for the caller to free. */
static struct kvm_ctx *
idle_put(struct kvm_pool *p, struct kvm_ctx *ctx)
{
	pthread_mutex_lock(&p->lock);
	if (p->nidle < p->cfg.pool_max) {
		ctx->next = p->idle;
		p->idle = ctx;
		p->nidle++;
		ctx = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	return ctx;
}

void
kvm_pool_release(struct kvm_pool *p, struct kvm_ctx *ctx)
{
	int keep;

	if (ctx == NULL)
		return;
	/* a context that hit an unexpected exit is not trusted again */
	keep = ctx->state != KVM__ST_BROKEN && kvm__ctx_reset(ctx) == KVM_OK;
	pthread_mutex_lock(&p->lock);
	p->nout--;
	pthread_mutex_unlock(&p->lock);
	kvm_ctx_free(keep ? idle_put(p, ctx) : ctx);
}

enum kvm_err
kvm_pool_warm(struct kvm_pool *p, uint64_t populate)
{
	struct kvm_ctx *c;
	enum kvm_err err;
	uint64_t from = KVM__RESV_PAGES * KVM__PAGE, size;

	if ((err = kvm_ctx_new(&p->cfg, p->cfg.slab_max, &c)) != KVM_OK)
		return err;
	size = c->slab_pages * KVM__PAGE;
	if (populate > size - from)
		populate = size - from;
#ifdef MADV_POPULATE_WRITE
	/* zero pages stay zero: nothing for the next reset to clear */
	(void)madvise(c->slab + from, populate, MADV_POPULATE_WRITE);
#endif
	kvm_ctx_free(idle_put(p, c));
	return KVM_OK;
}

unsigned
kvm_pool_idle(struct kvm_pool *p)
{
	unsigned n;

	pthread_mutex_lock(&p->lock);
	n = p->nidle;
	pthread_mutex_unlock(&p->lock);
	return n;
}
