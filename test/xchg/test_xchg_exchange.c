/*
 * test_xchg_exchange.c: the exchange as the daemon will call it: learning
 * price quotes, signed exchange quotes, selling foreign tokens at the bid
 * and buying them at the ask, each refusal, persistence of the reserve
 * across reopen, and reserve pressure on the bid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "xchg_int.h"
#include "xchg_test.h"

#define NOW 2000000000ull

struct fx {
	char adir[PATH_MAX], bdir[PATH_MAX], cdir[PATH_MAX], xdir[PATH_MAX];
	struct money_ident *a, *b, *c; /* a runs the exchange */
	struct money_prices pa, pb;
	uint8_t qb[MONEY_QUOTE_LEN];
	struct xchg_exchange *x;
};

/* The exchange of these tests trusts b with a credit line of (line)
 * local units, and no other currency. */
static void
open_x_line(struct fx *f, int64_t line)
{
	struct money_quote q;
	struct xchg_config cfg;

	xchg_config_default(&cfg);
	memcpy(cfg.credit[0].currency, money_ident_pk(f->b), MONEY_PK_LEN);
	cfg.credit[0].amount = line;
	cfg.ncredit = 1;
	assert_int_equal(
	    xchg_exchange_open(f->xdir, f->a, &cfg, &f->x), XCHG_OK);
	assert_int_equal(xchg_exchange_epoch(f->x, &f->pa, NOW + 3600), 0);
	assert_int_equal(
	    money_quote_make(f->b, &f->pb, NOW, 60, &q, f->qb), MONEY_OK);
	assert_int_equal(
	    xchg_exchange_learn(f->x, f->qb, sizeof(f->qb), NOW), XCHG_OK);
}

static void
open_x(struct fx *f)
{
	open_x_line(f, (int64_t)1 << 40);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(money_init(), MONEY_OK);
	f->a = xt_ident(f->adir, sizeof(f->adir));
	f->b = xt_ident(f->bdir, sizeof(f->bdir));
	f->c = xt_ident(f->cdir, sizeof(f->cdir));
	mt_tmpdir(f->xdir, sizeof(f->xdir));
	money_prices_init(&f->pa);
	money_prices_init(&f->pb);
	/* b's prices are twice a's: a pays about half a unit per b unit.
	 * Prices well above D keep the band near 1/D (docs/xchg.md). */
	for (int r = 0; r < MONEY_RES_N; r++) {
		f->pa.price[r] *= 1000;
		f->pb.price[r] *= 2000;
	}
	open_x(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	xchg_exchange_close(f->x);
	money_ident_free(f->a);
	money_ident_free(f->b);
	money_ident_free(f->c);
	mt_rmdir(f->adir);
	mt_rmdir(f->bdir);
	mt_rmdir(f->cdir);
	mt_rmdir(f->xdir);
	free(f);
	return 0;
}

static void
token(struct money_ident *id, int64_t amount, uint64_t expiry,
    uint8_t out[MONEY_TOKEN_LEN])
{
	struct money_token t;

	assert_int_equal(money_token_sign(id, amount, expiry, &t), MONEY_OK);
	money_token_encode(&t, out);
}

static void
test_exchange_quote_signed(void **state)
{
	struct fx *f = *state;
	struct xchg_quote q, d;
	uint8_t buf[XCHG_QUOTE_LEN];
	const struct xchg_rate *r =
	    xchg_exchange_rate(f->x, money_ident_pk(f->b));

	assert_non_null(r);
	assert_true(xchg_rat_double(r->parity) == 0.5);
	assert_int_equal(
	    xchg_exchange_quote(f->x, money_ident_pk(f->b), NOW + 1, &q, buf),
	    XCHG_OK);
	assert_int_equal(xchg_quote_decode(buf, sizeof(buf), &d), XCHG_OK);
	assert_int_equal(xchg_quote_verify(&d, NOW + 1), XCHG_OK);
	assert_memory_equal(d.issuer, money_ident_pk(f->a), MONEY_PK_LEN);
	assert_memory_equal(d.currency, money_ident_pk(f->b), MONEY_PK_LEN);
	assert_int_equal(xchg_rat_cmp(d.bid, r->bid), 0);
	assert_int_equal(xchg_rat_cmp(d.ask, r->ask), 0);
	assert_true(xchg_rat_double(d.bid) < 0.5);
	assert_true(xchg_rat_double(d.ask) > 0.5);
	assert_int_equal(d.expires, NOW + 11);
	/* Never beyond the price quote it rests on. */
	assert_int_equal(
	    xchg_exchange_quote(f->x, money_ident_pk(f->b), NOW + 55, &q, buf),
	    XCHG_OK);
	assert_int_equal(q.expires, NOW + 60);
	assert_int_equal(
	    xchg_exchange_quote(f->x, money_ident_pk(f->b), NOW + 60, &q, buf),
	    XCHG_ERR_QUOTE_EXPIRED);
	assert_int_equal(
	    xchg_exchange_quote(f->x, money_ident_pk(f->c), NOW, &q, buf),
	    XCHG_ERR_UNKNOWN);
	assert_int_equal(
	    xchg_exchange_quote(f->x, money_ident_pk(f->a), NOW, &q, buf),
	    XCHG_ERR_OWN);
}

static void
test_exchange_learn_refusals(void **state)
{
	struct fx *f = *state;
	struct money_quote q;
	uint8_t buf[MONEY_QUOTE_LEN];

	assert_int_equal(xchg_exchange_learn(f->x, f->qb, 10, NOW),
	    XCHG_ERR_QUOTE_MALFORMED);
	assert_int_equal(
	    xchg_exchange_learn(f->x, f->qb, sizeof(f->qb), NOW + 60),
	    XCHG_ERR_QUOTE_EXPIRED);
	assert_int_equal(
	    xchg_exchange_learn(f->x, f->qb, sizeof(f->qb), NOW - 1),
	    XCHG_ERR_QUOTE_FUTURE);
	memcpy(buf, f->qb, sizeof(buf));
	buf[70] ^= 1;
	assert_int_equal(xchg_exchange_learn(f->x, buf, sizeof(buf), NOW),
	    XCHG_ERR_QUOTE_FORGED);
	assert_int_equal(
	    money_quote_make(f->a, &f->pa, NOW, 60, &q, buf), MONEY_OK);
	assert_int_equal(
	    xchg_exchange_learn(f->x, buf, sizeof(buf), NOW), XCHG_ERR_OWN);
	/* A newer quote with other prices re-rates at once. */
	f->pb.epoch++;
	for (int r = 0; r < MONEY_RES_N; r++)
		f->pb.price[r] *= 2;
	assert_int_equal(
	    money_quote_make(f->b, &f->pb, NOW + 5, 60, &q, buf), MONEY_OK);
	assert_int_equal(
	    xchg_exchange_learn(f->x, buf, sizeof(buf), NOW + 5), XCHG_OK);
	assert_true(
	    xchg_rat_double(
	        xchg_exchange_rate(f->x, money_ident_pk(f->b))->parity) ==
	    0.25);
	/* An older one is ignored. */
	assert_int_equal(
	    xchg_exchange_learn(f->x, f->qb, sizeof(f->qb), NOW + 6), XCHG_OK);
	assert_true(
	    xchg_rat_double(
	        xchg_exchange_rate(f->x, money_ident_pk(f->b))->parity) ==
	    0.25);
}

static void
test_exchange_sell_and_refusals(void **state)
{
	struct fx *f = *state;
	uint8_t t[MONEY_TOKEN_LEN], bad[MONEY_TOKEN_LEN];
	const struct xchg_rate *r =
	    xchg_exchange_rate(f->x, money_ident_pk(f->b));
	int64_t local, want;

	token(f->b, 1000, NOW + 100000, t);
	assert_int_equal(
	    xchg_exchange_sell(f->x, t, sizeof(t), NOW, &local), XCHG_OK);
	assert_int_equal(xchg_rat_mul_floor(1000, r->bid, &want), XCHG_OK);
	assert_int_equal(local, want);
	/* parity 1/2, cut by the band (one epoch of b's prices, 1/8) and
	 * the spread: about 0.5 * 8/9 * 0.99 */
	assert_true(local < 500 && local >= 430);
	assert_int_equal(
	    xchg_exchange_sell(f->x, t, sizeof(t), NOW, &local), XCHG_ERR_HELD);
	assert_int_equal(local, 0);
	memcpy(bad, t, sizeof(bad));
	bad[100] ^= 1;
	assert_int_equal(
	    xchg_exchange_sell(f->x, bad, sizeof(bad), NOW, &local),
	    XCHG_ERR_BAD_TOKEN);
	assert_int_equal(
	    xchg_exchange_sell(f->x, t, 100, NOW, &local), XCHG_ERR_BAD_TOKEN);
	token(f->b, 1000, NOW + 599, bad);
	assert_int_equal(
	    xchg_exchange_sell(f->x, bad, sizeof(bad), NOW, &local),
	    XCHG_ERR_TOKEN_EXPIRED);
	token(f->b, 1000, NOW, bad);
	assert_int_equal(
	    xchg_exchange_sell(f->x, bad, sizeof(bad), NOW, &local),
	    XCHG_ERR_TOKEN_EXPIRED);
	token(f->c, 1000, NOW + 100000, bad);
	assert_int_equal(
	    xchg_exchange_sell(f->x, bad, sizeof(bad), NOW, &local),
	    XCHG_ERR_UNKNOWN);
	token(f->a, 1000, NOW + 100000, bad);
	assert_int_equal(
	    xchg_exchange_sell(f->x, bad, sizeof(bad), NOW, &local),
	    XCHG_ERR_OWN);
	token(f->b, 1000, NOW + 100000, bad);
	assert_int_equal(
	    xchg_exchange_sell(f->x, bad, sizeof(bad), NOW + 60, &local),
	    XCHG_ERR_QUOTE_EXPIRED);
	token(f->b, 1, NOW + 100000, bad); /* worth less than a local unit */
	assert_int_equal(
	    xchg_exchange_sell(f->x, bad, sizeof(bad), NOW, &local),
	    XCHG_ERR_RANGE);
	/* Known spent: the clearing came back refused. */
	struct money_token d;
	assert_int_equal(money_token_decode(t, sizeof(t), &d), MONEY_OK);
	struct xchg_reserve *res = xchg_exchange_reserve(f->x);
	assert_int_equal(
	    xchg_reserve_set(res, d.currency, d.serial, XCHG_CLEARING),
	    XCHG_OK);
	assert_int_equal(
	    xchg_exchange_sell(f->x, t, sizeof(t), NOW, &local), XCHG_ERR_HELD);
	assert_int_equal(
	    xchg_reserve_set(res, d.currency, d.serial, XCHG_SPENT), XCHG_OK);
	assert_int_equal(xchg_exchange_sell(f->x, t, sizeof(t), NOW, &local),
	    XCHG_ERR_SPENT);
}

static void
test_exchange_buy(void **state)
{
	struct fx *f = *state;
	uint8_t t[MONEY_TOKEN_LEN], out[MONEY_TOKEN_LEN];
	const uint8_t *pb = money_ident_pk(f->b);
	int64_t local, cost, amount, want;

	assert_int_equal(
	    xchg_exchange_buy(f->x, pb, 0, 100000, NOW, out, &cost, &amount),
	    XCHG_ERR_EMPTY);
	for (int64_t a = 100; a <= 800; a *= 2) {
		token(f->b, a, NOW + 100000, t);
		assert_int_equal(
		    xchg_exchange_sell(f->x, t, sizeof(t), NOW, &local),
		    XCHG_OK);
	}
	const struct xchg_rate *r = xchg_exchange_rate(f->x, pb);
	/* Smallest token of at least 300: the 400. */
	assert_int_equal(
	    xchg_exchange_buy(f->x, pb, 300, 100000, NOW, out, &cost, &amount),
	    XCHG_OK);
	assert_int_equal(amount, 400);
	assert_int_equal(xchg_rat_mul_ceil(400, r->ask, &want), XCHG_OK);
	assert_int_equal(cost, want);
	assert_true(cost > 200);
	struct money_token d;
	assert_int_equal(money_token_decode(out, sizeof(out), &d), MONEY_OK);
	assert_int_equal(money_token_verify(&d), MONEY_OK);
	assert_int_equal(d.amount, 400);
	/* An offer of 150 local units affords only the 100 (about 50). */
	assert_int_equal(
	    xchg_exchange_buy(f->x, pb, 800, 150, NOW, out, &cost, &amount),
	    XCHG_OK);
	assert_int_equal(amount, 200);
	assert_true(cost <= 150);
	assert_int_equal(
	    xchg_exchange_buy(f->x, pb, 0, 10, NOW, out, &cost, &amount),
	    XCHG_ERR_CREDIT);
	assert_int_equal(
	    xchg_exchange_buy(f->x, pb, 0, 0, NOW, out, &cost, &amount),
	    XCHG_ERR_INVAL);
	assert_int_equal(xchg_exchange_buy(f->x, money_ident_pk(f->c), 0, 10,
	                     NOW, out, &cost, &amount),
	    XCHG_ERR_UNKNOWN);
	assert_int_equal(xchg_exchange_buy(f->x, pb, 0, 100000, NOW + 60, out,
	                     &cost, &amount),
	    XCHG_ERR_QUOTE_EXPIRED);
	/* After the own epoch ends, nothing until it is rated. */
	assert_int_equal(xchg_exchange_epoch(f->x, &f->pa, NOW + 30), 1);
	assert_int_equal(xchg_exchange_buy(f->x, pb, 0, 100000, NOW + 30, out,
	                     &cost, &amount),
	    XCHG_ERR_STALE);
	assert_int_equal(xchg_exchange_epoch(f->x, &f->pa, NOW + 3600), 1);
	/* What we sold may come back. */
	assert_int_equal(
	    xchg_exchange_sell(f->x, out, sizeof(out), NOW, &local), XCHG_OK);
	/* Buy out the rest, then empty. */
	while (xchg_exchange_buy(
	           f->x, pb, 0, 100000, NOW, out, &cost, &amount) == XCHG_OK)
		;
	assert_int_equal(
	    xchg_exchange_buy(f->x, pb, 0, 100000, NOW, out, &cost, &amount),
	    XCHG_ERR_EMPTY);
}

static void
test_exchange_reserve_persists_and_presses(void **state)
{
	struct fx *f = *state;
	uint8_t t[MONEY_TOKEN_LEN];
	int64_t local;
	struct xchg_rat bid0;

	bid0 = xchg_exchange_rate(f->x, money_ident_pk(f->b))->bid;
	token(f->b, 1000000, NOW + 100000, t);
	assert_int_equal(
	    xchg_exchange_sell(f->x, t, sizeof(t), NOW, &local), XCHG_OK);
	xchg_exchange_close(f->x);
	open_x(f);
	assert_int_equal(
	    xchg_exchange_sell(f->x, t, sizeof(t), NOW, &local), XCHG_ERR_HELD);
	/* Half a million local units held, the target is a thousand: the
	 * bid is cut by the full pressure. */
	const struct xchg_rate *r =
	    xchg_exchange_rate(f->x, money_ident_pk(f->b));
	assert_int_equal(r->pressure, 50000);
	assert_true(xchg_rat_double(r->bid) < xchg_rat_double(bid0) * 0.951);
}

/* One held token of b goes to clearing and on to (to), into (mt). */
static void
clear_one(struct fx *f, enum xchg_state to, struct money_token *mt)
{
	struct xchg_reserve *r = xchg_exchange_reserve(f->x);

	assert_int_equal(
	    xchg_reserve_pick(r, money_ident_pk(f->b), 0, INT64_MAX, NOW, mt),
	    XCHG_OK);
	assert_int_equal(
	    xchg_reserve_set(r, mt->currency, mt->serial, XCHG_CLEARING),
	    XCHG_OK);
	assert_int_equal(
	    xchg_reserve_set(r, mt->currency, mt->serial, to), XCHG_OK);
}

/* Trust (docs/xchg.md): a currency nobody configured has no credit line,
 * so selling it mints nothing, however well its self-signed quote rates
 * it; a configured line bounds what its held and clearing tokens are
 * worth at the bid; clearing earns more, a loss takes it away. */
static void
test_exchange_credit_line(void **state)
{
	struct fx *f = *state;
	uint8_t t[MONEY_TOKEN_LEN], qc[MONEY_QUOTE_LEN];
	struct money_quote q;
	struct money_token mt;
	struct xchg_reserve_sums s;
	const struct xchg_rate *r;
	int64_t local, paid = 0, v;

	/* c: a fresh identity, its quote learnt and rated */
	assert_int_equal(
	    money_quote_make(f->c, &f->pb, NOW, 60, &q, qc), MONEY_OK);
	assert_int_equal(
	    xchg_exchange_learn(f->x, qc, sizeof(qc), NOW), XCHG_OK);
	assert_non_null(xchg_exchange_rate(f->x, money_ident_pk(f->c)));
	for (int i = 0; i < 5; i++) {
		token(f->c, 1000000, NOW + 100000, t);
		assert_int_equal(
		    xchg_exchange_sell(f->x, t, sizeof(t), NOW, &local),
		    XCHG_ERR_NO_CREDIT);
		assert_int_equal(local, 0);
	}
	xchg_reserve_sums(
	    xchg_exchange_reserve(f->x), money_ident_pk(f->c), &s);
	assert_int_equal(s.tokens[XCHG_HELD], 0);
	assert_string_equal(xchg_errname(XCHG_ERR_NO_CREDIT), "NO_CREDIT");

	/* b with a line of 1000: sales until the next would pass it */
	xchg_exchange_close(f->x);
	open_x_line(f, 1000);
	r = xchg_exchange_rate(f->x, money_ident_pk(f->b));
	assert_int_equal(
	    xchg_exchange_credit(f->x, money_ident_pk(f->b), r->bid), 1000);
	for (int i = 0; i < 10; i++) {
		token(f->b, 300, NOW + 100000, t);
		enum xchg_err e =
		    xchg_exchange_sell(f->x, t, sizeof(t), NOW, &local);
		if (e == XCHG_ERR_NO_CREDIT)
			break;
		assert_int_equal(e, XCHG_OK);
		paid += local;
	}
	assert_true(paid <= 1000);
	assert_true(paid > 1000 - 2 * 150); /* about 0.44 per unit: 7 fit */
	token(f->b, 300, NOW + 100000, t);
	assert_int_equal(xchg_exchange_sell(f->x, t, sizeof(t), NOW, &local),
	    XCHG_ERR_NO_CREDIT);
	/* clearing redeems one at the issuer: the line grows by its worth */
	clear_one(f, XCHG_CLEARED, &mt);
	assert_int_equal(xchg_rat_mul_floor(mt.amount, r->bid, &v), XCHG_OK);
	assert_int_equal(
	    xchg_exchange_credit(f->x, money_ident_pk(f->b), r->bid), 1000 + v);
	token(f->b, 300, NOW + 100000, t);
	assert_int_equal(
	    xchg_exchange_sell(f->x, t, sizeof(t), NOW, &local), XCHG_OK);
	/* a loss (spent at the issuer) takes its worth away again */
	clear_one(f, XCHG_SPENT, &mt);
	assert_true(xchg_exchange_credit(f->x, money_ident_pk(f->b), r->bid) <
	    1000 + v);
}

static void
test_exchange_error_names(void **state)
{
	for (int e = 0; e < XCHG_ERR_N; e++) {
		assert_non_null(xchg_strerror(e));
		assert_non_null(xchg_errname(e));
		for (int g = 0; g < e; g++)
			assert_string_not_equal(
			    xchg_strerror(e), xchg_strerror(g));
	}
	assert_string_equal(xchg_errname(XCHG_ERR_EMPTY), "EMPTY");
	assert_string_equal(xchg_strerror(XCHG_ERR_N), "unknown error");
}

/* The reserve lives in the bank's database; a directory that still has
 * the former reserve file is refused, and the file left alone. */
static void
test_exchange_state_dir(void **state)
{
	struct fx *f = *state;
	struct xchg_exchange *x;
	struct money_bank b;
	char p[PATH_MAX + 16];
	FILE *fp;

	xchg_exchange_close(f->x);
	f->x = NULL;
	/* a state.db without an identity is refused by the bank: start it
	 * in a directory the exchange alone has not used yet */
	for (int i = 0; i < 3; i++) {
		static const char *const sfx[] = {"", "-wal", "-shm"};
		snprintf(
		    p, sizeof(p), "%s/%s%s", f->xdir, MONEY_STORE_FILE, sfx[i]);
		unlink(p);
	}
	assert_int_equal(money_bank_open(&b, f->xdir), MONEY_OK);
	assert_int_equal(
	    xchg_exchange_open(f->xdir, b.ident, NULL, &x), XCHG_OK);
	assert_ptr_equal(
	    money_ledger_store(b.ledger), xchg_exchange_reserve(x)->store);
	xchg_exchange_close(x);
	money_bank_close(&b);
	snprintf(p, sizeof(p), "%s/reserve", f->xdir);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(
	    xchg_exchange_open(f->xdir, f->a, NULL, &x), XCHG_ERR_OLDSTATE);
	assert_null(x);
	assert_int_equal(access(p, F_OK), 0);
	unlink(p);
	open_x(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_exchange_quote_signed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_exchange_learn_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_exchange_sell_and_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exchange_buy, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_exchange_reserve_persists_and_presses, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_exchange_state_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_exchange_credit_line, setup, teardown),
	    cmocka_unit_test(test_exchange_error_names),
	};

	return cmocka_run_group_tests_name("xchg_exchange", tests, NULL, NULL);
}
