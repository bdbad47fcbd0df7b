/*
 * test_money_fault.c: fault injection at every write and sync boundary.
 * A fixed script of mints, deposits (grouped), withdrawals, a prune and a
 * close runs with the N-th durable I/O call failing (EIO) or "crashing"
 * (a write leaves half its bytes, nothing more happens), for every N the
 * script reaches. After each, the state directory is reopened with faults
 * off, and: the ledger opens (a crash is never corruption), every
 * acknowledged deposit is spent, every acknowledged token is redeemable
 * exactly once unless its deposit was acknowledged, and the book balances.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "money_int.h"
#include "money_test.h"

#define NTOK 8

struct script {
	uint8_t tok[NTOK][MONEY_TOKEN_LEN];
	int issued[NTOK];    /* acknowledged issue (mint or withdraw) */
	int deposited[NTOK]; /* acknowledged deposit */
	int attempted[NTOK]; /* deposit staged (maybe durable, unacked) */
	int ntok;
	uint64_t now;
};

/* Stage the deposit of token (i); 0 on refusal or error. */
static int
stage_dep(struct money_bank *b, struct script *s, int i, int64_t *amt)
{
	uint64_t ticket;

	if (money_bank_deposit_stage(b, s->tok[i], MONEY_TOKEN_LEN, s->now,
	        amt, &ticket) != MONEY_OK)
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
	if (money_bank_withdraw_stage(&b, &a, 15, s->now + 1000, s->tok[4],
	        &ticket) != MONEY_OK)
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
			assert_true(money_ledger_lookup(b.ledger, t.serial,
			    &info));
			assert_true(info.spent);
		}
		e = money_bank_deposit_stage(&b, s->tok[i], MONEY_TOKEN_LEN,
		    s->now, &amt, &ticket);
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
			assert_int_equal(money_bank_deposit_stage(&b,
			                     s->tok[i], MONEY_TOKEN_LEN, s->now,
			                     &amt, &ticket),
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
fault_sweep(enum money__fail_mode mode)
{
	struct script s;
	char dir[PATH_MAX];
	long total, n;

	/* Count the durable I/O calls of a clean run. */
	mt_tmpdir(dir, sizeof(dir));
	money__fail_at = 0;
	money__io_calls = 0;
	assert_true(run_script(dir, &s));
	total = money__io_calls;
	check_after(dir, &s);
	mt_rmdir(dir);
	assert_true(total > 20);

	for (n = 1; n <= total; n++) {
		mt_tmpdir(dir, sizeof(dir));
		money__fail_mode = mode;
		money__fail_at = n;
		money__crashed = 0;
		/* The last calls belong to the final commit in close: the
		 * script itself then completes. */
		if (run_script(dir, &s))
			assert_true(n > total - 2);
		assert_int_equal(money__fail_at, 0); /* it did fire */
		money__fail_at = 0;
		money__crashed = 0;
		check_after(dir, &s);
		mt_rmdir(dir);
	}
	/* One past the end: nothing fails. */
	mt_tmpdir(dir, sizeof(dir));
	money__fail_at = total + 1;
	money__io_calls = 0;
	if (!run_script(dir, &s))
		fail_msg("calls %ld of %ld", money__io_calls, total);
	money__fail_at = 0;
	mt_rmdir(dir);
}

static void
test_fault_error_every_boundary(void **state)
{
	fault_sweep(MONEY__FAIL_ERROR);
}

static void
test_fault_crash_every_boundary(void **state)
{
	fault_sweep(MONEY__FAIL_CRASH);
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
	money__fail_mode = MONEY__FAIL_ERROR;
	money__fail_at = 2; /* the fdatasync of the next commit */
	assert_int_equal(money_bank_deposit_stage(&b, tok, sizeof(tok),
	                     1700000000, &amt, &ticket),
	    MONEY_OK);
	assert_int_equal(money_bank_commit(&b), MONEY_ERR_SYS);
	assert_true(money_ledger_durable(b.ledger) < ticket);
	assert_int_equal(money_bank_commit(&b), MONEY_ERR_BROKEN);
	assert_int_equal(money_bank_mint(&b, 5, 4000000000u, tok),
	    MONEY_ERR_BROKEN);
	assert_true(money_book_check(&b.book));
	money_bank_close(&b);
	mt_rmdir(dir);
}

/* A crash tears a batch; the recovery at the next open (zeroing the torn
 * tail, then fsync) fails or crashes too; a third start must still find
 * the acknowledged state. */
static void
test_fault_during_recovery(void **state)
{
	char dir[PATH_MAX];
	struct money_bank b;
	struct money_ledger_stats ls;
	uint8_t tok[2][MONEY_TOKEN_LEN];
	int64_t amt;
	uint64_t ticket;

	for (int step = 1; step <= 2; step++) {
		for (int mode = 0; mode < 2; mode++) {
			mt_tmpdir(dir, sizeof(dir));
			assert_int_equal(money_bank_open(&b, dir), MONEY_OK);
			assert_int_equal(money_bank_mint(&b, 5, 4000000000u,
			                     tok[0]),
			    MONEY_OK);
			assert_int_equal(money_bank_mint(&b, 6, 4000000000u,
			                     tok[1]),
			    MONEY_OK);
			assert_int_equal(money_bank_deposit_stage(&b, tok[0],
			                     MONEY_TOKEN_LEN, 1700000000, &amt,
			                     &ticket),
			    MONEY_OK);
			assert_int_equal(money_bank_commit(&b), MONEY_OK);
			/* tear the next batch: half of its write */
			money__fail_mode = MONEY__FAIL_CRASH;
			money__fail_at = 1;
			assert_int_equal(money_bank_deposit_stage(&b, tok[1],
			                     MONEY_TOKEN_LEN, 1700000000, &amt,
			                     &ticket),
			    MONEY_OK);
			assert_int_equal(money_bank_commit(&b), MONEY_ERR_CRASH);
			money_bank_close(&b);
			money__crashed = 0;
			/* recovery fails at its zero-fill (1) or fsync (2) */
			money__fail_mode = mode ? MONEY__FAIL_CRASH :
			                          MONEY__FAIL_ERROR;
			money__fail_at = step;
			assert_int_not_equal(money_bank_open(&b, dir), MONEY_OK);
			assert_int_equal(money__fail_at, 0);
			money__crashed = 0;
			assert_int_equal(money_bank_open(&b, dir), MONEY_OK);
			money_ledger_stats(b.ledger, &ls);
			/* zeros left by a completed zero-fill are not torn */
			assert_true(ls.truncated > 0 || mode == 1 || step == 2);
			assert_int_equal(money_bank_deposit_stage(&b, tok[0],
			                     MONEY_TOKEN_LEN, 1700000000, &amt,
			                     &ticket),
			    MONEY_ERR_SPENT);
			assert_int_equal(money_bank_deposit_stage(&b, tok[1],
			                     MONEY_TOKEN_LEN, 1700000000, &amt,
			                     &ticket),
			    MONEY_OK);
			assert_int_equal(money_bank_commit(&b), MONEY_OK);
			assert_true(money_book_check(&b.book));
			money_bank_close(&b);
			mt_rmdir(dir);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_error_every_boundary),
		cmocka_unit_test(test_fault_crash_every_boundary),
		cmocka_unit_test(test_fault_broken_until_reopen),
		cmocka_unit_test(test_fault_during_recovery),
	};
	assert_int_equal(money_init(), MONEY_OK);
	return cmocka_run_group_tests_name("money_fault", tests, NULL, NULL);
}
