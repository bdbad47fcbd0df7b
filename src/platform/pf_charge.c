/*
 * pf_charge.c: the meter of a charged platform (include/pf_svc.h,
 * docs/money.md). Every process has an account; an arrival also gets a
 * small allowance that pays only for interpreter steps. Steps are paid
 * after each turn (and a turn is never longer than the credit affords),
 * bytes before they are sent, native time after each guest slice, local
 * memory and guest memory as rent once per epoch (pf_epoch.c), and
 * entries in `_` by a lease paid up front. Charges accumulate in fixed
 * point and are taken in whole units, rounded toward the platform. A
 * charge returns a verdict: PF_BROKE when the credit ran out, and the
 * scheduler then ends the process without a word to it.
 */
#include <stdlib.h>

#include "pf_money.h"

#define SCALE ((__int128)MONEY_PRICE_SCALE)
/* Bytes an entry of `_` is charged for at least. */
#define STORE_MIN_BYTES 64

static int64_t
step_price(const struct pf_money *m)
{
	return m->prices.price[MONEY_RES_STEP];
}

static int
m_open(void *ud, struct pf_proc *p, int arrival)
{
	struct pf_money *m = ud;
	struct pf_acct *a = calloc(1, sizeof(*a));
	if (!a)
		return PF_ERR_NOMEM;
	money_account_open(&m->bank->book, &a->credit, 0);
	money_account_open(&m->bank->book, &a->allow,
	    arrival && m->cfg.charged ? m->cfg.allowance : 0);
	/* A local submit (`$`) of a process in its turn: the parent pays
	 * the child's first steps, up to one allowance from its own credit
	 * (never from its allowance), so that a child handed a token can
	 * live to deposit it (docs/money.md, Handing money to a child). */
	struct pf_acct *pa = m->turning ? ACCT(m->turning) : NULL;
	if (!arrival && m->cfg.charged && pa && pa->credit.credit > 0) {
		int64_t give = pa->credit.credit < m->cfg.allowance
		    ? pa->credit.credit
		    : m->cfg.allowance;
		money_account_transfer(
		    &m->bank->book, &pa->credit, &a->credit, give);
	}
	pf_proc_set_meter(p, a);
	return PF_OK;
}

static void
m_close(void *ud, struct pf_proc *p)
{
	struct pf_money *m = ud;
	struct pf_acct *a = ACCT(p);
	if (!a)
		return;
	pf__money_wait_drop(p);
	if (m->turning == p)
		m->turning = NULL;
	money_account_close(&m->bank->book, &a->credit);
	money_account_close(&m->bank->book, &a->allow);
	pf_proc_set_meter(p, NULL);
	free(a);
}

/* Takes the whole units owed; the allowance pays only for steps. */
static void
settle(struct pf_money *m, struct pf_acct *a, bool steps)
{
	if (a->owe < SCALE)
		return; /* most turns: no whole unit yet, no division */
	int64_t units = (int64_t)(a->owe / SCALE);
	a->owe -= (__int128)units * SCALE;
	int ex = 0;
	if (steps && a->allow.credit > 0) {
		int64_t part =
		    units < a->allow.credit ? units : a->allow.credit;
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

/* A process that waits for a deposit is not removed: the deposit may
 * bring the credit it lacks (the commit clears broke). */
static enum pf_verdict
verdict(const struct pf_acct *a)
{
	return a->broke && !a->wait ? PF_BROKE : PF_PAID;
}

/* The steps of the next turn: the share rule (pf_share.c), but never
 * more than the credit affords. */
static int64_t
m_turn(void *ud, struct pf_proc *p, int64_t slice)
{
	struct pf_money *m = ud;
	struct pf_acct *a = ACCT(p);
	/* `_` stores in this turn count global heap growth from here. */
	m->gmark = m0_global_bytes(pf_global(m->pf));
	m->turning = p;
	if (!a || !m->cfg.charged)
		return slice;
	int64_t price = step_price(m);
	int64_t pay = pf__share_pay(a->offer, price);
	__int128 budget = pf__share_turn(slice, a->offer, price);
	/* Divide only when the credit does not cover the whole turn. */
	__int128 funds =
	    (__int128)(a->credit.credit + a->allow.credit) * SCALE - a->owe;
	if (budget * pay > funds)
		budget = funds > 0 ? funds / pay : 0;
	return (int64_t)budget;
}

static enum pf_verdict
m_steps(void *ud, struct pf_proc *p, uint64_t steps)
{
	struct pf_money *m = ud;
	struct pf_acct *a = ACCT(p);
	m->turning = NULL;
	if (!a || !m->cfg.charged)
		return PF_PAID;
	owe(a, steps, pf__share_pay(a->offer, step_price(m)));
	settle(m, a, true);
	if (a->credit.credit + a->allow.credit == 0)
		a->broke = true; /* cannot pay for one more step */
	return verdict(a);
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
 * removed after its turn. */
static enum pf_verdict
m_send(void *ud, struct pf_proc *p, const char *family, size_t len)
{
	struct pf_money *m = ud;
	enum money_res r = send_res(family);
	m->sent[r] += (int64_t)len;
	struct pf_acct *a = ACCT(p);
	if (!a || !m->cfg.charged)
		return PF_PAID;
	__int128 cost = (__int128)len * m->prices.price[r] + a->owe;
	if (cost > (__int128)a->credit.credit * SCALE) {
		a->broke = true;
		return PF_BROKE;
	}
	owe(a, len, m->prices.price[r]);
	settle(m, a, false);
	return PF_PAID;
}

static enum pf_verdict
m_native(void *ud, struct pf_proc *p, uint64_t ns)
{
	struct pf_money *m = ud;
	m->native_us += (int64_t)(ns / 1000);
	struct pf_acct *a = ACCT(p);
	if (!a || !m->cfg.charged)
		return PF_PAID;
	owe(a, (__int128)(ns / 1000), m->prices.price[MONEY_RES_NATIVE]);
	settle(m, a, false);
	if (a->credit.credit == 0 && a->owe > 0)
		a->broke = true;
	return verdict(a);
}

/* A guest slice by the same share rule as steps: the offer against the
 * step price decides the native time too. */
static uint64_t
m_native_turn(void *ud, struct pf_proc *p, uint64_t us)
{
	struct pf_money *m = ud;
	struct pf_acct *a = ACCT(p);
	if (!a || !m->cfg.charged)
		return us;
	return (uint64_t)pf__share_turn((int64_t)us, a->offer, step_price(m));
}

static void
m_busy(void *ud, uint64_t ns, int queued)
{
	struct pf_money *m = ud;
	m->demand_ns += ns * (queued ? 2 : 1);
}

/* A store into `_`: the lease is what the new global bytes cost for
 * store_lease_s seconds, paid now; what the credit does not cover
 * shortens the lease (to nothing) and the process is removed. */
static int64_t
m_gstore(void *ud, struct m0_state *s)
{
	struct pf_money *m = ud;
	struct pf_proc *p = m0_state_ud(s);
	if (!m->cfg.charged || !p || !ACCT(p))
		return 0;
	int64_t now = pf_now_us();
	/* The bytes are the value just copied into global memory: the
	 * growth of the global heap since the turn began or the last store
	 * (nothing else allocates there meanwhile), at least an entry's. */
	uint64_t gb = m0_global_bytes(pf_global(m->pf));
	int64_t bytes = gb > m->gmark ? (int64_t)(gb - m->gmark) : 0;
	m->gmark = gb;
	if (bytes < STORE_MIN_BYTES)
		bytes = STORE_MIN_BYTES;
	int64_t lease_us = m->cfg.store_lease_s * PF_US_PER_S;
	__int128 cost = (__int128)bytes * m->cfg.store_lease_s *
	    m->prices.price[MONEY_RES_STORE];
	struct pf_acct *a = ACCT(p);
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

/* Rent of an epoch: (heap) local and (guest) guest bytes held for
 * (dt_us). A process that cannot pay it is evicted (pf_epoch.c). */
void
pf__charge_rent(struct pf_money *m, struct pf_proc *p, uint64_t heap,
    uint64_t guest, int64_t dt_us)
{
	struct pf_acct *a = ACCT(p);
	owe(a, (__int128)heap * dt_us / PF_US_PER_S,
	    m->prices.price[MONEY_RES_MEM]);
	owe(a, (__int128)guest * dt_us / PF_US_PER_S,
	    m->prices.price[MONEY_RES_GUEST_MEM]);
	settle(m, a, false);
}

void
pf__meter_fill(struct pf_money *m, struct pf_meter *mt)
{
	*mt = (struct pf_meter){.ud = m,
	    .open = m_open,
	    .close = m_close,
	    .turn = m_turn,
	    .steps = m_steps,
	    .native_turn = m_native_turn,
	    .native = m_native,
	    .send = m_send,
	    .busy = m_busy,
	    .gstore = m_gstore};
}
