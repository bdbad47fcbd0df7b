/*
 * money_ledger.c: the issued/spent serial ledger. Durable state lives in
 * the store (money_store.c): a row of money_serial per issued serial, a
 * row of money_spent per spend (both appended in commit order) and the
 * totals in money_book. In memory, an open-addressing hash set of every
 * serial (loaded at open) answers lookups in O(1) without touching the
 * database, and holds the staged states, so that a second deposit of a
 * serial is refused while the first waits for its commit.
 * Group commit: many threads stage, one commit writes them all and the
 * totals in one transaction. docs/money.md has the tables and the
 * crash-safety argument.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "money_int.h"

/* Entry states in the index. */
#define E_USED 1
#define E_ISSUED 2
#define E_SPENT 4
#define E_PEND_ISSUE 8
#define E_PEND_SPEND 16

/* A staged change. */
#define OP_ISSUE 1
#define OP_SPEND 2

struct entry {
	uint8_t serial[MONEY_SERIAL_LEN];
	int64_t amount;
	uint64_t expiry;
	unsigned state;
};

struct op {
	uint8_t serial[MONEY_SERIAL_LEN];
	uint8_t type, kind;
	int64_t amount;
	uint64_t expiry;
};

struct money_ledger {
	struct money_store *store;
	pthread_mutex_t mu;        /* everything below */
	pthread_mutex_t commit_mu; /* one commit or prune at a time */
	struct entry *tab;
	size_t cap, used; /* power of two; used entries */
	struct op *stage; /* staged changes */
	size_t nstage, stage_cap;
	uint64_t rows;    /* rows of money_serial */
	uint64_t batch;   /* last batch cut */
	uint64_t durable; /* last batch committed */
	uint64_t commits;
	int64_t outstanding;
	struct money_totals totals;
	int broken;
};

/* ---- index ---- */

static size_t
slot_of(const struct money_ledger *l, const uint8_t *serial)
{
	/* Serials are random: their first bytes are a good hash. */
	return (size_t)money__get64(serial) & (l->cap - 1);
}

static struct entry *
find(struct money_ledger *l, const uint8_t *serial)
{
	size_t i = slot_of(l, serial);

	while (l->tab[i].state & E_USED) {
		if (memcmp(l->tab[i].serial, serial, MONEY_SERIAL_LEN) == 0)
			return &l->tab[i];
		i = (i + 1) & (l->cap - 1);
	}
	return NULL;
}

static int
grow(struct money_ledger *l)
{
	size_t ocap = l->cap, ncap = ocap ? ocap * 2 : 1024, i;
	struct entry *old = l->tab, *nt = calloc(ncap, sizeof(*nt));

	if (nt == NULL)
		return -1;
	l->tab = nt;
	l->cap = ncap; /* slot_of() reads it */
	for (i = 0; i < ocap; i++) {
		if (old[i].state & E_USED) {
			size_t j = slot_of(l, old[i].serial);
			while (nt[j].state & E_USED)
				j = (j + 1) & (ncap - 1);
			nt[j] = old[i];
		}
	}
	free(old);
	return 0;
}

/* Inserts a new entry for (serial); NULL when out of memory. */
static struct entry *
insert(struct money_ledger *l, const uint8_t *serial)
{
	size_t i;

	if ((l->used + 1) * 2 > l->cap && grow(l) < 0)
		return NULL;
	i = slot_of(l, serial);
	while (l->tab[i].state & E_USED)
		i = (i + 1) & (l->cap - 1);
	memcpy(l->tab[i].serial, serial, MONEY_SERIAL_LEN);
	l->tab[i].state = E_USED;
	l->used++;
	return &l->tab[i];
}

/* ---- open ---- */

/* Loads the book and every serial into (l); runs inside a transaction. */
static int
load(sqlite3 *db, void *arg)
{
	struct money_ledger *l = arg;
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db,
	    "SELECT minted, burned, lost, batch FROM money_book WHERE id = 1",
	    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		l->totals.minted = sqlite3_column_int64(st, 0);
		l->totals.burned = sqlite3_column_int64(st, 1);
		l->totals.lost = sqlite3_column_int64(st, 2);
		l->batch = (uint64_t)sqlite3_column_int64(st, 3);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_CORRUPT;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_prepare_v2(db,
	    "SELECT serial, amount, expiry FROM money_serial", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *ser = sqlite3_column_blob(st, 0);
		int64_t amount = sqlite3_column_int64(st, 1);
		struct entry *e;
		if (sqlite3_column_bytes(st, 0) != MONEY_SERIAL_LEN ||
		    amount <= 0 || find(l, ser) != NULL ||
		    __builtin_add_overflow(
		        l->outstanding, amount, &l->outstanding)) {
			rc = SQLITE_CORRUPT;
			break;
		}
		if ((e = insert(l, ser)) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		e->amount = amount;
		e->expiry = (uint64_t)sqlite3_column_int64(st, 2);
		e->state |= E_ISSUED;
		l->rows++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc;
	rc = sqlite3_prepare_v2(
	    db, "SELECT serial FROM money_spent", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *ser = sqlite3_column_blob(st, 0);
		struct entry *e;
		/* a spend of a serial never issued, or spent twice, cannot
		 * come from this ledger */
		if (sqlite3_column_bytes(st, 0) != MONEY_SERIAL_LEN ||
		    (e = find(l, ser)) == NULL || (e->state & E_SPENT)) {
			rc = SQLITE_CORRUPT;
			break;
		}
		e->state |= E_SPENT;
		l->outstanding -= e->amount;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

enum money_err
money_ledger_open(const char *path, struct money_ledger **out)
{
	struct money_ledger *l;
	enum money_err err;

	*out = NULL;
	if (path == NULL)
		return MONEY_ERR_INVAL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return MONEY_ERR_NOMEM;
	if (grow(l) < 0) {
		free(l);
		return MONEY_ERR_NOMEM;
	}
	if ((err = money_store_open(path, &l->store)) != MONEY_OK)
		goto err_l;
	if ((err = money_store_run(l->store, load, l)) != MONEY_OK)
		goto err_store;
	l->durable = l->batch;
	pthread_mutex_init(&l->mu, NULL);
	pthread_mutex_init(&l->commit_mu, NULL);
	*out = l;
	return MONEY_OK;

err_store:
	money_store_close(l->store);
err_l:
	free(l->tab);
	free(l);
	return err;
}

void
money_ledger_close(struct money_ledger *l)
{
	if (l == NULL)
		return;
	money_store_close(l->store);
	pthread_mutex_destroy(&l->mu);
	pthread_mutex_destroy(&l->commit_mu);
	free(l->stage);
	free(l->tab);
	free(l);
}

struct money_store *
money_ledger_store(struct money_ledger *l)
{
	return l->store;
}

struct pk_arg {
	const uint8_t *pk;
	int mismatch;
};

static int
pk_check(sqlite3 *db, void *arg)
{
	struct pk_arg *a = arg;
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db,
	    "INSERT INTO meta(name, value) VALUES ('currency', ?1)"
	    " ON CONFLICT(name) DO NOTHING",
	    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_blob(st, 1, a->pk, MONEY_PK_LEN, SQLITE_STATIC);
	rc = money_store_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_prepare_v2(db,
	    "SELECT value = ?1 FROM meta WHERE name = 'currency'", -1, &st,
	    NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_blob(st, 1, a->pk, MONEY_PK_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	a->mismatch = rc != SQLITE_ROW || sqlite3_column_int(st, 0) != 1;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

enum money_err
money_ledger_pk(struct money_ledger *l, const uint8_t pk[MONEY_PK_LEN])
{
	struct pk_arg a = {pk, 0};
	enum money_err err = money_store_run(l->store, pk_check, &a);

	if (err == MONEY_OK && a.mismatch)
		err = MONEY_ERR_IDENT;
	return err;
}

/* ---- staging and commit ---- */

/* Room for one more staged change. */
static struct op *
stage_slot(struct money_ledger *l)
{
	if (l->nstage == l->stage_cap) {
		size_t nc = l->stage_cap ? l->stage_cap * 2 : 128;
		struct op *ns = realloc(l->stage, nc * sizeof(*ns));
		if (ns == NULL)
			return NULL;
		l->stage = ns;
		l->stage_cap = nc;
	}
	return &l->stage[l->nstage];
}

static void
op_fill(struct op *o, int type, int kind, const struct entry *e)
{
	memcpy(o->serial, e->serial, MONEY_SERIAL_LEN);
	o->type = (uint8_t)type;
	o->kind = (uint8_t)kind;
	o->amount = e->amount;
	o->expiry = e->expiry;
}

enum money_err
money_ledger_stage_issue(struct money_ledger *l,
    const uint8_t serial[MONEY_SERIAL_LEN], enum money_issue_kind kind,
    int64_t amount, uint64_t expiry, uint64_t *ticket)
{
	enum money_err err = MONEY_OK;
	struct entry *e = NULL;
	struct op *o = NULL;

	if (amount <= 0 || expiry > INT64_MAX ||
	    (kind != MONEY_ISSUE_MINT && kind != MONEY_ISSUE_WITHDRAW))
		return MONEY_ERR_INVAL;
	pthread_mutex_lock(&l->mu);
	if (l->broken)
		err = MONEY_ERR_BROKEN;
	else if (find(l, serial) != NULL)
		err = MONEY_ERR_DUP;
	else if ((o = stage_slot(l)) == NULL || (e = insert(l, serial)) == NULL)
		err = MONEY_ERR_NOMEM;
	if (err == MONEY_OK) {
		e->amount = amount;
		e->expiry = expiry;
		e->state |= E_PEND_ISSUE;
		op_fill(o, OP_ISSUE, kind, e);
		l->nstage++;
		*ticket = l->batch + 1;
	}
	pthread_mutex_unlock(&l->mu);
	return err;
}

enum money_err
money_ledger_stage_spend(struct money_ledger *l,
    const uint8_t serial[MONEY_SERIAL_LEN], uint64_t *ticket)
{
	enum money_err err = MONEY_OK;
	struct entry *e;
	struct op *o = NULL;

	pthread_mutex_lock(&l->mu);
	e = find(l, serial);
	if (l->broken)
		err = MONEY_ERR_BROKEN;
	else if (e == NULL || !(e->state & E_ISSUED))
		err = MONEY_ERR_FORGED;
	else if (e->state & (E_SPENT | E_PEND_SPEND))
		err = MONEY_ERR_SPENT;
	else if ((o = stage_slot(l)) == NULL)
		err = MONEY_ERR_NOMEM;
	if (err == MONEY_OK) {
		e->state |= E_PEND_SPEND;
		op_fill(o, OP_SPEND, 0, e);
		l->nstage++;
		*ticket = l->batch + 1;
	}
	pthread_mutex_unlock(&l->mu);
	return err;
}

/* One batch as one transaction. */
struct batch {
	const struct op *ops;
	size_t n;
	uint64_t no;
	const struct money_totals *totals;
	uint64_t prune_before; /* prune: DELETE expiry <= this; else 0 */
	int prune;
};

static const char sql_book[] =
    "UPDATE money_book SET minted = ?1, burned = ?2, lost = ?3, batch = ?4"
    " WHERE id = 1";
static const char sql_issue[] =
    "INSERT INTO money_serial(serial, kind, amount, expiry)"
    " VALUES (?1, ?2, ?3, ?4)";
static const char sql_spend[] = "INSERT INTO money_spent(serial) VALUES (?1)";
static const char sql_prune_spent[] =
    "DELETE FROM money_spent WHERE serial IN"
    " (SELECT serial FROM money_serial WHERE expiry <= ?1)";
static const char sql_prune[] = "DELETE FROM money_serial WHERE expiry <= ?1";

static int
book_write(sqlite3 *db, const struct money_totals *t, uint64_t no)
{
	sqlite3_stmt *st;
	int rc = money_store_stmt(db, sql_book, &st);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, t->minted);
	sqlite3_bind_int64(st, 2, t->burned);
	sqlite3_bind_int64(st, 3, t->lost);
	sqlite3_bind_int64(st, 4, (int64_t)no);
	rc = money_store_step(st);
	if (rc == SQLITE_OK && sqlite3_changes(db) != 1)
		rc = SQLITE_CORRUPT;
	return rc;
}

static int64_t
prune_at(const struct batch *b)
{
	return b->prune_before > INT64_MAX ? INT64_MAX
	                                   : (int64_t)b->prune_before;
}

static int
batch_write(sqlite3 *db, void *arg)
{
	const struct batch *b = arg;
	sqlite3_stmt *ins = NULL, *spend = NULL, *prune;
	int rc;

	rc = money_store_stmt(db, sql_issue, &ins);
	if (rc == SQLITE_OK)
		rc = money_store_stmt(db, sql_spend, &spend);
	for (size_t k = 0; rc == SQLITE_OK && k < b->n; k++) {
		const struct op *o = &b->ops[k];
		if (o->type == OP_ISSUE) {
			sqlite3_bind_blob(
			    ins, 1, o->serial, MONEY_SERIAL_LEN, SQLITE_STATIC);
			sqlite3_bind_int(ins, 2, o->kind);
			sqlite3_bind_int64(ins, 3, o->amount);
			sqlite3_bind_int64(ins, 4, (int64_t)o->expiry);
			rc = money_store_step(ins);
		} else {
			sqlite3_bind_blob(spend, 1, o->serial, MONEY_SERIAL_LEN,
			    SQLITE_STATIC);
			rc = money_store_step(spend);
		}
	}
	/* Spends first: their serials are found through the issues. */
	if (rc == SQLITE_OK && b->prune &&
	    (rc = money_store_stmt(db, sql_prune_spent, &prune)) == SQLITE_OK) {
		sqlite3_bind_int64(prune, 1, prune_at(b));
		rc = money_store_step(prune);
	}
	if (rc == SQLITE_OK && b->prune &&
	    (rc = money_store_stmt(db, sql_prune, &prune)) == SQLITE_OK) {
		sqlite3_bind_int64(prune, 1, prune_at(b));
		rc = money_store_step(prune);
	}
	if (rc == SQLITE_OK)
		rc = book_write(db, b->totals, b->no);
	return rc;
}

enum money_err
money_ledger_commit(struct money_ledger *l, const struct money_totals *totals)
{
	struct batch b = {0};
	struct op *ops;
	enum money_err err;

	pthread_mutex_lock(&l->commit_mu);
	pthread_mutex_lock(&l->mu);
	if (l->broken) {
		pthread_mutex_unlock(&l->mu);
		pthread_mutex_unlock(&l->commit_mu);
		return MONEY_ERR_BROKEN;
	}
	/* Cut the batch: later stagers fill a fresh buffer meanwhile. */
	ops = l->stage;
	b.n = l->nstage;
	l->stage = NULL;
	l->nstage = l->stage_cap = 0;
	b.no = ++l->batch;
	pthread_mutex_unlock(&l->mu);

	b.ops = ops;
	b.totals = totals;
	err = money_store_run(l->store, batch_write, &b);

	pthread_mutex_lock(&l->mu);
	if (err != MONEY_OK) {
		/* Memory is ahead of the database: only a reopen knows. */
		l->broken = 1;
	} else {
		for (size_t k = 0; k < b.n; k++) {
			struct entry *e = find(l, ops[k].serial);
			if (ops[k].type == OP_ISSUE) {
				e->state =
				    (e->state & ~E_PEND_ISSUE) | E_ISSUED;
				l->outstanding += e->amount;
				l->rows++;
			} else {
				e->state = (e->state & ~E_PEND_SPEND) | E_SPENT;
				l->outstanding -= e->amount;
			}
		}
		l->durable = b.no;
		l->totals = *totals;
		l->commits++;
	}
	pthread_mutex_unlock(&l->mu);
	pthread_mutex_unlock(&l->commit_mu);
	free(ops);
	return err;
}

void
money_ledger_abandon(struct money_ledger *l)
{
	pthread_mutex_lock(&l->mu);
	l->broken = 1;
	free(l->stage);
	l->stage = NULL;
	l->nstage = l->stage_cap = 0;
	pthread_mutex_unlock(&l->mu);
}

uint64_t
money_ledger_durable(struct money_ledger *l)
{
	uint64_t d;

	pthread_mutex_lock(&l->mu);
	d = l->durable;
	pthread_mutex_unlock(&l->mu);
	return d;
}

int
money_ledger_lookup(struct money_ledger *l,
    const uint8_t serial[MONEY_SERIAL_LEN], struct money_serial_info *info)
{
	struct entry *e;

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&l->mu);
	if ((e = find(l, serial)) != NULL) {
		info->issued = (e->state & E_ISSUED) != 0;
		info->spent = (e->state & (E_SPENT | E_PEND_SPEND)) != 0;
		info->amount = e->amount;
		info->expiry = e->expiry;
	}
	pthread_mutex_unlock(&l->mu);
	return e != NULL;
}

void
money_ledger_totals(struct money_ledger *l, struct money_totals *t)
{
	pthread_mutex_lock(&l->mu);
	*t = l->totals;
	pthread_mutex_unlock(&l->mu);
}

void
money_ledger_stats(struct money_ledger *l, struct money_ledger_stats *st)
{
	pthread_mutex_lock(&l->mu);
	st->records = l->rows;
	st->serials = l->used;
	st->commits = l->commits;
	st->outstanding = l->outstanding;
	pthread_mutex_unlock(&l->mu);
}

/* ---- pruning ---- */

int64_t
money_ledger_expired(struct money_ledger *l, uint64_t now)
{
	int64_t sum = 0;

	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->cap; i++) {
		const struct entry *e = &l->tab[i];
		if ((e->state & E_ISSUED) && !(e->state & E_SPENT) &&
		    e->expiry <= now)
			sum += e->amount;
	}
	pthread_mutex_unlock(&l->mu);
	return sum;
}

/*
 * Why forgetting is safe: a token is refused as expired from its expiry
 * on (money_token_classify() checks expiry before the ledger), so after
 * that second its serial can never be redeemed again whatever the ledger
 * says. If the clock steps back, a pruned token would be "not expired"
 * but its serial is unknown, and redemption needs an issued serial: it is
 * refused as forged, never accepted twice.
 */
enum money_err
money_ledger_compact(
    struct money_ledger *l, uint64_t now, const struct money_totals *totals)
{
	struct batch b = {0};
	struct entry *nt = NULL, *old;
	size_t cap, i;
	enum money_err err = MONEY_OK;

	pthread_mutex_lock(&l->commit_mu);
	pthread_mutex_lock(&l->mu);
	if (l->broken) {
		err = MONEY_ERR_BROKEN;
		goto out;
	}
	if (l->nstage > 0) {
		err = MONEY_ERR_BUSY;
		goto out;
	}
	if ((nt = calloc(l->cap, sizeof(*nt))) == NULL) {
		err = MONEY_ERR_NOMEM;
		goto out;
	}
	b.totals = totals;
	b.no = l->batch + 1;
	b.prune = 1;
	b.prune_before = now;
	/* Nothing is staged and commit_mu keeps commits out: holding mu
	 * over the transaction only delays lookups for one prune. */
	if ((err = money_store_run(l->store, batch_write, &b)) != MONEY_OK) {
		l->broken = 1;
		goto out;
	}
	/* Rebuild the index without the pruned serials. */
	old = l->tab;
	cap = l->cap;
	l->tab = nt;
	l->used = 0;
	l->rows = 0;
	l->outstanding = 0;
	nt = old;
	for (i = 0; i < cap; i++) {
		struct entry *e;
		if (!(old[i].state & E_ISSUED) || old[i].expiry <= now)
			continue;
		e = insert(l, old[i].serial); /* the table is as large */
		e->amount = old[i].amount;
		e->expiry = old[i].expiry;
		e->state = old[i].state;
		l->rows++;
		if (!(e->state & E_SPENT))
			l->outstanding += e->amount;
	}
	l->batch++;
	l->durable = l->batch;
	l->totals = *totals;
	l->commits++;
out:
	pthread_mutex_unlock(&l->mu);
	pthread_mutex_unlock(&l->commit_mu);
	free(nt);
	return err;
}
