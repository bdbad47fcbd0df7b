/*
 * pf_share.c: the share rule of a charged platform (docs/money.md,
 * "Scheduling by payment"). Processes that contend for the processor get
 * turns in proportion to their offers (weighted round robin: a lottery
 * with the offers as tickets, made deterministic); the step price is the
 * market's reserve price. Three numbers, pure functions:
 *
 *   weight  = the offer, or the step price for a process that offers
 *             nothing (it takes whatever the market asks);
 *   turn    = base x weight / price, at least 1 and at most
 *             PF_MAX_SHARE x base: steps of a turn (base: the slice) or
 *             µs of a native turn (base: the native slice);
 *   pay     = the larger of the offer and the price, per step.
 *
 * The price divides every turn alike, so it cancels out of the ratio of
 * two turns: shares follow the ratio of the offers whatever the price
 * does, while the price still sets the length of a turn (and so how
 * often the loop comes back to links and timers) and what is paid.
 */
#include "pf_money.h"

int64_t
pf__share_weight(int64_t offer, int64_t price)
{
	return offer > 0 ? offer : price;
}

int64_t
pf__share_turn(int64_t base, int64_t offer, int64_t price)
{
	if (price <= 0)
		return base;
	__int128 t = (__int128)base * pf__share_weight(offer, price) / price;
	if (t > (__int128)base * PF_MAX_SHARE)
		t = (__int128)base * PF_MAX_SHARE;
	return t < 1 ? 1 : (int64_t)t;
}

int64_t
pf__share_pay(int64_t offer, int64_t price)
{
	return offer > price ? offer : price;
}
