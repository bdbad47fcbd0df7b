/*
 * fuzz_quote.c: hostile bytes through price-quote decoding and
 * verification, as another platform's exchange would receive them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct money_quote q;
	uint8_t again[MONEY_QUOTE_LEN];

	if (!ready) {
		if (money_init() != MONEY_OK)
			abort();
		ready = 1;
	}
	if (money_quote_decode(data, size, &q) != MONEY_OK)
		return 0;
	money_quote_encode(&q, again);
	if (memcmp(again, data, MONEY_QUOTE_LEN) != 0)
		abort();
	(void)money_quote_verify(&q, q.issued);
	return 0;
}
