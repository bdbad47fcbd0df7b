/*
 * xchg_reserve.c: the foreign tokens an exchange holds, written ahead.
 *
 * The file is an append-only sequence of 160-byte records, each with its
 * own keyed checksum and sequence number (docs/xchg.md), grouped in
 * batches: the last record of a batch carries the batch's record count.
 * Changes are staged (applied to the index at once, so a second request
 * for the same serial sees the first), then a commit writes every staged
 * record in one write and one fdatasync; a caller acknowledges a change
 * only once the batch of its ticket is durable. Several exchanges thus
 * share one sync, and the write can run on another thread than the one
 * that stages (commit_begin / commit_write / commit_end). A crash can
 * leave only the last batch incomplete; open cuts it. A complete batch
 * after a bad record cannot come from a crash and is corruption.
 * Compaction rewrites the live entries into a temp file, syncs it and
 * renames it over the file. The index lives in xchg_index.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xchg_int.h"

#define REC_LEN 160
#define REC_COUNT 4 /* last record of a batch: records in it, u32 */
#define REC_PAYLOAD 16
#define REC_SUM 152
#define REC_HEADER 1
#define REC_ADD 2
#define REC_STATE 3
#define REC_SUMS 4
#define MAGIC "mzeroxrs"
#define FILE_VERSION 2

/* The terminal states a SUMS record carries, in its order. */
static const int sums_states[4] = {XCHG_CLEARED, XCHG_SPENT, XCHG_SOLD,
                                   XCHG_EXPIRED};

/* ---- records ---- */

/* Sets the seq and the batch count (0 unless it ends a batch) of a
 * record whose type, state and payload are filled, and checksums it. */
static void
rec_seal(uint8_t rec[REC_LEN], uint64_t seq, uint32_t count)
{
	uint8_t h[16];

	rec[REC_COUNT] = (uint8_t)(count >> 24);
	rec[REC_COUNT + 1] = (uint8_t)(count >> 16);
	rec[REC_COUNT + 2] = (uint8_t)(count >> 8);
	rec[REC_COUNT + 3] = (uint8_t)count;
	xchg__put64(rec + 8, seq);
	crypto_generichash(h, sizeof(h), rec, REC_SUM,
	                   (const uint8_t *)XCHG__DOM_RESERVE,
	                   sizeof(XCHG__DOM_RESERVE) - 1);
	memcpy(rec + REC_SUM, h, 8);
}

static uint32_t
rec_count(const uint8_t rec[REC_LEN])
{
	return (uint32_t)rec[REC_COUNT] << 24 |
	       (uint32_t)rec[REC_COUNT + 1] << 16 |
	       (uint32_t)rec[REC_COUNT + 2] << 8 | rec[REC_COUNT + 3];
}

static int
rec_valid(const uint8_t rec[REC_LEN], uint64_t seq)
{
	uint8_t h[16];

	crypto_generichash(h, sizeof(h), rec, REC_SUM,
	                   (const uint8_t *)XCHG__DOM_RESERVE,
	                   sizeof(XCHG__DOM_RESERVE) - 1);
	return sodium_memcmp(h, rec + REC_SUM, 8) == 0 &&
	       xchg__get64(rec + 8) == seq;
}

static void
rec_header(uint8_t rec[REC_LEN])
{
	memset(rec, 0, REC_LEN);
	rec[0] = REC_HEADER;
	memcpy(rec + REC_PAYLOAD, MAGIC, 8);
	xchg__put64(rec + REC_PAYLOAD + 8, FILE_VERSION);
}

static void
rec_add(uint8_t rec[REC_LEN], const struct money_token *t)
{
	memset(rec, 0, REC_LEN);
	rec[0] = REC_ADD;
	rec[1] = XCHG_HELD;
	money_token_encode(t, rec + REC_PAYLOAD);
}

static void
rec_state(uint8_t rec[REC_LEN], const uint8_t *currency, const uint8_t *serial,
          int to)
{
	memset(rec, 0, REC_LEN);
	rec[0] = REC_STATE;
	rec[1] = (uint8_t)to;
	memcpy(rec + REC_PAYLOAD, currency, MONEY_PK_LEN);
	memcpy(rec + REC_PAYLOAD + MONEY_PK_LEN, serial, MONEY_SERIAL_LEN);
}

/* The dropped (terminal) sums (d) of (c) as a SUMS payload. */
static void
rec_sums(uint8_t rec[REC_LEN], const struct xchg__cur *c,
         const struct xchg_reserve_sums *d)
{
	memset(rec, 0, REC_LEN);
	rec[0] = REC_SUMS;
	memcpy(rec + REC_PAYLOAD, c->pk, MONEY_PK_LEN);
	for (int i = 0; i < 4; i++) {
		uint8_t *p = rec + REC_PAYLOAD + MONEY_PK_LEN + 16 * i;
		xchg__put64(p, (uint64_t)d->amount[sums_states[i]]);
		xchg__put64(p + 8, d->tokens[sums_states[i]]);
	}
}

/* Applies one committed record in replay. */
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
		switch (xchg__apply_add(r, &t)) {
		case XCHG_OK:
			return XCHG_OK;
		case XCHG_ERR_NOMEM:
			return XCHG_ERR_NOMEM;
		default:
			return XCHG_ERR_CORRUPT;
		}
	case REC_STATE:
		e = xchg__ent_find(r, rec + REC_PAYLOAD,
		                   rec + REC_PAYLOAD + MONEY_PK_LEN);
		if (e < 0 || !xchg__transition_ok(r->ents[e].state, rec[1]))
			return XCHG_ERR_CORRUPT;
		return xchg__ent_set(r, (uint32_t)e, rec[1]) < 0
		           ? XCHG_ERR_NOMEM
		           : XCHG_OK;
	case REC_SUMS:
		c = xchg__cur_find(r, rec + REC_PAYLOAD, 1);
		if (c < 0)
			return XCHG_ERR_NOMEM;
		for (int i = 0; i < 4; i++) {
			const uint8_t *p =
			    rec + REC_PAYLOAD + MONEY_PK_LEN + 16 * i;
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

/* ---- open, replay, close ---- */

/* Whether the record at (j) ends a batch whose records are all valid. */
static int
batch_ok(const uint8_t *buf, uint64_t j)
{
	uint32_t c;

	if (!rec_valid(buf + j * REC_LEN, j))
		return 0;
	c = rec_count(buf + j * REC_LEN);
	if (c == 0 || c > j + 1)
		return 0;
	for (uint64_t k = j + 1 - c; k < j; k++)
		if (!rec_valid(buf + k * REC_LEN, k))
			return 0;
	return 1;
}

static enum xchg_err
replay(struct xchg_reserve *r)
{
	struct stat st;
	uint8_t *buf = NULL;
	uint64_t n, i, done = 0;
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
			ssize_t k =
			    pread(r->fd, buf + got, size - got, (off_t)got);
			if (k <= 0) {
				free(buf);
				return k < 0 ? XCHG_ERR_SYS : XCHG_ERR_CORRUPT;
			}
			got += (size_t)k;
		}
	}
	n = size / REC_LEN;
	/* Apply each batch once its last record is seen. */
	for (i = 0; i < n; i++) {
		uint32_t c;
		if (!rec_valid(buf + i * REC_LEN, i))
			break;
		c = rec_count(buf + i * REC_LEN);
		if (c == 0)
			continue;
		if (c != i + 1 - done) {
			err = XCHG_ERR_CORRUPT;
			goto out;
		}
		for (; done <= i; done++) {
			err = rec_apply(r, buf + done * REC_LEN, done);
			if (err != XCHG_OK)
				goto out;
		}
	}
	/* Only the last batch can be incomplete: each is synced before the
	 * next is written. A complete batch further on is damage. */
	for (uint64_t j = i + 1; j < n; j++) {
		if (batch_ok(buf, j)) {
			err = XCHG_ERR_CORRUPT;
			goto out;
		}
	}
	if ((uint64_t)size > done * REC_LEN) {
		r->truncated = size - done * REC_LEN;
		if (xchg__io_truncate(r->fd, (off_t)(done * REC_LEN)) < 0 ||
		    xchg__io_datasync(r->fd) < 0) {
			err = xchg__io_err();
			goto out;
		}
	}
	r->nrec = r->next = done;
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
		/* New, or a header torn before anything was acknowledged:
		 * the header is a batch of its own. */
		rec_header(rec);
		rec_seal(rec, 0, 1);
		if (xchg__io_write(r->fd, rec, REC_LEN, 0) < 0 ||
		    xchg__io_datasync(r->fd) < 0 || xchg__sync_dir(path) < 0) {
			err = xchg__io_err();
			goto err_free;
		}
		r->nrec = r->next = 1;
	}
	*out = r;
	return XCHG_OK;
err_free:
	xchg_reserve_close(r);
	return err;
}

void
xchg_reserve_close(struct xchg_reserve *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	xchg__free_index(r);
	free(r->stage);
	free(r->path);
	free(r);
}

/* ---- staging and group commit ---- */

/* Room for one more staged record: the caller fills it and counts it. */
static uint8_t *
stage_slot(struct xchg_reserve *r)
{
	if (r->nstage == r->capstage) {
		size_t n = r->capstage ? r->capstage * 2 : 32;
		uint8_t *p = realloc(r->stage, n * REC_LEN);
		if (p == NULL)
			return NULL;
		r->stage = p;
		r->capstage = n;
	}
	return r->stage + r->nstage * REC_LEN;
}

enum xchg_err
xchg_reserve_stage_add(struct xchg_reserve *r, const struct money_token *t,
                       uint64_t *ticket)
{
	uint8_t *rec;
	long e;
	enum xchg_err err;

	if (r->broken)
		return XCHG_ERR_BROKEN;
	e = xchg__ent_find(r, t->currency, t->serial);
	if (e >= 0 && !xchg__may_readd(r->ents[e].state))
		return r->ents[e].state == XCHG_HELD ||
		               r->ents[e].state == XCHG_CLEARING
		           ? XCHG_ERR_HELD
		           : XCHG_ERR_SPENT;
	if ((rec = stage_slot(r)) == NULL)
		return XCHG_ERR_NOMEM;
	err = xchg__apply_add(r, t);
	if (err != XCHG_OK)
		return err;
	rec_add(rec, t);
	r->nstage++;
	r->next++;
	*ticket = r->batch + 1;
	return XCHG_OK;
}

enum xchg_err
xchg_reserve_stage_set(struct xchg_reserve *r,
                       const uint8_t currency[MONEY_PK_LEN],
                       const uint8_t serial[MONEY_SERIAL_LEN],
                       enum xchg_state to, uint64_t *ticket)
{
	uint8_t *rec;
	long e;

	if (r->broken)
		return XCHG_ERR_BROKEN;
	e = xchg__ent_find(r, currency, serial);
	if (e < 0 || !xchg__transition_ok(r->ents[e].state, (int)to))
		return XCHG_ERR_STATE;
	if ((rec = stage_slot(r)) == NULL ||
	    xchg__ent_set(r, (uint32_t)e, (int)to) < 0)
		return XCHG_ERR_NOMEM;
	rec_state(rec, currency, serial, (int)to);
	r->nstage++;
	r->next++;
	*ticket = r->batch + 1;
	return XCHG_OK;
}

enum xchg_err
xchg_reserve_commit_begin(struct xchg_reserve *r, struct xchg_batch **out)
{
	struct xchg_batch *b;

	*out = NULL;
	if (r->broken)
		return XCHG_ERR_BROKEN;
	if (r->inflight)
		return XCHG_ERR_BUSY;
	if (r->nstage == 0)
		return XCHG_OK;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return XCHG_ERR_NOMEM;
	b->fd = r->fd;
	b->buf = r->stage;
	b->n = r->nstage;
	b->first = r->nrec;
	for (size_t k = 0; k < b->n; k++)
		rec_seal(b->buf + k * REC_LEN, b->first + k,
		         k + 1 == b->n ? (uint32_t)b->n : 0);
	r->stage = NULL;
	r->nstage = r->capstage = 0;
	b->no = ++r->batch;
	r->inflight = 1;
	*out = b;
	return XCHG_OK;
}

void
xchg_reserve_commit_write(struct xchg_batch *b)
{
	b->err = XCHG_OK;
	if (xchg__io_write(b->fd, b->buf, b->n * REC_LEN,
	                   (off_t)(b->first * REC_LEN)) < 0 ||
	    xchg__io_datasync(b->fd) < 0)
		b->err = xchg__io_err();
}

enum xchg_err
xchg_reserve_commit_end(struct xchg_reserve *r, struct xchg_batch *b)
{
	enum xchg_err err = b->err;

	r->inflight = 0;
	if (err != XCHG_OK) {
		/* The file may hold the batch or part of it, and memory is
		 * ahead of it: only a reopen knows what was durable. */
		r->broken = 1;
	} else {
		r->nrec = b->first + b->n;
		r->durable = b->no;
		r->commits++;
	}
	free(b->buf);
	free(b);
	return err;
}

enum xchg_err
xchg_reserve_commit(struct xchg_reserve *r)
{
	struct xchg_batch *b;
	enum xchg_err err = xchg_reserve_commit_begin(r, &b);

	if (err != XCHG_OK || b == NULL)
		return err;
	xchg_reserve_commit_write(b);
	return xchg_reserve_commit_end(r, b);
}

uint64_t
xchg_reserve_durable(struct xchg_reserve *r)
{
	return r->durable;
}

uint64_t
xchg_reserve_staged(struct xchg_reserve *r)
{
	return r->nstage;
}

/* ---- changes, one at a time ---- */

enum xchg_err
xchg_reserve_add(struct xchg_reserve *r, const struct money_token *t)
{
	uint64_t ticket;
	enum xchg_err err = xchg_reserve_stage_add(r, t, &ticket);

	return err != XCHG_OK ? err : xchg_reserve_commit(r);
}

enum xchg_err
xchg_reserve_set(struct xchg_reserve *r, const uint8_t currency[MONEY_PK_LEN],
                 const uint8_t serial[MONEY_SERIAL_LEN], enum xchg_state to)
{
	uint64_t ticket;
	enum xchg_err err =
	    xchg_reserve_stage_set(r, currency, serial, to, &ticket);

	return err != XCHG_OK ? err : xchg_reserve_commit(r);
}

int
xchg_reserve_lookup(struct xchg_reserve *r,
                    const uint8_t currency[MONEY_PK_LEN],
                    const uint8_t serial[MONEY_SERIAL_LEN],
                    struct money_token *t)
{
	long e = xchg__ent_find(r, currency, serial);

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
	long c = xchg__cur_find(r, currency, 0);

	if (c < 0)
		memset(s, 0, sizeof(*s));
	else
		*s = r->curs[c].sums;
}

enum xchg_err
xchg_reserve_pick(struct xchg_reserve *r, const uint8_t currency[MONEY_PK_LEN],
                  int64_t want, int64_t most, uint64_t valid_until,
                  struct money_token *t)
{
	long c = xchg__cur_find(r, currency, 0);
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
xchg_reserve_expire_stage(struct xchg_reserve *r, uint64_t now, uint64_t *count,
                          uint64_t *ticket)
{
	enum xchg_err err = XCHG_OK;
	uint64_t n = 0;

	*ticket = 0;
	for (uint32_t i = 0; i < r->nents && err == XCHG_OK; i++) {
		struct xchg__ent *e = &r->ents[i];
		if ((e->state != XCHG_HELD && e->state != XCHG_CLEARING) ||
		    e->tok.expiry > now)
			continue;
		err = xchg_reserve_stage_set(r, e->tok.currency, e->tok.serial,
		                             XCHG_EXPIRED, ticket);
		if (err == XCHG_OK)
			n++;
	}
	if (count != NULL)
		*count = n;
	return err;
}

enum xchg_err
xchg_reserve_expire(struct xchg_reserve *r, uint64_t now, uint64_t *count)
{
	uint64_t ticket;
	enum xchg_err err = xchg_reserve_expire_stage(r, now, count, &ticket);
	enum xchg_err cerr = xchg_reserve_commit(r);

	return err != XCHG_OK ? err : cerr;
}

int
xchg_reserve_each(struct xchg_reserve *r, const uint8_t currency[MONEY_PK_LEN],
                  int state,
                  int (*fn)(void *arg, const struct money_token *t, int state),
                  void *arg)
{
	for (uint32_t i = 0; i < r->nents; i++) {
		const struct xchg__ent *e = &r->ents[i];
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
	st->commits = r->commits;
}

/* ---- compaction ---- */

static int
keep(const struct xchg__ent *e, uint64_t now)
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
	if (r->inflight || r->nstage)
		return XCHG_ERR_BUSY;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", r->path) >= (int)sizeof(tmp))
		return XCHG_ERR_INVAL;
	cap = ((size_t)1 + r->ncurs + 3 * (size_t)r->nents) * REC_LEN;
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
		const struct xchg__ent *e = &r->ents[i];
		if (keep(e, now)) {
			drop[e->cur].amount[e->state] -= e->tok.amount;
			drop[e->cur].tokens[e->state]--;
		}
	}
	rec_header(buf);
	seq = 1;
	for (uint32_t c = 0; c < r->ncurs; c++, seq++)
		rec_sums(buf + seq * REC_LEN, &r->curs[c], &drop[c]);
	for (uint32_t i = 0; i < r->nents; i++) {
		const struct xchg__ent *e = &r->ents[i];
		if (!keep(e, now))
			continue;
		rec_add(buf + seq++ * REC_LEN, &e->tok);
		if (e->state == XCHG_HELD)
			continue;
		if (e->state != XCHG_CLEARING) /* terminal: via CLEARING */
			rec_state(buf + seq++ * REC_LEN, e->tok.currency,
			          e->tok.serial, XCHG_CLEARING);
		rec_state(buf + seq++ * REC_LEN, e->tok.currency, e->tok.serial,
		          e->state);
	}
	free(drop);
	/* The whole new file is one batch. */
	for (uint64_t k = 0; k < seq; k++)
		rec_seal(buf + k * REC_LEN, k,
		         k + 1 == seq ? (uint32_t)seq : 0);

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
	xchg__free_index(r);
	r->nrec = r->next = 0;
	r->truncated = 0;
	if (replay(r) != XCHG_OK) {
		r->broken = 1;
		return XCHG_ERR_CORRUPT;
	}
	return XCHG_OK;
}
