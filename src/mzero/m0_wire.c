/*
 * m0_wire.c: messengers on the wire (spec A6). Every field is checked
 * before it is used; anything malformed gets a reason, never a crash.
 *
 *   0  crc16 (XMODEM) over bytes 2 .. end of code
 *   2  version 0
 *   3  flags: 0x80 data present
 *   4  queue key (8)
 *  12  code length (4)
 *  16  data length (4, only with 0x80)
 *  16/20 code; with data: zero pad to a multiple of 4 from 20, then data
 */
#include "m0_int.h"

#define WIRE_HDR 16
#define WIRE_FDATA 0x80

static const char *const wire_reasons[] = {
#define M0__WS(id, s) s,
    M0_WIREMAP(M0__WS)
#undef M0__WS
};

const char *
m0_wire_strerror(int err)
{
	if (err < 0 || err >= M0_WIRE_NREASON)
		return "?";
	return wire_reasons[err];
}

/* CRC-16/XMODEM, a byte at a time: crc16_tab[i] is the CRC register after
 * shifting byte i through the polynomial 0x1021 (generated once, by the
 * bitwise definition; test_m0_wire checks the standard check value). */
/* clang-format off */
static const uint16_t crc16_tab[256] = {
	0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
	0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
	0x1231, 0x0210, 0x3273, 0x2252, 0x52b5, 0x4294, 0x72f7, 0x62d6,
	0x9339, 0x8318, 0xb37b, 0xa35a, 0xd3bd, 0xc39c, 0xf3ff, 0xe3de,
	0x2462, 0x3443, 0x0420, 0x1401, 0x64e6, 0x74c7, 0x44a4, 0x5485,
	0xa56a, 0xb54b, 0x8528, 0x9509, 0xe5ee, 0xf5cf, 0xc5ac, 0xd58d,
	0x3653, 0x2672, 0x1611, 0x0630, 0x76d7, 0x66f6, 0x5695, 0x46b4,
	0xb75b, 0xa77a, 0x9719, 0x8738, 0xf7df, 0xe7fe, 0xd79d, 0xc7bc,
	0x48c4, 0x58e5, 0x6886, 0x78a7, 0x0840, 0x1861, 0x2802, 0x3823,
	0xc9cc, 0xd9ed, 0xe98e, 0xf9af, 0x8948, 0x9969, 0xa90a, 0xb92b,
	0x5af5, 0x4ad4, 0x7ab7, 0x6a96, 0x1a71, 0x0a50, 0x3a33, 0x2a12,
	0xdbfd, 0xcbdc, 0xfbbf, 0xeb9e, 0x9b79, 0x8b58, 0xbb3b, 0xab1a,
	0x6ca6, 0x7c87, 0x4ce4, 0x5cc5, 0x2c22, 0x3c03, 0x0c60, 0x1c41,
	0xedae, 0xfd8f, 0xcdec, 0xddcd, 0xad2a, 0xbd0b, 0x8d68, 0x9d49,
	0x7e97, 0x6eb6, 0x5ed5, 0x4ef4, 0x3e13, 0x2e32, 0x1e51, 0x0e70,
	0xff9f, 0xefbe, 0xdfdd, 0xcffc, 0xbf1b, 0xaf3a, 0x9f59, 0x8f78,
	0x9188, 0x81a9, 0xb1ca, 0xa1eb, 0xd10c, 0xc12d, 0xf14e, 0xe16f,
	0x1080, 0x00a1, 0x30c2, 0x20e3, 0x5004, 0x4025, 0x7046, 0x6067,
	0x83b9, 0x9398, 0xa3fb, 0xb3da, 0xc33d, 0xd31c, 0xe37f, 0xf35e,
	0x02b1, 0x1290, 0x22f3, 0x32d2, 0x4235, 0x5214, 0x6277, 0x7256,
	0xb5ea, 0xa5cb, 0x95a8, 0x8589, 0xf56e, 0xe54f, 0xd52c, 0xc50d,
	0x34e2, 0x24c3, 0x14a0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405,
	0xa7db, 0xb7fa, 0x8799, 0x97b8, 0xe75f, 0xf77e, 0xc71d, 0xd73c,
	0x26d3, 0x36f2, 0x0691, 0x16b0, 0x6657, 0x7676, 0x4615, 0x5634,
	0xd94c, 0xc96d, 0xf90e, 0xe92f, 0x99c8, 0x89e9, 0xb98a, 0xa9ab,
	0x5844, 0x4865, 0x7806, 0x6827, 0x18c0, 0x08e1, 0x3882, 0x28a3,
	0xcb7d, 0xdb5c, 0xeb3f, 0xfb1e, 0x8bf9, 0x9bd8, 0xabbb, 0xbb9a,
	0x4a75, 0x5a54, 0x6a37, 0x7a16, 0x0af1, 0x1ad0, 0x2ab3, 0x3a92,
	0xfd2e, 0xed0f, 0xdd6c, 0xcd4d, 0xbdaa, 0xad8b, 0x9de8, 0x8dc9,
	0x7c26, 0x6c07, 0x5c64, 0x4c45, 0x3ca2, 0x2c83, 0x1ce0, 0x0cc1,
	0xef1f, 0xff3e, 0xcf5d, 0xdf7c, 0xaf9b, 0xbfba, 0x8fd9, 0x9ff8,
	0x6e17, 0x7e36, 0x4e55, 0x5e74, 0x2e93, 0x3eb2, 0x0ed1, 0x1ef0,
};
/* clang-format on */

uint16_t
m0_crc16(const uint8_t *p, size_t len)
{
	uint16_t crc = 0;
	for (size_t i = 0; i < len; i++)
		crc = (uint16_t)(crc << 8) ^ crc16_tab[(crc >> 8) ^ p[i]];
	return crc;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
pad4(uint32_t n)
{
	return (4 - (n & 3)) & 3;
}

/* Where code starts and the announced full length (code + data). */
static uint64_t
frame_len(const uint8_t *buf, uint32_t *code_off)
{
	uint32_t clen = be32(buf + 12);
	if (buf[3] & WIRE_FDATA) {
		*code_off = 20;
		return 20ull + clen + pad4(clen) + be32(buf + 16);
	}
	*code_off = WIRE_HDR;
	return WIRE_HDR + (uint64_t)clen;
}

size_t
m0_wire_need(const uint8_t *buf, size_t len)
{
	uint32_t off;
	if (len < 20 && !(len >= WIRE_HDR && !(buf[3] & WIRE_FDATA)))
		return 0;
	uint64_t n = frame_len(buf, &off);
	return n > SIZE_MAX ? SIZE_MAX : (size_t)n;
}

int
m0_wire_decode(const uint8_t *buf, size_t len, uint32_t max_msg,
    struct m0_msg *msg, size_t *used)
{
	if (len < WIRE_HDR)
		return M0_WIRE_SHORT;
	if (buf[2] != 0)
		return M0_WIRE_VERSION;
	if (buf[3] & ~WIRE_FDATA)
		return M0_WIRE_FLAGS;
	bool data = buf[3] & WIRE_FDATA;
	if (data && len < 20)
		return M0_WIRE_SHORT;
	uint32_t off;
	uint64_t full = frame_len(buf, &off);
	uint32_t clen = be32(buf + 12);
	if ((uint64_t)off + clen > len)
		return M0_WIRE_CODE_LEN;
	if (full - off > max_msg)
		return M0_WIRE_TOO_BIG;
	if (m0_crc16(buf + 2, off - 2 + clen) !=
	    (uint16_t)(buf[0] << 8 | buf[1]))
		return M0_WIRE_CRC;
	msg->queue = be64(buf + 4);
	msg->code = buf + off;
	msg->code_len = clen;
	msg->data = NULL;
	msg->data_len = 0;
	size_t end = off + clen;
	if (data) {
		uint64_t dstart = (uint64_t)off + clen + pad4(clen);
		uint32_t dlen = be32(buf + 16);
		msg->data = buf + (dstart < len ? dstart : len);
		/* A data field shorter than announced is truncated. */
		if (dstart >= len)
			msg->data_len = 0;
		else
			msg->data_len =
			    (uint32_t)(len - dstart < dlen ? len - dstart
			                                   : dlen);
		end = (size_t)(msg->data - buf) + msg->data_len;
	}
	if (used)
		*used = end;
	return M0_WIRE_OK;
}

size_t
m0_wire_size(const struct m0_msg *msg)
{
	if (!msg->data)
		return WIRE_HDR + (size_t)msg->code_len;
	return 20 + (size_t)msg->code_len + pad4(msg->code_len) + msg->data_len;
}

size_t
m0_wire_encode(const struct m0_msg *msg, uint8_t *out, size_t cap)
{
	size_t n = m0_wire_encode_head(msg, out, cap);
	if (n && msg->data && msg->data_len)
		memcpy(out + n - msg->data_len, msg->data, msg->data_len);
	return n;
}

size_t
m0_wire_encode_head(const struct m0_msg *msg, uint8_t *out, size_t cap)
{
	size_t n = m0_wire_size(msg);
	if (cap < n)
		return 0;
	out[2] = 0;
	out[3] = msg->data ? WIRE_FDATA : 0;
	for (int i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(msg->queue >> (56 - 8 * i));
	put32(out + 12, msg->code_len);
	size_t off = WIRE_HDR;
	if (msg->data) {
		put32(out + 16, msg->data_len);
		off = 20;
	}
	if (msg->code_len)
		memcpy(out + off, msg->code, msg->code_len);
	if (msg->data)
		memset(out + off + msg->code_len, 0, pad4(msg->code_len));
	uint16_t crc = m0_crc16(out + 2, off - 2 + msg->code_len);
	out[0] = (uint8_t)(crc >> 8);
	out[1] = (uint8_t)crc;
	return n;
}
