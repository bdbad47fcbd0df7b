/*
 * test_money_price.c: the price rule: bounded step per epoch, floor and
 * ceiling, rounding, parameters, cost rounding toward the platform, and a
 * loaded resource whose price rises by at most 12.5% per epoch and falls
 * back when the load stops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "money_test.h"

static void
test_price_next_bounded(void **state)
{
	struct money_price_param q = {.initial = 1000000,
	    .floor = 1,
	    .ceil = INT64_MAX / 2,
	    .target = 500000,
	    .denom = 8};

	/* full load: +1/8; idle: -1/8; at target: unchanged */
	assert_int_equal(money_price_next(1000000, MONEY_PPM, &q), 1125000);
	assert_int_equal(money_price_next(1000000, 0, &q), 875000);
	assert_int_equal(money_price_next(1000000, 500000, &q), 1000000);
	/* 75% load: (0.75-0.5)/(0.5*8) = +6.25% */
	assert_int_equal(money_price_next(1000000, 750000, &q), 1062500);
	/* out-of-range utilization is clamped */
	assert_int_equal(money_price_next(1000000, 5 * MONEY_PPM, &q), 1125000);
	assert_int_equal(money_price_next(1000000, -5, &q), 875000);
	/* small prices still climb, never fall under the floor */
	assert_int_equal(money_price_next(1, MONEY_PPM, &q), 2);
	assert_int_equal(money_price_next(1, 0, &q), 1);
	q.floor = 100;
	assert_int_equal(money_price_next(101, 0, &q), 100);
	q.ceil = 1100000;
	assert_int_equal(money_price_next(1000000, MONEY_PPM, &q), 1100000);
	/* a target of 10%: load above it can move more than 1/D, clamped */
	q.ceil = INT64_MAX / 2;
	q.target = 100000;
	assert_int_equal(money_price_next(1000000, MONEY_PPM, &q), 1125000);
	/* no overflow near the ceiling */
	assert_int_equal(
	    money_price_next(INT64_MAX / 2, MONEY_PPM, &q), INT64_MAX / 2);
}

static void
test_price_params(void **state)
{
	struct money_prices p;
	struct money_price_param q = {.initial = 50,
	    .floor = 10,
	    .ceil = 100,
	    .target = 800000,
	    .denom = 4};

	money_prices_init(&p);
	for (int r = 0; r < MONEY_RES_N; r++) {
		assert_non_null(money_res_name(r));
		assert_true(p.price[r] >= 1);
		assert_int_equal(p.param[r].denom, 8);
	}
	assert_null(money_res_name(MONEY_RES_N));
	assert_string_equal(money_res_name(MONEY_RES_STEP), "step");
	assert_int_equal(
	    money_prices_set_param(&p, MONEY_RES_NATIVE, &q), MONEY_OK);
	assert_int_equal(p.price[MONEY_RES_NATIVE], 50);
	q.floor = 0;
	assert_int_equal(
	    money_prices_set_param(&p, MONEY_RES_NATIVE, &q), MONEY_ERR_INVAL);
	q.floor = 10;
	q.target = 0;
	assert_int_equal(
	    money_prices_set_param(&p, MONEY_RES_NATIVE, &q), MONEY_ERR_INVAL);
	q.target = 1;
	q.initial = 101;
	assert_int_equal(
	    money_prices_set_param(&p, MONEY_RES_NATIVE, &q), MONEY_ERR_INVAL);
}

static void
test_price_rises_and_falls_with_load(void **state)
{
	struct money_prices p;
	int64_t used[MONEY_RES_N] = {0}, cap[MONEY_RES_N];
	int64_t start, prev, peak;
	int epoch;

	money_prices_init(&p);
	for (int r = 0; r < MONEY_RES_N; r++)
		cap[r] = 1000000;
	/* start from a price with room to move in fixed point */
	{
		struct money_price_param q = p.param[MONEY_RES_STEP];
		q.initial = 1000000;
		assert_int_equal(
		    money_prices_set_param(&p, MONEY_RES_STEP, &q), MONEY_OK);
	}
	start = prev = p.price[MONEY_RES_STEP];
	/* 20 epochs of load at 90% of capacity (target 50%) */
	used[MONEY_RES_STEP] = 900000;
	for (epoch = 0; epoch < 20; epoch++) {
		money_prices_epoch(&p, used, cap);
		int64_t now = p.price[MONEY_RES_STEP];
		assert_true(now > prev);
		/* at most 12.5% per epoch */
		assert_true((__int128)now * 8 <= (__int128)prev * 9);
		/* the others, idle, fall or sit at the floor */
		assert_true(p.price[MONEY_RES_MEM] >= 1);
		prev = now;
	}
	peak = prev;
	assert_true(peak > start * 5); /* 1.1^20 = 6.7 */
	assert_int_equal(p.epoch, 20);
	/* load stops: falls back, by at most 12.5% per epoch */
	used[MONEY_RES_STEP] = 0;
	for (epoch = 0; epoch < 40; epoch++) {
		money_prices_epoch(&p, used, cap);
		int64_t now = p.price[MONEY_RES_STEP];
		assert_true(now < prev);
		assert_true((__int128)now * 8 >= (__int128)prev * 7);
		prev = now;
	}
	assert_true(prev < start);
	/* at the target it stays */
	used[MONEY_RES_STEP] = 500000;
	money_prices_epoch(&p, used, cap);
	assert_int_equal(p.price[MONEY_RES_STEP], prev);
}

static void
test_price_cost_rounds_up(void **state)
{
	int64_t c;

	assert_int_equal(money_price_cost(1, 1, &c), MONEY_OK);
	assert_int_equal(c, 1); /* a millionth of a unit still costs one */
	assert_int_equal(money_price_cost(1, 1000000, &c), MONEY_OK);
	assert_int_equal(c, 1);
	assert_int_equal(money_price_cost(1, 1000001, &c), MONEY_OK);
	assert_int_equal(c, 2);
	assert_int_equal(money_price_cost(3, 0, &c), MONEY_OK);
	assert_int_equal(c, 0);
	assert_int_equal(
	    money_price_cost(INT64_MAX, INT64_MAX, &c), MONEY_ERR_OVERFLOW);
	assert_int_equal(money_price_cost(-1, 1, &c), MONEY_ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_price_next_bounded),
	    cmocka_unit_test(test_price_params),
	    cmocka_unit_test(test_price_rises_and_falls_with_load),
	    cmocka_unit_test(test_price_cost_rounds_up),
	};
	return cmocka_run_group_tests_name("money_price", tests, NULL, NULL);
}
