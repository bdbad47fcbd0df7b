/*
 * pf_udp.c: the udpip family's sockets. One messenger per datagram (spec
 * A6); every datagram is decoded field by field and dropped with a counted
 * reason when anything is wrong. A messenger sends from the socket of the
 * ifindex it names, so the receiver's _ori leads back to a listening port.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pf_net.h"

static void
udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct pf_listen *l = h->data;
	/* One shared buffer: the datagram is decoded and copied into the
	 * new process before the next read. */
	buf->base = (char *)l->net->rxbuf;
	buf->len = l->net->cfg.max_dgram;
}

void
pf__udp_input(struct pf_listen *l, const uint8_t *p, size_t len,
    const struct sockaddr *from, bool partial)
{
	struct pf_net *n = l->net;
	n->st.rx_bytes += len;
	if (partial) {
		n->st.drops[PF_NDROP_OVERSIZE]++;
		return;
	}
	if (len >= 3 && p[2] == PF_AUTH_VERSION) {
		int r = pf__auth_open(
		    n, p, len, n->authbuf, n->authcap, &len, NULL);
		if (r) {
			n->st.drops[r]++;
			return;
		}
		p = n->authbuf;
	} else if (pf__auth_pinned(n, from, NULL)) {
		n->st.drops[PF_NDROP_AUTH_REQUIRED]++;
		return;
	}
	struct m0_msg msg;
	int w = m0_wire_decode(p, len, n->cfg.max_msg, &msg, NULL);
	if (w != M0_WIRE_OK) {
		n->st.drops[PF_NDROP_WIRE_SHORT + w - M0_WIRE_SHORT]++;
		return;
	}
	pf__net_arrive(n, PF_FUDP, l->index, from, &msg);
}

static void
udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
    const struct sockaddr *from, unsigned flags)
{
	if (nread < 0 || !from)
		return; /* a socket error (ICMP) or nothing more to read */
	pf__udp_input(h->data, (const uint8_t *)buf->base, (size_t)nread, from,
	    flags & UV_UDP_PARTIAL);
}

int
pf__udp_open(struct pf_listen *l, char *err, size_t errlen)
{
	struct pf_net *n = l->net;
	char a[64];
	pf_format_sa((struct sockaddr *)&l->sa, a, sizeof(a));
	int e = uv_udp_init(n->loop, &l->udp);
	if (e)
		goto fail;
	l->udp.data = l;
	l->udp_on = true;
	e = uv_udp_bind(&l->udp, (struct sockaddr *)&l->sa,
	    l->sa.ss_family == AF_INET6 ? UV_UDP_IPV6ONLY : 0);
	if (e)
		goto fail;
	if (l->sa.ss_family == AF_INET)
		uv_udp_set_broadcast(&l->udp, 1); /* best effort */
	/* Port 0 asked for any port: record the one we got. */
	int len = sizeof(l->sa);
	uv_udp_getsockname(&l->udp, (struct sockaddr *)&l->sa, &len);
	e = uv_udp_recv_start(&l->udp, udp_alloc, udp_recv);
	if (e)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "udp %s: %s", a, uv_strerror(e));
	return -1;
}

struct udp_send {
	uv_udp_send_t req;
	struct pf_net *net;
	struct pf_orig *orig; /* the sender's, holding it in the budget */
	size_t len;
	uint8_t buf[];
};

static void
udp_sent(uv_udp_send_t *req, int status)
{
	struct udp_send *u = (struct udp_send *)req;
	pf__net_release(u->net, u->orig, sizeof(*u) + u->len);
	if (status < 0)
		u->net->st.drops[PF_NDROP_TX_ERROR]++;
	free(u);
}

void
pf__udp_send(
    struct pf_net *n, const struct pf_dest *d, const uint8_t *buf, size_t len)
{
	struct pf_listen *l = &n->ls[d->ifindex];
	size_t ix;
	if (pf__auth_pinned(n, (const struct sockaddr *)&d->sa, &ix)) {
		if (len + 128 > n->cfg.max_dgram) {
			n->st.drops[PF_NDROP_TX_TOO_BIG]++;
			return;
		}
		len = pf__auth_wrap(n, ix, buf, len, n->authbuf, n->authcap);
		if (!len) { /* no identity of our own */
			n->st.drops[PF_NDROP_TX_ERROR]++;
			return;
		}
		buf = n->authbuf;
	}
	if (len > n->cfg.max_dgram) {
		n->st.drops[PF_NDROP_TX_TOO_BIG]++;
		return;
	}
	if (!l->udp_on) {
		n->st.drops[PF_NDROP_TX_ERROR]++;
		return;
	}
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	int e = uv_udp_try_send(&l->udp, &b, 1, (struct sockaddr *)&d->sa);
	if (e == (int)len) {
		n->st.tx++;
		n->st.tx_bytes += len;
		return;
	}
	if (e != UV_EAGAIN) {
		n->st.drops[PF_NDROP_TX_ERROR]++;
		return;
	}
	/* The socket buffer is full: queue a copy, within the TCP bound. */
	if (uv_udp_get_send_queue_size(&l->udp) + len > n->cfg.tcp_queue) {
		n->st.drops[PF_NDROP_TX_QUEUE]++;
		return;
	}
	/* A queued datagram is held in the memory budget, for the sender's
	 * origin, until it is sent. */
	struct pf_orig *o = pf__net_orig(n, NULL);
	if (!pf__net_hold(n, o, sizeof(struct udp_send) + len))
		return;
	struct udp_send *u = malloc(sizeof(*u) + len);
	if (!u) {
		pf__net_release(n, o, sizeof(*u) + len);
		n->st.drops[PF_NDROP_TX_ERROR]++;
		return;
	}
	u->net = n;
	u->orig = o;
	u->len = len;
	memcpy(u->buf, buf, len);
	b = uv_buf_init((char *)u->buf, (unsigned)len);
	if (uv_udp_send(
	        &u->req, &l->udp, &b, 1, (struct sockaddr *)&d->sa, udp_sent)) {
		pf__net_release(n, o, sizeof(*u) + len);
		free(u);
		n->st.drops[PF_NDROP_TX_ERROR]++;
		return;
	}
	n->st.tx++;
	n->st.tx_bytes += len;
}
