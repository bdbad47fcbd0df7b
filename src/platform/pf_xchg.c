/*
 * pf_xchg.c: the exchange for messengers (docs/xchg.md, "Phase 2"). The
 * exchange core (src/xchg) rates foreign currencies from their signed
 * price quotes, signs exchange quotes and keeps the reserve of foreign
 * tokens; this file offers it to MØ as _xlr _xqt _xsl _xby _xcl _xcd _xrs
 * and moves the local money. Reserve changes are staged on the loop
 * thread and the process waits; one commit at a time writes the whole
 * batch in one transaction on the libuv thread pool (as _dep does for the
 * ledger), and when it is durable the waiters are paid or handed their
 * tokens and resume. Nothing is acknowledged before the reserve has it.
 *
 * Money: the exchange is a currency board. Selling a foreign token mints
 * floor(amount * bid) local units into the seller's credit, against the
 * token now in the reserve; buying burns what the buyer pays. So the
 * bank's book keeps minted = held + outstanding + burned + lost exactly,
 * and the foreign token stays outstanding in its issuer's book until
 * clearing redeems it there.
 */
#include <ctype.h>
#include <stdlib.h>
#include <time.h>

#include <sodium.h>

#include "pf_money.h"
#include "xchg.h"

#define PROC(s) ((struct pf_proc *)m0_state_ud(s))
/* Tokens one _xcl hands out at most. */
#define CLEAR_MAX 64

enum xw_kind { XW_SELL, XW_BUY, XW_CLEAR, XW_CLEARED, XW_NONE };

/* A process (or nobody) waiting for a reserve batch. The base is what
 * pf__money_wait_drop() sees when the process ends meanwhile (it clears
 * base.p); it is never on the money's own list, so its kind is unused. */
struct xwait {
	struct pf_mwait base; /* base.p, base.ticket; base.link in waiters */
	enum xw_kind kind;
	int64_t local; /* sell: credit due; buy: cost paid; cleared: count */
	uint8_t token[MONEY_TOKEN_LEN]; /* buy: the token sold */
	struct money_token *toks;       /* clear: handed out */
	size_t ntoks;
};

struct pf_xchg {
	struct pf_platform *pf;
	struct pf_money *m;
	struct xchg_exchange *x;
	struct xchg_reserve *r;
	uv_work_t work;
	struct xchg_batch *batch; /* in flight on the pool */
	struct pf_link waiters;   /* struct xwait, in ticket order */
	bool broken;
	bool closing;        /* pf_close(): finish, then report */
	int close_rounds;    /* commits of what settling staged again */
	int err[XCHG_ERR_N]; /* MØ error of each refusal */
	int e_failed;
	uint64_t epochs;
	/* counters (docs/xchg.md) */
	int64_t minted, burned; /* local units: paid to sellers, from buyers */
	uint64_t sells, buys, refused;
	uint64_t compactions;
	uint64_t compacted_at; /* records the last compaction kept */
};

static uint64_t
now_s(void)
{
	return (uint64_t)time(NULL);
}

/* The MØ error of an exchange refusal: each refusal its own name, the
 * faults of the reserve one name. */
static int
xerr(struct pf_xchg *xs, enum xchg_err e)
{
	if (e == XCHG_ERR_INVAL)
		return M0_ERANGE_CHECK;
	if ((unsigned)e < XCHG_ERR_N && xs->err[e])
		return xs->err[e];
	return xs->e_failed;
}

static int
refuse(struct pf_xchg *xs, enum xchg_err e)
{
	xs->refused++;
	if (e == XCHG_ERR_BROKEN || e == XCHG_ERR_SYS || e == XCHG_ERR_NOMEM)
		xs->broken = true;
	return xerr(xs, e);
}

/* ---- local money ---- */

/* (v) new local units into (a) (closed or NULL: burned at once). */
static void
mint_into(struct pf_xchg *xs, struct money_account *a, int64_t v)
{
	struct money_book *b = &xs->m->bank->book;
	if (v <= 0 || money_book_mint(b, v))
		return;
	money_account_deposit(b, a ? a : &xs->m->dead, v);
	xs->minted += v;
}

/* ---- group commit on the thread pool ---- */

static void kick(struct pf_xchg *xs);
static void close_step(struct pf_xchg *xs);

static void
xwait_free(struct xwait *w)
{
	if (w->toks)
		sodium_memzero(w->toks, w->ntoks * sizeof(*w->toks));
	free(w->toks);
	sodium_memzero(w->token, sizeof(w->token));
	free(w);
}

/* A process that went away leaves nothing stranded: a token it bought
 * goes back to the reserve (it was paid for), tokens it took for
 * clearing go back to held. */
static void
orphan(struct pf_xchg *xs, struct xwait *w)
{
	uint64_t t;
	struct money_token tok;
	switch (w->kind) {
	case XW_SELL:
		mint_into(xs, NULL, w->local);
		break;
	case XW_BUY:
		if (money_token_decode(w->token, sizeof(w->token), &tok) ==
		    MONEY_OK)
			(void)xchg_reserve_stage_add(xs->r, &tok, &t);
		break;
	case XW_CLEAR:
		for (size_t i = 0; i < w->ntoks; i++)
			(void)xchg_reserve_stage_set(xs->r, w->toks[i].currency,
			    w->toks[i].serial, XCHG_HELD, &t);
		break;
	default:
		break;
	}
}

static void
resume(struct pf_xchg *xs, struct xwait *w, struct pf_proc *p)
{
	struct m0_state *s = p->s;
	int err = M0_OK;
	switch (w->kind) {
	case XW_SELL:
		mint_into(xs, &ACCT(p)->credit, w->local);
		ACCT(p)->broke = false;
		m0_pop(s, 1);
		m0_state_resume_int(s, 1, w->local);
		return;
	case XW_BUY:
		m0_pop(s, 3);
		if (m0_push_string(s, w->token, sizeof(w->token)))
			m0_push_null(
			    s); /* heap full: the token is lost to it */
		break;
	case XW_CLEAR:
		m0_pop(s, 2);
		for (size_t i = 0; !err && i < w->ntoks; i++) {
			uint8_t b[MONEY_TOKEN_LEN];
			money_token_encode(&w->toks[i], b);
			err = m0_push_string(s, b, sizeof(b));
			if (err) /* heap full: the rest go back to held */
				m0_pop(s, (uint32_t)i);
		}
		if (err || m0_pack(s, (uint32_t)w->ntoks)) {
			orphan(xs, w);
			m0_push_null(s);
		}
		break;
	case XW_CLEARED:
		m0_pop(s, 3);
		m0_state_resume_int(s, 1, w->local);
		return;
	default:
		break;
	}
	m0_state_resume_int(s, 0, 0);
}

/* Waiters whose batch is durable go on; after a failed commit every
 * waiter fails (the reserve refuses more until the daemon restarts). */
static void
settle(struct pf_xchg *xs, enum xchg_err err)
{
	uint64_t durable = xchg_reserve_durable(xs->r);
	struct pf_link *l = xs->waiters.next, *next;
	for (; l != &xs->waiters; l = next) {
		next = l->next;
		struct xwait *w = PF_CONTAINER(l, struct xwait, base.link);
		bool ok = w->base.ticket <= durable;
		if (!ok && !err)
			continue;
		pf__list_del(&w->base.link);
		struct pf_proc *p = w->base.p;
		if (ok && w->kind == XW_SELL)
			xs->sells++;
		if (ok && w->kind == XW_BUY)
			xs->buys++;
		if (!ok && w->kind == XW_BUY && w->local > 0)
			mint_into(xs, p ? &ACCT(p)->credit : NULL, w->local);
		if (p) {
			ACCT(p)->wait = NULL;
			if (ok)
				resume(xs, w, p);
			else
				m0_state_resume_error(p->s, xs->e_failed);
			pf_proc_wake(p);
		} else if (ok) {
			orphan(xs, w);
		}
		xwait_free(w);
	}
}

static void
work_cb(uv_work_t *req)
{
	struct pf_xchg *xs = req->data;
	xchg_reserve_commit_write(xs->batch);
}

static void
after_work_cb(uv_work_t *req, int status)
{
	struct pf_xchg *xs = req->data;
	struct xchg_batch *b = xs->batch;
	xs->batch = NULL;
	/* Not run (no pool, or cancelled): the batch ends unwritten and
	 * fails, and so does every waiter, as after a failed commit. */
	(void)status;
	enum xchg_err err = xchg_reserve_commit_end(xs->r, b);
	if (err) {
		log_warnx("exchange: reserve commit failed: %s; the exchange "
		          "refuses everything until restart",
		    xchg_strerror(err));
		xs->broken = true;
	}
	settle(xs, err);
	if (xs->closing)
		close_step(xs);
	else
		kick(xs);
}

/* Starts a commit when something is staged and none runs. */
static void
kick(struct pf_xchg *xs)
{
	if (xs->batch || xchg_reserve_staged(xs->r) == 0)
		return;
	struct xchg_batch *b;
	enum xchg_err err = xchg_reserve_commit_begin(xs->r, &b);
	if (err || !b) {
		if (err)
			settle(xs, err);
		return;
	}
	xs->batch = b;
	xs->work.data = xs;
	int rc = uv_queue_work(xs->pf->loop, &xs->work, work_cb, after_work_cb);
	if (rc)
		after_work_cb(&xs->work, rc);
}

/* Blocks (p) until the batch of (ticket) is durable. */
static struct xwait *
block(struct pf_xchg *xs, struct pf_proc *p, enum xw_kind kind, uint64_t ticket)
{
	struct xwait *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->base.p = p;
	w->base.ticket = ticket;
	w->kind = kind;
	pf__list_add_tail(&xs->waiters, &w->base.link);
	if (p) {
		ACCT(p)->wait = &w->base;
		pf_proc_park(p); /* until the commit settles */
	}
	return w;
}

/* ---- operands ---- */

/* A currency named by its 32-byte key, or by one of its tokens. */
static int
get_currency(struct m0_state *s, uint32_t k, uint8_t pk[MONEY_PK_LEN])
{
	const uint8_t *b;
	size_t n;
	int err = m0_get_string(s, k, &b, &n);
	if (err)
		return err;
	if (n == MONEY_PK_LEN) {
		memcpy(pk, b, MONEY_PK_LEN);
		return M0_OK;
	}
	struct money_token t;
	if (money_token_decode(b, n, &t))
		return M0_ERANGE_CHECK;
	memcpy(pk, t.currency, MONEY_PK_LEN);
	return M0_OK;
}

/* ---- operators ---- */

/* quote _xlr --: learn a foreign platform's signed price quote */
static int
op_xlr(struct m0_state *s, void *ud)
{
	struct pf_xchg *xs = ud;
	const uint8_t *b;
	size_t n;
	int err = m0_get_string(s, 0, &b, &n);
	if (err)
		return err;
	enum xchg_err xe = xchg_exchange_learn(xs->x, b, n, now_s());
	if (xe)
		return refuse(xs, xe);
	m0_pop(s, 1);
	return M0_OK;
}

/* pk _xqt xquote: our signed bid and ask for a currency */
static int
op_xqt(struct m0_state *s, void *ud)
{
	struct pf_xchg *xs = ud;
	uint8_t pk[MONEY_PK_LEN], out[XCHG_QUOTE_LEN];
	struct xchg_quote q;
	int err = get_currency(s, 0, pk);
	if (err)
		return err;
	enum xchg_err xe = xchg_exchange_quote(xs->x, pk, now_s(), &q, out);
	if (xe)
		return refuse(xs, xe);
	if ((err = m0_push_string(s, out, sizeof(out))))
		return err;
	m0_drop_under(s, 1);
	return M0_OK;
}

/* token _xsl int: sell a foreign token for local credit at the bid */
static int
op_xsl(struct m0_state *s, void *ud)
{
	struct pf_xchg *xs = ud;
	const uint8_t *b;
	size_t n;
	int64_t local;
	uint64_t ticket;
	int err = m0_get_string(s, 0, &b, &n);
	if (err)
		return err;
	if (xs->broken)
		return refuse(xs, XCHG_ERR_BROKEN);
	enum xchg_err xe =
	    xchg_exchange_sell_stage(xs->x, b, n, now_s(), &local, &ticket);
	if (xe)
		return refuse(xs, xe);
	struct xwait *w = block(xs, PROC(s), XW_SELL, ticket);
	if (!w) { /* staged anyway: pay nobody, burn it */
		mint_into(xs, NULL, local);
		return pf_err_m0(PF_ERR_NOMEM);
	}
	w->local = local;
	kick(xs);
	return M0_EXT_BLOCK;
}

/* pk want offer _xby token: buy a token of a currency at the ask, paying
 * at most offer (and never more than the credit) */
static int
op_xby(struct m0_state *s, void *ud)
{
	struct pf_xchg *xs = ud;
	struct pf_proc *p = PROC(s);
	uint8_t pk[MONEY_PK_LEN], tok[MONEY_TOKEN_LEN];
	int64_t want, offer, cost, amount;
	uint64_t ticket;
	int err;
	if ((err = m0_get_int(s, 0, &offer)) ||
	    (err = m0_get_int(s, 1, &want)) || (err = get_currency(s, 2, pk)))
		return err;
	if (want < 0 || offer < 1)
		return M0_ERANGE_CHECK;
	if (xs->broken)
		return refuse(xs, XCHG_ERR_BROKEN);
	int64_t credit = ACCT(p)->credit.credit;
	if (credit < 1)
		return refuse(xs, XCHG_ERR_CREDIT);
	enum xchg_err xe = xchg_exchange_buy_stage(xs->x, pk, want,
	    offer < credit ? offer : credit, now_s(), tok, &cost, &amount,
	    &ticket);
	if (xe)
		return refuse(xs, xe);
	/* Paid now (burned); refunded if the commit fails. */
	money_account_charge(&xs->m->bank->book, &ACCT(p)->credit, cost, NULL);
	xs->burned += cost;
	struct xwait *w = block(xs, p, XW_BUY, ticket);
	if (!w)
		return pf_err_m0(PF_ERR_NOMEM); /* sold, unclaimed: see orphan
		                                  */
	w->local = cost;
	memcpy(w->token, tok, sizeof(tok));
	sodium_memzero(tok, sizeof(tok));
	kick(xs);
	return M0_EXT_BLOCK;
}

struct collect {
	struct money_token *v;
	size_t n;
};

static int
collect_cb(void *arg, const struct money_token *t, int state)
{
	struct collect *c = arg;
	(void)state;
	c->v[c->n++] = *t;
	return c->n == CLEAR_MAX;
}

/* pk key _xcl array: hands up to 64 held tokens of a currency to a
 * clearing messenger (HELD -> CLEARING); key is the exchange's clearing
 * key (config [exchange] clear_key) */
static int
op_xcl(struct m0_state *s, void *ud)
{
	struct pf_xchg *xs = ud;
	uint8_t pk[MONEY_PK_LEN];
	uint64_t key, ticket = 0;
	int err;
	if ((err = m0_get_key(s, 0, &key)) || (err = get_currency(s, 1, pk)))
		return err;
	uint64_t want = xchg_exchange_config(xs->x)->clear_key;
	if (want == 0 || key != want)
		return M0_EACCESS_CHECK;
	if (xs->broken)
		return refuse(xs, XCHG_ERR_BROKEN);
	struct collect c = {calloc(CLEAR_MAX, sizeof(*c.v)), 0};
	if (!c.v)
		return pf_err_m0(PF_ERR_NOMEM);
	xchg_reserve_each(xs->r, pk, XCHG_HELD, collect_cb, &c);
	for (size_t i = 0; i < c.n; i++) {
		enum xchg_err xe = xchg_reserve_stage_set(
		    xs->r, pk, c.v[i].serial, XCHG_CLEARING, &ticket);
		if (xe) { /* only NOMEM or BROKEN: give back what moved */
			for (size_t j = 0; j < i; j++)
				(void)xchg_reserve_stage_set(xs->r, pk,
				    c.v[j].serial, XCHG_HELD, &ticket);
			free(c.v);
			kick(xs);
			return refuse(xs, xe);
		}
	}
	if (c.n == 0)
		ticket = xchg_reserve_durable(xs->r);
	struct xwait *w = block(xs, PROC(s), XW_CLEAR, ticket);
	if (!w) {
		free(c.v);
		return pf_err_m0(PF_ERR_NOMEM);
	}
	w->toks = c.v;
	w->ntoks = c.n;
	if (c.n)
		kick(xs);
	else
		settle(xs, XCHG_OK);
	return M0_EXT_BLOCK;
}

/* Decodes token i of the array at operand k. */
static int
array_token(struct m0_state *s, uint32_t k, size_t i, struct money_token *t,
    const uint8_t **raw)
{
	size_t n;
	int err = m0_get_array_string(s, k, i, raw, &n);
	if (err)
		return err;
	return money_token_decode(*raw, n, t) ? M0_ERANGE_CHECK : M0_OK;
}

/* cleared spent fresh _xcd int: a clearing messenger is back. cleared:
 * the tokens the issuer redeemed, spent: those it refused (a loss),
 * fresh: the tokens it issued in exchange (no more than cleared). All or
 * nothing; pushes the number of fresh tokens now held. */
static int
op_xcd(struct m0_state *s, void *ud)
{
	struct pf_xchg *xs = ud;
	const struct xchg_config *cfg = xchg_exchange_config(xs->x);
	size_t n[3];
	struct money_token t;
	const uint8_t *raw;
	uint8_t cur[MONEY_PK_LEN], enc[MONEY_TOKEN_LEN];
	int64_t sum[3] = {0, 0, 0};
	uint64_t now = now_s(), ticket = 0;
	bool have = false;
	int err;
	for (int a = 0; a < 3; a++)
		if ((err = m0_get_array_len(s, (uint32_t)(2 - a), &n[a])))
			return err;
	if (xs->broken)
		return refuse(xs, XCHG_ERR_BROKEN);
	/* Check everything first. */
	for (int a = 0; a < 3; a++) {
		for (size_t i = 0; i < n[a]; i++) {
			if ((err = array_token(
			         s, (uint32_t)(2 - a), i, &t, &raw)))
				return err;
			if (!have)
				memcpy(cur, t.currency, MONEY_PK_LEN);
			have = true;
			if (memcmp(cur, t.currency, MONEY_PK_LEN))
				return refuse(xs, XCHG_ERR_STATE);
			sum[a] += t.amount;
			if (sum[a] < 0)
				return M0_ERANGE_CHECK;
			struct money_token held;
			int st = xchg_reserve_lookup(
			    xs->r, t.currency, t.serial, &held);
			if (a < 2) { /* exactly a token we sent to clear */
				money_token_encode(&held, enc);
				if (st != XCHG_CLEARING ||
				    sodium_memcmp(enc, raw, sizeof(enc)))
					return refuse(xs, XCHG_ERR_STATE);
				continue;
			}
			if (money_token_verify(&t))
				return refuse(xs, XCHG_ERR_BAD_TOKEN);
			if (t.expiry <= now || t.expiry - now < cfg->min_life)
				return refuse(xs, XCHG_ERR_TOKEN_EXPIRED);
			if (st == XCHG_HELD || st == XCHG_CLEARING)
				return refuse(xs, XCHG_ERR_HELD);
			if (st == XCHG_CLEARED || st == XCHG_SPENT)
				return refuse(xs, XCHG_ERR_SPENT);
		}
	}
	if (sum[2] > sum[0])
		return M0_ERANGE_CHECK; /* more fresh money than was cleared */
	/* Then stage: a duplicate inside one array is caught here and the
	 * reserve is broken (staged, partly applied): never by honest use. */
	for (int a = 0; a < 3; a++) {
		for (size_t i = 0; i < n[a]; i++) {
			enum xchg_err xe;
			array_token(s, (uint32_t)(2 - a), i, &t, &raw);
			if (a < 2)
				xe = xchg_reserve_stage_set(xs->r, t.currency,
				    t.serial,
				    a == 0 ? XCHG_CLEARED : XCHG_SPENT,
				    &ticket);
			else
				xe = xchg_reserve_stage_add(xs->r, &t, &ticket);
			if (xe) {
				kick(xs);
				return refuse(xs, xe);
			}
		}
	}
	if (!have)
		ticket = xchg_reserve_durable(xs->r);
	struct xwait *w = block(xs, PROC(s), XW_CLEARED, ticket);
	if (!w)
		return pf_err_m0(PF_ERR_NOMEM);
	w->local = (int64_t)n[2];
	if (have)
		kick(xs);
	else
		settle(xs, XCHG_OK);
	return M0_EXT_BLOCK;
}

/* pk _xrs dict: the reserve of a currency by state (foreign units), and
 * the rate: what 10^6 foreign units fetch here (bid, rounded down) and
 * cost here (ask, rounded up), 0 when not rated */
static int
op_xrs(struct m0_state *s, void *ud)
{
	struct pf_xchg *xs = ud;
	static const char *const names[XCHG_STATE_N] = {
	    NULL, "held", "clearing", "cleared", "spent", "sold", "expired"};
	uint8_t pk[MONEY_PK_LEN];
	struct xchg_reserve_sums sums;
	int err = get_currency(s, 0, pk);
	if (err)
		return err;
	xchg_reserve_sums(xs->r, pk, &sums);
	const struct xchg_rate *r = xchg_exchange_rate(xs->x, pk);
	int64_t bid = 0, ask = 0;
	if (r) {
		xchg_rat_mul_floor(XCHG_PPM, r->bid, &bid);
		xchg_rat_mul_ceil(XCHG_PPM, r->ask, &ask);
	}
	if ((err = m0_push_dict(s)))
		return err;
	for (int i = 1; !err && i < XCHG_STATE_N; i++)
		if (!(err = m0_push_int(s, sums.amount[i])))
			err = m0_set_field(s, names[i]);
	if (!err && !(err = m0_push_int(s, bid)))
		err = m0_set_field(s, "bid");
	if (!err && !(err = m0_push_int(s, ask)))
		err = m0_set_field(s, "ask");
	/* what the exchange paid out and took in, in local units */
	if (!err && !(err = m0_push_int(s, xs->minted)))
		err = m0_set_field(s, "xminted");
	if (!err && !(err = m0_push_int(s, xs->burned)))
		err = m0_set_field(s, "xburned");
	if (err) {
		m0_pop(s, 1);
		return err;
	}
	m0_drop_under(s, 1);
	return M0_OK;
}

static const struct {
	const char *name, *alias;
	m0_ext_fn fn;
} ops[] = {
    {"_xlr", "learnrate", op_xlr},
    {"_xqt", "xquote", op_xqt},
    {"_xsl", "xsell", op_xsl},
    {"_xby", "xbuy", op_xby},
    {"_xcl", "xclear", op_xcl},
    {"_xcd", "xcleared", op_xcd},
    {"_xrs", "xreserve", op_xrs},
};

/* ---- epochs ---- */

/* The reserve's record count grows by one per change. When it has grown
 * past twice what the last prune kept (plus some slack) and nothing is
 * staged or in flight, the dead rows are pruned: one DELETE transaction
 * on the loop thread, like the ledger's prune, so the tables stay
 * bounded by what the reserve holds. */
#define COMPACT_SLACK 256

static void
compact(struct pf_xchg *xs)
{
	struct xchg_reserve_stats rs;
	if (xs->broken || xs->batch || xchg_reserve_staged(xs->r) ||
	    !pf__list_empty(&xs->waiters))
		return;
	xchg_reserve_stats(xs->r, &rs);
	if (!xs->compacted_at)
		xs->compacted_at = rs.records ? rs.records : 1;
	/* Doubling keeps the rewrites amortized O(1) per record and the
	 * file within twice what the last compaction kept, plus slack. */
	if (rs.records <= 2 * xs->compacted_at + COMPACT_SLACK)
		return;
	enum xchg_err e = xchg_reserve_compact(xs->r, now_s());
	if (e) { /* the reserve refuses everything until a restart */
		xs->broken = true;
		log_warnx("exchange: compacting the reserve: %s; the exchange "
		          "is closed until restart",
		    xchg_strerror(e));
	} else {
		xs->compactions++;
		xchg_reserve_stats(xs->r, &rs);
		xs->compacted_at = rs.records ? rs.records : 1;
	}
}

/* After each price epoch: re-rate every currency for the epoch that
 * begins (its end rounded up to the second: quotes and tokens count in
 * seconds), now and then expire what is due in the reserve, and compact
 * it when it has grown. */
static void
epoch_hook(void *ud, const struct money_prices *prices)
{
	struct pf_xchg *xs = ud;
	int64_t ms = xs->m->cfg.epoch_ms;
	uint64_t until = (uint64_t)((pf_now_us() / 1000 + ms + 999) / 1000);
	xchg_exchange_epoch(xs->x, prices, until);
	if (++xs->epochs % 60 == 0 && !xs->broken) {
		uint64_t n = 0, t;
		if (xchg_reserve_expire_stage(xs->r, now_s(), &n, &t) ==
		        XCHG_OK &&
		    n)
			log_info("exchange: %llu reserve tokens expired",
			    (unsigned long long)n);
		kick(xs);
	}
	compact(xs);
}

/* ---- life ---- */

/*
 * At shutdown (pf_close(); every process has ended): the batch in flight
 * settles, what is staged is committed on the pool, and every waiter is
 * answered. Settling may stage again (a gone buyer's token goes back to
 * the reserve), so this repeats a few times through after_work_cb.
 */
#define CLOSE_ROUNDS 4

static void
close_step(struct pf_xchg *xs)
{
	if (xs->batch)
		return; /* after_work_cb comes back here */
	if (!xs->broken && xchg_reserve_staged(xs->r) &&
	    xs->close_rounds++ < CLOSE_ROUNDS) {
		kick(xs);
		if (xs->batch)
			return;
	}
	settle(xs, XCHG_ERR_BROKEN); /* whatever could not be written */
	xs->closing = false;
	pf_service_closed(xs->pf, xs);
}

static void
svc_close(void *ud)
{
	struct pf_xchg *xs = ud;
	xs->m->epoch_hook = NULL;
	xs->closing = true;
	close_step(xs);
}

static void
svc_free(void *ud)
{
	free(ud);
}

static void
svc_stats(void *ud, struct pf_status *st)
{
	struct pf_xchg *xs = ud;
	struct pf_xchg_stats x;
	pf_xchg_get_stats(xs->pf, &x);
#define X(n, v) pf_status_add(st, "exchange", n, (int64_t)(v), NULL)
	X("sells", x.sells);
	X("buys", x.buys);
	X("refused", x.refused);
	X("paid_out", x.minted);
	X("taken_in", x.burned);
	X("reserve_tokens", x.reserve_tokens);
	X("reserve_records", x.reserve_records);
	X("reserve_commits", x.reserve_commits);
	X("reserve_compactions", x.reserve_compactions);
#undef X
}

int
pf_xchg_init(struct pf_platform *pf, struct xchg_exchange *x)
{
	struct pf_money *m = pf_service_find(pf, "money");
	struct m0_global *g = pf_global(pf);
	if (!m)
		return PF_ERR_NEEDS;
	struct pf_xchg *xs = calloc(1, sizeof(*xs));
	if (!xs)
		return PF_ERR_NOMEM;
	xs->pf = pf;
	xs->m = m;
	xs->x = x;
	xs->r = xchg_exchange_reserve(x);
	pf__list_init(&xs->waiters);
	/* Each refusal a distinct error: xchg_ and the lower-case name. */
	static const enum xchg_err refusals[] = {XCHG_ERR_RANGE,
	    XCHG_ERR_UNKNOWN, XCHG_ERR_OWN, XCHG_ERR_EMPTY, XCHG_ERR_CREDIT,
	    XCHG_ERR_QUOTE_MALFORMED, XCHG_ERR_QUOTE_FORGED,
	    XCHG_ERR_QUOTE_EXPIRED, XCHG_ERR_QUOTE_FUTURE, XCHG_ERR_STALE,
	    XCHG_ERR_BAD_TOKEN, XCHG_ERR_TOKEN_EXPIRED, XCHG_ERR_HELD,
	    XCHG_ERR_SPENT, XCHG_ERR_STATE, XCHG_ERR_NO_CREDIT};
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		char name[40];
		const char *e = xchg_errname(refusals[i]);
		size_t k = 0;
		k += (size_t)snprintf(name, sizeof(name), "xchg_");
		for (; *e && k + 1 < sizeof(name); e++)
			name[k++] = (char)tolower((unsigned char)*e);
		name[k] = 0;
		if ((xs->err[refusals[i]] = m0_global_add_error(g, name)) < 0)
			goto err;
	}
	if ((xs->e_failed = m0_global_add_error(g, "xchg_failed")) < 0)
		goto err;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (m0_global_add_op(
		        g, ops[i].name, ops[i].alias, ops[i].fn, xs))
			goto err;
	const struct pf_service svc = {.name = "xchg",
	    .ud = xs,
	    .close = svc_close,
	    .free = svc_free,
	    .stats = svc_stats};
	int e = pf_add_service(pf, &svc);
	if (e) {
		free(xs);
		return e;
	}
	m->epoch_hook = epoch_hook;
	m->epoch_ud = xs;
	epoch_hook(xs, &m->prices); /* rated from the start */
	return PF_OK;
err:
	free(xs);
	return PF_ERR_INTERP;
}

void
pf_xchg_get_stats(struct pf_platform *pf, struct pf_xchg_stats *st)
{
	memset(st, 0, sizeof(*st));
	struct pf_xchg *xs = pf_service_find(pf, "xchg");
	if (!xs)
		return;
	struct xchg_reserve_stats rs;
	xchg_reserve_stats(xs->r, &rs);
	st->present = 1;
	st->sells = xs->sells;
	st->buys = xs->buys;
	st->refused = xs->refused;
	st->minted = xs->minted;
	st->burned = xs->burned;
	st->reserve_records = rs.records;
	st->reserve_tokens = rs.entries;
	st->reserve_commits = rs.commits;
	st->reserve_compactions = xs->compactions;
}
