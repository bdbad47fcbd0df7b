/*
 * pf_charge.c: what processes pay on a charged platform (docs/money.md).
 * Every process has an account; an arrival also gets a small allowance
 * that pays only for interpreter steps. Steps are paid after each slice
 * (and a slice is never longer than the credit affords), bytes before
 * they are sent, native time after each guest slice, local memory and
 * guest memory as rent once per epoch, and entries in `_` by a lease paid
 * up front. Charges accumulate in fixed point and are taken in whole
 * units, rounded toward the platform. A process whose credit runs out is
 * removed without a word to it; the operator sees a counter and a debug
 * line. Each epoch the prices follow the utilization of their resource.
 */
#include <stdlib.h>

#include "pf_money.h"

#define SCALE ((__int128)MONEY_PRICE_SCALE)
/* A paying process runs at most this many times the normal slice. */
#define MAX_SHARE 100

void
pf__acct_open(struct pf_proc *p, bool arrival)
{
	struct pf_money *m = p->pf->money;
	if (!m)
		return;
	struct pf_acct *a = calloc(1, sizeof(*a));
	if (!a) {
		p->acct = NULL;
		return;
	}
	p->acct = a;
	money_account_open(&m->bank->book, &a->credit, 0);
	money_account_open(&m->bank->book, &a->allow,
	    arrival && m->cfg.charged ? m->cfg.allowance : 0);
}

void
pf__acct_close(struct pf_proc *p)
{
	struct pf_money *m = p->pf->money;
	if (!m || !p->acct)
		return;
	pf__money_wait_drop(p);
	money_account_close(&m->bank->book, &p->acct->credit);
	money_account_close(&m->bank->book, &p->acct->allow);
}

/* The price a process pays per step: its offer when it offers more. */
int64_t
pf__step_price(struct pf_money *m, const struct pf_acct *a)
{
	int64_t price = m->prices.price[MONEY_RES_STEP];
	return a && a->offer > price ? a->offer : price;
}

/* Takes the whole units owed; the allowance pays only for steps. */
static void
settle(struct pf_money *m, struct pf_acct *a, bool steps)
{
	if (a->owe < SCALE)
		return; /* most slices: no whole unit yet, no division */
	int64_t units = (int64_t)(a->owe / SCALE);
	a->owe -= (__int128)units * SCALE;
	int ex = 0;
	if (steps && a->allow.credit > 0) {
		int64_t part = units < a->allow.credit ? units : a->allow.credit;
		money_account_charge(&m->bank->book, &a->allow, part, NULL);
		units -= part;
	}
	if (units == 0)
		return;
	/* What the credit cannot pay is not owed further: the process goes.
	 * The allowance keeps a process alive only for steps. */
	money_account_charge(&m->bank->book, &a->credit, units, &ex);
	if (ex && (!steps || a->allow.credit == 0))
		a->broke = true;
}

static void
owe(struct pf_acct *a, __int128 qty, int64_t price)
{
	a->owe += qty * price;
}

bool
pf__acct_broke(struct pf_proc *p)
{
	return p->acct && p->acct->broke;
}

/* Removal at zero credit: silent for the messenger (no error, no
 * handler), counted and logged for the operator. */
void
pf__remove_broke(struct pf_proc *p)
{
	struct pf_money *m = p->pf->money;
	m->removed++;
	log_debug("process %llu removed: credit exhausted after %llu steps",
	    (unsigned long long)p->id,
	    (unsigned long long)m0_state_steps(p->s));
	m0_state_kill(p->s);
	pf__end_proc(p);
}

/* The steps of the next slice: (slice) times the share the process pays
 * for, but never more than its credit affords. */
int64_t
pf__charge_budget(struct pf_proc *p, int64_t slice)
{
	struct pf_money *m = p->pf->money;
	struct pf_acct *a = p->acct;
	if (!m || !a || !m->cfg.charged)
		return slice;
	int64_t price = m->prices.price[MONEY_RES_STEP];
	int64_t mine = pf__step_price(m, a);
	__int128 budget = slice;
	if (mine != price) {
		budget = (__int128)slice * mine / price;
		if (budget > (__int128)slice * MAX_SHARE)
			budget = (__int128)slice * MAX_SHARE;
	}
	/* Divide only when the credit does not cover the whole slice. */
	__int128 funds = (__int128)(a->credit.credit + a->allow.credit) * SCALE
	    - a->owe;
	if (budget * mine > funds)
		budget = funds > 0 ? funds / mine : 0;
	return (int64_t)budget;
}

void
pf__charge_steps(struct pf_proc *p, uint64_t steps)
{
	struct pf_money *m = p->pf->money;
	struct pf_acct *a = p->acct;
	if (!a || !m->cfg.charged)
		return;
	owe(a, steps, pf__step_price(m, a));
	settle(m, a, true);
	if (a->credit.credit + a->allow.credit == 0)
		a->broke = true; /* cannot pay for one more step */
}

static enum money_res
send_res(const char *family)
{
	if (!strcmp(family, "udpip"))
		return MONEY_RES_SEND_UDPIP;
	if (!strcmp(family, "tcpip"))
		return MONEY_RES_SEND_TCPIP;
	return MONEY_RES_SEND_CONSOLE;
}

/* Sending is paid before: a process that cannot pay sends nothing and is
 * removed after its slice. */
bool
pf__charge_send(struct pf_proc *p, const char *family, size_t len)
{
	struct pf_money *m = p ? p->pf->money : NULL;
	if (!m)
		return true;
	enum money_res r = send_res(family);
	m->sent[r] += (int64_t)len;
	struct pf_acct *a = p->acct;
	if (!a || !m->cfg.charged)
		return true;
	__int128 cost = (__int128)len * m->prices.price[r] + a->owe;
	if (cost > (__int128)a->credit.credit * SCALE) {
		a->broke = true;
		return false;
	}
	owe(a, len, m->prices.price[r]);
	settle(m, a, false);
	return true;
}

void
pf__charge_native(struct pf_proc *p, uint64_t ns)
{
	struct pf_money *m = p->pf->money;
	if (!m)
		return;
	m->native_us += (int64_t)(ns / 1000);
	struct pf_acct *a = p->acct;
	if (!a || !m->cfg.charged)
		return;
	owe(a, (__int128)(ns / 1000), m->prices.price[MONEY_RES_NATIVE]);
	settle(m, a, false);
	if (a->credit.credit == 0 && a->owe > 0)
		a->broke = true;
}

/* A guest slice as long as the share the process pays for. */
uint64_t
pf__share_us(struct pf_proc *p, uint64_t us)
{
	struct pf_money *m = p->pf->money;
	if (!m || !p->acct || !m->cfg.charged)
		return us;
	__int128 v = (__int128)us * pf__step_price(m, p->acct) /
	    m->prices.price[MONEY_RES_STEP];
	return v > (__int128)us * MAX_SHARE ? us * MAX_SHARE : (uint64_t)v;
}

/* A store into `_`: the lease is what the new global bytes cost for
 * store_lease_s seconds, paid now; what the credit does not cover
 * shortens the lease (to nothing) and the process is removed. */
int64_t
pf__gstore(void *ud, struct m0_state *s)
{
	struct pf_platform *pf = ud;
	struct pf_money *m = pf->money;
	struct pf_proc *p = m0_state_ud(s);
	if (!m || !m->cfg.charged || !p || !p->acct)
		return 0;
	int64_t now = pf_now_us();
	/* The bytes are the value just copied into global memory: the
	 * growth of the global heap since the slice began or the last store
	 * (nothing else allocates there meanwhile), at least an entry's. */
	uint64_t gb = m0_global_bytes(pf->g);
	int64_t bytes = gb > m->gmark ? (int64_t)(gb - m->gmark) : 0;
	m->gmark = gb;
	if (bytes < 64)
		bytes = 64;
	int64_t lease_us = m->cfg.store_lease_s * 1000000;
	__int128 cost = (__int128)bytes * m->cfg.store_lease_s *
	    m->prices.price[MONEY_RES_STORE];
	struct pf_acct *a = p->acct;
	__int128 have = (__int128)a->credit.credit * SCALE - a->owe;
	if (have < cost) {
		lease_us = have > 0 ? (int64_t)(have * lease_us / cost) : 0;
		cost = have > 0 ? have : 0;
		a->broke = true;
	}
	a->owe += cost;
	settle(m, a, false);
	return now + (lease_us > 0 ? lease_us : 1);
}

/* ---- epochs ---- */

static void
rent(struct pf_money *m, int64_t now, int64_t *heap, int64_t *guest)
{
	struct pf_platform *pf = m->pf;
	struct pf_link *l = pf->all.next, *next;
	for (; l != &pf->all; l = next) {
		next = l->next;
		struct pf_proc *p = PF_CONTAINER(l, struct pf_proc, all);
		uint64_t hb = m0_state_heap_bytes(p->s);
		uint64_t gb = pf__native_bytes(p);
		*heap += (int64_t)hb;
		*guest += (int64_t)gb;
		struct pf_acct *a = p->acct;
		if (!a || !m->cfg.charged || a->wait)
			continue; /* a deposit in flight pays next epoch */
		int64_t since = p->born > m->last_epoch_us ? p->born
							   : m->last_epoch_us;
		int64_t dt_us = now > since ? now - since : 0;
		owe(a, (__int128)hb * dt_us / 1000000,
		    m->prices.price[MONEY_RES_MEM]);
		owe(a, (__int128)gb * dt_us / 1000000,
		    m->prices.price[MONEY_RES_GUEST_MEM]);
		settle(m, a, false);
		if (a->broke && p->state != PF_RUNNING)
			pf__remove_broke(p);
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
	    ? (int64_t)pf->cfg.lim.global_quota : (int64_t)64 << 20;
	for (int r = MONEY_RES_SEND_UDPIP; r <= MONEY_RES_SEND_CONSOLE; r++) {
		used[r] = m->sent[r];
		cap[r] = (int64_t)((__int128)m->cfg.link_capacity * dt / 1000000);
	}
	used[MONEY_RES_NATIVE] = m->native_us;
	cap[MONEY_RES_NATIVE] = dt;
	used[MONEY_RES_GUEST_MEM] = guest;
	cap[MONEY_RES_GUEST_MEM] = (int64_t)pf->cfg.native_slab *
	    (pf->cfg.native_contexts ? pf->cfg.native_contexts : 64);
	if (!cap[MONEY_RES_GUEST_MEM])
		cap[MONEY_RES_GUEST_MEM] = (int64_t)256 << 20;
	money_prices_epoch(&m->prices, used, cap);
	if (m->epoch_hook) /* the exchange re-rates on the new prices */
		m->epoch_hook(m->epoch_ud, &m->prices);
	m->demand_ns = 0;
	m->native_us = 0;
	memset(m->sent, 0, sizeof(m->sent));
	m->epochs++;
	/* Now and then, with nothing staged, spent serials of expired
	 * tokens leave the ledger so that it stays bounded. */
	if (m->epochs % 3600 == 0 && !m->committing &&
	    pf__list_empty(&m->waiters))
		money_bank_prune(m->bank, (uint64_t)(now / 1000000));
}

void
pf__epoch_start(struct pf_money *m)
{
	uv_timer_init(m->pf->loop, &m->epoch);
	m->epoch.data = m;
	m->last_epoch_us = pf_now_us();
	uv_timer_start(&m->epoch, epoch_cb, (uint64_t)m->cfg.epoch_ms,
	    (uint64_t)m->cfg.epoch_ms);
	uv_unref((uv_handle_t *)&m->epoch); /* never keeps the loop alive */
}
