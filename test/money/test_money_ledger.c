/*
 * test_money_ledger.c: the serial ledger alone: reload from the store,
 * group commit, refusals, the store's mode and pragmas, what an operator
 * reads with SQL, refusal of foreign or contradicting databases, and
 * pruning.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "money_test.h"
#include "sql_test.h"

struct fx {
	char dir[PATH_MAX];
	char path[PATH_MAX + 16];
	struct money_ledger *l;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(money_init(), MONEY_OK);
	mt_tmpdir(f->dir, sizeof(f->dir));
	mt_path(f->path, sizeof(f->path), f->dir, MONEY_STORE_FILE);
	assert_int_equal(money_ledger_open(f->path, &f->l), MONEY_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	money_ledger_close(f->l);
	mt_rmdir(f->dir);
	free(f);
	return 0;
}

static void
serial_of(uint8_t s[MONEY_SERIAL_LEN], uint64_t i)
{
	/* Spread over the table like random serials would be. */
	uint64_t x = i * 0x9e3779b97f4a7c15ull + 1;
	for (int k = 0; k < MONEY_SERIAL_LEN; k++) {
		s[k] = (uint8_t)(x >> (8 * (k % 8)));
		if (k == 7)
			x = x * 31 + i;
	}
}

static void
reopen(struct fx *f)
{
	money_ledger_close(f->l);
	assert_int_equal(money_ledger_open(f->path, &f->l), MONEY_OK);
}

static int
pragmas_cb(sqlite3 *db, void *arg)
{
	int64_t *v = arg;
	sqlite3_stmt *st;

	sqlite3_prepare_v2(db,
	    "SELECT (SELECT synchronous FROM"
	    " pragma_synchronous), (SELECT journal_mode = 'wal' FROM"
	    " pragma_journal_mode)",
	    -1, &st, NULL);
	if (sqlite3_step(st) == SQLITE_ROW) {
		v[0] = sqlite3_column_int64(st, 0);
		v[1] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return SQLITE_OK;
}

static void
test_ledger_create_mode(void **state)
{
	struct fx *f = *state;
	struct stat st;
	struct money_ledger_stats ls;
	int64_t v[2] = {-1, -1};
	char p[PATH_MAX + 32];

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* the WAL takes the mode of the database */
	snprintf(p, sizeof(p), "%s-wal", f->path);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	money_ledger_stats(f->l, &ls);
	assert_int_equal(ls.records, 0);
	assert_int_equal(ls.serials, 0);
	/* synchronous = FULL (2) and WAL on the store's connection */
	assert_int_equal(
	    money_store_run(money_ledger_store(f->l), pragmas_cb, v), MONEY_OK);
	assert_int_equal(v[0], 2);
	assert_int_equal(v[1], 1);
	assert_int_equal(
	    sql_int(f->path, "PRAGMA user_version"), MONEY_STORE_SCHEMA);
}

static void
test_ledger_replay(void **state)
{
	struct fx *f = *state;
	uint8_t s[MONEY_SERIAL_LEN];
	struct money_serial_info info;
	struct money_totals t = {.minted = 60, .burned = 1, .lost = 2};
	uint64_t ticket;

	for (uint64_t i = 0; i < 3; i++) {
		serial_of(s, i);
		assert_int_equal(
		    money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT,
		        10 * (int64_t)(i + 1), 1000 + i, &ticket),
		    MONEY_OK);
	}
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	serial_of(s, 1);
	assert_int_equal(money_ledger_stage_spend(f->l, s, &ticket), MONEY_OK);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	reopen(f);
	for (uint64_t i = 0; i < 3; i++) {
		serial_of(s, i);
		assert_true(money_ledger_lookup(f->l, s, &info));
		assert_true(info.issued);
		assert_int_equal(info.spent, i == 1);
		assert_int_equal(info.amount, 10 * (int64_t)(i + 1));
		assert_int_equal(info.expiry, 1000 + i);
	}
	serial_of(s, 99);
	assert_false(money_ledger_lookup(f->l, s, &info));
	money_ledger_totals(f->l, &t);
	assert_int_equal(t.minted, 60);
	assert_int_equal(t.burned, 1);
	assert_int_equal(t.lost, 2);
	{
		struct money_ledger_stats ls;
		money_ledger_stats(f->l, &ls);
		assert_int_equal(ls.outstanding, 40);
		assert_int_equal(ls.records, 3);
	}
}

static void
test_ledger_group_commit(void **state)
{
	struct fx *f = *state;
	uint8_t s[MONEY_SERIAL_LEN];
	struct money_totals t = {0};
	struct money_ledger_stats a, b;
	uint64_t ticket, first = 0;

	for (uint64_t i = 0; i < 500; i++) {
		serial_of(s, i);
		assert_int_equal(money_ledger_stage_issue(f->l, s,
		                     MONEY_ISSUE_MINT, 1, 1000, &ticket),
		    MONEY_OK);
	}
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	money_ledger_stats(f->l, &a);
	for (uint64_t i = 0; i < 500; i++) {
		serial_of(s, i);
		assert_int_equal(
		    money_ledger_stage_spend(f->l, s, &ticket), MONEY_OK);
		if (i == 0)
			first = ticket;
		assert_int_equal(ticket, first); /* all in one batch */
	}
	assert_true(money_ledger_durable(f->l) < first);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	assert_int_equal(money_ledger_durable(f->l), first);
	money_ledger_stats(f->l, &b);
	assert_int_equal(b.commits, a.commits + 1);
	assert_int_equal(b.records, a.records); /* spends change rows */
	assert_int_equal(b.outstanding, 0);
}

static void
test_ledger_refusals(void **state)
{
	struct fx *f = *state;
	uint8_t s[MONEY_SERIAL_LEN];
	struct money_totals t = {0};
	uint64_t ticket;

	serial_of(s, 1);
	assert_int_equal(
	    money_ledger_stage_spend(f->l, s, &ticket), MONEY_ERR_FORGED);
	assert_int_equal(
	    money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT, 5, 9, &ticket),
	    MONEY_OK);
	/* Staged issue is not yet issued. */
	assert_int_equal(
	    money_ledger_stage_spend(f->l, s, &ticket), MONEY_ERR_FORGED);
	assert_int_equal(
	    money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT, 5, 9, &ticket),
	    MONEY_ERR_DUP);
	assert_int_equal(
	    money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT, 0, 9, &ticket),
	    MONEY_ERR_INVAL);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	assert_int_equal(money_ledger_stage_spend(f->l, s, &ticket), MONEY_OK);
	assert_int_equal(
	    money_ledger_stage_spend(f->l, s, &ticket), MONEY_ERR_SPENT);
	assert_int_equal(money_ledger_compact(f->l, 0, &t), MONEY_ERR_BUSY);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	reopen(f);
	assert_int_equal(
	    money_ledger_stage_spend(f->l, s, &ticket), MONEY_ERR_SPENT);
}

/* What docs/money.md tells operators to run reads the ledger as the
 * ledger knows it. */
static void
test_ledger_operator_queries(void **state)
{
	struct fx *f = *state;
	uint8_t s[MONEY_SERIAL_LEN];
	struct money_totals t = {.minted = 21, .burned = 4, .lost = 1};
	uint64_t ticket;

	for (uint64_t i = 0; i < 6; i++) {
		serial_of(s, i);
		assert_int_equal(
		    money_ledger_stage_issue(f->l, s,
		        i < 4 ? MONEY_ISSUE_MINT : MONEY_ISSUE_WITHDRAW,
		        (int64_t)i + 1, 5000 + i, &ticket),
		    MONEY_OK);
	}
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	serial_of(s, 2);
	assert_int_equal(money_ledger_stage_spend(f->l, s, &ticket), MONEY_OK);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	/* outstanding: unspent amounts, 21 - 3 */
	assert_int_equal(sql_int(f->path,
	                     "SELECT sum(amount) FROM money_ledger"
	                     " WHERE NOT spent"),
	    18);
	assert_int_equal(
	    sql_int(f->path, "SELECT count(*) FROM money_spent"), 1);
	assert_int_equal(sql_int(f->path,
	                     "SELECT count(*) FROM money_serial"
	                     " WHERE kind = 2"),
	    2);
	assert_int_equal(sql_int(f->path,
	                     "SELECT minted - burned - lost"
	                     " FROM money_book"),
	    16);
	assert_int_equal(sql_int(f->path, "SELECT batch FROM money_book"),
	    (int64_t)money_ledger_durable(f->l));
	serial_of(s, 2);
	{
		char q[200], hex[2 * MONEY_SERIAL_LEN + 1];
		for (int k = 0; k < MONEY_SERIAL_LEN; k++)
			snprintf(hex + 2 * k, 3, "%02X", s[k]);
		snprintf(q, sizeof(q),
		    "SELECT spent FROM money_ledger WHERE hex(serial) = '%s'",
		    hex);
		assert_int_equal(sql_int(f->path, q), 1);
	}
}

/* Another program's database, another schema version and a file that is
 * no database are refused at open; nothing is written to them. */
static void
test_ledger_foreign_database_refused(void **state)
{
	struct fx *f = *state;
	struct money_ledger *l;
	char p[PATH_MAX + 32];
	int fd;

	money_ledger_close(f->l);
	f->l = NULL;
	sql_exec(f->path, "PRAGMA user_version = 2");
	assert_int_equal(money_ledger_open(f->path, &l), MONEY_ERR_SCHEMA);
	assert_null(l);
	sql_exec(f->path, "PRAGMA user_version = 1");
	assert_int_equal(money_ledger_open(f->path, &f->l), MONEY_OK);

	snprintf(p, sizeof(p), "%s/other.db", f->dir);
	sql_exec(p, "CREATE TABLE x(y)");
	assert_int_equal(money_ledger_open(p, &l), MONEY_ERR_SCHEMA);
	assert_int_equal(sql_int(p, "SELECT count(*) FROM sqlite_schema"), 1);

	snprintf(p, sizeof(p), "%s/junk.db", f->dir);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd,
	                     "not a database, not at all, no sir, not"
	                     " a single page of it; just text.\n",
	                     70),
	    70);
	close(fd);
	assert_int_equal(money_ledger_open(p, &l), MONEY_ERR_CORRUPT);
	assert_null(l);
}

/* Rows that contradict the ledger's rules are corruption at open: a
 * serial issued twice, spent twice, spent without an issue, or of the
 * wrong length. */
static void
test_ledger_contradiction_detected(void **state)
{
	static const char *const bad[] = {
	    "INSERT INTO money_serial(serial, kind, amount, expiry)"
	    " SELECT serial, kind, amount, expiry FROM money_serial",
	    "INSERT INTO money_spent(serial) SELECT serial FROM money_spent",
	    "INSERT INTO money_spent(serial) VALUES (zeroblob(16))",
	    "INSERT INTO money_serial(serial, kind, amount, expiry)"
	    " VALUES (x'0102', 1, 3, 9)",
	};
	struct fx *f = *state;
	uint8_t s[MONEY_SERIAL_LEN];
	struct money_totals t = {0};
	struct money_ledger *l;
	uint64_t ticket;

	serial_of(s, 1);
	money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT, 5, 99, &ticket);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	assert_int_equal(money_ledger_stage_spend(f->l, s, &ticket), MONEY_OK);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	money_ledger_close(f->l);
	f->l = NULL;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sql_exec(f->path, bad[i]);
		assert_int_equal(
		    money_ledger_open(f->path, &l), MONEY_ERR_CORRUPT);
		assert_null(l);
		/* undo it: the last row of each table */
		sql_exec(f->path,
		    i == 0 || i == 3 ? "DELETE FROM money_serial WHERE id ="
		                       " (SELECT max(id) FROM money_serial)"
		                     : "DELETE FROM money_spent WHERE id ="
		                       " (SELECT max(id) FROM money_spent)");
		assert_int_equal(money_ledger_open(f->path, &l), MONEY_OK);
		money_ledger_close(l);
	}
}

static void
test_ledger_compaction_prunes(void **state)
{
	struct fx *f = *state;
	uint8_t s[MONEY_SERIAL_LEN];
	struct money_serial_info info;
	struct money_totals t = {.minted = 3000, .burned = 0};
	struct money_ledger_stats ls;
	uint64_t ticket;

	/* 1000 serials: even ones expire at 100, odd ones at 10000; every
	 * third is spent. */
	for (uint64_t i = 0; i < 1000; i++) {
		serial_of(s, i);
		money_ledger_stage_issue(
		    f->l, s, MONEY_ISSUE_MINT, 3, i % 2 ? 10000 : 100, &ticket);
	}
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	for (uint64_t i = 0; i < 1000; i += 3) {
		serial_of(s, i);
		assert_int_equal(
		    money_ledger_stage_spend(f->l, s, &ticket), MONEY_OK);
	}
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	/* expired unspent: even i not divisible by 3 → 333 of them */
	assert_int_equal(money_ledger_expired(f->l, 100), 3 * 333);
	t.burned = 3 * 333;
	assert_int_equal(money_ledger_compact(f->l, 100, &t), MONEY_OK);
	money_ledger_stats(f->l, &ls);
	assert_int_equal(ls.serials, 500);
	assert_int_equal(ls.records, 500);
	/* pruning is a DELETE: the rows are gone from the table */
	assert_int_equal(
	    sql_int(f->path, "SELECT count(*) FROM money_serial"), 500);
	assert_int_equal(sql_int(f->path,
	                     "SELECT count(*) FROM money_serial"
	                     " WHERE expiry <= 100"),
	    0);
	reopen(f);
	money_ledger_stats(f->l, &ls);
	assert_int_equal(ls.serials, 500);
	assert_int_equal(ls.outstanding, 3 * (500 - 167));
	for (uint64_t i = 0; i < 1000; i++) {
		serial_of(s, i);
		int known = money_ledger_lookup(f->l, s, &info);
		assert_int_equal(known, i % 2);
		if (known)
			assert_int_equal(info.spent, i % 3 == 0);
	}
	money_ledger_totals(f->l, &t);
	assert_int_equal(t.burned, 999);
	/* Still appendable after compaction. */
	serial_of(s, 5000);
	money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT, 3, 10000, &ticket);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	reopen(f);
	assert_true(money_ledger_lookup(f->l, s, &info));
}

/* Eight threads race to spend the same 300 serials, committing as they
 * go: each serial is accepted exactly once. */
#define RACE_THREADS 8
#define RACE_SERIALS 300

struct race {
	struct money_ledger *l;
	int won[RACE_SERIALS];
	uint64_t seed;
};

static void *
racer(void *p)
{
	struct race *r = p;
	struct money_totals t = {0};
	uint8_t s[MONEY_SERIAL_LEN];
	uint64_t ticket;

	for (uint64_t i = 0; i < RACE_SERIALS; i++) {
		serial_of(s, i);
		if (money_ledger_stage_spend(r->l, s, &ticket) == MONEY_OK)
			r->won[i]++;
		if (mt_rand(&r->seed) % 8 == 0 &&
		    money_ledger_commit(r->l, &t) != MONEY_OK)
			return p; /* reported through won[] sums */
	}
	return NULL;
}

static void
test_ledger_concurrent_double_spend(void **state)
{
	struct fx *f = *state;
	struct race r[RACE_THREADS];
	pthread_t th[RACE_THREADS];
	struct money_totals t = {0};
	uint8_t s[MONEY_SERIAL_LEN];
	uint64_t ticket;

	for (uint64_t i = 0; i < RACE_SERIALS; i++) {
		serial_of(s, i);
		money_ledger_stage_issue(
		    f->l, s, MONEY_ISSUE_MINT, 1, 1000, &ticket);
	}
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	for (int k = 0; k < RACE_THREADS; k++) {
		memset(&r[k], 0, sizeof(r[k]));
		r[k].l = f->l;
		r[k].seed = (uint64_t)k + 1;
		assert_int_equal(pthread_create(&th[k], NULL, racer, &r[k]), 0);
	}
	for (int k = 0; k < RACE_THREADS; k++) {
		void *ret;
		pthread_join(th[k], &ret);
		assert_null(ret);
	}
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	for (int i = 0; i < RACE_SERIALS; i++) {
		int sum = 0;
		for (int k = 0; k < RACE_THREADS; k++)
			sum += r[k].won[i];
		assert_int_equal(sum, 1);
	}
	reopen(f);
	{
		struct money_ledger_stats ls;
		money_ledger_stats(f->l, &ls);
		assert_int_equal(ls.outstanding, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_ledger_create_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ledger_replay, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ledger_group_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ledger_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ledger_operator_queries, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ledger_foreign_database_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ledger_contradiction_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ledger_compaction_prunes, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ledger_concurrent_double_spend, setup, teardown),
	};
	return cmocka_run_group_tests_name("money_ledger", tests, NULL, NULL);
}
