/*
 * fuzz_xquote.c: hostile bytes through exchange-quote decoding and
 * verification, as a messenger or another exchange would present them.
 * Whatever decodes must encode back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xchg.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct xchg_quote q;
	uint8_t again[XCHG_QUOTE_LEN];

	if (!ready) {
		if (money_init() != MONEY_OK)
			abort();
		ready = 1;
	}
	if (xchg_quote_decode(data, size, &q) != XCHG_OK)
		return 0;
	xchg_quote_encode(&q, again);
	if (memcmp(again, data, XCHG_QUOTE_LEN) != 0)
		abort();
	if (xchg_rat_cmp(q.bid, q.ask) > 0 || q.bid.den == 0 || q.ask.den == 0)
		abort();
	(void)xchg_quote_verify(&q, q.issued);
	return 0;
}
