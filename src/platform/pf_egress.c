/*
 * pf_egress.c: what a platform may send, and to whom (issue 15, item 4).
 *
 * A messenger decides where its bytes go, so without a policy any
 * messenger could make the daemon a proxy (raw bytes to any service) or
 * an amplifier (a short messenger that sends megabytes to a third party).
 * Two rules, checked for every send before the link sees it:
 *
 * 1. Only messengers leave. A string that is a well-formed messenger
 *    (spec A6: header, CRC, lengths, exactly filling the send) goes as it
 *    is. Any other string, such as the text a messenger sends back to its
 *    injector on the 1994 back channel, leaves framed as a messenger with
 *    empty code and the string as its data field: a platform that gets it
 *    runs nothing, m0inject prints the data, and a service that is not a
 *    platform sees a binary header, never bytes a messenger chose (no
 *    "GET /admin" to a web server). A string too long to frame is dropped
 *    (tx_not_messenger).
 *
 * 2. Strangers get a byte budget. Allowed freely (only the per-destination
 *    rate limit applies): a configured neighbour's exact address, a peer
 *    with an open TCP connection to this platform, an address inside an
 *    `egress_allow` prefix, and the broadcast addresses of `_bca`. Every
 *    other host is a stranger: it has a bucket of egress_bytes that fills
 *    again over egress_period seconds, and each byte this platform
 *    receives from that host adds egress_factor bytes (up to eight
 *    buckets' worth). A send that does not fit is dropped (tx_stranger).
 *    So toward a host that never sent anything, one platform sends at
 *    most egress_bytes per egress_period; toward one that did, at most
 *    egress_factor times what it sent, plus that.
 *
 * Budgets are kept per host (ports ignored: a messenger cannot escape by
 * varying the port) in a fixed table; hosts that hash alike share a slot
 * and a newcomer takes it over with a fresh bucket, which can only grant
 * one bucket more to a stranger, never unbounded traffic.
 */
#include <stdlib.h>

#include "pf_net.h"

#define EGRESS_SLOTS 4096
#define EGRESS_EARN_MAX 8 /* earned credit: at most this many buckets */

struct pf_egress {
	struct sockaddr_storage host;
	int64_t last_us;
	int64_t bytes; /* credit left */
	bool used;
};

static uint64_t
host_hash(const struct sockaddr *sa)
{
	const uint8_t *p;
	size_t len;
	if (sa->sa_family == AF_INET6) {
		p = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		len = 16;
	} else {
		p = (const uint8_t *)&((const struct sockaddr_in *)sa)
		        ->sin_addr;
		len = 4;
	}
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static int64_t
bucket(const struct pf_net *n)
{
	return (int64_t)n->cfg.egress_bytes;
}

/* The slot of (sa)'s host, refilled up to now; a newcomer starts full. */
static struct pf_egress *
slot(struct pf_net *n, const struct sockaddr *sa)
{
	if (!n->egress) {
		n->egress = calloc(EGRESS_SLOTS, sizeof(*n->egress));
		if (!n->egress)
			return NULL;
	}
	struct pf_egress *e = &n->egress[host_hash(sa) % EGRESS_SLOTS];
	int64_t now = (int64_t)uv_now(n->loop) * 1000;
	if (!e->used || !pf__sa_same_host((struct sockaddr *)&e->host, sa)) {
		memcpy(&e->host, sa, pf__sa_len(sa));
		e->used = true;
		e->bytes = bucket(n);
		e->last_us = now;
		return e;
	}
	int64_t period = (int64_t)n->cfg.egress_period_s * 1000000;
	int64_t idle = now - e->last_us;
	e->last_us = now;
	if (e->bytes < bucket(n)) {
		/* Refill at egress_bytes per period, to one bucket. */
		int64_t add =
		    idle >= period ? bucket(n) : idle * bucket(n) / period;
		e->bytes += add;
		if (e->bytes > bucket(n))
			e->bytes = bucket(n);
	}
	return e;
}

static bool
in_prefix(const struct pf_prefix *p, const struct sockaddr *sa)
{
	if (p->sa.ss_family != sa->sa_family)
		return false;
	const uint8_t *a, *b;
	int bits = p->bits, max;
	if (sa->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)&p->sa)->sin6_addr.s6_addr;
		b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		max = 128;
	} else {
		a = (const uint8_t *)&((const struct sockaddr_in *)&p->sa)
		        ->sin_addr;
		b = (const uint8_t *)&((const struct sockaddr_in *)sa)
		        ->sin_addr;
		max = 32;
	}
	if (bits > max)
		bits = max;
	for (int i = 0; bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((a[i] ^ b[i]) & mask)
			return false;
	}
	return true;
}

/* Destinations sent to without a byte budget. */
static bool
known(const struct pf_net *n, const struct pf_dest *d)
{
	const struct sockaddr *sa = (const struct sockaddr *)&d->sa;
	for (size_t i = 0; i < n->nnbr; i++)
		if (pf__sa_equal((const struct sockaddr *)&n->nbr[i].sa, sa))
			return true;
	for (const struct pf_conn *c = n->conns; c; c = c->next)
		if (c->inbound && c->state == PF_COPEN &&
		    pf__sa_equal((const struct sockaddr *)&c->peer, sa))
			return true;
	for (int i = 0; i < n->cfg.negress_allow; i++)
		if (in_prefix(&n->cfg.egress_allow[i], sa))
			return true;
	for (size_t i = 0; i < n->nbcast; i++)
		if (pf__sa_same_host((const struct sockaddr *)&n->bcast[i], sa))
			return true;
	return false;
}

int
pf__egress_frame(struct pf_net *n, const uint8_t **buf, size_t *len)
{
	struct m0_msg msg;
	size_t used;
	if (m0_wire_decode(*buf, *len, n->cfg.max_msg, &msg, &used) ==
	        M0_WIRE_OK &&
	    used == *len)
		return 0;
	msg = (struct m0_msg){.code = (const uint8_t *)"",
	    .data = *buf,
	    .data_len = (uint32_t)*len};
	size_t need = m0_wire_size(&msg);
	if (*len > UINT32_MAX || need > n->cfg.max_msg + 24)
		return PF_NDROP_TX_NOT_MESSENGER;
	if (need > n->framecap) {
		uint8_t *nb = realloc(n->framebuf, need);
		if (!nb)
			return PF_NDROP_TX_ERROR;
		n->framebuf = nb;
		n->framecap = need;
	}
	if (m0_wire_encode(&msg, n->framebuf, n->framecap) != need)
		return PF_NDROP_TX_NOT_MESSENGER;
	*buf = n->framebuf;
	*len = need;
	return 0;
}

int
pf__egress_check(
    struct pf_net *n, const struct pf_dest *d, const uint8_t *buf, size_t len)
{
	if (known(n, d))
		return 0;
	struct pf_egress *e = slot(n, (const struct sockaddr *)&d->sa);
	if (!e || e->bytes < (int64_t)len)
		return PF_NDROP_TX_STRANGER;
	e->bytes -= (int64_t)len;
	return 0;
}

void
pf__egress_earn(struct pf_net *n, const struct sockaddr *from, size_t len)
{
	struct pf_egress *e = slot(n, from);
	if (!e)
		return;
	int64_t max = EGRESS_EARN_MAX * bucket(n);
	e->bytes += (int64_t)len * n->cfg.egress_factor;
	if (e->bytes > max)
		e->bytes = max;
}

void
pf__egress_free(struct pf_net *n)
{
	free(n->egress);
	free(n->bcast);
	free(n->framebuf);
	n->framebuf = NULL;
	n->framecap = 0;
	n->egress = NULL;
	n->bcast = NULL;
	n->nbcast = 0;
}
