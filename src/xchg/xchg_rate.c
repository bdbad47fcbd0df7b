/*
 * xchg_rate.c: the rate rule. For a foreign currency C at platform P:
 *
 *   level(x)  = sum over resources of basket[r] * price_x[r]
 *   parity    = level(P) / level(C)         local units per foreign unit
 *   lo, hi    = the least and greatest parity the foreign price rule
 *               can reach within `cover` epochs of its quote
 *   mid'      = parity clamped to mid * [1 - 1/D_r, 1 + 1/D_r]
 *   bid       = min(mid, lo) * (1 - spread) * (1 - pressure)   rounded down
 *   ask       = max(mid, hi) * (1 + spread)                     rounded up
 *
 * Rates are exact 64-bit rationals; products are formed in 128 bits and
 * rounded once, always toward the platform (a bid down, an ask up). Since
 * bid <= lo and ask >= hi, no platform ever pays more than the lowest
 * parity its quotes allow nor sells below the highest: with rates from
 * one consistent set of quotes no cycle of exchanges gains (docs/xchg.md
 * has the proofs; test_xchg_cycle.c checks them).
 */
#include <string.h>

#include "xchg_int.h"

static const uint32_t basket[MONEY_RES_N] = {
#define XCHG__W(id, w) [MONEY_RES_##id] = w,
    XCHG_BASKET(XCHG__W)
#undef XCHG__W
};

void
xchg_rate_param_default(struct xchg_rate_param *p)
{
	memset(p, 0, sizeof(*p));
	p->spread = 10000;
	p->press = 50000;
	p->target = 1000;
	p->denom = 8;
	p->cover = 1;
	p->pdenom = 8;
}

enum xchg_err
xchg_rate_param_check(const struct xchg_rate_param *p)
{
	if (p->spread >= XCHG_PPM || p->press >= XCHG_PPM || p->target < 1 ||
	    p->denom < 2 || p->cover > 4 || p->pdenom < 1)
		return XCHG_ERR_INVAL;
	if ((uint64_t)p->spread + p->press >= XCHG_PPM)
		return XCHG_ERR_INVAL;
	return XCHG_OK;
}

static int
bits128(xchg_u128 x)
{
	int n = 0;

	while (x) {
		x >>= 1;
		n++;
	}
	return n;
}

static xchg_u128
gcd128(xchg_u128 a, xchg_u128 b)
{
	while (b) {
		xchg_u128 t = a % b;
		a = b;
		b = t;
	}
	return a;
}

int
xchg__rat_make(xchg_u128 n, xchg_u128 d, int up, struct xchg_rat *out)
{
	xchg_u128 g, nn, dd;
	int sh;

	if (d == 0)
		return -1;
	if (n == 0) {
		out->num = 0;
		out->den = 1;
		return 0;
	}
	g = gcd128(n, d);
	n /= g;
	d /= g;
	if (n <= UINT64_MAX && d <= UINT64_MAX) {
		out->num = (uint64_t)n;
		out->den = (uint64_t)d;
		return 0;
	}
	/* Drop low bits of both, rounding the quotient in the asked
	 * direction: down = floor(n) / ceil(d), up = ceil(n) / floor(d). */
	sh = (bits128(n) > bits128(d) ? bits128(n) : bits128(d)) - 64;
	for (; sh < 128; sh++) {
		xchg_u128 mask = ((xchg_u128)1 << sh) - 1;
		if (up) {
			nn = (n >> sh) + ((n & mask) != 0);
			dd = d >> sh;
			if (dd == 0)
				return -1;
		} else {
			nn = n >> sh;
			dd = (d >> sh) + ((d & mask) != 0);
			if (nn == 0)
				return -1;
		}
		if (nn <= UINT64_MAX && dd <= UINT64_MAX)
			break;
	}
	if (sh >= 128)
		return -1;
	g = gcd128(nn, dd);
	out->num = (uint64_t)(nn / g);
	out->den = (uint64_t)(dd / g);
	return 0;
}

int
xchg_rat_cmp(struct xchg_rat a, struct xchg_rat b)
{
	xchg_u128 l = (xchg_u128)a.num * b.den, r = (xchg_u128)b.num * a.den;

	return l < r ? -1 : l > r;
}

double
xchg_rat_double(struct xchg_rat r)
{
	return r.den ? (double)r.num / (double)r.den : 0.0;
}

enum xchg_err
xchg_rat_mul_floor(int64_t amount, struct xchg_rat r, int64_t *out)
{
	xchg_u128 v;

	*out = 0;
	if (amount < 0 || r.den == 0)
		return XCHG_ERR_INVAL;
	v = (xchg_u128)(uint64_t)amount * r.num / r.den;
	if (v > INT64_MAX)
		return XCHG_ERR_RANGE;
	*out = (int64_t)v;
	return XCHG_OK;
}

enum xchg_err
xchg_rat_mul_ceil(int64_t amount, struct xchg_rat r, int64_t *out)
{
	xchg_u128 v;

	*out = 0;
	if (amount < 0 || r.den == 0)
		return XCHG_ERR_INVAL;
	v = (xchg_u128)(uint64_t)amount * r.num;
	v = v / r.den + (v % r.den != 0);
	if (v > INT64_MAX)
		return XCHG_ERR_RANGE;
	*out = (int64_t)v;
	return XCHG_OK;
}

xchg_u128
xchg__level128(const int64_t price[MONEY_RES_N])
{
	xchg_u128 l = 0;

	for (int r = 0; r < MONEY_RES_N; r++) {
		if (price[r] < 1)
			return 0;
		l += (xchg_u128)basket[r] * (uint64_t)price[r];
	}
	return l;
}

enum xchg_err
xchg_level(const int64_t price[MONEY_RES_N], uint64_t *level)
{
	xchg_u128 l = xchg__level128(price);

	*level = 0;
	if (l == 0 || l > UINT64_MAX)
		return XCHG_ERR_RANGE;
	*level = (uint64_t)l;
	return XCHG_OK;
}

/*
 * The extreme levels the price rule (money_price_next) can reach from
 * (price) in (n) epochs when every platform's D is at least (d): each
 * price falls by at most floor(p / D) (never below 1) and rises by at most
 * max(floor(p / D), 1) (never above INT64_MAX) per epoch.
 */
static void
level_band(const int64_t price[MONEY_RES_N], uint32_t n, uint32_t d,
    xchg_u128 *lo, xchg_u128 *hi)
{
	*lo = 0;
	*hi = 0;
	for (int r = 0; r < MONEY_RES_N; r++) {
		int64_t a = price[r], b = price[r];
		for (uint32_t i = 0; i < n; i++) {
			int64_t down = a / (int64_t)d;
			int64_t up = b / (int64_t)d;
			a = a - down < 1 ? 1 : a - down;
			if (up < 1)
				up = 1;
			b = b > INT64_MAX - up ? INT64_MAX : b + up;
		}
		*lo += (xchg_u128)basket[r] * (uint64_t)a;
		*hi += (xchg_u128)basket[r] * (uint64_t)b;
	}
}

/* (a) * (m / s), rounded as asked, as a 64-bit rational. */
static int
rat_scale(
    struct xchg_rat a, uint64_t m, uint64_t s, int up, struct xchg_rat *out)
{
	return xchg__rat_make(
	    (xchg_u128)a.num * m, (xchg_u128)a.den * s, up, out);
}

/* The bid cut, ppm, for (held) foreign units valued at (mid). */
static uint32_t
pressure(int64_t held, struct xchg_rat mid, const struct xchg_rate_param *p)
{
	xchg_u128 value, excess;

	if (held <= 0 || p->press == 0)
		return 0;
	value = (xchg_u128)(uint64_t)held * mid.num / mid.den;
	if (value <= (xchg_u128)p->target)
		return 0;
	excess = value - (xchg_u128)p->target;
	if (excess >= (xchg_u128)p->target)
		return p->press;
	/* Linear from 0 at the target to the full cut at twice it, rounded
	 * up: the platform errs toward paying less. */
	return (uint32_t)((excess * p->press + (uint64_t)p->target - 1) /
	    (uint64_t)p->target);
}

enum xchg_err
xchg_rate_update(struct xchg_rate *r, const int64_t own[MONEY_RES_N],
    const int64_t foreign[MONEY_RES_N], int64_t held,
    const struct xchg_rate_param *p)
{
	struct xchg_rate n = *r;
	xchg_u128 lp, lc, lp_lo, lp_hi, lc_lo, lc_hi;
	struct xchg_rat blo, bhi, base;
	uint32_t cut;

	if (xchg_rate_param_check(p) != XCHG_OK)
		return XCHG_ERR_INVAL;
	lp = xchg__level128(own);
	lc = xchg__level128(foreign);
	if (lp == 0 || lc == 0)
		return XCHG_ERR_INVAL;
	/* Own prices are current (the exchange re-rates at each of its own
	 * epochs and its quotes end with the epoch), so only the foreign
	 * quote, which may be an epoch old, needs the band. */
	level_band(own, 0, p->pdenom, &lp_lo, &lp_hi);
	level_band(foreign, p->cover, p->pdenom, &lc_lo, &lc_hi);
	if (xchg__rat_make(lp, lc, 0, &n.parity) < 0 ||
	    xchg__rat_make(lp_lo, lc_hi, 0, &n.lo) < 0 ||
	    xchg__rat_make(lp_hi, lc_lo, 1, &n.hi) < 0)
		return XCHG_ERR_RANGE;

	if (r->epochs == 0) {
		n.mid = n.parity;
	} else {
		/* The mid follows the parity by at most 1/D_r per epoch; the
		 * bounds are rounded inward so the step never exceeds it. */
		if (rat_scale(r->mid, p->denom - 1, p->denom, 1, &blo) < 0 ||
		    rat_scale(r->mid, p->denom + 1, p->denom, 0, &bhi) < 0)
			return XCHG_ERR_RANGE;
		n.mid = n.parity;
		if (xchg_rat_cmp(n.mid, blo) < 0)
			n.mid = blo;
		if (xchg_rat_cmp(n.mid, bhi) > 0)
			n.mid = bhi;
	}

	cut = pressure(held, n.mid, p);
	base = xchg_rat_cmp(n.mid, n.lo) < 0 ? n.mid : n.lo;
	if (xchg__rat_make(
	        (xchg_u128)base.num * (XCHG_PPM - p->spread) * (XCHG_PPM - cut),
	        (xchg_u128)base.den * XCHG_PPM * XCHG_PPM, 0, &n.bid) < 0)
		return XCHG_ERR_RANGE;
	base = xchg_rat_cmp(n.mid, n.hi) > 0 ? n.mid : n.hi;
	if (rat_scale(base, XCHG_PPM + p->spread, XCHG_PPM, 1, &n.ask) < 0)
		return XCHG_ERR_RANGE;
	if (n.bid.num == 0 || n.ask.num == 0)
		return XCHG_ERR_RANGE;
	n.pressure = cut;
	n.epochs = r->epochs + 1;
	*r = n;
	return XCHG_OK;
}
