/*
 * money_token.c: bearer tokens. Canonical encoding (explicit big-endian
 * fields, never struct bytes), signing under the token domain, decoding
 * field by field, offline verification, and the issuer's classification
 * of a token presented for redemption.
 *
 *   off len field
 *     0   1 version (1)
 *     1  32 currency: the issuer's Ed25519 public key
 *    33  16 serial (random)
 *    49   8 amount, int64 > 0
 *    57   8 expiry, uint64 unix seconds
 *    65  64 Ed25519 signature over "mzero/token/v1\0" || bytes 0..64
 */
#include <string.h>

#include <sodium.h>

#include "money_int.h"

#define OFF_VERSION 0
#define OFF_CURRENCY 1
#define OFF_SERIAL (OFF_CURRENCY + MONEY_PK_LEN)
#define OFF_AMOUNT (OFF_SERIAL + MONEY_SERIAL_LEN)
#define OFF_EXPIRY (OFF_AMOUNT + 8)
#define OFF_SIG (OFF_EXPIRY + 8)

_Static_assert(OFF_SIG == MONEY_TOKEN_BODY_LEN, "token layout");
_Static_assert(MONEY_TOKEN_LEN == 129, "token length");

static void
encode_body(const struct money_token *t, uint8_t *out)
{
	out[OFF_VERSION] = t->version;
	memcpy(out + OFF_CURRENCY, t->currency, MONEY_PK_LEN);
	memcpy(out + OFF_SERIAL, t->serial, MONEY_SERIAL_LEN);
	money__put64(out + OFF_AMOUNT, (uint64_t)t->amount);
	money__put64(out + OFF_EXPIRY, t->expiry);
}

void
money_token_encode(const struct money_token *t, uint8_t out[MONEY_TOKEN_LEN])
{
	encode_body(t, out);
	memcpy(out + OFF_SIG, t->sig, MONEY_SIG_LEN);
}

enum money_err
money_token_sign(struct money_ident *id, int64_t amount, uint64_t expiry,
    struct money_token *t)
{
	uint8_t body[MONEY_TOKEN_BODY_LEN];

	if (amount <= 0)
		return MONEY_ERR_OVERFLOW;
	memset(t, 0, sizeof(*t));
	t->version = MONEY_TOKEN_VERSION;
	memcpy(t->currency, money_ident_pk(id), MONEY_PK_LEN);
	randombytes_buf(t->serial, MONEY_SERIAL_LEN);
	t->amount = amount;
	t->expiry = expiry;
	encode_body(t, body);
	return money_ident_sign(
	    id, MONEY__DOM_TOKEN, body, sizeof(body), t->sig);
}

enum money_err
money_token_decode(const uint8_t *buf, size_t len, struct money_token *t)
{
	uint64_t amount;

	memset(t, 0, sizeof(*t));
	/* Length first; every field then lies inside the buffer. */
	if (buf == NULL || len != MONEY_TOKEN_LEN)
		return MONEY_ERR_MALFORMED;
	t->version = buf[OFF_VERSION];
	if (t->version != MONEY_TOKEN_VERSION)
		return MONEY_ERR_MALFORMED;
	memcpy(t->currency, buf + OFF_CURRENCY, MONEY_PK_LEN);
	memcpy(t->serial, buf + OFF_SERIAL, MONEY_SERIAL_LEN);
	amount = money__get64(buf + OFF_AMOUNT);
	if (amount == 0 || amount > INT64_MAX)
		return MONEY_ERR_MALFORMED;
	t->amount = (int64_t)amount;
	t->expiry = money__get64(buf + OFF_EXPIRY);
	memcpy(t->sig, buf + OFF_SIG, MONEY_SIG_LEN);
	return MONEY_OK;
}

enum money_err
money_token_verify(const struct money_token *t)
{
	uint8_t body[MONEY_TOKEN_BODY_LEN];

	encode_body(t, body);
	if (!money_sig_verify(
	        t->currency, MONEY__DOM_TOKEN, body, sizeof(body), t->sig))
		return MONEY_ERR_FORGED;
	return MONEY_OK;
}

/*
 * "Altered" versus "forged": a signature that fails says only that the
 * bytes are not what somebody signed. The issuer records every serial it
 * issues, with amount and expiry, so a failing token whose serial we
 * issued is one of ours that was changed (amount, expiry, currency or
 * signature bytes); a failing token with an unknown serial (including one
 * whose serial was changed) is indistinguishable from a forgery and is
 * called forged. Redemption additionally needs the serial to be issued
 * and unspent, so even a stolen key cannot mint redeemable tokens.
 */
enum money_err
money_token_classify(struct money_ident *id, struct money_ledger *l,
    const uint8_t *buf, size_t len, uint64_t now, struct money_token *t)
{
	struct money_serial_info info;
	int known;

	if (money_token_decode(buf, len, t) != MONEY_OK)
		return MONEY_ERR_MALFORMED;
	known = money_ledger_lookup(l, t->serial, &info) && info.issued;
	if (money_token_verify(t) != MONEY_OK)
		return known ? MONEY_ERR_ALTERED : MONEY_ERR_FORGED;
	if (sodium_memcmp(t->currency, money_ident_pk(id), MONEY_PK_LEN) != 0)
		return MONEY_ERR_FOREIGN;
	/* Expiry before the ledger: pruned serials of expired tokens are
	 * gone, and such a token must still read as expired. */
	if (t->expiry <= now)
		return MONEY_ERR_EXPIRED;
	if (!known)
		return MONEY_ERR_FORGED;
	if (info.amount != t->amount || info.expiry != t->expiry)
		return MONEY_ERR_ALTERED;
	if (info.spent)
		return MONEY_ERR_SPENT;
	return MONEY_OK;
}
