/*
 * xchg_reserve.c: the foreign tokens an exchange holds, written ahead.
 *
 * The file is an append-only sequence of 160-byte records, each with its
 * own keyed checksum and sequence number (docs/xchg.md). Every change is
 * one record, written and fdatasync()ed before the call returns, so what
 * a caller acknowledged survives any crash. A crash can leave at most one
 * torn record at the end; open cuts it. A bad record followed by a good
 * one cannot come from a crash and is corruption. Compaction rewrites the
 * live entries into a temp file, syncs it and renames it over the file.
 *
 * In memory: a stable array of entries, an open-addressed table of their
 * indices keyed by (currency, serial) through a keyed SipHash (issuers
 * choose serials, so they must not be able to choose collisions), and per
 * currency the sums by state and the list of HELD entries for picking.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "xchg_int.h"

#define REC_LEN 160
#define REC_PAYLOAD 16
#define REC_SUM 152
#define REC_HEADER 1
#define REC_ADD 2
#define REC_STATE 3
#define REC_SUMS 4
#define MAGIC "mzeroxrs"
#define FILE_VERSION 1

/* The terminal states a SUMS record carries, in its order. */
static const int sums_states[4] = { XCHG_CLEARED, XCHG_SPENT, XCHG_SOLD,
	XCHG_EXPIRED };

struct ent {
	struct money_token tok;
	uint32_t cur;  /* index into curs */
	uint32_t hpos; /* position in the currency's held list, when HELD */
	uint8_t state;
};

struct cur {
	uint8_t pk[MONEY_PK_LEN];
	struct xchg_reserve_sums sums;
	uint32_t *held; /* entry indices */
	uint32_t nheld, capheld;
};

struct xchg_reserve {
	char *path;
	int fd;
	int broken;
	uint64_t nrec; /* records in the file = next seq */
	uint64_t truncated;
	struct ent *ents;
	uint32_t nents, capents;
	uint32_t *etab; /* entry index + 1; 0 empty */
	uint32_t etabsz;
	struct cur *curs;
	uint32_t ncurs, capcurs;
	uint32_t *ctab; /* cur index + 1 */
	uint32_t ctabsz;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
};

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

/* The index of currency (pk), created when (create); -1 if absent or out
 * of memory. */
static long
cur_find(struct xchg_reserve *r, const uint8_t *pk, int create)
{
	uint64_t h;
	struct cur *c;

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
held_push(struct cur *c, uint32_t e, struct ent *ent)
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
held_remove(struct xchg_reserve *r, struct cur *c, struct ent *ent)
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
		uint64_t h = hash(r, k->currency, MONEY_PK_LEN, k->serial,
		    MONEY_SERIAL_LEN);
		while (t[h & (sz - 1)])
			h++;
		t[h & (sz - 1)] = i + 1;
	}
	free(r->etab);
	r->etab = t;
	r->etabsz = sz;
	return 0;
}

static long
ent_find(struct xchg_reserve *r, const uint8_t *pk, const uint8_t *serial)
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
sums_move(struct cur *c, int from, int to, int64_t amount)
{
	if (from == XCHG_HELD || from == XCHG_CLEARING) {
		c->sums.amount[from] -= amount;
		c->sums.tokens[from]--;
	}
	c->sums.amount[to] += amount;
	c->sums.tokens[to]++;
}

/* Sets entry (e) to state (to), keeping sums and the held list. */
static int
ent_set(struct xchg_reserve *r, uint32_t e, int to)
{
	struct ent *ent = &r->ents[e];
	struct cur *c = &r->curs[ent->cur];

	if (to == XCHG_HELD && ent->state != XCHG_HELD &&
	    held_push(c, e, ent) < 0)
		return -1;
	if (ent->state == XCHG_HELD && to != XCHG_HELD)
		held_remove(r, c, ent);
	sums_move(c, ent->state, to, ent->tok.amount);
	ent->state = (uint8_t)to;
	return 0;
}

/* Whether a token in (state) may be added again: one we sold may come
 * back; one that expired here cannot pass the expiry check anyway. */
static int
may_readd(int state)
{
	return state == XCHG_SOLD || state == XCHG_EXPIRED;
}

static int
transition_ok(int from, int to)
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

/* Adds (t) as HELD in memory. Returns XCHG_OK, XCHG_ERR_HELD,
 * XCHG_ERR_SPENT or XCHG_ERR_NOMEM. */
static enum xchg_err
apply_add(struct xchg_reserve *r, const struct money_token *t)
{
	long e = ent_find(r, t->currency, t->serial), c;
	struct ent *ent;

	if (e >= 0) {
		int s = r->ents[e].state;
		if (!may_readd(s))
			return s == XCHG_HELD || s == XCHG_CLEARING ?
			    XCHG_ERR_HELD : XCHG_ERR_SPENT;
		r->ents[e].tok = *t;
		return ent_set(r, (uint32_t)e, XCHG_HELD) < 0 ? XCHG_ERR_NOMEM :
		                                                XCHG_OK;
	}
	c = cur_find(r, t->currency, 1);
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
	uint64_t h = hash(r, t->currency, MONEY_PK_LEN, t->serial,
	    MONEY_SERIAL_LEN);
	while (r->etab[h & (r->etabsz - 1)])
		h++;
	r->etab[h & (r->etabsz - 1)] = r->nents + 1;
	r->nents++;
	return XCHG_OK;
}

/* ---- records ---- */

static void
rec_seal(uint8_t rec[REC_LEN], int type, int state, uint64_t seq)
{
	uint8_t h[16];

	rec[0] = (uint8_t)type;
	rec[1] = (uint8_t)state;
	xchg__put64(rec + 8, seq);
	crypto_generichash(h, sizeof(h), rec, REC_SUM,
	    (const uint8_t *)XCHG__DOM_RESERVE, sizeof(XCHG__DOM_RESERVE) - 1);
	memcpy(rec + REC_SUM, h, 8);
}

static int
rec_valid(const uint8_t rec[REC_LEN], uint64_t seq)
{
	uint8_t h[16];

	crypto_generichash(h, sizeof(h), rec, REC_SUM,
	    (const uint8_t *)XCHG__DOM_RESERVE, sizeof(XCHG__DOM_RESERVE) - 1);
	return sodium_memcmp(h, rec + REC_SUM, 8) == 0 &&
	    xchg__get64(rec + 8) == seq;
}

static void
rec_header(uint8_t rec[REC_LEN])
{
	memset(rec, 0, REC_LEN);
	memcpy(rec + REC_PAYLOAD, MAGIC, 8);
	xchg__put64(rec + REC_PAYLOAD + 8, FILE_VERSION);
	rec_seal(rec, REC_HEADER, 0, 0);
}

/* The dropped (terminal) sums of (c) as a SUMS payload. */
static void
rec_sums(uint8_t rec[REC_LEN], const struct cur *c,
    const struct xchg_reserve_sums *d, uint64_t seq)
{
	memset(rec, 0, REC_LEN);
	memcpy(rec + REC_PAYLOAD, c->pk, MONEY_PK_LEN);
	for (int i = 0; i < 4; i++) {
		uint8_t *p = rec + REC_PAYLOAD + MONEY_PK_LEN + 16 * i;
		xchg__put64(p, (uint64_t)d->amount[sums_states[i]]);
		xchg__put64(p + 8, d->tokens[sums_states[i]]);
	}
	rec_seal(rec, REC_SUMS, 0, seq);
}

/* Applies one valid record in replay. */
static enum xchg_err
rec_apply(struct xchg_reserve *r, const uint8_t rec[REC_LEN], uint64_t seq)
{
	struct money_token t;
	long e, c;

	if (seq == 0) {
		if (rec[0] != REC_HEADER ||
		    memcmp(rec + REC_PAYLOAD, MAGIC, 8) != 0 ||
		    xchg__get64(rec + REC_PAYLOAD + 8) != FILE_VERSION)
			return XCHG_ERR_CORRUPT;
		return XCHG_OK;
	}
	switch (rec[0]) {
	case REC_ADD:
		if (money_token_decode(rec + REC_PAYLOAD, MONEY_TOKEN_LEN,
		        &t) != MONEY_OK)
			return XCHG_ERR_CORRUPT;
		switch (apply_add(r, &t)) {
		case XCHG_OK:
			return XCHG_OK;
		case XCHG_ERR_NOMEM:
			return XCHG_ERR_NOMEM;
		default:
			return XCHG_ERR_CORRUPT;
		}
	case REC_STATE:
		e = ent_find(r, rec + REC_PAYLOAD,
		    rec + REC_PAYLOAD + MONEY_PK_LEN);
		if (e < 0 || !transition_ok(r->ents[e].state, rec[1]))
			return XCHG_ERR_CORRUPT;
		return ent_set(r, (uint32_t)e, rec[1]) < 0 ? XCHG_ERR_NOMEM :
		                                             XCHG_OK;
	case REC_SUMS:
		c = cur_find(r, rec + REC_PAYLOAD, 1);
		if (c < 0)
			return XCHG_ERR_NOMEM;
		for (int i = 0; i < 4; i++) {
			const uint8_t *p = rec + REC_PAYLOAD + MONEY_PK_LEN +
			    16 * i;
			uint64_t a = xchg__get64(p);
			if (a > INT64_MAX)
				return XCHG_ERR_CORRUPT;
			r->curs[c].sums.amount[sums_states[i]] += (int64_t)a;
			r->curs[c].sums.tokens[sums_states[i]] +=
			    xchg__get64(p + 8);
		}
		return XCHG_OK;
	default:
		return XCHG_ERR_CORRUPT;
	}
}

/* Appends one sealed record and syncs it; on failure the reserve is
 * broken, because the file may hold the record or part of it. */
static enum xchg_err
append(struct xchg_reserve *r, uint8_t rec[REC_LEN])
{
	if (xchg__io_write(r->fd, rec, REC_LEN, (off_t)(r->nrec * REC_LEN)) <
	        0 ||
	    xchg__io_datasync(r->fd) < 0) {
		r->broken = 1;
		return xchg__io_err();
	}
	r->nrec++;
	return XCHG_OK;
}

/* ---- open, replay, close ---- */

static enum xchg_err
replay(struct xchg_reserve *r)
{
	struct stat st;
	uint8_t *buf = NULL;
	uint64_t n, i, good;
	enum xchg_err err = XCHG_OK;
	size_t size;

	if (fstat(r->fd, &st) < 0)
		return XCHG_ERR_SYS;
	size = (size_t)st.st_size;
	if (size > 0) {
		buf = malloc(size);
		if (buf == NULL)
			return XCHG_ERR_NOMEM;
		for (size_t got = 0; got < size;) {
			ssize_t k = pread(r->fd, buf + got, size - got,
			    (off_t)got);
			if (k <= 0) {
				free(buf);
				return k < 0 ? XCHG_ERR_SYS : XCHG_ERR_CORRUPT;
			}
			got += (size_t)k;
		}
	}
	n = size / REC_LEN;
	for (good = 0; good < n; good++) {
		if (!rec_valid(buf + good * REC_LEN, good))
			break;
		err = rec_apply(r, buf + good * REC_LEN, good);
		if (err != XCHG_OK)
			goto out;
	}
	/* Only the last record can be torn: each is synced before the next
	 * is written. A valid record after a bad one is damage. */
	for (i = good + 1; i < n; i++) {
		if (rec_valid(buf + i * REC_LEN, i)) {
			err = XCHG_ERR_CORRUPT;
			goto out;
		}
	}
	if ((uint64_t)size > good * REC_LEN) {
		r->truncated = size - good * REC_LEN;
		if (xchg__io_truncate(r->fd, (off_t)(good * REC_LEN)) < 0 ||
		    xchg__io_datasync(r->fd) < 0) {
			err = xchg__io_err();
			goto out;
		}
	}
	r->nrec = good;
out:
	free(buf);
	return err;
}

enum xchg_err
xchg_reserve_open(const char *path, struct xchg_reserve **out)
{
	struct xchg_reserve *r;
	uint8_t rec[REC_LEN];
	enum xchg_err err;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return XCHG_ERR_NOMEM;
	r->fd = -1;
	randombytes_buf(r->hkey, sizeof(r->hkey));
	r->path = strdup(path);
	if (r->path == NULL) {
		err = XCHG_ERR_NOMEM;
		goto err_free;
	}
	r->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (r->fd < 0) {
		err = XCHG_ERR_SYS;
		goto err_free;
	}
	err = replay(r);
	if (err != XCHG_OK)
		goto err_free;
	if (r->nrec == 0) {
		/* New, or a header torn before anything was acknowledged. */
		rec_header(rec);
		err = append(r, rec);
		if (err == XCHG_OK && xchg__sync_dir(path) < 0)
			err = xchg__io_err();
		if (err != XCHG_OK)
			goto err_free;
	}
	*out = r;
	return XCHG_OK;
err_free:
	xchg_reserve_close(r);
	return err;
}

static void
free_index(struct xchg_reserve *r)
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

void
xchg_reserve_close(struct xchg_reserve *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free_index(r);
	free(r->path);
	free(r);
}

/* ---- changes ---- */

enum xchg_err
xchg_reserve_add(struct xchg_reserve *r, const struct money_token *t)
{
	uint8_t rec[REC_LEN];
	long e;
	enum xchg_err err;

	if (r->broken)
		return XCHG_ERR_BROKEN;
	e = ent_find(r, t->currency, t->serial);
	if (e >= 0 && !may_readd(r->ents[e].state))
		return r->ents[e].state == XCHG_HELD ||
		        r->ents[e].state == XCHG_CLEARING ?
		    XCHG_ERR_HELD :
		    XCHG_ERR_SPENT;
	memset(rec, 0, REC_LEN);
	money_token_encode(t, rec + REC_PAYLOAD);
	rec_seal(rec, REC_ADD, XCHG_HELD, r->nrec);
	err = append(r, rec);
	if (err != XCHG_OK)
		return err;
	err = apply_add(r, t);
	if (err != XCHG_OK)
		r->broken = 1; /* the file is ahead of memory */
	return err;
}

enum xchg_err
xchg_reserve_set(struct xchg_reserve *r, const uint8_t currency[MONEY_PK_LEN],
    const uint8_t serial[MONEY_SERIAL_LEN], enum xchg_state to)
{
	uint8_t rec[REC_LEN];
	long e;
	enum xchg_err err;

	if (r->broken)
		return XCHG_ERR_BROKEN;
	e = ent_find(r, currency, serial);
	if (e < 0 || !transition_ok(r->ents[e].state, (int)to))
		return XCHG_ERR_STATE;
	memset(rec, 0, REC_LEN);
	memcpy(rec + REC_PAYLOAD, currency, MONEY_PK_LEN);
	memcpy(rec + REC_PAYLOAD + MONEY_PK_LEN, serial, MONEY_SERIAL_LEN);
	rec_seal(rec, REC_STATE, (int)to, r->nrec);
	err = append(r, rec);
	if (err != XCHG_OK)
		return err;
	if (ent_set(r, (uint32_t)e, (int)to) < 0) {
		r->broken = 1;
		return XCHG_ERR_NOMEM;
	}
	return XCHG_OK;
}

int
xchg_reserve_lookup(struct xchg_reserve *r,
    const uint8_t currency[MONEY_PK_LEN],
    const uint8_t serial[MONEY_SERIAL_LEN], struct money_token *t)
{
	long e = ent_find(r, currency, serial);

	if (e < 0)
		return 0;
	if (t != NULL)
		*t = r->ents[e].tok;
	return r->ents[e].state;
}

void
xchg_reserve_sums(struct xchg_reserve *r, const uint8_t currency[MONEY_PK_LEN],
    struct xchg_reserve_sums *s)
{
	long c = cur_find(r, currency, 0);

	if (c < 0)
		memset(s, 0, sizeof(*s));
	else
		*s = r->curs[c].sums;
}

enum xchg_err
xchg_reserve_pick(struct xchg_reserve *r, const uint8_t currency[MONEY_PK_LEN],
    int64_t want, int64_t most, uint64_t valid_until, struct money_token *t)
{
	long c = cur_find(r, currency, 0);
	const struct money_token *fit = NULL, *big = NULL;
	int any = 0;

	if (c < 0)
		return XCHG_ERR_EMPTY;
	for (uint32_t i = 0; i < r->curs[c].nheld; i++) {
		const struct money_token *k = &r->ents[r->curs[c].held[i]].tok;
		if (k->expiry < valid_until)
			continue;
		any = 1;
		if (most > 0 && k->amount > most)
			continue;
		if (want > 0 && k->amount >= want &&
		    (fit == NULL || k->amount < fit->amount))
			fit = k;
		if (big == NULL || k->amount > big->amount)
			big = k;
	}
	if (fit == NULL)
		fit = big;
	if (fit == NULL)
		return any ? XCHG_ERR_CREDIT : XCHG_ERR_EMPTY;
	*t = *fit;
	return XCHG_OK;
}

enum xchg_err
xchg_reserve_expire(struct xchg_reserve *r, uint64_t now, uint64_t *count)
{
	enum xchg_err err = XCHG_OK;
	uint64_t n = 0;

	for (uint32_t i = 0; i < r->nents && err == XCHG_OK; i++) {
		struct ent *e = &r->ents[i];
		if ((e->state != XCHG_HELD && e->state != XCHG_CLEARING) ||
		    e->tok.expiry > now)
			continue;
		err = xchg_reserve_set(r, e->tok.currency, e->tok.serial,
		    XCHG_EXPIRED);
		if (err == XCHG_OK)
			n++;
	}
	if (count != NULL)
		*count = n;
	return err;
}

int
xchg_reserve_each(struct xchg_reserve *r,
    const uint8_t currency[MONEY_PK_LEN], int state,
    int (*fn)(void *arg, const struct money_token *t, int state), void *arg)
{
	for (uint32_t i = 0; i < r->nents; i++) {
		const struct ent *e = &r->ents[i];
		int v;
		if (state && e->state != state)
			continue;
		if (currency != NULL &&
		    memcmp(e->tok.currency, currency, MONEY_PK_LEN) != 0)
			continue;
		v = fn(arg, &e->tok, e->state);
		if (v)
			return v;
	}
	return 0;
}

void
xchg_reserve_stats(struct xchg_reserve *r, struct xchg_reserve_stats *st)
{
	st->records = r->nrec;
	st->entries = r->nents;
	st->truncated = r->truncated;
}

/* ---- compaction ---- */

static int
keep(const struct ent *e, uint64_t now)
{
	if (e->state == XCHG_HELD || e->state == XCHG_CLEARING)
		return 1;
	/* A cleared or spent serial must keep being refused while the
	 * token could still be presented. */
	return (e->state == XCHG_CLEARED || e->state == XCHG_SPENT) &&
	    e->tok.expiry > now;
}

enum xchg_err
xchg_reserve_compact(struct xchg_reserve *r, uint64_t now)
{
	char tmp[PATH_MAX];
	uint8_t *buf;
	uint64_t seq = 0;
	size_t cap;
	struct xchg_reserve_sums *drop;
	int fd;

	if (r->broken)
		return XCHG_ERR_BROKEN;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", r->path) >= (int)sizeof(tmp))
		return XCHG_ERR_INVAL;
	cap = ((size_t)1 + r->ncurs + 2 * (size_t)r->nents) * REC_LEN;
	buf = malloc(cap);
	drop = calloc(r->ncurs ? r->ncurs : 1, sizeof(*drop));
	if (buf == NULL || drop == NULL) {
		free(buf);
		free(drop);
		return XCHG_ERR_NOMEM;
	}
	/* Terminal sums: those already folded, plus the entries dropped. */
	for (uint32_t c = 0; c < r->ncurs; c++) {
		drop[c] = r->curs[c].sums;
		for (int s = 0; s < XCHG_STATE_N; s++) {
			if (s == XCHG_HELD || s == XCHG_CLEARING || s == 0) {
				drop[c].amount[s] = 0;
				drop[c].tokens[s] = 0;
			}
		}
	}
	for (uint32_t i = 0; i < r->nents; i++) {
		const struct ent *e = &r->ents[i];
		if (keep(e, now)) {
			drop[e->cur].amount[e->state] -= e->tok.amount;
			drop[e->cur].tokens[e->state]--;
		}
	}
	rec_header(buf);
	seq = 1;
	for (uint32_t c = 0; c < r->ncurs; c++, seq++)
		rec_sums(buf + seq * REC_LEN, &r->curs[c], &drop[c], seq);
	for (uint32_t i = 0; i < r->nents; i++) {
		const struct ent *e = &r->ents[i];
		uint8_t *rec;
		if (!keep(e, now))
			continue;
		rec = buf + seq * REC_LEN;
		memset(rec, 0, REC_LEN);
		money_token_encode(&e->tok, rec + REC_PAYLOAD);
		rec_seal(rec, REC_ADD, XCHG_HELD, seq++);
		if (e->state == XCHG_HELD)
			continue;
		if (e->state != XCHG_CLEARING) {
			/* Terminal states are reached through CLEARING. */
			rec = buf + seq * REC_LEN;
			memset(rec, 0, REC_LEN);
			memcpy(rec + REC_PAYLOAD, e->tok.currency,
			    MONEY_PK_LEN);
			memcpy(rec + REC_PAYLOAD + MONEY_PK_LEN,
			    e->tok.serial, MONEY_SERIAL_LEN);
			rec_seal(rec, REC_STATE, XCHG_CLEARING, seq++);
		}
		rec = buf + seq * REC_LEN;
		memset(rec, 0, REC_LEN);
		memcpy(rec + REC_PAYLOAD, e->tok.currency, MONEY_PK_LEN);
		memcpy(rec + REC_PAYLOAD + MONEY_PK_LEN, e->tok.serial,
		    MONEY_SERIAL_LEN);
		rec_seal(rec, REC_STATE, e->state, seq++);
	}
	free(drop);

	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(buf);
		return XCHG_ERR_SYS;
	}
	if (xchg__io_write(fd, buf, seq * REC_LEN, 0) < 0 ||
	    xchg__io_fsync(fd) < 0 || xchg__io_rename(tmp, r->path) < 0 ||
	    xchg__sync_dir(r->path) < 0) {
		enum xchg_err err = xchg__io_err();
		close(fd);
		if (!xchg__crashed)
			unlink(tmp);
		free(buf);
		r->broken = 1;
		return err;
	}
	free(buf);
	/* The new file is in place: rebuild the index from it, exactly as
	 * the next open would. */
	close(r->fd);
	r->fd = fd;
	free_index(r);
	r->nrec = 0;
	r->truncated = 0;
	if (replay(r) != XCHG_OK) {
		r->broken = 1;
		return XCHG_ERR_CORRUPT;
	}
	return XCHG_OK;
}
