/*
 * pf_money.c: money for messengers (spec Part B, docs/money.md). The bank
 * (src/money) keeps the identity, the spent-serial ledger and the book;
 * this file offers it to MØ as the operators _bal _dep _wdr _prc _quo _ofr
 * and runs the group commit: a deposit or withdrawal is staged on the loop
 * thread and the process waits; one commit at a time runs on the libuv
 * thread pool and writes everything staged so far in one transaction of
 * the store, so concurrent deposits share one commit; when it is durable the waiting processes
 * are credited (or handed their token) and resume. Nothing is acknowledged
 * to a messenger before the ledger has it on disk.
 */
#include <stdlib.h>
#include <time.h>

#include <sodium.h>

#include "pf_money.h"

#define PROC(s) ((struct pf_proc *)m0_state_ud(s))

static uint64_t
now_s(void)
{
	return (uint64_t)time(NULL);
}

/* What the token did wrong, when the bank refused it for that
 * (PF_REFUSAL_OTHER: the ledger or memory failed). */
static enum pf_refusal
refusal_kind(enum money_err e)
{
	switch (e) {
	case MONEY_ERR_MALFORMED:
		return PF_REFUSAL_MALFORMED;
	case MONEY_ERR_FORGED:
		return PF_REFUSAL_FORGED;
	case MONEY_ERR_ALTERED:
		return PF_REFUSAL_ALTERED;
	case MONEY_ERR_FOREIGN:
		return PF_REFUSAL_FOREIGN;
	case MONEY_ERR_EXPIRED:
		return PF_REFUSAL_EXPIRED;
	case MONEY_ERR_SPENT:
	case MONEY_ERR_DUP:
		return PF_REFUSAL_SPENT;
	default:
		return PF_REFUSAL_OTHER;
	}
}

/* The MØ error of a refusal by the bank. */
static int
merr(struct pf_money *m, enum money_err e)
{
	switch (e) {
	case MONEY_OK:
		return M0_OK;
	case MONEY_ERR_CREDIT:
	case MONEY_ERR_CLOSED:
		return m->e_credit;
	case MONEY_ERR_OVERFLOW:
	case MONEY_ERR_INVAL:
		return M0_ERANGE_CHECK;
	default: {
		enum pf_refusal r = refusal_kind(e);
		/* NOMEM, SYS, BROKEN, CORRUPT, ...: the ledger's fault */
		return r == PF_REFUSAL_OTHER ? m->e_ledger : m->e_token[r];
	}
	}
}

const char *
pf_refusal_name(int r)
{
	static const char *const names[PF_REFUSAL_N] = {"malformed", "forged",
	    "altered", "foreign", "expired", "spent", "other"};
	return r >= 0 && r < PF_REFUSAL_N ? names[r] : "?";
}

/* Counts a refused deposit under its kind. */
static void
refuse(struct pf_money *m, enum money_err e)
{
	m->refused_by[refusal_kind(e)]++;
}

/* ---- group commit ---- */

static void
work_cb(uv_work_t *w)
{
	struct pf_money *m = w->data;
	m->commit_err = money_ledger_commit(m->bank->ledger, &m->snap);
}

static void mints_run(struct pf_money *m);

/* Everything waiting for a batch that is now durable goes on; after a
 * failed commit everything still waiting fails (the ledger refuses more
 * until the daemon restarts and reopens it). */
static void
settle(struct pf_money *m, enum money_err err)
{
	struct money_book *b = &m->bank->book;
	uint64_t durable = money_ledger_durable(m->bank->ledger);
	struct pf_link *l = m->waiters.next, *next;
	for (; l != &m->waiters; l = next) {
		next = l->next;
		struct pf_mwait *w = PF_CONTAINER(l, struct pf_mwait, link);
		bool ok = w->ticket <= durable;
		if (!ok && !err)
			continue; /* staged after this commit began */
		pf__list_del(&w->link);
		struct pf_proc *p = w->p;
		switch (w->kind) {
		case PF_MW_DEP:
			if (ok) {
				money_account_deposit(b,
				    p ? &ACCT(p)->credit : &m->dead, w->amount);
				m->deposits++;
				if (p)
					ACCT(p)->broke = false;
			}
			break;
		case PF_MW_WDR:
			if (ok)
				m->withdrawals++;
			else /* never issued: the credit comes back */
				money_account_deposit(b,
				    p ? &ACCT(p)->credit : &m->dead, w->amount);
			break;
		case PF_MW_MINT:
			if (!ok)
				money_book_unmint(b, w->amount);
			w->cb(w->ud, ok ? 0 : (int)err, ok ? w->token : NULL);
			break;
		}
		if (p) {
			ACCT(p)->wait = NULL;
			if (!ok) {
				m0_state_resume_error(p->s, m->e_ledger);
			} else if (w->kind == PF_MW_DEP) {
				m0_pop(p->s, 1);
				m0_state_resume_int(p->s, 1, w->amount);
			} else {
				m0_pop(p->s, 1);
				if (m0_push_string(
				        p->s, w->token, MONEY_TOKEN_LEN))
					m0_push_null(p->s); /* heap full */
				m0_state_resume_int(p->s, 0, 0);
			}
			pf_proc_wake(p);
		}
		sodium_memzero(w->token, sizeof(w->token));
		free(w);
	}
}

static void
after_work_cb(uv_work_t *w, int status)
{
	struct pf_money *m = w->data;
	m->committing = false;
	/* Not run (no pool, or cancelled): what is staged is dropped and
	 * every waiter fails, as after a failed commit. */
	if (status)
		money_ledger_abandon(m->bank->ledger);
	enum money_err err = status ? MONEY_ERR_SYS : m->commit_err;
	if (err)
		log_warnx("money: ledger commit failed: %s; money operations "
		          "fail until restart",
		    money_strerror(err));
	settle(m, err);
	mints_run(m);
	pf__money_kick(m);
	pf__money_idle(m);
}

/* Starts a commit when something waits for one and none is running. The
 * book rides along as it is now: everything it counts was staged before,
 * so a restart never finds more outstanding than was minted. */
void
pf__money_kick(struct pf_money *m)
{
	if (m->committing || pf__list_empty(&m->waiters))
		return;
	money_book_totals(&m->bank->book, &m->snap);
	m->work.data = m;
	m->committing = true;
	int rc = uv_queue_work(m->pf->loop, &m->work, work_cb, after_work_cb);
	if (rc)
		after_work_cb(&m->work, rc);
}

static struct pf_mwait *
wait_new(struct pf_money *m, struct pf_proc *p, enum pf_mwait_kind kind,
    uint64_t ticket, int64_t amount)
{
	struct pf_mwait *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->kind = kind;
	w->p = p;
	w->ticket = ticket;
	w->amount = amount;
	pf__list_add_tail(&m->waiters, &w->link);
	if (p) {
		ACCT(p)->wait = w;
		pf_proc_park(p); /* until the commit settles */
	}
	return w;
}

/* The process ends while it waits: the commit still settles the money. */
void
pf__money_wait_drop(struct pf_proc *p)
{
	struct pf_acct *a = ACCT(p);
	if (a && a->wait) {
		a->wait->p = NULL;
		a->wait = NULL;
	}
}

/* Mints are staged only while no commit runs, so that the book of the
 * commit that carries a mint always counts it. */
static void
mints_run(struct pf_money *m)
{
	struct money_book *b = &m->bank->book;
	while (!m->committing && !pf__list_empty(&m->mints)) {
		struct pf_mwait *w =
		    PF_CONTAINER(m->mints.next, struct pf_mwait, link);
		pf__list_del(&w->link);
		struct money_token t;
		uint64_t exp = now_s() + (uint64_t)m->cfg.token_ttl_s;
		enum money_err err = money_book_mint(b, w->amount);
		if (!err &&
		    (err = money_token_sign(
		         m->bank->ident, w->amount, exp, &t)) == MONEY_OK)
			err =
			    money_ledger_stage_issue(m->bank->ledger, t.serial,
			        MONEY_ISSUE_MINT, w->amount, exp, &w->ticket);
		if (err) {
			if (err != MONEY_ERR_OVERFLOW)
				money_book_unmint(b, w->amount);
			w->cb(w->ud, (int)err, NULL);
			free(w);
			continue;
		}
		money_token_encode(&t, w->token);
		sodium_memzero(&t, sizeof(t));
		pf__list_add_tail(&m->waiters, &w->link);
		pf__money_kick(m);
	}
}

int
pf_money_mint(struct pf_platform *pf, int64_t amount, pf_mint_cb cb, void *ud)
{
	struct pf_money *m = pf_service_find(pf, "money");
	if (!m || m->closing || amount <= 0)
		return -1;
	struct pf_mwait *w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	w->kind = PF_MW_MINT;
	w->amount = amount;
	w->cb = cb;
	w->ud = ud;
	pf__list_add_tail(&m->mints, &w->link);
	mints_run(m);
	return 0;
}

/* ---- operators ---- */

/* -- int: own credit, allowance included */
static int
op_bal(struct m0_state *s, void *ud)
{
	struct pf_acct *a = ACCT(PROC(s));
	return m0_push_int(s, a->credit.credit + a->allow.credit);
}

/* A deposit being verified on the thread pool: the signature check is
 * most of a deposit's cost, so the loop and the other processes go on
 * meanwhile, and both processors verify when many deposit at once. */
struct pf_verify {
	uv_work_t work;
	struct pf_money *m;
	struct pf_mwait *w; /* not yet among the waiters */
	uint64_t now;
	enum money_err err;
};

static void
verify_cb(uv_work_t *req)
{
	struct pf_verify *v = req->data;
	v->err = money_bank_deposit_stage(v->m->bank, v->w->token,
	    MONEY_TOKEN_LEN, v->now, &v->w->amount, &v->w->ticket);
}

static void
verified_cb(uv_work_t *req, int status)
{
	struct pf_verify *v = req->data;
	struct pf_money *m = v->m;
	struct pf_mwait *w = v->w;
	struct pf_proc *p = w->p;
	enum money_err err = status ? MONEY_ERR_SYS : v->err;
	m->verifying--;
	free(v);
	if (err) {
		refuse(m, err);
		if (p) {
			ACCT(p)->wait = NULL;
			m0_state_resume_error(p->s, merr(m, err));
			pf_proc_wake(p);
		}
		free(w);
		pf__money_idle(m);
		return;
	}
	/* Staged: even if the process is gone the spend commits with the
	 * next batch, and its amount is settled (burned) then. */
	pf__list_add_tail(&m->waiters, &w->link);
	pf__money_kick(m);
	pf__money_idle(m);
}

/* token _dep int */
static int
op_dep(struct m0_state *s, void *ud)
{
	struct pf_money *m = ud;
	struct pf_proc *p = PROC(s);
	const uint8_t *buf;
	size_t len;
	int err = m0_get_string(s, 0, &buf, &len);
	if (err)
		return err;
	if (len != MONEY_TOKEN_LEN) { /* no signature to check */
		refuse(m, MONEY_ERR_MALFORMED);
		return m->e_token[PF_REFUSAL_MALFORMED];
	}
	struct pf_verify *v = calloc(1, sizeof(*v));
	struct pf_mwait *w = calloc(1, sizeof(*w));
	if (!v || !w) { /* out of memory: MØ has no nearer error */
		free(v);
		free(w);
		return pf_err_m0(PF_ERR_NOMEM);
	}
	w->kind = PF_MW_DEP;
	w->p = p;
	memcpy(w->token, buf, MONEY_TOKEN_LEN);
	pf__list_init(&w->link);
	v->m = m;
	v->w = w;
	v->now = now_s();
	v->work.data = v;
	if (uv_queue_work(m->pf->loop, &v->work, verify_cb, verified_cb)) {
		free(v);
		free(w);
		return m->e_ledger;
	}
	m->verifying++;
	ACCT(p)->wait = w;
	pf_proc_park(p); /* until it is verified and durable */
	return M0_EXT_BLOCK;
}

/* int _wdr token */
static int
op_wdr(struct m0_state *s, void *ud)
{
	struct pf_money *m = ud;
	struct pf_proc *p = PROC(s);
	int64_t amount;
	uint64_t ticket;
	int err = m0_get_int(s, 0, &amount);
	if (err)
		return err;
	if (amount <= 0)
		return M0_ERANGE_CHECK;
	uint8_t tok[MONEY_TOKEN_LEN];
	uint64_t exp = now_s() + (uint64_t)m->cfg.token_ttl_s;
	enum money_err me = money_bank_withdraw_stage(
	    m->bank, &ACCT(p)->credit, amount, exp, tok, &ticket);
	if (me)
		return merr(m, me);
	struct pf_mwait *w = wait_new(m, p, PF_MW_WDR, ticket, amount);
	if (!w) /* issued but never handed out: it expires unredeemed */
		return pf_err_m0(PF_ERR_NOMEM);
	memcpy(w->token, tok, sizeof(tok));
	sodium_memzero(tok, sizeof(tok));
	pf__money_kick(m);
	return M0_EXT_BLOCK;
}

/* -- dict: the current prices by resource name, and their scale */
static int
op_prc(struct m0_state *s, void *ud)
{
	struct pf_money *m = ud;
	int err = m0_push_dict(s);
	for (int r = 0; !err && r < MONEY_RES_N; r++)
		if (!(err = m0_push_int(s, m->prices.price[r])))
			err =
			    m0_set_field(s, money_res_name((enum money_res)r));
	if (!err && !(err = m0_push_int(s, MONEY_PRICE_SCALE)))
		err = m0_set_field(s, "scale");
	if (!err && !(err = m0_push_int(s, (int64_t)m->prices.epoch)))
		err = m0_set_field(s, "epoch");
	return err;
}

/* -- string: the current prices signed by this platform (a quote) */
static int
op_quo(struct m0_state *s, void *ud)
{
	struct pf_money *m = ud;
	struct money_quote q;
	uint8_t out[MONEY_QUOTE_LEN];
	enum money_err me = money_quote_make(m->bank->ident, &m->prices,
	    now_s(), (uint64_t)m->cfg.quote_ttl_s, &q, out);
	if (me)
		return merr(m, me);
	return m0_push_string(s, out, sizeof(out));
}

/* int _ofr --: offer (int) per step, fixed point, for a larger share of
 * the processor; 0 goes back to paying the price */
static int
op_ofr(struct m0_state *s, void *ud)
{
	int64_t offer;
	int err = m0_get_int(s, 0, &offer);
	if (err)
		return err;
	if (offer < 0)
		return M0_ERANGE_CHECK;
	ACCT(PROC(s))->offer = offer;
	m0_pop(s, 1);
	return M0_OK;
}

static const struct {
	const char *name, *alias;
	m0_ext_fn fn;
} ops[] = {
    {"_bal", "balance", op_bal},
    {"_dep", "deposit", op_dep},
    {"_wdr", "withdraw", op_wdr},
    {"_prc", "prices", op_prc},
    {"_quo", "quote", op_quo},
    {"_ofr", "offer", op_ofr},
};

static void svc_stats(void *ud, struct pf_status *st);

/* pf_close(): the timer stops; work in flight finishes through its
 * callbacks (pf__money_idle reports the end). */
static void
svc_close(void *ud)
{
	struct pf_money *m = ud;
	m->closing = true;
	pf__epoch_close(m);
	pf__money_idle(m);
}

/* Called when a verification or commit ends: once closing and nothing
 * is in flight, the service has closed. */
void
pf__money_idle(struct pf_money *m)
{
	if (m->closing && !m->committing && !m->verifying) {
		m->closing = false; /* reported once */
		pf_service_closed(m->pf, m);
	}
}

/* After the loop has run: what still waits was staged but not committed;
 * the bank's final commit writes it, and a deposit of a gone process is
 * burned. */
static void
svc_free(void *ud)
{
	struct pf_money *m = ud;
	pf__epoch_close(m);
	while (!pf__list_empty(&m->waiters) || !pf__list_empty(&m->mints)) {
		struct pf_link *l = pf__list_empty(&m->waiters)
		    ? m->mints.next
		    : m->waiters.next;
		struct pf_mwait *w = PF_CONTAINER(l, struct pf_mwait, link);
		pf__list_del(l);
		if (w->kind == PF_MW_DEP)
			money_account_deposit(
			    &m->bank->book, &m->dead, w->amount);
		else if (w->kind == PF_MW_MINT && w->cb)
			w->cb(w->ud, MONEY_ERR_BROKEN, NULL);
		free(w);
	}
	free(m);
}

int
pf_money_init(struct pf_platform *pf, struct money_bank *bank,
    const struct pf_money_config *cfg)
{
	struct m0_global *g = pf_global(pf);
	struct pf_money *m = calloc(1, sizeof(*m));
	if (!m)
		return PF_ERR_NOMEM;
	m->pf = pf;
	m->bank = bank;
	if (cfg)
		m->cfg = *cfg;
	if (m->cfg.allowance <= 0)
		m->cfg.allowance = PF_ALLOWANCE;
	if (m->cfg.token_ttl_s <= 0)
		m->cfg.token_ttl_s = PF_TOKEN_TTL_S;
	if (m->cfg.quote_ttl_s <= 0)
		m->cfg.quote_ttl_s = PF_QUOTE_TTL_S;
	if (m->cfg.epoch_ms <= 0)
		m->cfg.epoch_ms = PF_EPOCH_MS;
	if (m->cfg.store_lease_s <= 0)
		m->cfg.store_lease_s = PF_STORE_LEASE_S;
	if (m->cfg.mem_capacity <= 0)
		m->cfg.mem_capacity = PF_MEM_CAPACITY;
	if (m->cfg.link_capacity <= 0)
		m->cfg.link_capacity = PF_LINK_CAPACITY;
	money_prices_init(&m->prices);
	m->dead.closed = 1;
	pf__list_init(&m->waiters);
	pf__list_init(&m->mints);
	int err = PF_ERR_INTERP;
	/* token_malformed ... token_spent, credit_low, ledger_failed: in
	 * this order in _ena */
	for (int r = 0; r < PF_REFUSAL_OTHER; r++) {
		char name[32];
		snprintf(name, sizeof(name), "token_%s", pf_refusal_name(r));
		if ((m->e_token[r] = m0_global_add_error(g, name)) < 0)
			goto err;
	}
	if ((m->e_credit = m0_global_add_error(g, "credit_low")) < 0 ||
	    (m->e_ledger = m0_global_add_error(g, "ledger_failed")) < 0)
		goto err;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (m0_global_add_op(
		        g, ops[i].name, ops[i].alias, ops[i].fn, m))
			goto err;
	struct pf_meter mt;
	pf__meter_fill(m, &mt);
	const struct pf_service svc = {.name = "money",
	    .ud = m,
	    .close = svc_close,
	    .free = svc_free,
	    .stats = svc_stats};
	if ((err = pf__epoch_start(m)))
		goto err;
	if ((err = pf_add_service(pf, &svc))) {
		pf__epoch_close(m); /* its callback frees it; m not touched */
		goto err;
	}
	/* A second meter is refused before any process has an account. */
	if ((err = pf_set_meter(pf, &mt)))
		return err; /* the service frees m with the platform */
	return PF_OK;
err:
	free(m);
	return err;
}

void
pf_money_get_stats(struct pf_platform *pf, struct pf_money_stats *st)
{
	memset(st, 0, sizeof(*st));
	struct pf_money *m = pf_service_find(pf, "money");
	if (!m)
		return;
	const struct money_book *b = &m->bank->book;
	struct money_ledger_stats ls;
	struct pf_stats ps;
	money_ledger_stats(m->bank->ledger, &ls);
	pf_get_stats(pf, &ps);
	st->charged = m->cfg.charged;
	st->minted = b->minted;
	st->held = b->held;
	st->outstanding = b->outstanding;
	st->burned = b->burned;
	st->charged_units = b->charged;
	st->lost = b->lost;
	st->lost_at_open = m->bank->lost_at_open;
	st->removed = ps.drops[PF_DROP_CREDIT];
	st->deposits = m->deposits;
	st->withdrawals = m->withdrawals;
	st->refused = 0;
	for (int r = 0; r < PF_REFUSAL_N; r++) {
		st->refused_by[r] = m->refused_by[r];
		st->refused += m->refused_by[r];
	}
	st->expired_store = m->expired_store;
	st->ledger_records = ls.records;
	st->ledger_serials = ls.serials;
	st->commits = ls.commits;
	st->epoch = m->prices.epoch;
	st->nprices = MONEY_RES_N;
	for (int r = 0; r < MONEY_RES_N && r < 16; r++)
		st->price[r] = m->prices.price[r];
}

/* The service's counters in the status table (m0ctl status, the log). */
static void
svc_stats(void *ud, struct pf_status *st)
{
	struct pf_money *m = ud;
	struct pf_money_stats ms;
	pf_money_get_stats(m->pf, &ms);
#define M(n, v) pf_status_add(st, "money", n, (int64_t)(v), NULL)
	pf_status_word(st, "money", "economy", ms.charged ? "charged" : "free");
	M("minted", ms.minted);
	M("held", ms.held);
	M("outstanding", ms.outstanding);
	M("burned", ms.burned);
	M("charged", ms.charged_units);
	M("lost", ms.lost);
	M("lost_at_start", ms.lost_at_open);
	M("removed", ms.removed);
	M("deposits", ms.deposits);
	M("withdrawals", ms.withdrawals);
	M("refused", ms.refused);
	M("store_expired", ms.expired_store);
	M("ledger_records", ms.ledger_records);
	M("ledger_serials", ms.ledger_serials);
	M("commits", ms.commits);
	M("epoch", ms.epoch);
#undef M
	for (int r = 0; r < ms.nprices; r++)
		pf_status_add(st, "money.prices",
		    money_res_name((enum money_res)r), ms.price[r], NULL);
	for (int r = 0; r < PF_REFUSAL_N; r++)
		pf_status_add(st, "money.refusals", pf_refusal_name(r),
		    (int64_t)ms.refused_by[r], NULL);
}

void
pf_money_close(struct pf_platform *pf)
{
	pf_close(pf);
}
