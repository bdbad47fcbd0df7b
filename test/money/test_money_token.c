/*
 * test_money_token.c: minting, verification, encoding, and every refusal
 * of redemption: malformed, forged, altered (each field), foreign,
 * expired, already spent (same batch, across batches, across reopen),
 * and withdraw issuing fresh serials.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "money_test.h"

struct fx {
	char dir[PATH_MAX];
	struct money_bank bank;
	uint64_t now;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(money_init(), MONEY_OK);
	mt_tmpdir(f->dir, sizeof(f->dir));
	assert_int_equal(money_bank_open(&f->bank, f->dir), MONEY_OK);
	f->now = mt_now();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	money_bank_close(&f->bank);
	mt_rmdir(f->dir);
	free(f);
	return 0;
}

/* Deposits (tok) and commits; returns the refusal or MONEY_OK. */
static enum money_err
deposit(struct fx *f, const uint8_t *tok, size_t len, int64_t *amount)
{
	uint64_t ticket;
	enum money_err err;

	err = money_bank_deposit_stage(
	    &f->bank, tok, len, f->now, amount, &ticket);
	if (err != MONEY_OK)
		return err;
	assert_int_equal(money_bank_commit(&f->bank), MONEY_OK);
	assert_true(money_ledger_durable(f->bank.ledger) >= ticket);
	return MONEY_OK;
}

static void
test_token_mint_verify(void **state)
{
	struct fx *f = *state;
	uint8_t tok[MONEY_TOKEN_LEN], again[MONEY_TOKEN_LEN];
	struct money_token t;

	assert_int_equal(
	    money_bank_mint(&f->bank, 42, f->now + 60, tok), MONEY_OK);
	assert_int_equal(money_token_decode(tok, sizeof(tok), &t), MONEY_OK);
	assert_int_equal(t.version, MONEY_TOKEN_VERSION);
	assert_int_equal(t.amount, 42);
	assert_int_equal(t.expiry, f->now + 60);
	assert_memory_equal(
	    t.currency, money_ident_pk(f->bank.ident), MONEY_PK_LEN);
	assert_int_equal(money_token_verify(&t), MONEY_OK);
	money_token_encode(&t, again);
	assert_memory_equal(tok, again, sizeof(tok));
	/* Big-endian amount at offset 49, expiry at 57. */
	assert_int_equal(tok[56], 42);
	assert_int_equal(tok[49], 0);
	assert_int_equal(f->bank.book.minted, 42);
	assert_int_equal(f->bank.book.outstanding, 42);
	assert_true(money_book_check(&f->bank.book));
}

static void
test_token_mint_refuses_nonpositive(void **state)
{
	struct fx *f = *state;
	uint8_t tok[MONEY_TOKEN_LEN];

	assert_int_equal(
	    money_bank_mint(&f->bank, 0, f->now + 60, tok), MONEY_ERR_OVERFLOW);
	assert_int_equal(money_bank_mint(&f->bank, -5, f->now + 60, tok),
	    MONEY_ERR_OVERFLOW);
	assert_int_equal(f->bank.book.minted, 0);
}

static void
test_token_deposit_once(void **state)
{
	struct fx *f = *state;
	uint8_t tok[MONEY_TOKEN_LEN];
	struct money_account a;
	int64_t amount;

	assert_int_equal(money_account_open(&f->bank.book, &a, 0), MONEY_OK);
	assert_int_equal(
	    money_bank_mint(&f->bank, 100, f->now + 60, tok), MONEY_OK);
	assert_int_equal(deposit(f, tok, sizeof(tok), &amount), MONEY_OK);
	assert_int_equal(amount, 100);
	assert_int_equal(
	    money_account_deposit(&f->bank.book, &a, amount), MONEY_OK);
	assert_int_equal(a.credit, 100);
	assert_int_equal(f->bank.book.outstanding, 0);
	assert_int_equal(f->bank.book.held, 100);
	assert_int_equal(
	    deposit(f, tok, sizeof(tok), &amount), MONEY_ERR_SPENT);
	assert_true(money_book_check(&f->bank.book));
	money_account_close(&f->bank.book, &a);
}

static void
test_token_double_spend_same_batch(void **state)
{
	struct fx *f = *state;
	uint8_t tok[MONEY_TOKEN_LEN];
	int64_t amount;
	uint64_t t1, t2;

	assert_int_equal(
	    money_bank_mint(&f->bank, 7, f->now + 60, tok), MONEY_OK);
	assert_int_equal(money_bank_deposit_stage(
	                     &f->bank, tok, sizeof(tok), f->now, &amount, &t1),
	    MONEY_OK);
	assert_int_equal(money_bank_deposit_stage(
	                     &f->bank, tok, sizeof(tok), f->now, &amount, &t2),
	    MONEY_ERR_SPENT);
	assert_int_equal(amount, 0);
	assert_int_equal(money_bank_commit(&f->bank), MONEY_OK);
	assert_int_equal(
	    deposit(f, tok, sizeof(tok), &amount), MONEY_ERR_SPENT);
}

static void
test_token_double_spend_across_reopen(void **state)
{
	struct fx *f = *state;
	uint8_t tok[MONEY_TOKEN_LEN], tok2[MONEY_TOKEN_LEN];
	int64_t amount;

	assert_int_equal(
	    money_bank_mint(&f->bank, 9, f->now + 60, tok), MONEY_OK);
	assert_int_equal(
	    money_bank_mint(&f->bank, 10, f->now + 60, tok2), MONEY_OK);
	assert_int_equal(deposit(f, tok, sizeof(tok), &amount), MONEY_OK);
	money_book_expire(&f->bank.book, 0);
	/* Credit never reached an account: the book burns it via close. */
	money_bank_close(&f->bank);
	assert_int_equal(money_bank_open(&f->bank, f->dir), MONEY_OK);
	assert_int_equal(
	    deposit(f, tok, sizeof(tok), &amount), MONEY_ERR_SPENT);
	assert_int_equal(deposit(f, tok2, sizeof(tok2), &amount), MONEY_OK);
	assert_int_equal(amount, 10);
	assert_true(money_book_check(&f->bank.book));
}

static void
test_token_malformed(void **state)
{
	struct fx *f = *state;
	uint8_t tok[MONEY_TOKEN_LEN + 1];
	struct money_token t;
	int64_t amount;

	assert_int_equal(
	    money_bank_mint(&f->bank, 5, f->now + 60, tok), MONEY_OK);
	for (size_t n = 0; n < MONEY_TOKEN_LEN; n++)
		assert_int_equal(
		    deposit(f, tok, n, &amount), MONEY_ERR_MALFORMED);
	tok[MONEY_TOKEN_LEN] = 0;
	assert_int_equal(
	    deposit(f, tok, MONEY_TOKEN_LEN + 1, &amount), MONEY_ERR_MALFORMED);
	assert_int_equal(money_token_decode(NULL, 0, &t), MONEY_ERR_MALFORMED);
	tok[0] = 2;
	assert_int_equal(
	    deposit(f, tok, MONEY_TOKEN_LEN, &amount), MONEY_ERR_MALFORMED);
	tok[0] = 1;
	memset(tok + 49, 0, 8); /* amount 0 */
	assert_int_equal(
	    deposit(f, tok, MONEY_TOKEN_LEN, &amount), MONEY_ERR_MALFORMED);
	tok[49] = 0x80; /* negative amount */
	assert_int_equal(
	    deposit(f, tok, MONEY_TOKEN_LEN, &amount), MONEY_ERR_MALFORMED);
}

static void
test_token_altered_each_field(void **state)
{
	struct fx *f = *state;
	uint8_t tok[MONEY_TOKEN_LEN], bad[MONEY_TOKEN_LEN];
	int64_t amount;

	assert_int_equal(
	    money_bank_mint(&f->bank, 1000, f->now + 60, tok), MONEY_OK);
	/* Every bit of every byte: version → malformed, serial → forged
	 * (unknown serial), all else → altered. Never accepted. */
	for (size_t i = 0; i < MONEY_TOKEN_LEN; i++) {
		for (int bit = 0; bit < 8; bit++) {
			enum money_err want, got;
			memcpy(bad, tok, sizeof(bad));
			bad[i] ^= (uint8_t)(1u << bit);
			got = deposit(f, bad, sizeof(bad), &amount);
			if (i == 0)
				want = MONEY_ERR_MALFORMED;
			else if (i >= 33 && i < 49)
				want = MONEY_ERR_FORGED;
			else if (i == 49 && bit == 7)
				want = MONEY_ERR_MALFORMED; /* negative */
			else
				want = MONEY_ERR_ALTERED;
			if (got != want)
				fail_msg("byte %zu bit %d: %s, want %s", i, bit,
				    money_strerror(got), money_strerror(want));
		}
	}
	assert_int_equal(deposit(f, tok, sizeof(tok), &amount), MONEY_OK);
}

static void
test_token_forged(void **state)
{
	struct fx *f = *state;
	struct money_token t;
	uint8_t tok[MONEY_TOKEN_LEN];
	int64_t amount;

	/* Our currency, random serial, garbage signature. */
	memset(&t, 0, sizeof(t));
	t.version = MONEY_TOKEN_VERSION;
	memcpy(t.currency, money_ident_pk(f->bank.ident), MONEY_PK_LEN);
	memset(t.serial, 0xab, MONEY_SERIAL_LEN);
	t.amount = 1000000;
	t.expiry = f->now + 60;
	memset(t.sig, 0x5a, MONEY_SIG_LEN);
	money_token_encode(&t, tok);
	assert_int_equal(
	    deposit(f, tok, sizeof(tok), &amount), MONEY_ERR_FORGED);
	/* Validly signed by us but never issued (a stolen key would do
	 * this): still refused. */
	assert_int_equal(
	    money_token_sign(f->bank.ident, 50, f->now + 60, &t), MONEY_OK);
	money_token_encode(&t, tok);
	assert_int_equal(money_token_verify(&t), MONEY_OK);
	assert_int_equal(
	    deposit(f, tok, sizeof(tok), &amount), MONEY_ERR_FORGED);
}

/* Defence in depth: a validly signed token that reuses an issued serial
 * with another amount (only a holder of the key could make one) is
 * refused as altered, from the issue record. */
static void
test_token_altered_validly_signed(void **state)
{
	struct fx *f = *state;
	uint8_t tok[MONEY_TOKEN_LEN], body[MONEY_TOKEN_BODY_LEN];
	struct money_token t;
	int64_t amount;

	assert_int_equal(
	    money_bank_mint(&f->bank, 10, f->now + 60, tok), MONEY_OK);
	memcpy(body, tok, sizeof(body));
	body[56] = 99; /* amount 10 -> 99 */
	assert_int_equal(money_ident_sign(f->bank.ident, "mzero/token/v1", body,
	                     sizeof(body), tok + MONEY_TOKEN_BODY_LEN),
	    MONEY_OK);
	memcpy(tok, body, sizeof(body));
	assert_int_equal(money_token_decode(tok, sizeof(tok), &t), MONEY_OK);
	assert_int_equal(money_token_verify(&t), MONEY_OK);
	assert_int_equal(
	    deposit(f, tok, sizeof(tok), &amount), MONEY_ERR_ALTERED);
}

static void
test_token_foreign(void **state)
{
	struct fx *f = *state;
	struct money_bank other;
	char dir[PATH_MAX];
	uint8_t tok[MONEY_TOKEN_LEN];
	struct money_token t;
	int64_t amount;

	mt_tmpdir(dir, sizeof(dir));
	assert_int_equal(money_bank_open(&other, dir), MONEY_OK);
	assert_int_equal(
	    money_bank_mint(&other, 30, f->now + 60, tok), MONEY_OK);
	/* Anyone verifies it offline ... */
	assert_int_equal(money_token_decode(tok, sizeof(tok), &t), MONEY_OK);
	assert_int_equal(money_token_verify(&t), MONEY_OK);
	/* ... but only its issuer redeems it. */
	assert_int_equal(
	    deposit(f, tok, sizeof(tok), &amount), MONEY_ERR_FOREIGN);
	money_bank_close(&other);
	mt_rmdir(dir);
}

static void
test_token_expired(void **state)
{
	struct fx *f = *state;
	uint8_t tok[MONEY_TOKEN_LEN];
	int64_t amount;

	assert_int_equal(
	    money_bank_mint(&f->bank, 3, f->now + 10, tok), MONEY_OK);
	f->now += 10; /* refused from its expiry second on */
	assert_int_equal(
	    deposit(f, tok, sizeof(tok), &amount), MONEY_ERR_EXPIRED);
	/* Still expired after pruning forgot its serial. */
	assert_int_equal(money_bank_prune(&f->bank, f->now), MONEY_OK);
	assert_int_equal(
	    deposit(f, tok, sizeof(tok), &amount), MONEY_ERR_EXPIRED);
	assert_int_equal(f->bank.book.burned, 3);
	assert_true(money_book_check(&f->bank.book));
}

static void
test_token_withdraw_fresh_serial(void **state)
{
	struct fx *f = *state;
	uint8_t tok[MONEY_TOKEN_LEN], w1[MONEY_TOKEN_LEN], w2[MONEY_TOKEN_LEN];
	struct money_token t0, t1, t2;
	struct money_account a;
	int64_t amount;
	uint64_t ticket;

	assert_int_equal(money_account_open(&f->bank.book, &a, 0), MONEY_OK);
	assert_int_equal(
	    money_bank_mint(&f->bank, 100, f->now + 60, tok), MONEY_OK);
	assert_int_equal(deposit(f, tok, sizeof(tok), &amount), MONEY_OK);
	assert_int_equal(
	    money_account_deposit(&f->bank.book, &a, amount), MONEY_OK);
	assert_int_equal(money_bank_withdraw_stage(
	                     &f->bank, &a, 40, f->now + 60, w1, &ticket),
	    MONEY_OK);
	assert_int_equal(money_bank_withdraw_stage(
	                     &f->bank, &a, 40, f->now + 60, w2, &ticket),
	    MONEY_OK);
	assert_int_equal(money_bank_withdraw_stage(
	                     &f->bank, &a, 40, f->now + 60, w2, &ticket),
	    MONEY_ERR_CREDIT);
	/* Not redeemable before its issue is committed. */
	assert_int_equal(deposit(f, w1, sizeof(w1), &amount), MONEY_ERR_FORGED);
	assert_int_equal(money_bank_commit(&f->bank), MONEY_OK);
	assert_true(money_ledger_durable(f->bank.ledger) >= ticket);
	money_token_decode(tok, sizeof(tok), &t0);
	money_token_decode(w1, sizeof(w1), &t1);
	money_token_decode(w2, sizeof(w2), &t2);
	assert_memory_not_equal(t0.serial, t1.serial, MONEY_SERIAL_LEN);
	assert_memory_not_equal(t1.serial, t2.serial, MONEY_SERIAL_LEN);
	assert_int_equal(a.credit, 20);
	assert_int_equal(f->bank.book.outstanding, 80);
	assert_true(money_book_check(&f->bank.book));
	assert_int_equal(deposit(f, w1, sizeof(w1), &amount), MONEY_OK);
	assert_int_equal(amount, 40);
	assert_int_equal(
	    money_account_deposit(&f->bank.book, &a, amount), MONEY_OK);
	assert_int_equal(deposit(f, w1, sizeof(w1), &amount), MONEY_ERR_SPENT);
	assert_int_equal(a.credit, 60);
	money_account_close(&f->bank.book, &a);
	assert_true(money_book_check(&f->bank.book));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_token_mint_verify, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_token_mint_refuses_nonpositive, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_token_deposit_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_token_double_spend_same_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_token_double_spend_across_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_token_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_token_altered_each_field, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_forged, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_token_altered_validly_signed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_token_foreign, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_token_expired, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_token_withdraw_fresh_serial, setup, teardown),
	};
	return cmocka_run_group_tests_name("money_token", tests, NULL, NULL);
}
