/*
 * xchg_index.c: the reserve's memory (xchg_reserve.c owns the tables). A
 * stable array of entries, an open-addressed table of their indices keyed
 * by (currency, serial) through a keyed SipHash (issuers choose serials,
 * so they must not be able to choose collisions), and per currency the
 * sums by state and the list of HELD entries for picking. Replay and
 * staging both change the reserve only through these calls, so what a
 * reopen rebuilds is exactly what the running reserve held.
 */
#include <stdlib.h>
#include <string.h>

#include "xchg_int.h"

static uint64_t
hash(const struct xchg_reserve *r, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen)
{
	uint8_t buf[MONEY_PK_LEN + MONEY_SERIAL_LEN], out[8];

	memcpy(buf, a, alen);
	if (blen)
		memcpy(buf + alen, b, blen);
	crypto_shorthash(out, buf, alen + blen, r->hkey);
	return xchg__get64(out);
}

/* ---- currencies ---- */

static int
ctab_grow(struct xchg_reserve *r)
{
	uint32_t sz = r->ctabsz ? r->ctabsz * 2 : 64;
	uint32_t *t = calloc(sz, sizeof(*t));

	if (t == NULL)
		return -1;
	for (uint32_t i = 0; i < r->ncurs; i++) {
		uint64_t h = hash(r, r->curs[i].pk, MONEY_PK_LEN, NULL, 0);
		while (t[h & (sz - 1)])
			h++;
		t[h & (sz - 1)] = i + 1;
	}
	free(r->ctab);
	r->ctab = t;
	r->ctabsz = sz;
	return 0;
}

long
xchg__cur_find(struct xchg_reserve *r, const uint8_t *pk, int create)
{
	uint64_t h;
	struct xchg__cur *c;

	if (r->ctabsz) {
		h = hash(r, pk, MONEY_PK_LEN, NULL, 0);
		for (;; h++) {
			uint32_t v = r->ctab[h & (r->ctabsz - 1)];
			if (v == 0)
				break;
			if (memcmp(r->curs[v - 1].pk, pk, MONEY_PK_LEN) == 0)
				return v - 1;
		}
	}
	if (!create)
		return -1;
	if ((r->ncurs + 1) * 2 > r->ctabsz && ctab_grow(r) < 0)
		return -1;
	if (r->ncurs == r->capcurs) {
		uint32_t n = r->capcurs ? r->capcurs * 2 : 8;
		void *p = realloc(r->curs, n * sizeof(*r->curs));
		if (p == NULL)
			return -1;
		r->curs = p;
		r->capcurs = n;
	}
	c = &r->curs[r->ncurs];
	memset(c, 0, sizeof(*c));
	memcpy(c->pk, pk, MONEY_PK_LEN);
	h = hash(r, pk, MONEY_PK_LEN, NULL, 0);
	while (r->ctab[h & (r->ctabsz - 1)])
		h++;
	r->ctab[h & (r->ctabsz - 1)] = r->ncurs + 1;
	return r->ncurs++;
}

static int
held_push(struct xchg__cur *c, uint32_t e, struct xchg__ent *ent)
{
	if (c->nheld == c->capheld) {
		uint32_t n = c->capheld ? c->capheld * 2 : 16;
		void *p = realloc(c->held, n * sizeof(*c->held));
		if (p == NULL)
			return -1;
		c->held = p;
		c->capheld = n;
	}
	ent->hpos = c->nheld;
	c->held[c->nheld++] = e;
	return 0;
}

static void
held_remove(struct xchg_reserve *r, struct xchg__cur *c, struct xchg__ent *ent)
{
	uint32_t last = c->held[--c->nheld];

	c->held[ent->hpos] = last;
	r->ents[last].hpos = ent->hpos;
}

/* ---- entries ---- */

static int
etab_grow(struct xchg_reserve *r)
{
	uint32_t sz = r->etabsz ? r->etabsz * 2 : 256;
	uint32_t *t = calloc(sz, sizeof(*t));

	if (t == NULL)
		return -1;
	for (uint32_t i = 0; i < r->nents; i++) {
		const struct money_token *k = &r->ents[i].tok;
		uint64_t h = hash(
		    r, k->currency, MONEY_PK_LEN, k->serial, MONEY_SERIAL_LEN);
		while (t[h & (sz - 1)])
			h++;
		t[h & (sz - 1)] = i + 1;
	}
	free(r->etab);
	r->etab = t;
	r->etabsz = sz;
	return 0;
}

long
xchg__ent_find(struct xchg_reserve *r, const uint8_t *pk, const uint8_t *serial)
{
	uint64_t h;

	if (r->etabsz == 0)
		return -1;
	h = hash(r, pk, MONEY_PK_LEN, serial, MONEY_SERIAL_LEN);
	for (;; h++) {
		uint32_t v = r->etab[h & (r->etabsz - 1)];
		if (v == 0)
			return -1;
		const struct money_token *k = &r->ents[v - 1].tok;
		if (memcmp(k->serial, serial, MONEY_SERIAL_LEN) == 0 &&
		    memcmp(k->currency, pk, MONEY_PK_LEN) == 0)
			return v - 1;
	}
}

/* HELD and CLEARING sums are what is there now; the terminal ones count
 * every entry into them, so a token sold, bought back and sold again
 * counts as sold twice, also across compaction, which forgets it. */
static void
sums_move(struct xchg__cur *c, int from, int to, int64_t amount)
{
	if (from == XCHG_HELD || from == XCHG_CLEARING) {
		c->sums.amount[from] -= amount;
		c->sums.tokens[from]--;
	}
	c->sums.amount[to] += amount;
	c->sums.tokens[to]++;
}

int
xchg__ent_set(struct xchg_reserve *r, uint32_t e, int to)
{
	struct xchg__ent *ent = &r->ents[e];
	struct xchg__cur *c = &r->curs[ent->cur];

	if (to == XCHG_HELD && ent->state != XCHG_HELD &&
	    held_push(c, e, ent) < 0)
		return -1;
	if (ent->state == XCHG_HELD && to != XCHG_HELD)
		held_remove(r, c, ent);
	sums_move(c, ent->state, to, ent->tok.amount);
	ent->state = (uint8_t)to;
	return 0;
}

/* One we sold may come back; one that expired here cannot pass the
 * expiry check anyway. */
int
xchg__may_readd(int state)
{
	return state == XCHG_SOLD || state == XCHG_EXPIRED;
}

int
xchg__transition_ok(int from, int to)
{
	switch (from) {
	case XCHG_HELD:
		return to == XCHG_CLEARING || to == XCHG_SOLD ||
		    to == XCHG_EXPIRED;
	case XCHG_CLEARING:
		return to == XCHG_CLEARED || to == XCHG_SPENT ||
		    to == XCHG_HELD || to == XCHG_EXPIRED;
	default:
		return 0;
	}
}

enum xchg_err
xchg__apply_add(struct xchg_reserve *r, const struct money_token *t)
{
	long e = xchg__ent_find(r, t->currency, t->serial), c;
	struct xchg__ent *ent;

	if (e >= 0) {
		int s = r->ents[e].state;
		if (!xchg__may_readd(s))
			return s == XCHG_HELD || s == XCHG_CLEARING
			    ? XCHG_ERR_HELD
			    : XCHG_ERR_SPENT;
		r->ents[e].tok = *t;
		return xchg__ent_set(r, (uint32_t)e, XCHG_HELD) < 0
		    ? XCHG_ERR_NOMEM
		    : XCHG_OK;
	}
	c = xchg__cur_find(r, t->currency, 1);
	if (c < 0)
		return XCHG_ERR_NOMEM;
	if ((r->nents + 1) * 2 > r->etabsz && etab_grow(r) < 0)
		return XCHG_ERR_NOMEM;
	if (r->nents == r->capents) {
		uint32_t n = r->capents ? r->capents * 2 : 64;
		void *p = realloc(r->ents, n * sizeof(*r->ents));
		if (p == NULL)
			return XCHG_ERR_NOMEM;
		r->ents = p;
		r->capents = n;
	}
	ent = &r->ents[r->nents];
	memset(ent, 0, sizeof(*ent));
	ent->tok = *t;
	ent->cur = (uint32_t)c;
	if (held_push(&r->curs[c], r->nents, ent) < 0)
		return XCHG_ERR_NOMEM;
	sums_move(&r->curs[c], 0, XCHG_HELD, t->amount);
	ent->state = XCHG_HELD;
	uint64_t h =
	    hash(r, t->currency, MONEY_PK_LEN, t->serial, MONEY_SERIAL_LEN);
	while (r->etab[h & (r->etabsz - 1)])
		h++;
	r->etab[h & (r->etabsz - 1)] = r->nents + 1;
	r->nents++;
	return XCHG_OK;
}

void
xchg__free_index(struct xchg_reserve *r)
{
	for (uint32_t i = 0; i < r->ncurs; i++)
		free(r->curs[i].held);
	free(r->curs);
	free(r->ctab);
	free(r->ents);
	free(r->etab);
	r->curs = NULL;
	r->ctab = NULL;
	r->ents = NULL;
	r->etab = NULL;
	r->ncurs = r->capcurs = r->ctabsz = 0;
	r->nents = r->capents = r->etabsz = 0;
}
