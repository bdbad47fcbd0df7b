/*
 * xchg_reserve.c: the foreign tokens an exchange holds, kept in the
 * platform's state database (money_store.c): one row of xchg_reserve per
 * token with its state, and in xchg_pruned the sums of the rows pruned
 * after expiry, so that losses stay counted (docs/xchg.md).
 *
 * Changes are staged (applied to the index at once, so a second request
 * for the same serial sees the first), then a commit writes every staged
 * change in one transaction; a caller acknowledges a change only once the
 * batch of its ticket is durable. Several exchanges thus share one
 * commit, and the transaction can run on another thread than the one
 * that stages (commit_begin / commit_write / commit_end). The index
 * (xchg_index.c) is loaded from the tables at open; pruning is a DELETE.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "xchg_int.h"

static enum xchg_err
xerr(enum money_err e)
{
	switch (e) {
	case MONEY_OK:
		return XCHG_OK;
	case MONEY_ERR_NOMEM:
		return XCHG_ERR_NOMEM;
	case MONEY_ERR_CORRUPT:
	case MONEY_ERR_SCHEMA:
		return XCHG_ERR_CORRUPT;
	case MONEY_ERR_INVAL:
		return XCHG_ERR_INVAL;
	default:
		return XCHG_ERR_SYS;
	}
}

/* ---- open, load, close ---- */

/* Rebuilds the index from the tables; inside a transaction. */
static int
load(sqlite3 *db, void *arg)
{
	struct xchg_reserve *r = arg;
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(
	    db, "SELECT token, state, id FROM xchg_reserve", -1, &st, NULL);
	r->next_rowid = 1;
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct money_token t;
		int state = sqlite3_column_int(st, 1);
		long e;
		if (money_token_decode(sqlite3_column_blob(st, 0),
		        (size_t)sqlite3_column_bytes(st, 0), &t) != MONEY_OK ||
		    state < XCHG_HELD || state >= XCHG_STATE_N) {
			rc = SQLITE_CORRUPT;
			break;
		}
		switch (xchg__apply_add(r, &t)) {
		case XCHG_OK:
			break;
		case XCHG_ERR_NOMEM:
			rc = SQLITE_NOMEM;
			break;
		default:
			rc = SQLITE_CORRUPT;
			break;
		}
		if (rc != SQLITE_ROW)
			break;
		e = xchg__ent_find(r, t.currency, t.serial);
		r->ents[e].rowid = sqlite3_column_int64(st, 2);
		if (r->ents[e].rowid >= r->next_rowid)
			r->next_rowid = r->ents[e].rowid + 1;
		if (state != XCHG_HELD &&
		    xchg__ent_set(r, (uint32_t)e, state) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc;
	rc = sqlite3_prepare_v2(db,
	    "SELECT currency, state, amount, tokens FROM xchg_pruned", -1, &st,
	    NULL);
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int state = sqlite3_column_int(st, 1);
		int64_t amount = sqlite3_column_int64(st, 2);
		int64_t tokens = sqlite3_column_int64(st, 3);
		long c;
		if (sqlite3_column_bytes(st, 0) != MONEY_PK_LEN ||
		    state < XCHG_HELD || state >= XCHG_STATE_N || amount < 0 ||
		    tokens < 0) {
			rc = SQLITE_CORRUPT;
			break;
		}
		c = xchg__cur_find(r, sqlite3_column_blob(st, 0), 1);
		if (c < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
		if (__builtin_add_overflow(r->curs[c].sums.amount[state],
		        amount, &r->curs[c].sums.amount[state])) {
			rc = SQLITE_CORRUPT;
			break;
		}
		r->curs[c].sums.tokens[state] += (uint64_t)tokens;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

enum xchg_err
xchg_reserve_open(const char *path, struct xchg_reserve **out)
{
	struct xchg_reserve *r;
	enum xchg_err err;

	*out = NULL;
	if (path == NULL)
		return XCHG_ERR_INVAL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return XCHG_ERR_NOMEM;
	randombytes_buf(r->hkey, sizeof(r->hkey));
	err = xerr(money_store_open(path, &r->store));
	if (err == XCHG_OK)
		err = xerr(money_store_run(r->store, load, r));
	r->records = r->nents;
	if (err != XCHG_OK) {
		xchg_reserve_close(r);
		return err;
	}
	*out = r;
	return XCHG_OK;
}

void
xchg_reserve_close(struct xchg_reserve *r)
{
	if (r == NULL)
		return;
	money_store_close(r->store);
	xchg__free_index(r);
	free(r->stage);
	free(r);
}

/* ---- staging and group commit ---- */

/* Room for one more staged change: the caller fills it and counts it. */
static struct xchg__op *
stage_slot(struct xchg_reserve *r)
{
	if (r->nstage == r->capstage) {
		size_t n = r->capstage ? r->capstage * 2 : 32;
		struct xchg__op *p = realloc(r->stage, n * sizeof(*p));
		if (p == NULL)
			return NULL;
		r->stage = p;
		r->capstage = n;
	}
	return &r->stage[r->nstage];
}

enum xchg_err
xchg_reserve_stage_add(
    struct xchg_reserve *r, const struct money_token *t, uint64_t *ticket)
{
	struct xchg__op *op;
	long e;
	enum xchg_err err;

	if (r->broken)
		return XCHG_ERR_BROKEN;
	if (t->expiry > INT64_MAX)
		return XCHG_ERR_RANGE;
	e = xchg__ent_find(r, t->currency, t->serial);
	if (e >= 0 && !xchg__may_readd(r->ents[e].state))
		return r->ents[e].state == XCHG_HELD ||
		        r->ents[e].state == XCHG_CLEARING
		    ? XCHG_ERR_HELD
		    : XCHG_ERR_SPENT;
	if ((op = stage_slot(r)) == NULL)
		return XCHG_ERR_NOMEM;
	err = xchg__apply_add(r, t);
	if (err != XCHG_OK)
		return err;
	e = xchg__ent_find(r, t->currency, t->serial);
	if (r->ents[e].rowid == 0)
		r->ents[e].rowid = r->next_rowid++;
	op->type = XCHG__OP_ADD;
	op->to = XCHG_HELD;
	op->rowid = r->ents[e].rowid;
	op->tok = *t;
	r->nstage++;
	*ticket = r->batch + 1;
	return XCHG_OK;
}

enum xchg_err
xchg_reserve_stage_set(struct xchg_reserve *r,
    const uint8_t currency[MONEY_PK_LEN],
    const uint8_t serial[MONEY_SERIAL_LEN], enum xchg_state to,
    uint64_t *ticket)
{
	struct xchg__op *op;
	long e;

	if (r->broken)
		return XCHG_ERR_BROKEN;
	e = xchg__ent_find(r, currency, serial);
	if (e < 0 || !xchg__transition_ok(r->ents[e].state, (int)to))
		return XCHG_ERR_STATE;
	if ((op = stage_slot(r)) == NULL ||
	    xchg__ent_set(r, (uint32_t)e, (int)to) < 0)
		return XCHG_ERR_NOMEM;
	memset(op, 0, sizeof(*op));
	op->type = XCHG__OP_STATE;
	op->to = (uint8_t)to;
	op->rowid = r->ents[e].rowid;
	r->nstage++;
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
	b->store = r->store;
	b->ops = r->stage;
	b->n = r->nstage;
	b->err = XCHG_ERR_SYS; /* until written */
	r->stage = NULL;
	r->nstage = r->capstage = 0;
	b->no = ++r->batch;
	r->inflight = 1;
	*out = b;
	return XCHG_OK;
}

/* A token sold or expired here may come back: its row starts over as
 * HELD. */
static const char sql_add[] =
    "INSERT OR REPLACE INTO xchg_reserve(id, currency, serial, state,"
    " amount, expiry, token) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_set[] =
    "UPDATE xchg_reserve SET state = ?2 WHERE id = ?1";

static int
batch_write(sqlite3 *db, void *arg)
{
	const struct xchg_batch *b = arg;
	sqlite3_stmt *add = NULL, *set = NULL;
	int rc;

	rc = money_store_stmt(db, sql_add, &add);
	if (rc == SQLITE_OK)
		rc = money_store_stmt(db, sql_set, &set);
	for (size_t k = 0; rc == SQLITE_OK && k < b->n; k++) {
		const struct xchg__op *op = &b->ops[k];
		uint8_t tok[MONEY_TOKEN_LEN];
		if (op->type == XCHG__OP_ADD) {
			money_token_encode(&op->tok, tok);
			sqlite3_bind_int64(add, 1, op->rowid);
			sqlite3_bind_blob(add, 2, op->tok.currency,
			    MONEY_PK_LEN, SQLITE_STATIC);
			sqlite3_bind_blob(add, 3, op->tok.serial,
			    MONEY_SERIAL_LEN, SQLITE_STATIC);
			sqlite3_bind_int(add, 4, op->to);
			sqlite3_bind_int64(add, 5, op->tok.amount);
			sqlite3_bind_int64(add, 6, (int64_t)op->tok.expiry);
			sqlite3_bind_blob(
			    add, 7, tok, sizeof(tok), SQLITE_STATIC);
			rc = money_store_step(add);
		} else {
			sqlite3_bind_int64(set, 1, op->rowid);
			sqlite3_bind_int(set, 2, op->to);
			rc = money_store_step(set);
			if (rc == SQLITE_OK && sqlite3_changes(db) != 1)
				rc =
				    SQLITE_CORRUPT; /* memory and rows disagree */
		}
	}
	return rc;
}

void
xchg_reserve_commit_write(struct xchg_batch *b)
{
	b->err = xerr(money_store_run(b->store, batch_write, b));
}

enum xchg_err
xchg_reserve_commit_end(struct xchg_reserve *r, struct xchg_batch *b)
{
	enum xchg_err err = b->err;

	r->inflight = 0;
	if (err != XCHG_OK) {
		/* Memory is ahead of the database: only a reopen knows
		 * what was durable. */
		r->broken = 1;
	} else {
		r->durable = b->no;
		r->commits++;
		r->records += b->n;
	}
	free(b->ops);
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
    const uint8_t serial[MONEY_SERIAL_LEN], struct money_token *t)
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
    int64_t want, int64_t most, uint64_t valid_until, struct money_token *t)
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
xchg_reserve_expire_stage(
    struct xchg_reserve *r, uint64_t now, uint64_t *count, uint64_t *ticket)
{
	enum xchg_err err = XCHG_OK;
	uint64_t n = 0;

	*ticket = 0;
	for (uint32_t i = 0; i < r->nents && err == XCHG_OK; i++) {
		struct xchg__ent *e = &r->ents[i];
		if ((e->state != XCHG_HELD && e->state != XCHG_CLEARING) ||
		    e->tok.expiry > now)
			continue;
		err = xchg_reserve_stage_set(
		    r, e->tok.currency, e->tok.serial, XCHG_EXPIRED, ticket);
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
    int state, int (*fn)(void *arg, const struct money_token *t, int state),
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
	st->records = r->records;
	st->entries = r->nents;
	st->commits = r->commits;
}

/* ---- pruning ---- */

struct prune_arg {
	uint64_t now;
};

/* Keeps HELD (1) and CLEARING (2) rows, and CLEARED (3) and SPENT (4)
 * ones while their token could still be presented (their serial must
 * keep being refused); folds the sums of the others into xchg_pruned
 * and deletes them. */
static int
prune(sqlite3 *db, void *arg)
{
	static const char *const sql[] = {
	    "INSERT INTO xchg_pruned(currency, state, amount, tokens)"
	    " SELECT currency, state, sum(amount), count(*) FROM xchg_reserve"
	    " WHERE NOT (state IN (1, 2) OR (state IN (3, 4) AND expiry > ?1))"
	    " GROUP BY currency, state"
	    " ON CONFLICT(currency, state) DO UPDATE SET"
	    " amount = amount + excluded.amount,"
	    " tokens = tokens + excluded.tokens",
	    "DELETE FROM xchg_reserve"
	    " WHERE NOT (state IN (1, 2) OR (state IN (3, 4) AND expiry > ?1))",
	};
	const struct prune_arg *a = arg;
	int rc = SQLITE_OK;

	for (size_t i = 0; rc == SQLITE_OK && i < 2; i++) {
		sqlite3_stmt *st;
		rc = sqlite3_prepare_v2(db, sql[i], -1, &st, NULL);
		if (rc != SQLITE_OK)
			break;
		sqlite3_bind_int64(
		    st, 1, a->now > INT64_MAX ? INT64_MAX : (int64_t)a->now);
		rc = money_store_step(st);
		sqlite3_finalize(st);
	}
	return rc;
}

enum xchg_err
xchg_reserve_compact(struct xchg_reserve *r, uint64_t now)
{
	struct prune_arg a = {now};
	enum xchg_err err;

	if (r->broken)
		return XCHG_ERR_BROKEN;
	if (r->inflight || r->nstage)
		return XCHG_ERR_BUSY;
	if ((err = xerr(money_store_run(r->store, prune, &a))) != XCHG_OK) {
		r->broken = 1;
		return err;
	}
	/* Rebuild the index from the tables, exactly as the next open
	 * would. */
	xchg__free_index(r);
	if ((err = xerr(money_store_run(r->store, load, r))) != XCHG_OK) {
		r->broken = 1;
		return err;
	}
	r->records = r->nents;
	return XCHG_OK;
}
