/*
 * money_store.c: the one durable store of a platform, a SQLite database
 * (docs/money.md, "The state database"). The spent-serial ledger, the book
 * and the exchange reserve are tables in it; every change goes through
 * money_store_run(), one write transaction under one mutex, so the ledger
 * and the reserve share one file and one commit path. WAL journal mode
 * with synchronous=FULL: a transaction is on disk when COMMIT returns, and
 * a crash at any moment leaves the last committed transaction; SQLite
 * owns every write and sync. Opening the same file twice in one process
 * returns the same handle (counted), so the bank and the exchange share
 * one connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "money_int.h"

/* 'mzer': marks a database as ours for `PRAGMA application_id`. */
#define STORE_APP_ID 0x6d7a6572
#define STORE_BUSY_MS 10000

/* Version 1 of the schema; docs/money.md and docs/xchg.md explain each
 * column. The book is one row; serials and reserve tokens are keyed by
 * their bytes. */
static const char schema_v1[] =
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE money_book(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " minted INTEGER NOT NULL, burned INTEGER NOT NULL,"
    " lost INTEGER NOT NULL, batch INTEGER NOT NULL);"
    "INSERT INTO money_book VALUES (1, 0, 0, 0, 0);"
    /* Issues and spends are appended in commit order (the ledger keeps
     * the index by serial in memory), so a commit writes a page or two
     * at the end of each table, not one page per random serial. */
    "CREATE TABLE money_serial(id INTEGER PRIMARY KEY, serial BLOB NOT NULL,"
    " kind INTEGER NOT NULL, amount INTEGER NOT NULL CHECK (amount > 0),"
    " expiry INTEGER NOT NULL);"
    "CREATE INDEX money_serial_expiry ON money_serial(expiry);"
    "CREATE TABLE money_spent(id INTEGER PRIMARY KEY, serial BLOB NOT NULL);"
    "CREATE VIEW money_ledger AS SELECT serial, kind, amount, expiry,"
    " serial IN (SELECT serial FROM money_spent) AS spent FROM money_serial;"
    /* Rows in the order tokens came (the reserve keeps the index by
     * currency and serial in memory), changed in place by id. */
    "CREATE TABLE xchg_reserve(id INTEGER PRIMARY KEY,"
    " currency BLOB NOT NULL, serial BLOB NOT NULL, state INTEGER NOT NULL,"
    " amount INTEGER NOT NULL, expiry INTEGER NOT NULL,"
    " token BLOB NOT NULL);"
    "CREATE TABLE xchg_pruned(currency BLOB NOT NULL, state INTEGER NOT NULL,"
    " amount INTEGER NOT NULL, tokens INTEGER NOT NULL,"
    " PRIMARY KEY (currency, state)) WITHOUT ROWID;";

/* Statements prepared once and kept, keyed by their (static) text. */
#define STORE_STMTS 16

struct money_store {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} stmt[STORE_STMTS];
	unsigned nstmt;
	pthread_mutex_t mu; /* one transaction at a time */
	dev_t dev;
	ino_t ino;
	unsigned refs; /* under reg_mu */
	struct money_store *next;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct money_store *reg;
/* The store whose transaction this thread runs (money_store_stmt). */
static __thread struct money_store *cur;

static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";

enum money_err
money_store_err(int rc)
{
	if (rc == SQLITE_IOERR_SHORT_READ) /* a file cut short */
		return MONEY_ERR_CORRUPT;
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return MONEY_OK;
	case SQLITE_NOMEM:
		return MONEY_ERR_NOMEM;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return MONEY_ERR_CORRUPT;
	default:
		return MONEY_ERR_SYS;
	}
}

/* Creates the schema in a new database, or checks an existing one. */
static enum money_err
store_schema(sqlite3 *db)
{
	sqlite3_stmt *st;
	int64_t app = 0, ver = -1, tables = 0;
	int rc;

	if (sqlite3_prepare_v2(db,
	        "SELECT (SELECT application_id FROM pragma_application_id),"
	        " (SELECT user_version FROM pragma_user_version),"
	        " (SELECT count(*) FROM sqlite_schema)",
	        -1, &st, NULL) != SQLITE_OK)
		return money_store_err(sqlite3_errcode(db));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		app = sqlite3_column_int64(st, 0);
		ver = sqlite3_column_int64(st, 1);
		tables = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return money_store_err(rc);
	if (app == STORE_APP_ID && ver == MONEY_STORE_SCHEMA)
		return MONEY_OK;
	if (app != 0 || ver != 0 || tables != 0)
		return MONEY_ERR_SCHEMA;
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE;", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, schema_v1, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db,
		    "PRAGMA application_id = 1836737906;" /* STORE_APP_ID */
		    "PRAGMA user_version = 1;" /* MONEY_STORE_SCHEMA */
		    "COMMIT;",
		    NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		enum money_err err = money_store_err(sqlite3_errcode(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return err == MONEY_OK ? MONEY_ERR_SYS : err;
	}
	return MONEY_OK;
}

/* A truncated or damaged file is refused at open, before a single row is
 * trusted: never started from with part of its history missing. */
static enum money_err
quick_check(sqlite3 *db)
{
	sqlite3_stmt *st;
	int rc, ok = 0;

	if ((rc = sqlite3_prepare_v2(
	         db, "PRAGMA quick_check(1)", -1, &st, NULL)) != SQLITE_OK)
		return money_store_err(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		ok = t != NULL && strcmp((const char *)t, "ok") == 0;
		rc = SQLITE_CORRUPT;
	}
	sqlite3_finalize(st);
	return ok ? MONEY_OK : money_store_err(rc);
}

static enum money_err
store_connect(struct money_store *s, const char *path)
{
	/* The cache holds the ledger's and the reserve's pages (up to
	 * 32 MiB) so that a commit rarely reads from the file. */
	static const char pragmas[] = "PRAGMA journal_mode = WAL;"
	                              "PRAGMA synchronous = FULL;"
	                              "PRAGMA cache_size = -32768;"
	                              "PRAGMA foreign_keys = OFF;"
	                              "PRAGMA trusted_schema = OFF;";
	int rc = sqlite3_open_v2(path, &s->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX |
	        SQLITE_OPEN_EXRESCODE,
	    NULL);
	char mode[8] = "";
	sqlite3_stmt *st;

	if (rc != SQLITE_OK)
		return s->db ? money_store_err(rc) : MONEY_ERR_NOMEM;
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	if ((rc = sqlite3_exec(s->db, pragmas, NULL, NULL, NULL)) != SQLITE_OK)
		return money_store_err(rc);
	/* journal_mode answers with the mode it got. */
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL) !=
	    SQLITE_OK)
		return money_store_err(sqlite3_errcode(s->db));
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0) != NULL)
		strncpy(mode, (const char *)sqlite3_column_text(st, 0),
		    sizeof(mode) - 1);
	sqlite3_finalize(st);
	if (strcmp(mode, "wal") != 0)
		return MONEY_ERR_SYS;
	enum money_err err = quick_check(s->db);
	if (err != MONEY_OK)
		return err;
	return store_schema(s->db);
}

enum money_err
money_store_open(const char *path, struct money_store **out)
{
	struct money_store *s;
	struct stat sb;
	enum money_err err;
	int fd;

	*out = NULL;
	if (path == NULL)
		return MONEY_ERR_INVAL;
	/* Created here so that it is 0600 from its first byte; SQLite gives
	 * the -wal and -shm files the mode of the database. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return MONEY_ERR_SYS;
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return MONEY_ERR_SYS;
	}
	close(fd);
	pthread_mutex_lock(&reg_mu);
	for (s = reg; s != NULL; s = s->next) {
		if (s->dev == sb.st_dev && s->ino == sb.st_ino) {
			s->refs++;
			pthread_mutex_unlock(&reg_mu);
			*out = s;
			return MONEY_OK;
		}
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		pthread_mutex_unlock(&reg_mu);
		return MONEY_ERR_NOMEM;
	}
	if ((err = store_connect(s, path)) != MONEY_OK) {
		sqlite3_close(s->db);
		free(s);
		pthread_mutex_unlock(&reg_mu);
		return err;
	}
	pthread_mutex_init(&s->mu, NULL);
	s->dev = sb.st_dev;
	s->ino = sb.st_ino;
	s->refs = 1;
	s->next = reg;
	reg = s;
	pthread_mutex_unlock(&reg_mu);
	*out = s;
	return MONEY_OK;
}

void
money_store_close(struct money_store *s)
{
	struct money_store **pp;

	if (s == NULL)
		return;
	pthread_mutex_lock(&reg_mu);
	if (--s->refs > 0) {
		pthread_mutex_unlock(&reg_mu);
		return;
	}
	for (pp = &reg; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&reg_mu);
	for (unsigned i = 0; i < s->nstmt; i++)
		sqlite3_finalize(s->stmt[i].st);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

enum money_err
money_store_run(struct money_store *s, money_store_fn fn, void *arg)
{
	enum money_err err;
	int rc;

	sqlite3_stmt *st;

	pthread_mutex_lock(&s->mu);
	cur = s;
	rc = money_store_stmt(s->db, sql_begin, &st);
	if (rc == SQLITE_OK)
		rc = money_store_step(st);
	if (rc == SQLITE_OK)
		rc = fn(s->db, arg);
	if (rc == SQLITE_OK || rc == SQLITE_DONE)
		rc = money_store_stmt(s->db, sql_commit, &st);
	if (rc == SQLITE_OK)
		rc = money_store_step(st);
	err = money_store_err(rc);
	if (err != MONEY_OK) {
		/* A failed COMMIT may have rolled back already; either way
		 * nothing of (fn) counts as written. */
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	cur = NULL;
	pthread_mutex_unlock(&s->mu);
	return err;
}

int
money_store_stmt(struct sqlite3 *db, const char *sql, struct sqlite3_stmt **out)
{
	struct money_store *s = cur;
	int rc;

	*out = NULL;
	if (s == NULL || s->db != db)
		return SQLITE_MISUSE;
	for (unsigned i = 0; i < s->nstmt; i++) {
		if (s->stmt[i].sql == sql) {
			*out = s->stmt[i].st;
			return SQLITE_OK;
		}
	}
	if (s->nstmt == STORE_STMTS)
		return SQLITE_MISUSE; /* a caller passed a non-static text */
	rc = sqlite3_prepare_v3(
	    db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
	if (rc == SQLITE_OK) {
		s->stmt[s->nstmt].sql = sql;
		s->stmt[s->nstmt++].st = *out;
	}
	return rc;
}

int
money_store_step(struct sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}
