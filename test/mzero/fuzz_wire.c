/*
 * fuzz_wire.c: random datagrams through the wire decoder, and every
 * accepted one re-encoded: decode must never read out of bounds, and what
 * it accepts must encode back to the same bytes.
 */
#include <stdbool.h>
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
	/* The whole round trip: CRC, header, lengths, code and data are the
	 * bytes that arrived; only the padding between code and data may
	 * differ, and a data field shorter than announced (spec A6: truncated
	 * to what arrived) re-encodes with its real length. The decoded
	 * fields must point into the input too. */
	size_t code_off = (size_t)(m.code - data);
	if (m.code < data || code_off + m.code_len > used)
		abort();
	/* Cut short in the padding or the data: the framer wanted more. */
	bool truncated = m0_wire_need(data, size) != used;
	if (!truncated && n != used)
		abort();
	if (truncated) {
		/* The CRC covers the data length too: it differs as well. */
		if (memcmp(out + 2, data + 2, 14) != 0 ||
		    memcmp(out + 20, data + 20, m.code_len) != 0)
			abort();
	} else if (memcmp(out, data, code_off + m.code_len) != 0) {
		abort();
	}
	if (m.data) {
		size_t data_off = (size_t)(m.data - data);
		if (m.data < data || data_off + m.data_len > used ||
		    memcmp(out + data_off, data + data_off, m.data_len) != 0)
			abort();
	}
	free(out);
	return 0;
}
