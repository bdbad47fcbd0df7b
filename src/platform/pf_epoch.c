/*
 * pf_epoch.c: the price epoch of a platform with money (docs/money.md,
 * "Prices"). A timer, once per epoch: rent for local and guest memory,
 * expiry of entries in `_`, new prices from the utilization of each
 * resource, the exchange's hook, and now and then a prune of the ledger.
 */
#include <stdlib.h>

#include "pf_money.h"

/* Rent for the epoch that ends; sums the heap and guest bytes held. A
 * process that cannot pay is evicted (the scheduler ends it). */
static void
rent(struct pf_money *m, int64_t now, int64_t *heap, int64_t *guest)
{
	struct pf_platform *pf = m->pf;
	struct pf_link *l = pf->all.next, *next;
	for (; l != &pf->all; l = next) {
		next = l->next;
		struct pf_proc *p = PF_CONTAINER(l, struct pf_proc, all);
		uint64_t hb = m0_state_heap_bytes(p->s);
		uint64_t gb = pf_proc_service_bytes(p);
		*heap += (int64_t)hb;
		*guest += (int64_t)gb;
		struct pf_acct *a = ACCT(p);
		if (!a || !m->cfg.charged || a->wait)
			continue; /* a deposit in flight pays next epoch */
		int64_t since =
		    p->born > m->last_epoch_us ? p->born : m->last_epoch_us;
		pf__charge_rent(m, p, hb, gb, now > since ? now - since : 0);
		if (a->broke)
			pf_proc_evict(p);
	}
}

static void
epoch_cb(uv_timer_t *t)
{
	struct pf_money *m = t->data;
	struct pf_platform *pf = m->pf;
	int64_t now = pf_now_us();
	int64_t dt = now - m->last_epoch_us;
	if (dt <= 0)
		dt = 1;
	int64_t heap = 0, guest = 0;
	rent(m, now, &heap, &guest);
	m->last_epoch_us = now;
	uint32_t gone = m0_global_expire(pf->g, now);
	m->expired_store += gone;
	int64_t used[MONEY_RES_N] = {0}, cap[MONEY_RES_N] = {0};
	used[MONEY_RES_STEP] = (int64_t)(m->demand_ns / 1000);
	cap[MONEY_RES_STEP] = 2 * dt; /* target 1/2: one process at a time */
	used[MONEY_RES_MEM] = heap;
	cap[MONEY_RES_MEM] = m->cfg.mem_capacity;
	used[MONEY_RES_STORE] = (int64_t)m0_global_bytes(pf->g);
	cap[MONEY_RES_STORE] = pf->cfg.lim.global_quota
	    ? (int64_t)pf->cfg.lim.global_quota
	    : PF_STORE_CAPACITY;
	for (int r = MONEY_RES_SEND_UDPIP; r <= MONEY_RES_SEND_CONSOLE; r++) {
		used[r] = m->sent[r];
		cap[r] = (int64_t)((__int128)m->cfg.link_capacity * dt /
		    PF_US_PER_S);
	}
	used[MONEY_RES_NATIVE] = m->native_us;
	cap[MONEY_RES_NATIVE] = dt;
	used[MONEY_RES_GUEST_MEM] = guest;
	cap[MONEY_RES_GUEST_MEM] =
	    (int64_t)(pf->cfg.native_slab ? pf->cfg.native_slab
	                                  : PF_NATIVE_SLAB) *
	    (pf->cfg.native_contexts ? pf->cfg.native_contexts
	                             : PF_NATIVE_CONTEXTS);
	money_prices_epoch(&m->prices, used, cap);
	if (m->epoch_hook) /* the exchange re-rates on the new prices */
		m->epoch_hook(m->epoch_ud, &m->prices);
	m->demand_ns = 0;
	m->native_us = 0;
	memset(m->sent, 0, sizeof(m->sent));
	m->epochs++;
	/* Now and then, with nothing staged, spent serials of expired
	 * tokens leave the ledger so that it stays bounded. */
	if (m->epochs % PF_PRUNE_EPOCHS == 0 && !m->committing &&
	    pf__list_empty(&m->waiters))
		money_bank_prune(m->bank, (uint64_t)(now / PF_US_PER_S));
}

/* Returns a pf_err. */
int
pf__epoch_start(struct pf_money *m)
{
	if (!(m->epoch = malloc(sizeof(*m->epoch))))
		return PF_ERR_NOMEM;
	uv_timer_init(m->pf->loop, m->epoch);
	m->epoch->data = m;
	m->last_epoch_us = pf_now_us();
	uv_timer_start(m->epoch, epoch_cb, (uint64_t)m->cfg.epoch_ms,
	    (uint64_t)m->cfg.epoch_ms);
	uv_unref((uv_handle_t *)m->epoch); /* never keeps the loop alive */
	return PF_OK;
}

static void
epoch_closed(uv_handle_t *h)
{
	free(h);
}

/* The timer is its own allocation, so the money may go before the loop
 * delivers this callback. */
void
pf__epoch_close(struct pf_money *m)
{
	if (m->epoch)
		uv_close((uv_handle_t *)m->epoch, epoch_closed);
	m->epoch = NULL;
}
