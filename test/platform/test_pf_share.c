/*
 * test_pf_share.c: the share rule of a charged platform (pf_share.c,
 * docs/money.md "Scheduling by payment"), for interpreter steps and for
 * native vCPU time alike. Two processes take turns, as the scheduler
 * gives them, while the step price follows the rule of the price epoch
 * under full load (+1/8 an epoch); their steps, and their µs of guest
 * time, stay in the ratio of their offers within 5% even after the
 * price has overtaken both offers. What they pay per step is the larger
 * of the offer and the price. (The native half runs here, not on KVM:
 * this machine has no /dev/kvm; pf_native.c takes its guest slice from
 * pf_proc_native_turn(), which the meter answers with this rule.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pf_money.h"

/* Steps the simulated processor runs per second, and µs of guest time
 * per µs: enough turns per epoch that rounding does not matter. */
#define RATE 50000000
#define NATIVE_SLICE_US 2000

struct sim {
	uint64_t steps[2], native_us[2];
	__int128 paid[2];
	int64_t price_end;
	int epochs_above; /* epochs where the price was above both offers */
};

/* (epochs) one-second epochs of two CPU-bound processes; (native) makes
 * them run guest code instead of steps. */
static void
simulate(int64_t oa, int64_t ob, int epochs, bool native, struct sim *out)
{
	struct money_prices pr;
	int64_t used[MONEY_RES_N] = {0}, cap[MONEY_RES_N] = {0};
	int64_t offer[2] = {oa, ob};

	money_prices_init(&pr);
	memset(out, 0, sizeof(*out));
	for (int e = 0; e < epochs; e++) {
		int64_t price = pr.price[MONEY_RES_STEP];
		uint64_t budget = native ? 1000000 : RATE; /* per epoch */
		uint64_t spent = 0;
		if (price > oa && price > ob)
			out->epochs_above++;
		for (int k = 0; spent < budget; k ^= 1) {
			int64_t t = native
			    ? pf__share_turn(NATIVE_SLICE_US, offer[k], price)
			    : pf__share_turn(PF_SLICE, offer[k], price);
			if (native)
				out->native_us[k] += (uint64_t)t;
			else
				out->steps[k] += (uint64_t)t;
			out->paid[k] +=
			    (__int128)t * pf__share_pay(offer[k], price);
			spent += (uint64_t)t;
		}
		/* Full load, others always queued: demand twice the time. */
		used[MONEY_RES_STEP] = 2 * 1000000;
		cap[MONEY_RES_STEP] = 2 * 1000000;
		money_prices_epoch(&pr, used, cap);
	}
	out->price_end = pr.price[MONEY_RES_STEP];
}

static void
check(int64_t a, int64_t b, bool native)
{
	struct money_prices pr;
	struct sim s;
	money_prices_init(&pr);
	int64_t p0 = pr.price[MONEY_RES_STEP];
	simulate(a * p0, b * p0, 10, native, &s);
	double want = (double)a / (double)b;
	double got = native ? (double)s.native_us[0] / (double)s.native_us[1]
	                    : (double)s.steps[0] / (double)s.steps[1];
	print_message("%s offers %lld:%lld, price %lld -> %lld: ratio %.4f\n",
	    native ? "native" : "steps", (long long)a, (long long)b,
	    (long long)p0, (long long)s.price_end, got);
	/* The price did overtake the lower offer (and in 2:1 both): the
	 * case where a rule that weighed max(offer, price) flattened the
	 * shares. */
	assert_true(s.price_end > b * p0);
	if (a <= 2)
		assert_true(s.epochs_above > 0);
	assert_true(got > want * 0.95 && got < want * 1.05);
}

static void
test_share_steps_2_1(void **state)
{
	check(2, 1, false);
}

static void
test_share_steps_10_1(void **state)
{
	check(3, 1, false);
	check(10, 1, false);
}

static void
test_share_native_2_1(void **state)
{
	check(2, 1, true);
}

static void
test_share_native_10_1(void **state)
{
	check(10, 1, true);
}

static void
test_share_turn_bounds(void **state)
{
	/* No offer: the price's share, one slice. */
	assert_int_equal(pf__share_turn(1000, 0, 5000), 1000);
	/* An offer at the price: the same. */
	assert_int_equal(pf__share_turn(1000, 5000, 5000), 1000);
	/* Below the price: a shorter turn, never none. */
	assert_int_equal(pf__share_turn(1000, 2500, 5000), 500);
	assert_int_equal(pf__share_turn(1000, 1, 1000000000), 1);
	/* At most PF_MAX_SHARE slices. */
	assert_int_equal(
	    pf__share_turn(1000, INT64_MAX, 64), 1000 * PF_MAX_SHARE);
	/* Weight: the offer, or the price without one. */
	assert_int_equal(pf__share_weight(0, 777), 777);
	assert_int_equal(pf__share_weight(5, 777), 5);
}

static void
test_share_pay_is_offer_or_price(void **state)
{
	assert_int_equal(pf__share_pay(0, 1000), 1000);
	assert_int_equal(pf__share_pay(500, 1000), 1000);
	assert_int_equal(pf__share_pay(3000, 1000), 3000);
	/* Over a run, each paid at least the price for every step. */
	struct sim s;
	simulate(2000, 1000, 10, false, &s);
	assert_true(s.epochs_above > 0);
	assert_true(s.paid[1] >= (__int128)s.steps[1] * 1000);
	assert_true(s.paid[0] >= (__int128)s.steps[0] * 2000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_share_steps_2_1),
	    cmocka_unit_test(test_share_steps_10_1),
	    cmocka_unit_test(test_share_native_2_1),
	    cmocka_unit_test(test_share_native_10_1),
	    cmocka_unit_test(test_share_turn_bounds),
	    cmocka_unit_test(test_share_pay_is_offer_or_price),
	};
	return cmocka_run_group_tests_name("pf_share", tests, NULL, NULL);
}
