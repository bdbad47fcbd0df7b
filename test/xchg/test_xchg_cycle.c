/*
 * test_xchg_cycle.c: property tests of the rate rule over random markets
 * (deterministic seeds, bounded counts): no cycle of exchanges gains with
 * rates from one consistent set of quotes; with quotes skewed by up to s a
 * k-hop cycle gains at most ((1 + s) / (1 + spread))^k - 1 (about
 * k * (s - spread)); and with quotes from any two consecutive epochs of
 * the real price rule (what a quote's validity allows) the default band
 * leaves no gain.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "xchg_test.h"

#define MAXP 8
#define MAXK 12

struct market {
	int n;
	struct xchg_rate_param param;
	/* rate[p][c]: at platform p, for currency c (p != c) */
	struct xchg_rate rate[MAXP][MAXP];
};

static void
random_prices(uint64_t *s, int64_t price[MONEY_RES_N], int64_t lo, int64_t hi,
    int64_t mult)
{
	for (int r = 0; r < MONEY_RES_N; r++)
		price[r] = xt_range(s, lo, hi) * mult;
}

/* Rates of every platform p for every currency c from the views
 * view[p][c] (view[p][p] is p's own prices), after an earlier epoch with
 * random other prices so that the mid lags the parity. */
static void
build(struct market *m, uint64_t *s, int64_t view[MAXP][MAXP][MONEY_RES_N])
{
	int64_t old[MONEY_RES_N];

	for (int p = 0; p < m->n; p++) {
		for (int c = 0; c < m->n; c++) {
			struct xchg_rate *r = &m->rate[p][c];
			int64_t held = xt_range(s, 0, 4000);
			if (c == p)
				continue;
			memset(r, 0, sizeof(*r));
			random_prices(s, old, 1, 1000, 1000);
			assert_int_equal(xchg_rate_update(r, view[p][p], old,
			                     held, &m->param),
			    XCHG_OK);
			assert_int_equal(xchg_rate_update(r, view[p][p],
			                     view[p][c], held, &m->param),
			    XCHG_OK);
		}
	}
}

/*
 * Runs a random cycle of (k) hops from currency c0 and back, each hop
 * between currencies X and Y at platform Y (Y buys X at its bid) or at X
 * (X sells Y at its ask), with amounts rounded as the exchange rounds.
 * Returns final / initial as a long double; *(gain) is set when the final
 * integer amount exceeds the initial one; *(kp) in: hops wanted, out:
 * hops made (a currency may repeat, which drops a hop).
 */
static long double
cycle(struct market *m, uint64_t *s, int *kp, int *gain)
{
	int k = *kp, hops = 0;
	int cur[MAXK + 1];
	int64_t a0 = xt_range(s, 1000000000, 1000000000000000LL), a = a0;
	long double f = 1;

	cur[0] = (int)xt_range(s, 0, m->n - 1);
	for (int i = 1; i < k; i++) {
		do
			cur[i] = (int)xt_range(s, 0, m->n - 1);
		while (cur[i] == cur[i - 1]);
	}
	cur[k] = cur[0];
	if (cur[k - 1] == cur[k])
		cur[k - 1] = (cur[k] + 1) % m->n;
	for (int i = 0; i < k; i++) {
		int x = cur[i], y = cur[i + 1];
		if (x == y)
			continue;
		hops++;
		if (xt_rand(s) & 1) {
			struct xchg_rat b = m->rate[y][x].bid;
			assert_int_equal(xchg_rat_mul_floor(a, b, &a), XCHG_OK);
			f *= (long double)b.num / b.den;
		} else {
			struct xchg_rat q = m->rate[x][y].ask;
			struct xchg_rat inv = {q.den, q.num};
			assert_int_equal(
			    xchg_rat_mul_floor(a, inv, &a), XCHG_OK);
			f /= (long double)q.num / q.den;
		}
	}
	*gain = a > a0;
	*kp = hops;
	return f;
}

static void
test_cycle_consistent_quotes_never_gain(void **state)
{
	static int64_t view[MAXP][MAXP][MONEY_RES_N];
	static int64_t truth[MAXP][MONEY_RES_N];
	uint64_t s = 0x5eed0001;
	long double worst = 0;
	long cycles = 0;

	for (int set = 0; set < 300; set++) {
		struct market m;
		memset(&m, 0, sizeof(m));
		m.n = (int)xt_range(&s, 2, MAXP);
		xchg_rate_param_default(&m.param);
		m.param.spread = (uint32_t)xt_range(&s, 0, 50000);
		m.param.cover = (uint32_t)xt_range(&s, 0, 2);
		m.param.denom = (uint32_t)xt_range(&s, 2, 32);
		m.param.target = xt_range(&s, 1, 3000);
		for (int c = 0; c < m.n; c++)
			random_prices(
			    &s, truth[c], 1, xt_range(&s, 1, 1000000), 1);
		for (int p = 0; p < m.n; p++)
			for (int c = 0; c < m.n; c++)
				memcpy(view[p][c], truth[c], sizeof(truth[c]));
		build(&m, &s, view);
		for (int j = 0; j < 40; j++, cycles++) {
			int gain;
			int k = (int)xt_range(&s, 2, MAXK);
			long double f = cycle(&m, &s, &k, &gain);
			assert_false(gain);
			assert_true(f <= 1.0L + 1e-15L);
			if (f > worst)
				worst = f;
		}
	}
	print_message(
	    "consistent: %ld cycles, best factor %.9Lf\n", cycles, worst);
}

/* Prices that are multiples of 10^6 scaled by (10^6 + x) / 10^6: the
 * level is scaled exactly by that factor. */
static void
skew_prices(const int64_t in[MONEY_RES_N], int64_t x, int64_t out[MONEY_RES_N])
{
	for (int r = 0; r < MONEY_RES_N; r++)
		out[r] = in[r] / 1000000 * (1000000 + x);
}

static void
run_skew(uint64_t seed, int64_t s_ppm, int sets, long double *worst_excess,
    int *any_gain)
{
	static int64_t view[MAXP][MAXP][MONEY_RES_N];
	static int64_t truth[MAXP][MONEY_RES_N];
	uint64_t s = seed;
	long double sk = (long double)s_ppm / XCHG_PPM;

	*worst_excess = -1;
	*any_gain = 0;
	for (int set = 0; set < sets; set++) {
		struct market m;
		long double sig;
		memset(&m, 0, sizeof(m));
		m.n = (int)xt_range(&s, 2, MAXP);
		xchg_rate_param_default(&m.param);
		m.param.cover = 0;
		m.param.press = 0;
		m.param.spread = 20000;
		sig = (long double)m.param.spread / XCHG_PPM;
		for (int c = 0; c < m.n; c++)
			random_prices(&s, truth[c], 1, 100000, 1000000);
		for (int p = 0; p < m.n; p++) {
			for (int c = 0; c < m.n; c++) {
				/* x in [-s/(1+s), s]: factor in [1/(1+s), 1+s]
				 */
				int64_t lo =
				    -(s_ppm * XCHG_PPM) / (XCHG_PPM + s_ppm);
				int64_t x =
				    c == p ? 0 : xt_range(&s, lo, s_ppm);
				/* Push half the views to the extremes. */
				if (c != p && (xt_rand(&s) & 1))
					x = (xt_rand(&s) & 1) ? s_ppm : lo;
				skew_prices(truth[c], x, view[p][c]);
			}
		}
		build(&m, &s, view);
		/* Mid = parity, so only the skew and the spread act. */
		for (int p = 0; p < m.n; p++)
			for (int c = 0; c < m.n; c++)
				if (p != c)
					m.rate[p][c].epochs = 0;
		for (int p = 0; p < m.n; p++)
			for (int c = 0; c < m.n; c++)
				if (p != c)
					assert_int_equal(
					    xchg_rate_update(&m.rate[p][c],
					        view[p][p], view[p][c], 0,
					        &m.param),
					    XCHG_OK);
		for (int j = 0; j < 40; j++) {
			int gain, k = (int)xt_range(&s, 2, MAXK);
			long double f = cycle(&m, &s, &k, &gain);
			long double bound = powl((1 + sk) / (1 + sig), k);
			long double excess = f / bound;
			assert_true(f <= bound * (1 + 1e-12L));
			if (s_ppm <= (int64_t)m.param.spread)
				assert_false(gain);
			if (excess > *worst_excess)
				*worst_excess = excess;
			*any_gain |= gain;
		}
	}
}

static void
test_cycle_skew_bound(void **state)
{
	long double w;
	int any;

	/* Skew within the spread: never a gain. */
	run_skew(0x5eed0002, 20000, 150, &w, &any);
	assert_false(any);
	run_skew(0x5eed0003, 5000, 150, &w, &any);
	assert_false(any);
	/* Skew beyond the spread: gains appear, within the bound. */
	run_skew(0x5eed0004, 80000, 150, &w, &any);
	assert_true(any);
	print_message(
	    "skew 8%% vs spread 2%%: worst factor / bound %.6Lf\n", w);
}

/* Quotes from two consecutive epochs of the real price rule (D = 8,
 * random utilizations, small prices so the +1 rise acts too): the default
 * band (cover 1, pdenom 8) leaves no cycle gain. */
static void
test_cycle_quote_validity_covered(void **state)
{
	static int64_t view[MAXP][MAXP][MONEY_RES_N];
	static int64_t e0[MAXP][MONEY_RES_N], e1[MAXP][MONEY_RES_N];
	struct money_prices mp;
	uint64_t s = 0x5eed0005;
	long cycles = 0;

	money_prices_init(&mp);
	for (int set = 0; set < 300; set++) {
		struct market m;
		memset(&m, 0, sizeof(m));
		m.n = (int)xt_range(&s, 2, MAXP);
		xchg_rate_param_default(&m.param);
		m.param.spread = (uint32_t)xt_range(&s, 0, 10000);
		for (int c = 0; c < m.n; c++) {
			random_prices(
			    &s, e0[c], 1, (set & 1) ? 20 : 10000000, 1);
			for (int r = 0; r < MONEY_RES_N; r++)
				e1[c][r] = money_price_next(e0[c][r],
				    xt_range(&s, 0, MONEY_PPM), &mp.param[r]);
		}
		/* Each platform knows its own current prices; another's it
		 * knows from a quote of this epoch or the one before. */
		for (int p = 0; p < m.n; p++)
			for (int c = 0; c < m.n; c++)
				memcpy(view[p][c],
				    (c == p || (xt_rand(&s) & 1)) ? e1[c]
				                                  : e0[c],
				    sizeof(e0[c]));
		build(&m, &s, view);
		for (int j = 0; j < 40; j++, cycles++) {
			int gain;
			int k = (int)xt_range(&s, 2, MAXK);
			long double f = cycle(&m, &s, &k, &gain);
			assert_false(gain);
			assert_true(f <= 1.0L + 1e-15L);
		}
	}
	print_message("validity: %ld cycles, none gained\n", cycles);
}

/* Without the band the same quotes can be exploited: the test above
 * would fail if the band did nothing. */
static void
test_cycle_without_band_gains(void **state)
{
	static int64_t view[MAXP][MAXP][MONEY_RES_N];
	static int64_t e0[MAXP][MONEY_RES_N], e1[MAXP][MONEY_RES_N];
	struct money_prices mp;
	uint64_t s = 0x5eed0006;
	int any = 0;

	money_prices_init(&mp);
	for (int set = 0; set < 200 && !any; set++) {
		struct market m;
		memset(&m, 0, sizeof(m));
		m.n = 3;
		xchg_rate_param_default(&m.param);
		m.param.cover = 0;
		m.param.press = 0;
		m.param.spread = 1000;
		for (int c = 0; c < m.n; c++) {
			random_prices(&s, e0[c], 1000000, 10000000, 1);
			for (int r = 0; r < MONEY_RES_N; r++)
				e1[c][r] = money_price_next(e0[c][r],
				    (c & 1) ? MONEY_PPM : 0, &mp.param[r]);
		}
		for (int p = 0; p < m.n; p++)
			for (int c = 0; c < m.n; c++)
				memcpy(view[p][c],
				    (p == c || ((p + c) & 1)) ? e1[c] : e0[c],
				    sizeof(e0[c]));
		build(&m, &s, view);
		for (int p = 0; p < m.n; p++)
			for (int c = 0; c < m.n; c++)
				if (p != c) {
					m.rate[p][c].epochs = 0;
					xchg_rate_update(&m.rate[p][c],
					    view[p][p], view[p][c], 0,
					    &m.param);
				}
		for (int j = 0; j < 200 && !any; j++) {
			int gain;
			int k = (int)xt_range(&s, 2, 4);
			cycle(&m, &s, &k, &gain);
			any |= gain;
		}
	}
	assert_true(any);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cycle_consistent_quotes_never_gain),
	    cmocka_unit_test(test_cycle_skew_bound),
	    cmocka_unit_test(test_cycle_quote_validity_covered),
	    cmocka_unit_test(test_cycle_without_band_gains),
	};

	return cmocka_run_group_tests_name("xchg_cycle", tests, NULL, NULL);
}
