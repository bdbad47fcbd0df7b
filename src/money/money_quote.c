/*
 * money_quote.c: signed price quotes, so that another platform (the
 * exchange) can learn this platform's prices and prove where they came
 * from. Canonical big-endian encoding, decoded field by field:
 *
 *   off len field
 *     0   1 version (1)
 *     1  32 issuer: Ed25519 public key (= currency)
 *    33   8 epoch of the price rule
 *    41   8 issued, unix seconds
 *    49   8 expires, unix seconds (valid while issued <= now < expires)
 *    57   1 count = MONEY_RES_N
 *    58 9*N per resource in order: id (1), price (int64, >= 1)
 *     . 64 Ed25519 signature over "mzero/quote/v1\0" || all bytes above
 */
#include <string.h>

#include "money_int.h"

#define Q_ISSUER 1
#define Q_EPOCH (Q_ISSUER + MONEY_PK_LEN)
#define Q_ISSUED (Q_EPOCH + 8)
#define Q_EXPIRES (Q_ISSUED + 8)
#define Q_COUNT (Q_EXPIRES + 8)
#define Q_PRICES (Q_COUNT + 1)

_Static_assert(
    Q_PRICES + 9 * MONEY_RES_N == MONEY_QUOTE_BODY_LEN, "quote layout");

static void
encode_body(const struct money_quote *q, uint8_t *out)
{
	out[0] = q->version;
	memcpy(out + Q_ISSUER, q->issuer, MONEY_PK_LEN);
	money__put64(out + Q_EPOCH, q->epoch);
	money__put64(out + Q_ISSUED, q->issued);
	money__put64(out + Q_EXPIRES, q->expires);
	out[Q_COUNT] = MONEY_RES_N;
	for (int r = 0; r < MONEY_RES_N; r++) {
		out[Q_PRICES + 9 * r] = (uint8_t)r;
		money__put64(out + Q_PRICES + 9 * r + 1, (uint64_t)q->price[r]);
	}
}

void
money_quote_encode(const struct money_quote *q, uint8_t out[MONEY_QUOTE_LEN])
{
	encode_body(q, out);
	memcpy(out + MONEY_QUOTE_BODY_LEN, q->sig, MONEY_SIG_LEN);
}

enum money_err
money_quote_make(struct money_ident *id, const struct money_prices *p,
    uint64_t now, uint64_t ttl, struct money_quote *q,
    uint8_t out[MONEY_QUOTE_LEN])
{
	uint8_t body[MONEY_QUOTE_BODY_LEN];
	enum money_err err;

	memset(q, 0, sizeof(*q));
	if (ttl == 0 || now > UINT64_MAX - ttl)
		return MONEY_ERR_INVAL;
	q->version = MONEY_QUOTE_VERSION;
	memcpy(q->issuer, money_ident_pk(id), MONEY_PK_LEN);
	q->epoch = p->epoch;
	q->issued = now;
	q->expires = now + ttl;
	for (int r = 0; r < MONEY_RES_N; r++) {
		if (p->price[r] < 1)
			return MONEY_ERR_INVAL;
		q->price[r] = p->price[r];
	}
	encode_body(q, body);
	err =
	    money_ident_sign(id, MONEY__DOM_QUOTE, body, sizeof(body), q->sig);
	if (err != MONEY_OK)
		return err;
	money_quote_encode(q, out);
	return MONEY_OK;
}

enum money_err
money_quote_decode(const uint8_t *buf, size_t len, struct money_quote *q)
{
	memset(q, 0, sizeof(*q));
	if (buf == NULL || len != MONEY_QUOTE_LEN)
		return MONEY_ERR_QUOTE_MALFORMED;
	q->version = buf[0];
	if (q->version != MONEY_QUOTE_VERSION)
		return MONEY_ERR_QUOTE_MALFORMED;
	memcpy(q->issuer, buf + Q_ISSUER, MONEY_PK_LEN);
	q->epoch = money__get64(buf + Q_EPOCH);
	q->issued = money__get64(buf + Q_ISSUED);
	q->expires = money__get64(buf + Q_EXPIRES);
	if (q->issued >= q->expires || buf[Q_COUNT] != MONEY_RES_N)
		return MONEY_ERR_QUOTE_MALFORMED;
	for (int r = 0; r < MONEY_RES_N; r++) {
		const uint8_t *e = buf + Q_PRICES + 9 * r;
		uint64_t v = money__get64(e + 1);
		if (e[0] != r || v < 1 || v > INT64_MAX)
			return MONEY_ERR_QUOTE_MALFORMED;
		q->price[r] = (int64_t)v;
	}
	memcpy(q->sig, buf + MONEY_QUOTE_BODY_LEN, MONEY_SIG_LEN);
	return MONEY_OK;
}

enum money_err
money_quote_verify(const struct money_quote *q, uint64_t now)
{
	uint8_t body[MONEY_QUOTE_BODY_LEN];

	encode_body(q, body);
	if (!money_sig_verify(
	        q->issuer, MONEY__DOM_QUOTE, body, sizeof(body), q->sig))
		return MONEY_ERR_QUOTE_FORGED;
	if (now < q->issued)
		return MONEY_ERR_QUOTE_FUTURE;
	if (now >= q->expires)
		return MONEY_ERR_QUOTE_EXPIRED;
	return MONEY_OK;
}
