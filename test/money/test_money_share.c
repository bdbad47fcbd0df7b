/*
 * test_money_share.c: scheduling by payment. Two CPU-bound processes
 * offering 1:1, 2:1 and 10:1 per step, run by smallest pass with slices
 * of varying length, get step shares within 5% of those ratios; a
 * newcomer starts at the current virtual time; passes wrap safely.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "money_test.h"

/* Runs (n) processes for (slices) slices; slices are 500..1499 steps
 * (a process may stop early, as on a blocking operator). */
static void
simulate(
    struct money_share *s, size_t n, int slices, uint64_t *steps, uint64_t seed)
{
	struct money_share *v[8];

	for (size_t i = 0; i < n; i++) {
		v[i] = &s[i];
		steps[i] = 0;
	}
	for (int k = 0; k < slices; k++) {
		long i = money_share_pick(v, n);
		uint64_t used = 500 + mt_rand(&seed) % 1000;
		assert_true(i >= 0);
		money_share_charge(&s[i], used);
		steps[i] += used;
	}
}

static void
check_ratio(int64_t a, int64_t b)
{
	struct money_share s[2];
	uint64_t steps[2];
	double want = (double)a / (double)b, got;

	money_share_init(&s[0], a * 1000, 0);
	money_share_init(&s[1], b * 1000, 0);
	simulate(s, 2, 20000, steps, (uint64_t)(a * 31 + b));
	got = (double)steps[0] / (double)steps[1];
	print_message("offers %lld:%lld -> steps %llu:%llu = %.4f\n",
	    (long long)a, (long long)b, (unsigned long long)steps[0],
	    (unsigned long long)steps[1], got);
	assert_true(got > want * 0.95 && got < want * 1.05);
}

static void
test_share_ratio_1_1(void **state)
{
	check_ratio(1, 1);
}

static void
test_share_ratio_2_1(void **state)
{
	check_ratio(2, 1);
}

static void
test_share_ratio_10_1(void **state)
{
	check_ratio(10, 1);
}

static void
test_share_offer_change(void **state)
{
	struct money_share s[2];
	uint64_t steps[2];

	money_share_init(&s[0], 1, 0);
	money_share_init(&s[1], 1, 0);
	simulate(s, 2, 1000, steps, 5);
	/* raising the offer takes effect from the next charge */
	money_share_offer(&s[0], 3);
	simulate(s, 2, 20000, steps, 6);
	assert_true(steps[0] > 2.85 * steps[1] && steps[0] < 3.15 * steps[1]);
	/* offers below 1 count as 1 */
	money_share_offer(&s[1], -5);
	assert_int_equal(s[1].offer, 1);
	assert_int_equal(s[1].stride, MONEY_SHARE_STRIDE1);
}

static void
test_share_newcomer_and_wrap(void **state)
{
	struct money_share s[3], *v[3];
	uint64_t steps[3];

	/* passes just below the wrap point */
	money_share_init(&s[0], 1, UINT64_MAX - 1000);
	money_share_init(&s[1], 1, UINT64_MAX - 1000);
	simulate(s, 2, 5000, steps, 7);
	assert_true(steps[0] > 0.95 * steps[1] && steps[0] < 1.05 * steps[1]);
	/* a newcomer at the virtual time neither starves nor monopolises */
	v[0] = &s[0];
	v[1] = &s[1];
	v[2] = NULL;
	money_share_init(&s[2], 1, money_share_vtime(v, 2, 0));
	simulate(s, 3, 6000, steps, 8);
	for (int i = 0; i < 3; i++)
		assert_true(steps[i] > steps[(i + 1) % 3] * 0.95);
	assert_int_equal(money_share_pick(v + 2, 1), -1);
	assert_int_equal(money_share_vtime(v + 2, 1, 42), 42);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_share_ratio_1_1),
	    cmocka_unit_test(test_share_ratio_2_1),
	    cmocka_unit_test(test_share_ratio_10_1),
	    cmocka_unit_test(test_share_offer_change),
	    cmocka_unit_test(test_share_newcomer_and_wrap),
	};
	return cmocka_run_group_tests_name("money_share", tests, NULL, NULL);
}
