/*
 * test_money_account.c: accounts and the conservation book: charging to
 * exhaustion, transfer, close burns, overflow refusals, the invariant
 * after long random operation sequences (with deposits, withdrawals,
 * mints and expiry through a real bank), and lost-on-crash at restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "money_test.h"

static void
test_account_charge_exhausts(void **state)
{
	struct money_book b;
	struct money_account a;
	int ex;

	money_book_init(&b, NULL, 0);
	assert_int_equal(money_account_open(&b, &a, 10), MONEY_OK);
	assert_int_equal(b.minted, 10);
	assert_int_equal(money_account_charge(&b, &a, 4, &ex), MONEY_OK);
	assert_false(ex);
	assert_int_equal(a.credit, 6);
	assert_int_equal(money_account_charge(&b, &a, 6, &ex), MONEY_OK);
	assert_true(ex); /* reached zero */
	assert_int_equal(money_account_charge(&b, &a, 1, &ex), MONEY_OK);
	assert_true(ex);
	assert_int_equal(a.credit, 0); /* never below zero */
	assert_int_equal(
	    money_account_charge(&b, &a, -1, &ex), MONEY_ERR_INVAL);
	assert_int_equal(b.burned, 10);
	assert_int_equal(b.charged, 10);
	assert_true(money_book_check(&b));
	money_account_close(&b, &a);
	assert_int_equal(
	    money_account_charge(&b, &a, 1, &ex), MONEY_ERR_CLOSED);
}

static void
test_account_partial_charge(void **state)
{
	struct money_book b;
	struct money_account a;
	int ex;

	money_book_init(&b, NULL, 0);
	money_account_open(&b, &a, 5);
	assert_int_equal(money_account_charge(&b, &a, 8, &ex), MONEY_OK);
	assert_true(ex);
	assert_int_equal(b.burned, 5); /* took what was there */
	assert_true(money_book_check(&b));
}

static void
test_account_transfer_close(void **state)
{
	struct money_book b;
	struct money_account x, y;

	money_book_init(&b, NULL, 0);
	money_account_open(&b, &x, 100);
	money_account_open(&b, &y, 0);
	assert_int_equal(money_account_transfer(&b, &x, &y, 30), MONEY_OK);
	assert_int_equal(
	    money_account_transfer(&b, &x, &y, 71), MONEY_ERR_CREDIT);
	assert_int_equal(
	    money_account_transfer(&b, &x, &y, 0), MONEY_ERR_INVAL);
	assert_int_equal(x.credit, 70);
	assert_int_equal(y.credit, 30);
	assert_int_equal(b.held, 100);
	assert_int_equal(money_account_close(&b, &x), 70);
	assert_int_equal(money_account_close(&b, &x), 0);
	assert_int_equal(
	    money_account_transfer(&b, &y, &x, 1), MONEY_ERR_CLOSED);
	assert_int_equal(b.burned, 70);
	assert_int_equal(b.held, 30);
	assert_int_equal(b.open_accounts, 1);
	assert_true(money_book_check(&b));
	/* A deposit into a closed account is burned, not lost. */
	assert_int_equal(money_book_mint(&b, 5), MONEY_OK);
	assert_int_equal(money_account_deposit(&b, &x, 5), MONEY_OK);
	assert_int_equal(b.burned, 75);
	assert_true(money_book_check(&b));
}

static void
test_account_overflow_refused(void **state)
{
	struct money_book b;
	struct money_account x, y;

	money_book_init(&b, NULL, 0);
	assert_int_equal(money_account_open(&b, &x, INT64_MAX), MONEY_OK);
	assert_int_equal(money_account_open(&b, &y, 1), MONEY_ERR_OVERFLOW);
	assert_true(y.closed);
	assert_int_equal(money_book_mint(&b, 1), MONEY_ERR_OVERFLOW);
	assert_int_equal(b.minted, INT64_MAX);
	assert_true(money_book_check(&b));
	money_book_init(&b, NULL, 0);
	money_account_open(&b, &x, INT64_MAX - 1);
	assert_int_equal(money_book_mint(&b, 1), MONEY_ERR_OVERFLOW);
	money_account_open(&b, &y, 1);
	assert_int_equal(money_account_transfer(&b, &y, &x, 1), MONEY_OK);
	assert_int_equal(x.credit, INT64_MAX);
	assert_int_equal(money_account_withdraw(&b, &x, 0), MONEY_ERR_INVAL);
	assert_true(money_book_check(&b));
}

/* Mint is bounded (docs/money.md, Bounds): one mint at most
 * MONEY_AMOUNT_MAX, the minted total at most MONEY_MINT_MAX, and a book
 * minted full still opens accounts with allowances (arrivals are not
 * removed at 0 steps because an operator minted too much). */
static void
test_account_mint_bounds(void **state)
{
	struct money_book b;
	struct money_account a;

	(void)state;
	money_book_init(&b, NULL, 0);
	assert_int_equal(money_book_mint(&b, INT64_MAX), MONEY_ERR_OVERFLOW);
	assert_int_equal(
	    money_book_mint(&b, MONEY_AMOUNT_MAX + 1), MONEY_ERR_OVERFLOW);
	assert_int_equal(b.minted, 0);
	assert_int_equal(money_book_mint(&b, MONEY_AMOUNT_MAX), MONEY_OK);
	while (b.minted + MONEY_AMOUNT_MAX <= MONEY_MINT_MAX)
		assert_int_equal(
		    money_book_mint(&b, MONEY_AMOUNT_MAX), MONEY_OK);
	assert_int_equal(
	    money_book_mint(&b, MONEY_AMOUNT_MAX), MONEY_ERR_OVERFLOW);
	assert_true(b.minted <= MONEY_MINT_MAX);
	assert_int_equal(money_account_open(&b, &a, 1000000), MONEY_OK);
	assert_int_equal(a.credit, 1000000);
	assert_true(money_book_check(&b));
}

static void
test_account_conservation_random(void **state)
{
	char dir[PATH_MAX];
	struct money_bank bk;
	struct money_account acc[8];
	uint8_t toks[64][MONEY_TOKEN_LEN];
	int ntok = 0;
	uint64_t seed = 12345, now = 1700000000, ticket;

	mt_tmpdir(dir, sizeof(dir));
	assert_int_equal(money_bank_open(&bk, dir), MONEY_OK);
	for (int i = 0; i < 8; i++)
		money_account_open(&bk.book, &acc[i], 50);
	for (int step = 0; step < 3000; step++) {
		uint64_t r = mt_rand(&seed);
		struct money_account *a = &acc[r % 8];
		int64_t amt = (int64_t)(r >> 8) % 40 + 1, got;
		int ex;
		switch ((r >> 4) % 9) {
		case 0:
			money_account_charge(&bk.book, a, amt, &ex);
			break;
		case 1:
			money_account_transfer(
			    &bk.book, a, &acc[(r >> 20) % 8], amt);
			break;
		case 2:
			if (ntok < 64 &&
			    money_bank_mint(&bk, amt, now + (r >> 30) % 50,
			        toks[ntok]) == MONEY_OK)
				ntok++;
			break;
		case 3:
			if (ntok < 64 &&
			    money_bank_withdraw_stage(&bk, a, amt,
			        now + (r >> 30) % 50, toks[ntok],
			        &ticket) == MONEY_OK) {
				assert_int_equal(
				    money_bank_commit(&bk), MONEY_OK);
				ntok++;
			}
			break;
		case 4:
		case 5:
			if (ntok > 0) {
				int k = (int)((r >> 12) % (uint64_t)ntok);
				if (money_bank_deposit_stage(&bk, toks[k],
				        MONEY_TOKEN_LEN, now, &got,
				        &ticket) == MONEY_OK) {
					assert_int_equal(
					    money_bank_commit(&bk), MONEY_OK);
					money_account_deposit(&bk.book, a, got);
				}
				memmove(toks[k], toks[--ntok], MONEY_TOKEN_LEN);
			}
			break;
		case 6:
			if (a->closed)
				money_account_open(&bk.book, a, amt);
			else
				money_account_close(&bk.book, a);
			break;
		case 7:
			now += 3;
			if ((r >> 40) % 4 == 0)
				assert_int_equal(
				    money_bank_prune(&bk, now), MONEY_OK);
			break;
		default:
			/* a withdraw undone, as after a failed commit */
			if (money_account_withdraw(&bk.book, a, amt) ==
			    MONEY_OK)
				assert_int_equal(
				    money_account_deposit(&bk.book, a, amt),
				    MONEY_OK);
			break;
		}
		if (!money_book_check(&bk.book))
			fail_msg("conservation broken at step %d", step);
	}
	/* Restart with open accounts: their credit is lost on crash. */
	{
		int64_t held = bk.book.held;
		struct money_totals t;
		money_bank_commit(&bk);
		money_ledger_close(bk.ledger);
		money_ident_free(bk.ident);
		assert_int_equal(money_bank_open(&bk, dir), MONEY_OK);
		money_ledger_totals(bk.ledger, &t);
		assert_int_equal(bk.lost_at_open, held);
		assert_int_equal(bk.book.held, 0);
		assert_true(money_book_check(&bk.book));
	}
	money_bank_close(&bk);
	mt_rmdir(dir);
}

static void
test_account_book_init_inconsistent(void **state)
{
	struct money_book b;
	struct money_totals t = {.minted = 10, .burned = 5, .lost = 0};

	assert_int_equal(money_book_init(&b, &t, 6), MONEY_ERR_CORRUPT);
	assert_int_equal(money_book_init(&b, &t, 5), MONEY_OK);
	assert_int_equal(b.lost, 0);
	assert_int_equal(money_book_init(&b, &t, 2), MONEY_OK);
	assert_int_equal(b.lost, 3);
	assert_true(money_book_check(&b));
	t.burned = -1;
	assert_int_equal(money_book_init(&b, &t, 0), MONEY_ERR_OVERFLOW);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_account_charge_exhausts),
	    cmocka_unit_test(test_account_partial_charge),
	    cmocka_unit_test(test_account_transfer_close),
	    cmocka_unit_test(test_account_overflow_refused),
	    cmocka_unit_test(test_account_mint_bounds),
	    cmocka_unit_test(test_account_conservation_random),
	    cmocka_unit_test(test_account_book_init_inconsistent),
	};
	assert_int_equal(money_init(), MONEY_OK);
	return cmocka_run_group_tests_name("money_account", tests, NULL, NULL);
}
