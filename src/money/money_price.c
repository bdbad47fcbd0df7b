/*
 * money_price.c: one price per resource, moved each epoch by a purely
 * local rule toward a utilization target, after EIP-1559's base fee:
 *
 *   p' = p + p * (u - t) / (t * D),  |p' - p| <= p / D,  floor <= p' <= ceil
 *
 * u and t in parts per million, D = 8 by default (at most 12.5% per
 * epoch). Integer arithmetic only: the product is formed in 128 bits and
 * divided once, truncating toward zero; a rise smaller than one unit of
 * fixed point becomes 1 so that a price at the floor can climb again.
 */
#include <string.h>

#include "money_int.h"

static const char *const res_names[] = {
#define MONEY__N(id, s) s,
    MONEY_RESMAP(MONEY__N)
#undef MONEY__N
};

/* Initial prices in fixed point (MONEY_PRICE_SCALE = 1 unit): a thousand
 * steps cost a unit, a kilobyte of heap held for a second a unit. Prices
 * start well above the floor so that the rule's smallest move (1) stays
 * within its bound of 1/D (docs/money.md). */
#define RES_FLOOR 64 /* 8 * D: a rise of 1 is at most 1/8 */
static const int64_t res_initial[MONEY_RES_N] = {
    [MONEY_RES_STEP] = 1000,
    [MONEY_RES_MEM] = 1000,
    [MONEY_RES_STORE] = 10000,
    [MONEY_RES_SEND_UDPIP] = 10000,
    [MONEY_RES_SEND_TCPIP] = 10000,
    [MONEY_RES_SEND_CONSOLE] = 1000,
    [MONEY_RES_NATIVE] = 100000,
    [MONEY_RES_GUEST_MEM] = 1000,
};

const char *
money_res_name(enum money_res r)
{
	if ((unsigned)r >= MONEY_RES_N)
		return NULL;
	return res_names[r];
}

void
money_prices_init(struct money_prices *p)
{
	memset(p, 0, sizeof(*p));
	for (int r = 0; r < MONEY_RES_N; r++) {
		struct money_price_param *q = &p->param[r];
		q->initial = res_initial[r];
		q->floor = RES_FLOOR;
		q->ceil = INT64_MAX / 2;
		q->target = MONEY_PPM / 2;
		q->denom = 8;
		p->price[r] = q->initial;
	}
}

enum money_err
money_prices_set_param(
    struct money_prices *p, enum money_res r, const struct money_price_param *q)
{
	if ((unsigned)r >= MONEY_RES_N || q->floor < 1 || q->ceil < q->floor ||
	    q->initial < q->floor || q->initial > q->ceil || q->target < 1 ||
	    q->target > MONEY_PPM || q->denom < 1)
		return MONEY_ERR_INVAL;
	p->param[r] = *q;
	p->price[r] = q->initial;
	return MONEY_OK;
}

int64_t
money_price_next(int64_t price, int64_t util, const struct money_price_param *q)
{
	__int128 delta, bound;
	int64_t t = q->target, d = q->denom;

	if (util < 0)
		util = 0;
	if (util > MONEY_PPM)
		util = MONEY_PPM;
	if (t < 1)
		t = 1;
	if (d < 1)
		d = 1;
	delta = (__int128)price * (util - t) / ((__int128)t * d);
	bound = price / d;
	if (delta > bound)
		delta = bound;
	if (delta < -bound)
		delta = -bound;
	if (delta == 0 && util > t)
		delta = 1;
	delta += price;
	if (delta < q->floor)
		delta = q->floor;
	if (delta > q->ceil)
		delta = q->ceil;
	return (int64_t)delta;
}

void
money_prices_epoch(struct money_prices *p, const int64_t used[MONEY_RES_N],
    const int64_t capacity[MONEY_RES_N])
{
	for (int r = 0; r < MONEY_RES_N; r++) {
		int64_t u = 0;
		if (capacity[r] > 0 && used[r] > 0)
			u = used[r] >= capacity[r]
			    ? MONEY_PPM
			    : (int64_t)((__int128)used[r] * MONEY_PPM /
			          capacity[r]);
		p->price[r] = money_price_next(p->price[r], u, &p->param[r]);
	}
	p->epoch++;
}

enum money_err
money_price_cost(int64_t price, int64_t qty, int64_t *cost)
{
	__int128 c;

	*cost = 0;
	if (price < 0 || qty < 0)
		return MONEY_ERR_INVAL;
	/* Rounded up: the platform never gives service away by rounding. */
	c = ((__int128)price * qty + MONEY_PRICE_SCALE - 1) / MONEY_PRICE_SCALE;
	if (c > INT64_MAX)
		return MONEY_ERR_OVERFLOW;
	*cost = (int64_t)c;
	return MONEY_OK;
}
