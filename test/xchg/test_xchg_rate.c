/*
 * test_xchg_rate.c: the rate rule piece by piece: the basket level,
 * parity, the band, the bounded step of the mid, reserve pressure, the
 * spread, and rounding toward the platform.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "xchg_int.h"
#include "xchg_test.h"

static void
flat(int64_t p[MONEY_RES_N], int64_t v)
{
	for (int r = 0; r < MONEY_RES_N; r++)
		p[r] = v;
}

static struct xchg_rate_param
bare(void)
{
	struct xchg_rate_param p;

	xchg_rate_param_default(&p);
	p.spread = 0;
	p.press = 0;
	p.cover = 0;
	return p;
}

static void
test_rate_level_is_the_basket(void **state)
{
	int64_t p[MONEY_RES_N];
	uint64_t l;

	flat(p, 1);
	assert_int_equal(xchg_level(p, &l), XCHG_OK);
	assert_int_equal(
	    l, 10000 + 10000 + 1000 + 1000 + 1000 + 100 + 100 + 10000);
	p[MONEY_RES_NATIVE] = 1000;
	assert_int_equal(xchg_level(p, &l), XCHG_OK);
	assert_int_equal(l, 33200 - 100 + 100000);
	p[MONEY_RES_STEP] = 0;
	assert_int_equal(xchg_level(p, &l), XCHG_ERR_RANGE);
	flat(p, INT64_MAX);
	assert_int_equal(xchg_level(p, &l), XCHG_ERR_RANGE);
}

static void
test_rate_parity_from_levels(void **state)
{
	struct xchg_rate_param pa = bare();
	struct xchg_rate r = {0};
	int64_t own[MONEY_RES_N], f[MONEY_RES_N];

	flat(own, 6);
	flat(f, 2);
	assert_int_equal(xchg_rate_update(&r, own, f, 0, &pa), XCHG_OK);
	/* Own prices are three times the foreign ones: one foreign unit
	 * buys what three local units buy. */
	assert_int_equal(r.parity.num, 3);
	assert_int_equal(r.parity.den, 1);
	assert_int_equal(xchg_rat_cmp(r.mid, r.parity), 0);
	assert_int_equal(xchg_rat_cmp(r.bid, r.parity), 0);
	assert_int_equal(xchg_rat_cmp(r.ask, r.parity), 0);
	assert_int_equal(r.epochs, 1);
}

static void
test_rate_spread_and_rounding(void **state)
{
	struct xchg_rate_param pa = bare();
	struct xchg_rate r = {0};
	int64_t own[MONEY_RES_N], f[MONEY_RES_N], v;

	pa.spread = 10000;
	flat(own, 7);
	flat(f, 3);
	assert_int_equal(xchg_rate_update(&r, own, f, 0, &pa), XCHG_OK);
	/* bid = 7/3 * 0.99, ask = 7/3 * 1.01, exactly. */
	assert_true((__int128)r.bid.num * 300 == (__int128)r.bid.den * 693);
	assert_true((__int128)r.ask.num * 300 == (__int128)r.ask.den * 707);
	assert_true(xchg_rat_cmp(r.bid, r.parity) < 0);
	assert_true(xchg_rat_cmp(r.ask, r.parity) > 0);
	/* 100 foreign units: we pay floor(231) and ask ceil(235.66). */
	assert_int_equal(xchg_rat_mul_floor(100, r.bid, &v), XCHG_OK);
	assert_int_equal(v, 231);
	assert_int_equal(xchg_rat_mul_ceil(100, r.ask, &v), XCHG_OK);
	assert_int_equal(v, 236);
	assert_int_equal(xchg_rat_mul_floor(1, r.bid, &v), XCHG_OK);
	assert_int_equal(v, 2);
	assert_int_equal(xchg_rat_mul_ceil(1, r.ask, &v), XCHG_OK);
	assert_int_equal(v, 3);
	assert_int_equal(
	    xchg_rat_mul_ceil(INT64_MAX, r.ask, &v), XCHG_ERR_RANGE);
	assert_int_equal(xchg_rat_mul_floor(-1, r.ask, &v), XCHG_ERR_INVAL);
}

static void
test_rate_rat_make_rounds_as_asked(void **state)
{
	uint64_t s = 77;

	for (int i = 0; i < 20000; i++) {
		xchg_u128 n = ((xchg_u128)xt_rand(&s) << 64 | xt_rand(&s)) >>
		    (xt_rand(&s) % 100);
		xchg_u128 d = ((xchg_u128)xt_rand(&s) << 64 | xt_rand(&s)) >>
		    (xt_rand(&s) % 100);
		struct xchg_rat lo, hi;
		if (d == 0 || n == 0)
			continue;
		int a = xchg__rat_make(n, d, 0, &lo);
		int b = xchg__rat_make(n, d, 1, &hi);
		/* lo <= n/d <= hi whenever they exist */
		if (a == 0)
			assert_true((long double)lo.num / lo.den <=
			    (long double)n / d * (1 + 1e-15L));
		if (b == 0)
			assert_true((long double)hi.num / hi.den >=
			    (long double)n / d * (1 - 1e-15L));
		if (a == 0 && lo.den && n <= UINT64_MAX && d <= UINT64_MAX)
			assert_true((xchg_u128)lo.num * d <= n * lo.den);
		if (b == 0 && n <= UINT64_MAX && d <= UINT64_MAX)
			assert_true((xchg_u128)hi.num * d >= n * hi.den);
		if (a == 0 && b == 0)
			assert_true(xchg_rat_cmp(lo, hi) <= 0);
	}
	/* Exact when it fits after reduction. */
	struct xchg_rat q;
	assert_int_equal(
	    xchg__rat_make((xchg_u128)6 << 70, (xchg_u128)4 << 70, 0, &q), 0);
	assert_int_equal(q.num, 3);
	assert_int_equal(q.den, 2);
	assert_int_equal(xchg__rat_make(1, 0, 0, &q), -1);
}

static void
test_rate_mid_step_is_bounded(void **state)
{
	struct xchg_rate_param pa = bare();
	struct xchg_rate r = {0};
	int64_t own[MONEY_RES_N], f[MONEY_RES_N];
	struct xchg_rat prev;

	pa.denom = 8;
	flat(own, 1000);
	flat(f, 1000);
	assert_int_equal(xchg_rate_update(&r, own, f, 0, &pa), XCHG_OK);
	/* The foreign prices fall to a tenth: parity jumps tenfold, the mid
	 * climbs 1/8 per epoch. */
	flat(f, 100);
	for (int e = 0; e < 30; e++) {
		prev = r.mid;
		assert_int_equal(xchg_rate_update(&r, own, f, 0, &pa), XCHG_OK);
		long double a = xchg_rat_double(prev),
		            b = xchg_rat_double(r.mid);
		assert_true(b <= a * 9 / 8 * (1 + 1e-15L));
		assert_true(b >= a);
		/* The ask never sits below parity, however far the mid lags. */
		assert_true(xchg_rat_cmp(r.ask, r.parity) >= 0);
		assert_true(xchg_rat_cmp(r.bid, r.mid) <= 0);
	}
	assert_int_equal(xchg_rat_cmp(r.mid, r.parity), 0);
	assert_true(xchg_rat_double(r.mid) > 9.99);
	/* And back down: the bid follows the parity at once (it never pays
	 * above it), the mid only by 1/8 per epoch. */
	flat(f, 1000);
	prev = r.mid;
	assert_int_equal(xchg_rate_update(&r, own, f, 0, &pa), XCHG_OK);
	assert_true(
	    xchg_rat_double(r.mid) >= xchg_rat_double(prev) * 7 / 8 - 1e-12);
	assert_true(xchg_rat_cmp(r.bid, r.parity) <= 0);
	assert_true(xchg_rat_double(r.bid) < 1.0001);
}

static void
test_rate_pressure_cuts_the_bid(void **state)
{
	struct xchg_rate_param pa = bare();
	struct xchg_rate r = {0}, r2;
	int64_t own[MONEY_RES_N], f[MONEY_RES_N];

	pa.press = 50000;
	pa.target = 1000;
	flat(own, 2);
	flat(f, 1); /* parity 2 */
	assert_int_equal(xchg_rate_update(&r, own, f, 0, &pa), XCHG_OK);
	assert_int_equal(r.pressure, 0);
	r2 = r;
	/* 500 units are worth 1000 local: at the target, no cut. */
	assert_int_equal(xchg_rate_update(&r2, own, f, 500, &pa), XCHG_OK);
	assert_int_equal(r2.pressure, 0);
	/* 750 are worth 1500: half way to the full cut. */
	r2 = r;
	assert_int_equal(xchg_rate_update(&r2, own, f, 750, &pa), XCHG_OK);
	assert_int_equal(r2.pressure, 25000);
	assert_true((__int128)r2.bid.num * 1000000 ==
	    (__int128)r2.bid.den * 2 * 975000);
	assert_int_equal(xchg_rat_cmp(r2.ask, r.ask), 0);
	/* Far above: bounded by the full cut. */
	r2 = r;
	assert_int_equal(
	    xchg_rate_update(&r2, own, f, INT64_MAX, &pa), XCHG_OK);
	assert_int_equal(r2.pressure, 50000);
	assert_true((__int128)r2.bid.num * 1000000 ==
	    (__int128)r2.bid.den * 2 * 950000);
}

static void
test_rate_band_covers_one_epoch(void **state)
{
	struct xchg_rate_param pa = bare();
	struct money_prices mp;
	struct xchg_rate r = {0};
	int64_t own[MONEY_RES_N], f[MONEY_RES_N], f1[MONEY_RES_N];
	uint64_t s = 99;

	money_prices_init(&mp);
	pa.cover = 1;
	for (int i = 0; i < 2000; i++) {
		for (int k = 0; k < MONEY_RES_N; k++) {
			own[k] = xt_range(&s, 1, i & 1 ? 30 : 100000000);
			/* a quoted price is never under its floor */
			int64_t lo = mp.param[k].floor;
			f[k] = xt_range(&s, lo, i & 1 ? lo + 30 : 100000000);
			f1[k] = money_price_next(
			    f[k], xt_range(&s, 0, MONEY_PPM), &mp.param[k]);
		}
		memset(&r, 0, sizeof(r));
		assert_int_equal(xchg_rate_update(&r, own, f, 0, &pa), XCHG_OK);
		struct xchg_rate r1 = {0};
		assert_int_equal(
		    xchg_rate_update(&r1, own, f1, 0, &pa), XCHG_OK);
		/* The parity after any one epoch lies in the band. */
		assert_true(xchg_rat_cmp(r.lo, r1.parity) <= 0);
		assert_true(xchg_rat_cmp(r.hi, r1.parity) >= 0);
	}
}

static void
test_rate_refuses_bad_input(void **state)
{
	struct xchg_rate_param pa = bare();
	struct xchg_rate r = {0};
	int64_t own[MONEY_RES_N], f[MONEY_RES_N];

	flat(own, 1);
	flat(f, 1);
	pa.spread = XCHG_PPM;
	assert_int_equal(xchg_rate_update(&r, own, f, 0, &pa), XCHG_ERR_INVAL);
	pa = bare();
	pa.denom = 1;
	assert_int_equal(xchg_rate_update(&r, own, f, 0, &pa), XCHG_ERR_INVAL);
	pa = bare();
	f[3] = 0;
	assert_int_equal(xchg_rate_update(&r, own, f, 0, &pa), XCHG_ERR_INVAL);
	assert_int_equal(r.epochs, 0);
	/* Extreme but valid prices still give a representable rate. */
	flat(f, 1);
	flat(own, INT64_MAX / 2);
	assert_int_equal(xchg_rate_update(&r, own, f, 0, &pa), XCHG_OK);
	flat(own, 1);
	flat(f, INT64_MAX / 2);
	memset(&r, 0, sizeof(r));
	assert_int_equal(xchg_rate_update(&r, own, f, 0, &pa), XCHG_OK);
	assert_true(r.bid.num >= 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rate_level_is_the_basket),
	    cmocka_unit_test(test_rate_parity_from_levels),
	    cmocka_unit_test(test_rate_spread_and_rounding),
	    cmocka_unit_test(test_rate_rat_make_rounds_as_asked),
	    cmocka_unit_test(test_rate_mid_step_is_bounded),
	    cmocka_unit_test(test_rate_pressure_cuts_the_bid),
	    cmocka_unit_test(test_rate_band_covers_one_epoch),
	    cmocka_unit_test(test_rate_refuses_bad_input),
	};

	return cmocka_run_group_tests_name("xchg_rate", tests, NULL, NULL);
}
