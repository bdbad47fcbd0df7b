/*
 * money_share.c: scheduling by payment, as stride scheduling (Waldspurger
 * and Weihl, 1995). Each process offers a price per step; its stride is
 * MONEY_SHARE_STRIDE1 / offer and its pass advances by stride times the
 * service it used (steps for the interpreter, µs for a vCPU). Running the
 * smallest pass next gives each process a share of service proportional
 * to its offer, deterministically (no lottery variance), also when slices
 * have different lengths, because the charge is for what was used.
 * Passes wrap modulo 2^64 and are compared by signed difference, which is
 * right as long as live passes stay within 2^63 of each other: a newcomer
 * starts at the current minimum (money_share_vtime()).
 */
#include "money_int.h"

static uint64_t
stride_of(int64_t offer)
{
	uint64_t s;

	if (offer < 1)
		offer = 1;
	s = MONEY_SHARE_STRIDE1 / (uint64_t)offer;
	return s ? s : 1;
}

void
money_share_init(struct money_share *s, int64_t offer, uint64_t pass)
{
	s->offer = offer < 1 ? 1 : offer;
	s->stride = stride_of(offer);
	s->pass = pass;
}

void
money_share_offer(struct money_share *s, int64_t offer)
{
	s->offer = offer < 1 ? 1 : offer;
	s->stride = stride_of(offer);
}

void
money_share_charge(struct money_share *s, uint64_t used)
{
	s->pass += s->stride * used; /* wraps by design */
}

long
money_share_pick(struct money_share *const *v, size_t n)
{
	long best = -1;

	for (size_t i = 0; i < n; i++) {
		if (v[i] == NULL)
			continue;
		if (best < 0 || (int64_t)(v[i]->pass - v[best]->pass) < 0)
			best = (long)i;
	}
	return best;
}

uint64_t
money_share_vtime(struct money_share *const *v, size_t n, uint64_t dflt)
{
	long i = money_share_pick(v, n);

	return i < 0 ? dflt : v[i]->pass;
}
