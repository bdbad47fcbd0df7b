/*
 * test_money_quote.c: signed price quotes: round trip and verification by
 * another party, every byte tampered, expiry and not-yet-valid, malformed
 * encodings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "money_test.h"

struct fx {
	char dir[PATH_MAX];
	struct money_ident *id;
	struct money_prices p;
	struct money_quote q;
	uint8_t buf[MONEY_QUOTE_LEN];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(money_init(), MONEY_OK);
	mt_tmpdir(f->dir, sizeof(f->dir));
	assert_int_equal(money_ident_open(f->dir, &f->id), MONEY_OK);
	money_prices_init(&f->p);
	f->p.epoch = 17;
	f->p.price[MONEY_RES_NATIVE] = 123456789;
	assert_int_equal(
	    money_quote_make(f->id, &f->p, 1000, 60, &f->q, f->buf), MONEY_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	money_ident_free(f->id);
	mt_rmdir(f->dir);
	free(f);
	return 0;
}

static void
test_quote_roundtrip_verify(void **state)
{
	struct fx *f = *state;
	struct money_quote q;
	uint8_t again[MONEY_QUOTE_LEN];

	assert_int_equal(
	    money_quote_decode(f->buf, sizeof(f->buf), &q), MONEY_OK);
	assert_int_equal(money_quote_verify(&q, 1000), MONEY_OK);
	assert_int_equal(money_quote_verify(&q, 1059), MONEY_OK);
	assert_memory_equal(q.issuer, money_ident_pk(f->id), MONEY_PK_LEN);
	assert_int_equal(q.epoch, 17);
	assert_int_equal(q.issued, 1000);
	assert_int_equal(q.expires, 1060);
	assert_int_equal(q.price[MONEY_RES_NATIVE], 123456789);
	for (int r = 0; r < MONEY_RES_N; r++)
		assert_int_equal(q.price[r], f->p.price[r]);
	money_quote_encode(&q, again);
	assert_memory_equal(again, f->buf, sizeof(again));
}

static void
test_quote_expired_and_future(void **state)
{
	struct fx *f = *state;

	assert_int_equal(
	    money_quote_verify(&f->q, 1060), MONEY_ERR_QUOTE_EXPIRED);
	assert_int_equal(
	    money_quote_verify(&f->q, 999), MONEY_ERR_QUOTE_FUTURE);
}

static void
test_quote_tamper_every_byte(void **state)
{
	struct fx *f = *state;
	uint8_t bad[MONEY_QUOTE_LEN];
	struct money_quote q;

	for (size_t i = 0; i < sizeof(bad); i++) {
		enum money_err e;
		memcpy(bad, f->buf, sizeof(bad));
		bad[i] ^= 0x10;
		e = money_quote_decode(bad, sizeof(bad), &q);
		if (e == MONEY_OK)
			e = money_quote_verify(&q, 1000);
		/* never valid; an in-range change is a bad signature */
		assert_int_not_equal(e, MONEY_OK);
		assert_true(e == MONEY_ERR_QUOTE_FORGED ||
		    e == MONEY_ERR_QUOTE_MALFORMED);
	}
}

static void
test_quote_malformed(void **state)
{
	struct fx *f = *state;
	uint8_t bad[MONEY_QUOTE_LEN + 1];
	struct money_quote q;

	for (size_t n = 0; n < MONEY_QUOTE_LEN; n += 13)
		assert_int_equal(money_quote_decode(f->buf, n, &q),
		    MONEY_ERR_QUOTE_MALFORMED);
	memcpy(bad, f->buf, MONEY_QUOTE_LEN);
	assert_int_equal(money_quote_decode(bad, sizeof(bad), &q),
	    MONEY_ERR_QUOTE_MALFORMED);
	bad[0] = 2; /* version */
	assert_int_equal(money_quote_decode(bad, MONEY_QUOTE_LEN, &q),
	    MONEY_ERR_QUOTE_MALFORMED);
	memcpy(bad, f->buf, MONEY_QUOTE_LEN);
	bad[57] = MONEY_RES_N + 1; /* count */
	assert_int_equal(money_quote_decode(bad, MONEY_QUOTE_LEN, &q),
	    MONEY_ERR_QUOTE_MALFORMED);
	memcpy(bad, f->buf, MONEY_QUOTE_LEN);
	bad[58] = 1; /* resource order */
	assert_int_equal(money_quote_decode(bad, MONEY_QUOTE_LEN, &q),
	    MONEY_ERR_QUOTE_MALFORMED);
	memcpy(bad, f->buf, MONEY_QUOTE_LEN);
	memset(bad + 59, 0, 8); /* price 0 */
	assert_int_equal(money_quote_decode(bad, MONEY_QUOTE_LEN, &q),
	    MONEY_ERR_QUOTE_MALFORMED);
	assert_int_equal(
	    money_quote_decode(NULL, 0, &q), MONEY_ERR_QUOTE_MALFORMED);
	/* ttl 0 and overflowing expiry are refused at signing */
	assert_int_equal(
	    money_quote_make(f->id, &f->p, 1000, 0, &q, bad), MONEY_ERR_INVAL);
	assert_int_equal(money_quote_make(f->id, &f->p, UINT64_MAX, 1, &q, bad),
	    MONEY_ERR_INVAL);
}

static void
test_quote_other_issuer(void **state)
{
	struct fx *f = *state;
	char dir[PATH_MAX];
	struct money_ident *other;
	struct money_quote q;
	uint8_t buf[MONEY_QUOTE_LEN];

	mt_tmpdir(dir, sizeof(dir));
	assert_int_equal(money_ident_open(dir, &other), MONEY_OK);
	assert_int_equal(
	    money_quote_make(other, &f->p, 1000, 60, &q, buf), MONEY_OK);
	/* claim the other's prices as ours: the signature fails */
	memcpy(buf + 1, money_ident_pk(f->id), MONEY_PK_LEN);
	assert_int_equal(money_quote_decode(buf, sizeof(buf), &q), MONEY_OK);
	assert_int_equal(money_quote_verify(&q, 1000), MONEY_ERR_QUOTE_FORGED);
	/* a token signature is never a quote signature */
	money_ident_free(other);
	mt_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_quote_roundtrip_verify, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_quote_expired_and_future, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_quote_tamper_every_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_quote_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_quote_other_issuer, setup, teardown),
	};
	return cmocka_run_group_tests_name("money_quote", tests, NULL, NULL);
}
