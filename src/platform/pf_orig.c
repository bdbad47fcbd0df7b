/*
 * pf_orig.c: origins, the hosts that work comes from, and the share rule
 * that keeps what one origin (or a few acting together) may hold below
 * the daemon's limits, so that arrivals from other hosts are still
 * admitted (issue 15, item 2). An origin is named by a keyed hash of the
 * host's address bytes; it lives while it holds processes, queues, ended
 * parents or link buffers.
 */
#include <stdlib.h>

#include "pf_int.h"

static uint64_t
orig_key(const struct pf_platform *pf, const void *host, size_t len)
{
	if (!host || !len)
		return 0;
	uint64_t h = pf->oseed ^ 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= ((const uint8_t *)host)[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 29;
	return h ? h : 1; /* 0 is the local origin */
}

static uint32_t
ohash(uint64_t k)
{
	k ^= k >> 31;
	k *= 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(k >> 32);
}

/* The origin (key), made when missing; NULL when out of memory. */
struct pf_orig *
pf__orig_get(struct pf_platform *pf, uint64_t key)
{
	struct pf_orig **pp = &pf->otab[ohash(key) & pf->omask];
	for (struct pf_orig *o = *pp; o; o = o->next)
		if (o->key == key)
			return o;
	struct pf_orig *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->key = key;
	o->next = *pp;
	*pp = o;
	pf->norigs++;
	if (pf->norigs > pf->omask)
		pf__rehash((void ***)&pf->otab, &pf->omask,
		    offsetof(struct pf_orig, next), ohash);
	return o;
}

struct pf_orig *
pf__orig_host(struct pf_platform *pf, const void *host, size_t len)
{
	return pf__orig_get(pf, orig_key(pf, host, len));
}

/* Frees an origin that holds nothing alive any more. */
void
pf__orig_put(struct pf_platform *pf, struct pf_orig *o)
{
	if (o->procs || o->queues || o->links || o->ended)
		return;
	struct pf_orig **pp = &pf->otab[ohash(o->key) & pf->omask];
	while (*pp != o)
		pp = &(*pp)->next;
	*pp = o->next;
	pf->norigs--;
	free(o);
}

bool
pf__share_ok(
    uint64_t held, uint64_t n, uint64_t used, uint64_t total, uint64_t cap)
{
	if (held + n > cap)
		return false;
	if (!total)
		return true;
	if (used + n > total)
		return false;
	uint64_t reserve = total > cap ? total - cap : 0;
	if (used + n <= total - reserve)
		return true;
	return held + n <= total - used;
}

void
pf__budget_now(uint64_t *used, uint64_t *limit)
{
	struct m0_budget *b = m0_budget();
	*used = b ? b->used : 0;
	*limit = b ? b->limit : 0;
}

bool
pf__orig_hold(struct pf_platform *pf, struct pf_orig *o, uint64_t n)
{
	uint64_t used, limit;
	pf__budget_now(&used, &limit);
	if (!pf__share_ok(o->bytes, n, used, limit, pf->cfg.origin_memory) ||
	    !m0_budget_take(n))
		return false;
	o->bytes += n;
	o->links += n;
	return true;
}

void
pf__orig_release(struct pf_platform *pf, struct pf_orig *o, uint64_t n)
{
	o->bytes -= n;
	o->links -= n;
	m0_budget_give(n);
	pf__orig_put(pf, o);
}
