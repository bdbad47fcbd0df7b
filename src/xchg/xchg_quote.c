/*
 * xchg_quote.c: signed exchange quotes: what an exchange pays (bid) and
 * asks (ask) for one foreign currency, for a short time, signed so that a
 * messenger can carry the offer elsewhere and prove where it came from.
 * Canonical big-endian encoding, decoded field by field:
 *
 *   off len field
 *     0   1 version (1)
 *     1  32 issuer: the exchange's platform key (the local currency)
 *    33  32 currency: the foreign currency's key
 *    65   8 epoch of the issuer's price rule
 *    73   8 issued, unix seconds
 *    81   8 expires, unix seconds (valid while issued <= now < expires)
 *    89   8 bid numerator    97 8 bid denominator
 *   105   8 ask numerator   113 8 ask denominator
 *   121   8 avail: foreign units held for sale (int64, >= 0)
 *   129  64 Ed25519 signature over "mzero/xquote/v1\0" || bytes 0..128
 */
#include <string.h>

#include "xchg_int.h"

#define XQ_ISSUER 1
#define XQ_CURRENCY (XQ_ISSUER + MONEY_PK_LEN)
#define XQ_EPOCH (XQ_CURRENCY + MONEY_PK_LEN)
#define XQ_ISSUED (XQ_EPOCH + 8)
#define XQ_EXPIRES (XQ_ISSUED + 8)
#define XQ_BID (XQ_EXPIRES + 8)
#define XQ_ASK (XQ_BID + 16)
#define XQ_AVAIL (XQ_ASK + 16)

_Static_assert(XQ_AVAIL + 8 == XCHG_QUOTE_BODY_LEN, "xquote layout");

static void
encode_body(const struct xchg_quote *q, uint8_t *out)
{
	out[0] = q->version;
	memcpy(out + XQ_ISSUER, q->issuer, MONEY_PK_LEN);
	memcpy(out + XQ_CURRENCY, q->currency, MONEY_PK_LEN);
	xchg__put64(out + XQ_EPOCH, q->epoch);
	xchg__put64(out + XQ_ISSUED, q->issued);
	xchg__put64(out + XQ_EXPIRES, q->expires);
	xchg__put64(out + XQ_BID, q->bid.num);
	xchg__put64(out + XQ_BID + 8, q->bid.den);
	xchg__put64(out + XQ_ASK, q->ask.num);
	xchg__put64(out + XQ_ASK + 8, q->ask.den);
	xchg__put64(out + XQ_AVAIL, (uint64_t)q->avail);
}

void
xchg_quote_encode(const struct xchg_quote *q, uint8_t out[XCHG_QUOTE_LEN])
{
	encode_body(q, out);
	memcpy(out + XCHG_QUOTE_BODY_LEN, q->sig, MONEY_SIG_LEN);
}

/* The checks decode makes on the fields, shared with signing so that we
 * never sign what we would refuse to read. */
static int
fields_ok(const struct xchg_quote *q)
{
	if (q->issued >= q->expires)
		return 0;
	if (q->bid.num < 1 || q->bid.den < 1 || q->ask.num < 1 ||
	    q->ask.den < 1)
		return 0;
	if (xchg_rat_cmp(q->bid, q->ask) > 0)
		return 0;
	return q->avail >= 0;
}

enum xchg_err
xchg_quote_sign(
    struct money_ident *id, struct xchg_quote *q, uint8_t out[XCHG_QUOTE_LEN])
{
	uint8_t body[XCHG_QUOTE_BODY_LEN];

	q->version = XCHG_QUOTE_VERSION;
	if (memcmp(q->issuer, money_ident_pk(id), MONEY_PK_LEN) != 0 ||
	    !fields_ok(q))
		return XCHG_ERR_INVAL;
	encode_body(q, body);
	switch (money_ident_sign(
	    id, XCHG__DOM_XQUOTE, body, sizeof(body), q->sig)) {
	case MONEY_OK:
		break;
	case MONEY_ERR_NOMEM:
		return XCHG_ERR_NOMEM;
	default:
		return XCHG_ERR_INVAL;
	}
	xchg_quote_encode(q, out);
	return XCHG_OK;
}

enum xchg_err
xchg_quote_decode(const uint8_t *buf, size_t len, struct xchg_quote *q)
{
	uint64_t avail;

	memset(q, 0, sizeof(*q));
	if (buf == NULL || len != XCHG_QUOTE_LEN)
		return XCHG_ERR_QUOTE_MALFORMED;
	q->version = buf[0];
	if (q->version != XCHG_QUOTE_VERSION)
		return XCHG_ERR_QUOTE_MALFORMED;
	memcpy(q->issuer, buf + XQ_ISSUER, MONEY_PK_LEN);
	memcpy(q->currency, buf + XQ_CURRENCY, MONEY_PK_LEN);
	q->epoch = xchg__get64(buf + XQ_EPOCH);
	q->issued = xchg__get64(buf + XQ_ISSUED);
	q->expires = xchg__get64(buf + XQ_EXPIRES);
	q->bid.num = xchg__get64(buf + XQ_BID);
	q->bid.den = xchg__get64(buf + XQ_BID + 8);
	q->ask.num = xchg__get64(buf + XQ_ASK);
	q->ask.den = xchg__get64(buf + XQ_ASK + 8);
	avail = xchg__get64(buf + XQ_AVAIL);
	if (avail > INT64_MAX)
		return XCHG_ERR_QUOTE_MALFORMED;
	q->avail = (int64_t)avail;
	if (!fields_ok(q))
		return XCHG_ERR_QUOTE_MALFORMED;
	memcpy(q->sig, buf + XCHG_QUOTE_BODY_LEN, MONEY_SIG_LEN);
	return XCHG_OK;
}

enum xchg_err
xchg_quote_verify(const struct xchg_quote *q, uint64_t now)
{
	uint8_t body[XCHG_QUOTE_BODY_LEN];

	encode_body(q, body);
	if (q->version != XCHG_QUOTE_VERSION ||
	    !money_sig_verify(
	        q->issuer, XCHG__DOM_XQUOTE, body, sizeof(body), q->sig))
		return XCHG_ERR_QUOTE_FORGED;
	if (now < q->issued)
		return XCHG_ERR_QUOTE_FUTURE;
	if (now >= q->expires)
		return XCHG_ERR_QUOTE_EXPIRED;
	return XCHG_OK;
}
