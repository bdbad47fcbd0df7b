/*
 * test_money_fault.c: fault injection at every write and sync boundary of
 * the state database, through the VFS of vfs_fault.h. A fixed script of
 * mints, deposits (grouped), withdrawals, a prune and a close runs with
 * the N-th write, sync or truncate failing (EIO), or crashing (every
 * write not yet synced is undone on disk; or, torn, half of them and half
 * of the crashing write survive), for every N the script reaches. After
 * each, the state directory is reopened with faults off, and: the ledger
 * opens (a crash is never corruption), every acknowledged deposit is
 * spent, every acknowledged token is redeemable exactly once unless its
 * deposit was acknowledged, and the book balances. An acknowledgement
 * given before its sync would be undone by some crash point and fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "money_int.h"
#include "money_test.h"
#include "sql_test.h"
#include "vfs_fault.h"

#define NTOK 8

struct script {
	uint8_t tok[NTOK][MONEY_TOKEN_LEN];
	int issued[NTOK];    /* acknowledged issue (mint or withdraw) */
	int deposited[NTOK]; /* acknowledged deposit */
	int attempted[NTOK]; /* deposit staged (maybe durable, unacked) */
	int ntok;
	uint64_t now;
};

/* Boundaries of a clean run up to the end of the script, before the
 * close (whose final commit and checkpoint come after). */
static long script_end;

/* Stage the deposit of token (i); 0 on refusal or error. */
static int
stage_dep(struct money_bank *b, struct script *s, int i, int64_t *amt)
{
	uint64_t ticket;

	if (money_bank_deposit_stage(b, s->tok[i], MONEY_TOKEN_LEN, s->now, amt,
	        &ticket) != MONEY_OK)
		return 0;
	s->attempted[i] = 1;
	return 1;
}

/* Runs the script in (dir) until the first failure. Returns 1 if it ran
 * to the end. */
static int
run_script(const char *dir, struct script *s)
{
	struct money_bank b;
	struct money_account a;
	int64_t amt[3];
	uint64_t ticket;
	int ok = 0;

	memset(s, 0, sizeof(*s));
	s->now = 1700000000;
	if (money_bank_open(&b, dir) != MONEY_OK)
		return 0;
	money_account_open(&b.book, &a, 0);
	/* four mints, one short-lived */
	for (int i = 0; i < 4; i++) {
		uint64_t exp = s->now + (i == 3 ? 5 : 1000);
		if (money_bank_mint(&b, 10 + i, exp, s->tok[i]) != MONEY_OK)
			goto out;
		s->issued[i] = 1;
		s->ntok = i + 1;
	}
	/* two deposits share one commit */
	if (!stage_dep(&b, s, 0, &amt[0]) || !stage_dep(&b, s, 1, &amt[1]))
		goto out;
	if (money_bank_commit(&b) != MONEY_OK)
		goto out;
	s->deposited[0] = s->deposited[1] = 1;
	money_account_deposit(&b.book, &a, amt[0]);
	money_account_deposit(&b.book, &a, amt[1]);
	/* withdraw 15 as a fresh token */
	if (money_bank_withdraw_stage(
	        &b, &a, 15, s->now + 1000, s->tok[4], &ticket) != MONEY_OK)
		goto out;
	s->ntok = 5;
	if (money_bank_commit(&b) != MONEY_OK) {
		money_account_deposit(&b.book, &a, 15);
		goto out;
	}
	s->issued[4] = 1;
	/* prune the short-lived token */
	s->now += 10;
	if (money_bank_prune(&b, s->now) != MONEY_OK)
		goto out;
	/* deposit token 2 and the withdrawn one together */
	if (!stage_dep(&b, s, 2, &amt[0]) || !stage_dep(&b, s, 4, &amt[1]))
		goto out;
	if (money_bank_commit(&b) != MONEY_OK)
		goto out;
	s->deposited[2] = s->deposited[4] = 1;
	money_account_deposit(&b.book, &a, amt[0]);
	money_account_deposit(&b.book, &a, amt[1]);
	assert_true(money_book_check(&b.book));
	money_account_close(&b.book, &a);
	ok = 1;
	script_end = vf_count();
out:
	/* A crashed process closes nothing cleanly: the ledger is broken,
	 * so money_bank_close() writes nothing. */
	money_bank_close(&b);
	return ok;
}

static void
check_after(const char *dir, const struct script *s)
{
	struct money_bank b;
	struct money_serial_info info;
	struct money_token t;
	int64_t amt;
	uint64_t ticket;

	assert_int_equal(money_bank_open(&b, dir), MONEY_OK);
	assert_true(money_book_check(&b.book));
	for (int i = 0; i < s->ntok; i++) {
		enum money_err e;
		money_token_decode(s->tok[i], MONEY_TOKEN_LEN, &t);
		if (s->deposited[i]) {
			assert_true(
			    money_ledger_lookup(b.ledger, t.serial, &info));
			assert_true(info.spent);
		}
		e = money_bank_deposit_stage(
		    &b, s->tok[i], MONEY_TOKEN_LEN, s->now, &amt, &ticket);
		if (s->deposited[i]) {
			if (e != MONEY_ERR_SPENT)
				fail_msg("token %d deposited twice: %s", i,
				    money_strerror(e));
		} else if (s->issued[i] && t.expiry <= s->now) {
			assert_int_equal(e, MONEY_ERR_EXPIRED);
		} else if (e == MONEY_ERR_SPENT) {
			/* A deposit that was staged, became durable and
			 * was never acknowledged: allowed, the credit is
			 * lost with the process, not doubled. */
			assert_true(s->attempted[i]);
		} else if (s->issued[i] || e == MONEY_OK) {
			/* Acknowledged (or durable though never
			 * acknowledged) and not deposited: exactly once. */
			if (e != MONEY_OK)
				fail_msg("token %d: %s", i, money_strerror(e));
			assert_int_equal(
			    money_bank_deposit_stage(&b, s->tok[i],
			        MONEY_TOKEN_LEN, s->now, &amt, &ticket),
			    MONEY_ERR_SPENT);
		} else {
			/* Never acknowledged and not durable. */
			assert_int_equal(e, MONEY_ERR_FORGED);
		}
	}
	assert_int_equal(money_bank_commit(&b), MONEY_OK);
	money_bank_close(&b);
}

static void
fault_sweep(enum vf_mode mode)
{
	struct script s;
	char dir[PATH_MAX];
	long total, end, n;

	/* Count the boundaries of a clean run. */
	mt_tmpdir(dir, sizeof(dir));
	vf_restart();
	vf_count_reset();
	assert_true(run_script(dir, &s));
	end = script_end;
	total = vf_count();
	check_after(dir, &s);
	mt_rmdir(dir);
	assert_true(end > 20);
	assert_true(total >= end);
	print_message("%ld boundaries (%ld before the close)\n", total, end);

	for (n = 1; n <= total; n++) {
		mt_tmpdir(dir, sizeof(dir));
		vf_count_reset();
		vf_arm(n, mode);
		/* Only a fault in the close lets the script complete. */
		if (run_script(dir, &s))
			assert_true(n > end);
		assert_true(vf_fired());
		vf_restart();
		check_after(dir, &s);
		mt_rmdir(dir);
	}
	/* One past the end: nothing fails. */
	mt_tmpdir(dir, sizeof(dir));
	vf_count_reset();
	vf_arm(total + 1, mode);
	if (!run_script(dir, &s))
		fail_msg("boundaries %ld of %ld", vf_count(), total);
	assert_false(vf_fired());
	vf_restart();
	mt_rmdir(dir);
}

static void
test_fault_error_every_boundary(void **state)
{
	fault_sweep(VF_ERROR);
}

static void
test_fault_crash_every_boundary(void **state)
{
	fault_sweep(VF_CRASH);
}

static void
test_fault_torn_every_boundary(void **state)
{
	fault_sweep(VF_TORN);
}

static void
test_fault_broken_until_reopen(void **state)
{
	char dir[PATH_MAX];
	struct money_bank b;
	uint8_t tok[MONEY_TOKEN_LEN];
	int64_t amt;
	uint64_t ticket;

	mt_tmpdir(dir, sizeof(dir));
	assert_int_equal(money_bank_open(&b, dir), MONEY_OK);
	assert_int_equal(money_bank_mint(&b, 5, 4000000000u, tok), MONEY_OK);
	assert_int_equal(money_bank_deposit_stage(
	                     &b, tok, sizeof(tok), 1700000000, &amt, &ticket),
	    MONEY_OK);
	vf_arm(1, VF_ERROR); /* the first write of the commit */
	assert_int_equal(money_bank_commit(&b), MONEY_ERR_SYS);
	assert_true(vf_fired());
	assert_true(money_ledger_durable(b.ledger) < ticket);
	assert_int_equal(money_bank_commit(&b), MONEY_ERR_BROKEN);
	assert_int_equal(
	    money_bank_mint(&b, 5, 4000000000u, tok), MONEY_ERR_BROKEN);
	assert_true(money_book_check(&b.book));
	money_bank_close(&b);
	vf_restart();
	/* reopened, the deposit that failed was never made */
	assert_int_equal(money_bank_open(&b, dir), MONEY_OK);
	assert_int_equal(money_bank_deposit_stage(
	                     &b, tok, sizeof(tok), 1700000000, &amt, &ticket),
	    MONEY_OK);
	assert_int_equal(money_bank_commit(&b), MONEY_OK);
	money_bank_close(&b);
	mt_rmdir(dir);
}

/* The shim itself: a commit acknowledged before its sync (synchronous =
 * OFF) is undone by a crash at the next boundary, while one committed
 * with synchronous = FULL survives. This is what makes the sweeps above
 * catch an acknowledgement given too early. */
static void
test_fault_shim_discards_unsynced(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];

	for (int sync_full = 0; sync_full < 2; sync_full++) {
		sqlite3 *db;
		mt_tmpdir(dir, sizeof(dir));
		mt_path(path, sizeof(path), dir, "t.db");
		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db,
		                     "PRAGMA journal_mode = WAL;"
		                     "PRAGMA synchronous = FULL;"
		                     "CREATE TABLE t(x);",
		                     NULL, NULL, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_exec(db,
		                     sync_full ? "PRAGMA synchronous = FULL"
		                               : "PRAGMA synchronous = OFF",
		                     NULL, NULL, NULL),
		    SQLITE_OK);
		/* "acknowledged": the commit returned */
		assert_int_equal(sqlite3_exec(db, "INSERT INTO t VALUES (1)",
		                     NULL, NULL, NULL),
		    SQLITE_OK);
		vf_arm(1, VF_CRASH);
		sqlite3_exec(db, "INSERT INTO t VALUES (2)", NULL, NULL, NULL);
		assert_true(vf_fired() && vf_crashed());
		sqlite3_close(db);
		vf_restart();
		assert_int_equal(
		    sql_int(path, "SELECT count(*) FROM t"), sync_full ? 1 : 0);
		mt_rmdir(dir);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fault_error_every_boundary),
	    cmocka_unit_test(test_fault_crash_every_boundary),
	    cmocka_unit_test(test_fault_torn_every_boundary),
	    cmocka_unit_test(test_fault_broken_until_reopen),
	    cmocka_unit_test(test_fault_shim_discards_unsynced),
	};
	assert_int_equal(money_init(), MONEY_OK);
	assert_int_equal(vf_install(), 0);
	return cmocka_run_group_tests_name("money_fault", tests, NULL, NULL);
}
