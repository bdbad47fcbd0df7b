/*
 * pf_auth.c: authenticated, encrypted links to pinned neighbours (udpip).
 *
 * A neighbour whose Ed25519 public key is configured ("pinned") is talked
 * to only in envelopes, and plain messengers from its address are
 * dropped. An envelope is one datagram, or one frame on a TCP stream:
 *
 *    0  2  "M0"
 *    2  1  version 1 (plain receivers drop it: messengers have 0)
 *    3  1  flags 0
 *    4  4  length of the box (big-endian)
 *    8 32  the sender's Ed25519 public key
 *   40 24  nonce: the sender's counter for this peer (8, big-endian,
 *          pf_replay.c), then 16 random bytes
 *   64     crypto_box(nonce, shared key): time (8, big-endian µs since
 *          the epoch) and the messenger; 16 bytes of MAC in front
 *
 * The shared key is X25519 between the two identities converted to
 * Curve25519 (crypto_box_beforenm), so only the holder of the sender's
 * secret key can make a box that opens, and only the receiver can read
 * it. An envelope older or newer than PF_AUTH_WINDOW_US, or whose counter
 * the peer's replay window has seen (pf_replay.c), is a replay and is
 * dropped.
 */
#include <sodium.h>
#include <stdlib.h>

#include "pf_net.h"

#define ENV_HDR 64
#define ENV_PK 8
#define ENV_NONCE 40
#define ENV_OVER (ENV_HDR + crypto_box_MACBYTES + 8)

int
pf_net_set_identity(
    struct pf_net *n, const unsigned char *box_sk, const unsigned char *pk)
{
	if (sodium_init() < 0)
		return -1;
	if (!n->auth_sk && !(n->auth_sk = sodium_malloc(32)))
		return -1;
	memcpy(n->auth_sk, box_sk, 32);
	memcpy(n->auth_pk, pk, 32);
	n->has_identity = true;
	/* Keys derived for neighbours pinned before the identity. */
	return pf__auth_derive(n);
}

/* Shared keys with every pinned neighbour; others get none. */
int
pf__auth_derive(struct pf_net *n)
{
	if (n->auth_k) {
		sodium_free(n->auth_k);
		n->auth_k = NULL;
	}
	if (!n->nnbr)
		return 0;
	n->auth_k = sodium_malloc(n->nnbr * crypto_box_BEFORENMBYTES);
	if (!n->auth_k)
		return -1;
	for (size_t i = 0; i < n->nnbr; i++) {
		unsigned char *k = n->auth_k + i * crypto_box_BEFORENMBYTES;
		unsigned char cpk[32];
		sodium_memzero(k, crypto_box_BEFORENMBYTES);
		if (!n->nbr[i].pinned || !n->has_identity ||
		    crypto_sign_ed25519_pk_to_curve25519(cpk, n->nbr[i].key) ||
		    crypto_box_beforenm(k, cpk, n->auth_sk))
			continue; /* no valid key: nothing ever opens */
	}
	return pf__replay_sync(n);
}

void
pf__auth_free(struct pf_net *n)
{
	sodium_free(n->auth_sk);
	sodium_free(n->auth_k);
	n->auth_sk = n->auth_k = NULL;
	pf__replay_free(n);
}

const struct pf_neighbour *
pf__auth_pinned(const struct pf_net *n, const struct sockaddr *sa, size_t *ix)
{
	for (size_t i = 0; i < n->nnbr; i++)
		if (n->nbr[i].pinned &&
		    pf__sa_equal((const struct sockaddr *)&n->nbr[i].sa, sa)) {
			if (ix)
				*ix = i;
			return &n->nbr[i];
		}
	return NULL;
}

size_t
pf__auth_wrap(struct pf_net *n, size_t ix, const uint8_t *in, size_t len,
    uint8_t *out, size_t cap)
{
	if (!n->has_identity || !n->auth_k || len + ENV_OVER > cap)
		return 0;
	uint8_t *plain = out + ENV_HDR + crypto_box_MACBYTES;
	out[0] = 'M';
	out[1] = '0';
	out[2] = PF_AUTH_VERSION;
	out[3] = 0;
	size_t box = len + 8 + crypto_box_MACBYTES;
	out[4] = (uint8_t)(box >> 24);
	out[5] = (uint8_t)(box >> 16);
	out[6] = (uint8_t)(box >> 8);
	out[7] = (uint8_t)box;
	memcpy(out + ENV_PK, n->auth_pk, 32);
	uint64_t ctr = pf__replay_next(n, ix);
	for (int i = 0; i < 8; i++)
		out[ENV_NONCE + i] = (uint8_t)(ctr >> (56 - 8 * i));
	randombytes_buf(out + ENV_NONCE + 8, crypto_box_NONCEBYTES - 8);
	uint64_t t = (uint64_t)pf_now_us();
	for (int i = 0; i < 8; i++)
		plain[i] = (uint8_t)(t >> (56 - 8 * i));
	memcpy(plain + 8, in, len);
	/* In place: libsodium allows the message to overlap the box. */
	crypto_box_easy_afternm(out + ENV_HDR, plain, len + 8, out + ENV_NONCE,
	    n->auth_k + ix * crypto_box_BEFORENMBYTES);
	n->st.tx_auth++;
	pf__replay_save(n, false);
	return len + ENV_OVER;
}

int
pf__auth_open(struct pf_net *n, const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, size_t *outlen, size_t *from_ix)
{
	if (len < ENV_OVER || in[3] != 0 || pf__auth_frame_len(in, len) != len)
		return PF_NDROP_AUTH_BAD;
	if (!n->has_identity || !n->auth_k)
		return PF_NDROP_AUTH_UNKNOWN;
	size_t ix = n->nnbr;
	for (size_t i = 0; i < n->nnbr; i++)
		if (n->nbr[i].pinned && !memcmp(n->nbr[i].key, in + ENV_PK, 32))
			ix = i;
	if (ix == n->nnbr)
		return PF_NDROP_AUTH_UNKNOWN;
	size_t plen = len - ENV_HDR - crypto_box_MACBYTES;
	if (plen > cap ||
	    crypto_box_open_easy_afternm(out, in + ENV_HDR, len - ENV_HDR,
	        in + ENV_NONCE, n->auth_k + ix * crypto_box_BEFORENMBYTES))
		return PF_NDROP_AUTH_BAD;
	uint64_t t = 0;
	for (int i = 0; i < 8; i++)
		t = t << 8 | out[i];
	int64_t age = pf_now_us() - (int64_t)t;
	uint64_t ctr = 0;
	for (int i = 0; i < 8; i++)
		ctr = ctr << 8 | in[ENV_NONCE + i];
	/* Age first: an envelope out of the window leaves no mark in it. */
	if (age > PF_AUTH_WINDOW_US || age < -PF_AUTH_WINDOW_US ||
	    !pf__replay_accept(n, ix, ctr))
		return PF_NDROP_AUTH_REPLAY;
	pf__replay_save(n, false);
	memmove(out, out + 8, plen - 8);
	*outlen = plen - 8;
	n->st.rx_auth++;
	if (from_ix)
		*from_ix = ix;
	return 0;
}

size_t
pf__auth_frame_len(const uint8_t *p, size_t have)
{
	if (have < 8)
		return 0;
	return ENV_HDR +
	    ((size_t)p[4] << 24 | (size_t)p[5] << 16 | (size_t)p[6] << 8 |
	        p[7]);
}
