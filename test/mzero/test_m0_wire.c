/*
 * test_m0_wire.c: the wire codec of spec A6: the test vectors byte for
 * byte, and one drop reason for each kind of bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "m0.h"

static const uint8_t v1[] = {0x8c, 0xd7, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0,
    0, 0, 5, '1', ' ', '2', ' ', '+'};
static const uint8_t v2[] = {0x70, 0xe7, 0x00, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 0,
    0, 0, 3, 0, 0, 0, 3, 'A', 'B', 'C', 0, 'x', 'y', 'z'};

static void
test_wire_encode_vectors(void **st)
{
	uint8_t out[64];
	struct m0_msg m = {.queue = 0x0102030405060708ULL,
	    .code = (const uint8_t *)"1 2 +",
	    .code_len = 5};
	assert_int_equal(m0_wire_encode(&m, out, sizeof(out)), sizeof(v1));
	assert_memory_equal(out, v1, sizeof(v1));
	m.code = (const uint8_t *)"ABC";
	m.code_len = 3;
	m.data = (const uint8_t *)"xyz";
	m.data_len = 3;
	assert_int_equal(m0_wire_size(&m), sizeof(v2));
	assert_int_equal(m0_wire_encode(&m, out, sizeof(out)), sizeof(v2));
	assert_memory_equal(out, v2, sizeof(v2));
	assert_int_equal(m0_wire_encode(&m, out, sizeof(v2) - 1), 0);
	/* the head alone: everything but the data bytes, which are the
	 * last data_len and left as they were */
	memset(out, '#', sizeof(out));
	assert_int_equal(m0_wire_encode_head(&m, out, sizeof(out)), sizeof(v2));
	assert_memory_equal(out, v2, sizeof(v2) - 3);
	assert_memory_equal(out + sizeof(v2) - 3, "###", 3);
	assert_int_equal(m0_wire_encode_head(&m, out, sizeof(v2) - 1), 0);
}

static void
test_wire_decode_vectors(void **st)
{
	struct m0_msg m;
	size_t used;
	assert_int_equal(
	    m0_wire_decode(v2, sizeof(v2), 65000, &m, &used), M0_WIRE_OK);
	assert_int_equal(used, sizeof(v2));
	assert_true(m.queue == 0x0102030405060708ULL);
	assert_int_equal(m.code_len, 3);
	assert_memory_equal(m.code, "ABC", 3);
	assert_int_equal(m.data_len, 3);
	assert_memory_equal(m.data, "xyz", 3);
	assert_int_equal(
	    m0_wire_decode(v1, sizeof(v1), 65000, &m, &used), M0_WIRE_OK);
	assert_null(m.data);
	assert_int_equal(used, sizeof(v1));
}

static void
test_wire_drop_reasons(void **st)
{
	uint8_t b[64];
	struct m0_msg m;
	assert_int_equal(
	    m0_wire_decode(v1, 15, 65000, &m, NULL), M0_WIRE_SHORT);
	memcpy(b, v1, sizeof(v1));
	b[2] = 1;
	assert_int_equal(
	    m0_wire_decode(b, sizeof(v1), 65000, &m, NULL), M0_WIRE_VERSION);
	memcpy(b, v1, sizeof(v1));
	b[3] = 0x01;
	assert_int_equal(
	    m0_wire_decode(b, sizeof(v1), 65000, &m, NULL), M0_WIRE_FLAGS);
	assert_int_equal(m0_wire_decode(v1, sizeof(v1) - 1, 65000, &m, NULL),
	    M0_WIRE_CODE_LEN);
	memcpy(b, v1, sizeof(v1));
	b[20] = '-';
	assert_int_equal(
	    m0_wire_decode(b, sizeof(v1), 65000, &m, NULL), M0_WIRE_CRC);
	assert_int_equal(
	    m0_wire_decode(v1, sizeof(v1), 4, &m, NULL), M0_WIRE_TOO_BIG);
	/* With the data flag the header is 20 bytes: 16 to 19 are short,
	 * not a code length past the end (and nothing past them is read:
	 * an exact-size copy for the sanitizers). */
	for (size_t len = 16; len < 20; len++) {
		uint8_t *h = malloc(len);
		assert_non_null(h);
		memcpy(h, v2, len);
		assert_int_equal(
		    m0_wire_decode(h, len, 65000, &m, NULL), M0_WIRE_SHORT);
		free(h);
	}
	/* A huge announced code length must not overflow the checks. */
	memcpy(b, v1, sizeof(v1));
	b[12] = b[13] = b[14] = b[15] = 0xff;
	assert_int_equal(
	    m0_wire_decode(b, sizeof(v1), 65000, &m, NULL), M0_WIRE_CODE_LEN);
}

/* A data field shorter than announced is truncated (A6). */
static void
test_wire_truncated_data(void **st)
{
	struct m0_msg m;
	size_t used;
	assert_int_equal(
	    m0_wire_decode(v2, sizeof(v2) - 2, 65000, &m, &used), M0_WIRE_OK);
	assert_int_equal(m.data_len, 1);
	assert_int_equal(used, sizeof(v2) - 2);
	assert_int_equal(m0_wire_need(v2, sizeof(v2) - 2), sizeof(v2));
	assert_int_equal(m0_wire_need(v2, 19), 0);
}

static void
test_wire_crc_xmodem(void **st)
{
	/* The CRC-16/XMODEM check value. */
	assert_int_equal(m0_crc16((const uint8_t *)"123456789", 9), 0x31c3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wire_encode_vectors),
	    cmocka_unit_test(test_wire_decode_vectors),
	    cmocka_unit_test(test_wire_drop_reasons),
	    cmocka_unit_test(test_wire_truncated_data),
	    cmocka_unit_test(test_wire_crc_xmodem),
	};
	return cmocka_run_group_tests_name("m0_wire", tests, NULL, NULL);
}
