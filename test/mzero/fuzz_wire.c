/*
 * fuzz_wire.c: random datagrams through the wire decoder, and every
 * accepted one re-encoded: decode must never read out of bounds, and what
 * it accepts must encode back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m0.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct m0_msg m;
	size_t used;
	(void)m0_wire_need(data, size);
	if (m0_wire_decode(data, size, 65000, &m, &used) != M0_WIRE_OK)
		return 0;
	if (used > size)
		abort();
	size_t n = m0_wire_size(&m);
	uint8_t *out = malloc(n ? n : 1);
	if (!out || m0_wire_encode(&m, out, n) != n)
		abort();
	/* Padding bytes may differ in what arrived; the rest must not. */
	if (memcmp(out + 4, data + 4, 12) != 0)
		abort();
	free(out);
	return 0;
}
