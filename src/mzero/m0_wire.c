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

uint16_t
m0_crc16(const uint8_t *p, size_t len)
{
	uint16_t crc = 0;
	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)p[i] << 8;
		for (int b = 0; b < 8; b++)
			crc = crc & 0x8000 ? (uint16_t)(crc << 1) ^ 0x1021
					   : (uint16_t)(crc << 1);
	}
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
	if (m0_crc16(buf + 2, off - 2 + clen) != (uint16_t)(buf[0] << 8 | buf[1]))
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
			    (uint32_t)(len - dstart < dlen ? len - dstart : dlen);
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
	if (msg->data) {
		size_t p = off + msg->code_len;
		memset(out + p, 0, pad4(msg->code_len));
		if (msg->data_len)
			memcpy(out + p + pad4(msg->code_len), msg->data,
			    msg->data_len);
	}
	uint16_t crc = m0_crc16(out + 2, off - 2 + msg->code_len);
	out[0] = (uint8_t)(crc >> 8);
	out[1] = (uint8_t)crc;
	return n;
}
