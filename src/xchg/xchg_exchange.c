/*
 * xchg_exchange.c: the exchange service of one platform. It learns other
 * platforms' prices from their signed price quotes, rates each currency
 * once per epoch (xchg_rate.c), signs quotes, buys foreign tokens at the
 * bid (checked offline, then written ahead into the reserve) and sells
 * tokens from the reserve at the ask. The daemon wires these calls to MØ
 * operators and moves the local credit; nothing here knows MØ or libuv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xchg_int.h"

static const char *const err_msg[] = {"success",
#define XCHG__S(id, s) s,
    XCHG_ERRMAP(XCHG__S)
#undef XCHG__S
};

static const char *const err_name[] = {"OK",
#define XCHG__N(id, s) #id,
    XCHG_ERRMAP(XCHG__N)
#undef XCHG__N
};

const char *
xchg_strerror(enum xchg_err err)
{
	if ((unsigned)err >= XCHG_ERR_N)
		return "unknown error";
	return err_msg[err];
}

const char *
xchg_errname(enum xchg_err err)
{
	if ((unsigned)err >= XCHG_ERR_N)
		return "UNKNOWN_ERROR";
	return err_name[err];
}

/* A foreign currency the exchange knows from a verified price quote. */
struct known {
	struct money_quote q;  /* the newest; q.issuer names the currency */
	struct xchg_rate rate; /* from q and this epoch's own prices */
	struct xchg_rate prev; /* before this epoch's step of the mid */
};

struct xchg_exchange {
	struct money_ident *id;
	struct xchg_config cfg;
	struct xchg_reserve *res;
	struct money_prices own;
	uint64_t own_until; /* the own epoch ends here */
	int have_own;
	struct known *k;
	uint32_t nk, capk;
};

void
xchg_config_default(struct xchg_config *c)
{
	memset(c, 0, sizeof(*c));
	xchg_rate_param_default(&c->rate);
	c->quote_ttl = 10;
	c->min_life = 600;
	c->max_currencies = 4096;
	/* credit: none, for every currency, until configured */
}

enum xchg_err
xchg_exchange_open(const char *dir, struct money_ident *id,
    const struct xchg_config *cfg, struct xchg_exchange **out)
{
	struct xchg_exchange *x;
	char path[4096];
	struct stat st;
	enum xchg_err err;

	*out = NULL;
	if (cfg != NULL &&
	    (xchg_rate_param_check(&cfg->rate) != XCHG_OK ||
	        cfg->quote_ttl == 0 || cfg->max_currencies == 0))
		return XCHG_ERR_INVAL;
	if (snprintf(path, sizeof(path), "%s/reserve", dir) >=
	    (int)sizeof(path))
		return XCHG_ERR_INVAL;
	if (lstat(path, &st) == 0)
		return XCHG_ERR_OLDSTATE; /* never start afresh beside it */
	if (snprintf(path, sizeof(path), "%s/%s", dir, MONEY_STORE_FILE) >=
	    (int)sizeof(path))
		return XCHG_ERR_INVAL;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return XCHG_ERR_NOMEM;
	x->id = id;
	if (cfg != NULL)
		x->cfg = *cfg;
	else
		xchg_config_default(&x->cfg);
	err = xchg_reserve_open(path, &x->res);
	if (err != XCHG_OK) {
		free(x);
		return err;
	}
	*out = x;
	return XCHG_OK;
}

void
xchg_exchange_close(struct xchg_exchange *x)
{
	if (x == NULL)
		return;
	xchg_reserve_close(x->res);
	free(x->k);
	free(x);
}

struct xchg_reserve *
xchg_exchange_reserve(struct xchg_exchange *x)
{
	return x->res;
}

/* Linear: the number of currencies is capped by the configuration and a
 * lookup costs far less than the signature check around it. */
static struct known *
find(struct xchg_exchange *x, const uint8_t *pk)
{
	for (uint32_t i = 0; i < x->nk; i++)
		if (memcmp(x->k[i].q.issuer, pk, MONEY_PK_LEN) == 0)
			return &x->k[i];
	return NULL;
}

/* Foreign units the reserve is exposed to: held plus clearing. */
static int64_t
exposure(struct xchg_exchange *x, const uint8_t *pk)
{
	struct xchg_reserve_sums s;
	int64_t v;

	xchg_reserve_sums(x->res, pk, &s);
	if (__builtin_add_overflow(
	        s.amount[XCHG_HELD], s.amount[XCHG_CLEARING], &v))
		return INT64_MAX;
	return v;
}

/* The credit line of (pk) in local units at (bid): what is configured,
 * plus what clearing has redeemed at the issuer (cleared), less what was
 * lost (spent, expired in the reserve); never below 0 (docs/xchg.md,
 * Trust). */
int64_t
xchg_exchange_credit(struct xchg_exchange *x, const uint8_t pk[MONEY_PK_LEN],
    struct xchg_rat bid)
{
	struct xchg_reserve_sums s;
	int64_t line = x->cfg.credit_any, won = 0, lost = 0, v;

	for (uint32_t i = 0; i < x->cfg.ncredit; i++)
		if (memcmp(x->cfg.credit[i].currency, pk, MONEY_PK_LEN) == 0)
			line = x->cfg.credit[i].amount;
	xchg_reserve_sums(x->res, pk, &s);
	if (__builtin_add_overflow(
	        s.amount[XCHG_SPENT], s.amount[XCHG_EXPIRED], &lost))
		return 0;
	if (xchg_rat_mul_floor(s.amount[XCHG_CLEARED], bid, &won) != XCHG_OK)
		won = INT64_MAX;
	if (xchg_rat_mul_ceil(lost, bid, &lost) != XCHG_OK)
		return 0;
	if (__builtin_add_overflow(line, won, &v))
		v = INT64_MAX;
	v -= lost;
	return v > 0 ? v : 0;
}

/* Rates (k) from (k)->prev: at an epoch after prev = rate, and again
 * when a newer quote arrives within the epoch, so that the rate always
 * rests on the newest quote while the mid still steps once per epoch. */
static enum xchg_err
rate_one(struct xchg_exchange *x, struct known *k)
{
	struct xchg_rate r = k->prev;
	enum xchg_err err;

	err = xchg_rate_update(&r, x->own.price, k->q.price,
	    exposure(x, k->q.issuer), &x->cfg.rate);
	if (err == XCHG_OK)
		k->rate = r;
	return err;
}

static enum xchg_err
from_money_quote_err(enum money_err e)
{
	switch (e) {
	case MONEY_OK:
		return XCHG_OK;
	case MONEY_ERR_QUOTE_FORGED:
		return XCHG_ERR_QUOTE_FORGED;
	case MONEY_ERR_QUOTE_EXPIRED:
		return XCHG_ERR_QUOTE_EXPIRED;
	case MONEY_ERR_QUOTE_FUTURE:
		return XCHG_ERR_QUOTE_FUTURE;
	default:
		return XCHG_ERR_QUOTE_MALFORMED;
	}
}

enum xchg_err
xchg_exchange_learn(
    struct xchg_exchange *x, const uint8_t *buf, size_t len, uint64_t now)
{
	struct money_quote q;
	struct known *k;
	enum xchg_err err;

	if (money_quote_decode(buf, len, &q) != MONEY_OK)
		return XCHG_ERR_QUOTE_MALFORMED;
	err = from_money_quote_err(money_quote_verify(&q, now));
	if (err != XCHG_OK)
		return err;
	if (memcmp(q.issuer, money_ident_pk(x->id), MONEY_PK_LEN) == 0)
		return XCHG_ERR_OWN;
	/* A quote valid longer than an epoch would let a rate rest on
	 * prices two epochs old, beyond what the band covers (Theorem 3):
	 * it counts as valid only for quote_life. */
	if (x->cfg.quote_life > 0 && q.expires - q.issued > x->cfg.quote_life)
		q.expires = q.issued + x->cfg.quote_life;
	if (now >= q.expires)
		return XCHG_ERR_QUOTE_EXPIRED;
	k = find(x, q.issuer);
	if (k != NULL) {
		struct money_quote old = k->q;
		if (q.epoch < k->q.epoch ||
		    (q.epoch == k->q.epoch && q.issued <= k->q.issued))
			return XCHG_OK;
		k->q = q;
		if (x->have_own && rate_one(x, k) != XCHG_OK) {
			k->q = old;
			return XCHG_ERR_RANGE;
		}
		return XCHG_OK;
	}
	if (x->nk >= x->cfg.max_currencies)
		return XCHG_ERR_RANGE;
	if (x->nk == x->capk) {
		uint32_t n = x->capk ? x->capk * 2 : 16;
		void *p = realloc(x->k, n * sizeof(*x->k));
		if (p == NULL)
			return XCHG_ERR_NOMEM;
		x->k = p;
		x->capk = n;
	}
	k = &x->k[x->nk];
	memset(k, 0, sizeof(*k));
	k->q = q;
	/* A currency is rated as soon as it is known, so that it can be
	 * quoted before the next epoch. */
	if (x->have_own && rate_one(x, k) != XCHG_OK)
		return XCHG_ERR_RANGE;
	x->nk++;
	return XCHG_OK;
}

size_t
xchg_exchange_epoch(
    struct xchg_exchange *x, const struct money_prices *own, uint64_t until)
{
	size_t n = 0;

	x->own = *own;
	x->own_until = until;
	x->have_own = 1;
	for (uint32_t i = 0; i < x->nk; i++) {
		x->k[i].prev = x->k[i].rate;
		if (rate_one(x, &x->k[i]) == XCHG_OK)
			n++;
	}
	return n;
}

const struct xchg_rate *
xchg_exchange_rate(
    struct xchg_exchange *x, const uint8_t currency[MONEY_PK_LEN])
{
	struct known *k = find(x, currency);

	return k != NULL && k->rate.epochs > 0 ? &k->rate : NULL;
}

/* The known, rated currency (pk) whose price quote is valid at (now). */
static enum xchg_err
usable(struct xchg_exchange *x, const uint8_t *pk, uint64_t now,
    struct known **out)
{
	struct known *k;

	if (memcmp(pk, money_ident_pk(x->id), MONEY_PK_LEN) == 0)
		return XCHG_ERR_OWN;
	k = find(x, pk);
	if (k == NULL || k->rate.epochs == 0)
		return XCHG_ERR_UNKNOWN;
	if (now >= k->q.expires)
		return XCHG_ERR_QUOTE_EXPIRED;
	if (now < k->q.issued)
		return XCHG_ERR_QUOTE_FUTURE;
	if (now >= x->own_until)
		return XCHG_ERR_STALE;
	*out = k;
	return XCHG_OK;
}

enum xchg_err
xchg_exchange_quote(struct xchg_exchange *x,
    const uint8_t currency[MONEY_PK_LEN], uint64_t now, struct xchg_quote *q,
    uint8_t out[XCHG_QUOTE_LEN])
{
	struct xchg_reserve_sums s;
	struct known *k;
	enum xchg_err err;

	memset(q, 0, sizeof(*q));
	err = usable(x, currency, now, &k);
	if (err != XCHG_OK)
		return err;
	if (now > UINT64_MAX - x->cfg.quote_ttl)
		return XCHG_ERR_INVAL;
	xchg_reserve_sums(x->res, currency, &s);
	memcpy(q->issuer, money_ident_pk(x->id), MONEY_PK_LEN);
	memcpy(q->currency, currency, MONEY_PK_LEN);
	q->epoch = x->own.epoch;
	q->issued = now;
	/* Never beyond the price quote the rate rests on: the skew bound
	 * in docs/xchg.md counts on it. */
	q->expires = now + x->cfg.quote_ttl;
	if (q->expires > k->q.expires)
		q->expires = k->q.expires;
	if (q->expires > x->own_until)
		q->expires = x->own_until;
	q->bid = k->rate.bid;
	q->ask = k->rate.ask;
	q->avail = s.amount[XCHG_HELD];
	return xchg_quote_sign(x->id, q, out);
}

const struct xchg_config *
xchg_exchange_config(struct xchg_exchange *x)
{
	return &x->cfg;
}

enum xchg_err
xchg_exchange_sell(struct xchg_exchange *x, const uint8_t *tok, size_t len,
    uint64_t now, int64_t *local)
{
	uint64_t ticket;
	enum xchg_err err =
	    xchg_exchange_sell_stage(x, tok, len, now, local, &ticket);

	if (err == XCHG_OK && (err = xchg_reserve_commit(x->res)) != XCHG_OK)
		*local = 0;
	return err;
}

enum xchg_err
xchg_exchange_sell_stage(struct xchg_exchange *x, const uint8_t *tok,
    size_t len, uint64_t now, int64_t *local, uint64_t *ticket)
{
	struct money_token t;
	struct known *k;
	enum xchg_err err;
	int64_t v;
	int st;

	*local = 0;
	/* Verify, then act: nothing is written for a token that fails. */
	if (money_token_decode(tok, len, &t) != MONEY_OK ||
	    money_token_verify(&t) != MONEY_OK)
		return XCHG_ERR_BAD_TOKEN;
	if (memcmp(t.currency, money_ident_pk(x->id), MONEY_PK_LEN) == 0)
		return XCHG_ERR_OWN;
	if (t.expiry <= now || t.expiry - now < x->cfg.min_life)
		return XCHG_ERR_TOKEN_EXPIRED;
	err = usable(x, t.currency, now, &k);
	if (err != XCHG_OK)
		return err;
	st = xchg_reserve_lookup(x->res, t.currency, t.serial, NULL);
	if (st == XCHG_HELD || st == XCHG_CLEARING)
		return XCHG_ERR_HELD;
	if (st == XCHG_CLEARED || st == XCHG_SPENT)
		return XCHG_ERR_SPENT;
	err = xchg_rat_mul_floor(t.amount, k->rate.bid, &v);
	if (err != XCHG_OK)
		return err;
	if (v < 1)
		return XCHG_ERR_RANGE; /* worth nothing here: keep it */
	if (v > MONEY_AMOUNT_MAX)
		return XCHG_ERR_RANGE; /* more than one mint may be */
	/* Trust: what this currency's held and clearing tokens are worth
	 * at the bid, with this one, stays within its credit line. */
	{
		int64_t e = exposure(x, t.currency), need;
		if (__builtin_add_overflow(e, t.amount, &e) ||
		    xchg_rat_mul_floor(e, k->rate.bid, &need) != XCHG_OK ||
		    need > xchg_exchange_credit(x, t.currency, k->rate.bid))
			return XCHG_ERR_NO_CREDIT;
	}
	err = xchg_reserve_stage_add(x->res, &t, ticket);
	if (err != XCHG_OK)
		return err;
	*local = v;
	return XCHG_OK;
}

enum xchg_err
xchg_exchange_buy(struct xchg_exchange *x, const uint8_t currency[MONEY_PK_LEN],
    int64_t want, int64_t offer, uint64_t now, uint8_t out[MONEY_TOKEN_LEN],
    int64_t *cost, int64_t *amount)
{
	uint64_t ticket;
	enum xchg_err err = xchg_exchange_buy_stage(
	    x, currency, want, offer, now, out, cost, amount, &ticket);

	if (err == XCHG_OK && (err = xchg_reserve_commit(x->res)) != XCHG_OK) {
		*cost = 0;
		*amount = 0;
		memset(out, 0, MONEY_TOKEN_LEN);
	}
	return err;
}

enum xchg_err
xchg_exchange_buy_stage(struct xchg_exchange *x,
    const uint8_t currency[MONEY_PK_LEN], int64_t want, int64_t offer,
    uint64_t now, uint8_t out[MONEY_TOKEN_LEN], int64_t *cost, int64_t *amount,
    uint64_t *ticket)
{
	struct money_token t;
	struct known *k;
	enum xchg_err err;
	xchg_u128 most;
	uint64_t until;

	*cost = 0;
	*amount = 0;
	if (want < 0 || offer < 1)
		return XCHG_ERR_INVAL;
	err = usable(x, currency, now, &k);
	if (err != XCHG_OK)
		return err;
	until = now > UINT64_MAX - x->cfg.min_life ? UINT64_MAX
	                                           : now + x->cfg.min_life;
	/* The largest face value whose price ceil(a * ask) fits the offer:
	 * a * ask <= offer, i.e. a <= offer * den / num. */
	most = (xchg_u128)(uint64_t)offer * k->rate.ask.den / k->rate.ask.num;
	if (most > INT64_MAX)
		most = INT64_MAX;
	if (most == 0) {
		err = xchg_reserve_pick(x->res, currency, 0, 0, until, &t);
		return err == XCHG_OK ? XCHG_ERR_CREDIT : err;
	}
	err =
	    xchg_reserve_pick(x->res, currency, want, (int64_t)most, until, &t);
	if (err != XCHG_OK)
		return err;
	err = xchg_rat_mul_ceil(t.amount, k->rate.ask, cost);
	if (err != XCHG_OK)
		return err;
	if (*cost > offer) /* cannot happen: most was derived from offer */
		return XCHG_ERR_CREDIT;
	err = xchg_reserve_stage_set(
	    x->res, t.currency, t.serial, XCHG_SOLD, ticket);
	if (err != XCHG_OK) {
		*cost = 0;
		return err;
	}
	money_token_encode(&t, out);
	*amount = t.amount;
	return XCHG_OK;
}
