/*
 * fuzz_token.c: hostile bytes through token decoding, verification and
 * the issuer's classification (against a fixed identity and a ledger
 * that knows one issued serial).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "money.h"

static struct money_bank bank;
static char dir[] = "/tmp/fuzz-token-XXXXXX";

static void
cleanup(void)
{
	char p[sizeof(dir) + 16];

	money_book_expire(&bank.book, 0);
	money_bank_close(&bank);
	snprintf(p, sizeof(p), "%s/" MONEY_STORE_FILE, dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/identity", dir);
	unlink(p);
	rmdir(dir);
}

static void
init(void)
{
	uint8_t tok[MONEY_TOKEN_LEN];

	if (money_init() != MONEY_OK || mkdtemp(dir) == NULL ||
	    money_bank_open(&bank, dir) != MONEY_OK ||
	    money_bank_mint(&bank, 5, INT64_MAX, tok) != MONEY_OK)
		abort();
	atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct money_token t;
	uint8_t again[MONEY_TOKEN_LEN];

	if (bank.ident == NULL)
		init();
	if (money_token_decode(data, size, &t) == MONEY_OK) {
		money_token_encode(&t, again);
		/* canonical: decoding then encoding gives the input back */
		if (memcmp(again, data, MONEY_TOKEN_LEN) != 0)
			abort();
		(void)money_token_verify(&t);
	}
	(void)money_token_classify(
	    bank.ident, bank.ledger, data, size, 1000, &t);
	return 0;
}
