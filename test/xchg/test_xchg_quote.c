/*
 * test_xchg_quote.c: signed exchange quotes: the byte layout, round trip
 * and verification by another party, every byte tampered, expiry and
 * not-yet-valid, malformed encodings, and that a price-quote or token
 * signature never passes as an exchange quote.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "xchg_int.h"
#include "xchg_test.h"

struct fx {
	char dir[PATH_MAX];
	struct money_ident *id;
	struct xchg_quote q;
	uint8_t buf[XCHG_QUOTE_LEN];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(money_init(), MONEY_OK);
	f->id = xt_ident(f->dir, sizeof(f->dir));
	memcpy(f->q.issuer, money_ident_pk(f->id), MONEY_PK_LEN);
	memset(f->q.currency, 0xc5, MONEY_PK_LEN);
	f->q.epoch = 42;
	f->q.issued = 1000;
	f->q.expires = 1010;
	f->q.bid = (struct xchg_rat){99, 100};
	f->q.ask = (struct xchg_rat){101, 100};
	f->q.avail = 5000;
	assert_int_equal(xchg_quote_sign(f->id, &f->q, f->buf), XCHG_OK);
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
test_xquote_layout(void **state)
{
	struct fx *f = *state;

	assert_int_equal(XCHG_QUOTE_LEN, 193);
	assert_int_equal(f->buf[0], 1);
	assert_memory_equal(f->buf + 1, money_ident_pk(f->id), 32);
	assert_int_equal(f->buf[33], 0xc5);
	assert_int_equal(xchg__get64(f->buf + 65), 42);
	assert_int_equal(xchg__get64(f->buf + 73), 1000);
	assert_int_equal(xchg__get64(f->buf + 81), 1010);
	assert_int_equal(xchg__get64(f->buf + 89), 99);
	assert_int_equal(xchg__get64(f->buf + 97), 100);
	assert_int_equal(xchg__get64(f->buf + 105), 101);
	assert_int_equal(xchg__get64(f->buf + 113), 100);
	assert_int_equal(xchg__get64(f->buf + 121), 5000);
	assert_true(money_sig_verify(money_ident_pk(f->id), "mzero/xquote/v1",
	    f->buf, 129, f->buf + 129));
}

static void
test_xquote_roundtrip_verify(void **state)
{
	struct fx *f = *state;
	struct xchg_quote q;
	uint8_t again[XCHG_QUOTE_LEN];

	assert_int_equal(
	    xchg_quote_decode(f->buf, sizeof(f->buf), &q), XCHG_OK);
	assert_int_equal(xchg_quote_verify(&q, 1000), XCHG_OK);
	assert_int_equal(xchg_quote_verify(&q, 1009), XCHG_OK);
	assert_int_equal(xchg_quote_verify(&q, 1010), XCHG_ERR_QUOTE_EXPIRED);
	assert_int_equal(xchg_quote_verify(&q, 999), XCHG_ERR_QUOTE_FUTURE);
	assert_int_equal(q.avail, 5000);
	xchg_quote_encode(&q, again);
	assert_memory_equal(again, f->buf, sizeof(again));
}

static void
test_xquote_every_byte_tampered(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < XCHG_QUOTE_LEN; i++) {
		for (int bit = 0; bit < 8; bit++) {
			uint8_t b[XCHG_QUOTE_LEN];
			struct xchg_quote q;
			memcpy(b, f->buf, sizeof(b));
			b[i] ^= (uint8_t)(1 << bit);
			if (xchg_quote_decode(b, sizeof(b), &q) != XCHG_OK)
				continue;
			assert_int_equal(
			    xchg_quote_verify(&q, 1005), XCHG_ERR_QUOTE_FORGED);
		}
	}
}

static void
test_xquote_malformed(void **state)
{
	struct fx *f = *state;
	struct xchg_quote q;
	uint8_t b[XCHG_QUOTE_LEN + 1];

	for (size_t n = 0; n <= XCHG_QUOTE_LEN + 1; n++) {
		memset(b, 0, sizeof(b));
		memcpy(b, f->buf, n < XCHG_QUOTE_LEN ? n : XCHG_QUOTE_LEN);
		if (n != XCHG_QUOTE_LEN)
			assert_int_equal(xchg_quote_decode(b, n, &q),
			    XCHG_ERR_QUOTE_MALFORMED);
	}
	assert_int_equal(
	    xchg_quote_decode(NULL, 0, &q), XCHG_ERR_QUOTE_MALFORMED);
	struct {
		size_t off;
		uint64_t v;
	} bad[] = {
	    {73, 1010},        /* issued == expires */
	    {97, 0},           /* bid den 0 */
	    {89, 0},           /* bid 0 */
	    {113, 0},          /* ask den 0 */
	    {89, 102},         /* bid > ask */
	    {121, UINT64_MAX}, /* avail negative */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(b, f->buf, XCHG_QUOTE_LEN);
		xchg__put64(b + bad[i].off, bad[i].v);
		assert_int_equal(xchg_quote_decode(b, XCHG_QUOTE_LEN, &q),
		    XCHG_ERR_QUOTE_MALFORMED);
	}
	memcpy(b, f->buf, XCHG_QUOTE_LEN);
	b[0] = 2;
	assert_int_equal(
	    xchg_quote_decode(b, XCHG_QUOTE_LEN, &q), XCHG_ERR_QUOTE_MALFORMED);
}

static void
test_xquote_sign_refuses(void **state)
{
	struct fx *f = *state;
	struct xchg_quote q = f->q;
	uint8_t out[XCHG_QUOTE_LEN];

	q.issuer[0] ^= 1; /* not ours */
	assert_int_equal(xchg_quote_sign(f->id, &q, out), XCHG_ERR_INVAL);
	q = f->q;
	q.bid = (struct xchg_rat){2, 1};
	assert_int_equal(xchg_quote_sign(f->id, &q, out), XCHG_ERR_INVAL);
	q = f->q;
	q.expires = q.issued;
	assert_int_equal(xchg_quote_sign(f->id, &q, out), XCHG_ERR_INVAL);
}

static void
test_xquote_domain_separated(void **state)
{
	struct fx *f = *state;
	struct xchg_quote q;
	uint8_t body[XCHG_QUOTE_BODY_LEN];

	/* The same bytes signed for another purpose do not verify. */
	memcpy(body, f->buf, sizeof(body));
	q = f->q;
	assert_int_equal(money_ident_sign(f->id, "mzero/quote/v1", body,
	                     sizeof(body), q.sig),
	    MONEY_OK);
	assert_int_equal(xchg_quote_verify(&q, 1005), XCHG_ERR_QUOTE_FORGED);
	/* Someone else's key cannot sign for us. */
	char d2[PATH_MAX];
	struct money_ident *other = xt_ident(d2, sizeof(d2));
	q = f->q;
	assert_int_equal(money_ident_sign(other, "mzero/xquote/v1", body,
	                     sizeof(body), q.sig),
	    MONEY_OK);
	assert_int_equal(xchg_quote_verify(&q, 1005), XCHG_ERR_QUOTE_FORGED);
	money_ident_free(other);
	mt_rmdir(d2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_xquote_layout, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_xquote_roundtrip_verify, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_xquote_every_byte_tampered, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_xquote_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_xquote_sign_refuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_xquote_domain_separated, setup, teardown),
	};

	return cmocka_run_group_tests_name("xchg_quote", tests, NULL, NULL);
}
