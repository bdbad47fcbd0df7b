/*
 * pf_tcp.c: the tcpip family's connections. A stream carries a sequence
 * of messengers, each self-delimiting (m0_wire_need). Connections are
 * pooled by peer address, inbound and outbound alike, so a reply key made
 * from the _ori of a TCP arrival (the peer's address and port) goes back
 * on the connection the messenger came on. A peer that sends anything
 * that is not a messenger is disconnected and counted; the send queue of
 * each connection is bounded and its overflow dropped and counted.
 *
 * Slow peers: a frame (and an inbound connection's first frame, from the
 * accept) must be complete within tcp_frame_s of its first byte; bytes
 * that trickle in do not move that deadline, only the idle timer. Inbound
 * and outbound connections have budgets of their own (tcp_conns,
 * tcp_out), so peers that hold every inbound slot cannot stop this
 * platform's own sends, and one host holds at most tcp_per_host inbound.
 *
 * Memory: a connection's record and receive buffer are held in the
 * daemon's memory budget for the peer's host (its origin), each queued
 * write for the origin of the process that sent it (pf__net_hold). Past
 * an origin's share or the budget, a connection is not kept, a write is
 * not queued (link_memory, counted), and a connection whose next frame
 * finds no room is closed (link_memory): a stream cannot skip a frame.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pf_net.h"

/* A frame may carry the largest messenger plus its header and padding. */
static size_t
max_frame(const struct pf_net *n)
{
	return (size_t)n->cfg.max_msg + 24;
}

/* The initial receive buffer; a larger one goes once it is empty. */
#define RX_MIN 8192

static void
conn_closed(uv_handle_t *h)
{
	struct pf_conn *c = h->data;
	struct pf_platform *pf = c->net->pf;
	if (c->orig)
		pf__net_release(c->net, c->orig, sizeof(*c) + c->rxcap);
	free(c->rx);
	free(c);
	pf__pending_done(pf);
}

static void
conn_close(struct pf_conn *c)
{
	struct pf_net *n = c->net;
	if (c->state == PF_CCLOSING)
		return;
	c->state = PF_CCLOSING;
	if (c->prev)
		c->prev->next = c->next;
	else
		n->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	n->nconns--;
	if (c->inbound)
		n->nin--;
	else
		n->nout--;
	/* The platform stays until its origins have their bytes back. */
	pf__pending_add(n->pf);
	uv_close((uv_handle_t *)&c->h, conn_closed);
}

static struct pf_conn *
conn_new(struct pf_net *n, int ifindex, bool inbound)
{
	struct pf_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->net = n;
	c->ifindex = ifindex;
	c->inbound = inbound;
	c->last_us = (int64_t)uv_now(n->loop) * 1000;
	/* An inbound peer owes its first frame from the start. */
	c->frame_us = inbound ? c->last_us : 0;
	uv_tcp_init(n->loop, &c->h);
	c->h.data = c;
	c->next = n->conns;
	if (n->conns)
		n->conns->prev = c;
	n->conns = c;
	n->nconns++;
	if (inbound)
		n->nin++;
	else
		n->nout++;
	return c;
}

/* Grows the receive buffer towards one frame, within the memory
 * budget; returns the room left (0: a frame that cannot be read). */
static size_t
rx_room(struct pf_conn *c)
{
	if (c->rxcap - c->rxlen < 4096 && c->rxcap < max_frame(c->net)) {
		size_t ncap = c->rxcap ? c->rxcap * 2 : RX_MIN;
		if (ncap > max_frame(c->net))
			ncap = max_frame(c->net);
		if (!c->orig || !pf__net_hold(c->net, c->orig, ncap - c->rxcap))
			return c->rxcap - c->rxlen;
		uint8_t *nb = realloc(c->rx, ncap);
		if (nb) {
			c->rx = nb;
			c->rxcap = ncap;
		} else {
			pf__net_release(c->net, c->orig, ncap - c->rxcap);
			c->net->st.drops[PF_NDROP_TX_ERROR]++;
		}
	}
	return c->rxcap - c->rxlen;
}

/* A buffer grown for a large frame goes back once it is empty, so idle
 * connections hold RX_MIN at most. */
static void
rx_shrink(struct pf_conn *c)
{
	if (c->rxlen || c->rxcap <= RX_MIN)
		return;
	pf__net_release(c->net, c->orig, c->rxcap);
	free(c->rx);
	c->rx = NULL;
	c->rxcap = 0;
}

/* Charges the connection's record to its peer's host, once the peer is
 * known; false (counted) when that does not fit. */
static bool
conn_charge(struct pf_conn *c)
{
	struct pf_orig *o = pf__net_orig(c->net, (struct sockaddr *)&c->peer);
	if (!pf__net_hold(c->net, o, sizeof(*c)))
		return false;
	c->orig = o;
	return true;
}

static void
conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct pf_conn *c = h->data;
	buf->len = rx_room(c); /* 0: libuv reads nothing, says UV_ENOBUFS */
	buf->base = (char *)c->rx + c->rxlen;
}

/* Drop the peer: the stream cannot be resynchronised after garbage. */
static void
conn_bad(struct pf_conn *c, int reason)
{
	c->net->st.drops[reason]++;
	c->net->st.drops[PF_NDROP_TCP_GARBAGE]++;
	conn_close(c);
}

/* Takes every complete messenger off the front of the buffer. */
static void
conn_frames(struct pf_conn *c)
{
	struct pf_net *n = c->net;
	size_t off = 0;
	while (c->state != PF_CCLOSING && c->rxlen - off >= 16) {
		const uint8_t *p = c->rx + off;
		size_t have = c->rxlen - off;
		if (p[2] == PF_AUTH_VERSION) {
			size_t need = pf__auth_frame_len(p, have);
			if (need > max_frame(n) + 128) {
				conn_bad(c, PF_NDROP_AUTH_BAD);
				return;
			}
			if (have < need)
				break;
			size_t len, ix;
			int r = pf__auth_open(
			    n, p, need, n->authbuf, n->authcap, &len, &ix);
			struct m0_msg msg;
			size_t used;
			int w = r ? M0_WIRE_OK
			          : m0_wire_decode(n->authbuf, len,
			                n->cfg.max_msg, &msg, &used);
			if (r || w != M0_WIRE_OK) {
				conn_bad(c,
				    r ? r
				      : PF_NDROP_WIRE_SHORT + w -
				            M0_WIRE_SHORT);
				return;
			}
			c->authed = true; /* answers on it go in envelopes */
			c->auth_ix = ix;
			n->st.rx_bytes += need;
			off += need;
			pf__net_arrive(n, PF_FTCP, c->ifindex,
			    (struct sockaddr *)&c->peer, &msg);
			continue;
		}
		/* Check what the header says before waiting for the rest. */
		if (p[2] != 0) {
			conn_bad(c, PF_NDROP_WIRE_VERSION);
			return;
		}
		if (p[3] & 0x7f) {
			conn_bad(c, PF_NDROP_WIRE_FLAGS);
			return;
		}
		size_t need = m0_wire_need(p, have);
		if (need == 0)
			break;
		if (need > max_frame(n)) {
			conn_bad(c, PF_NDROP_WIRE_TOO_BIG);
			return;
		}
		if (have < need)
			break;
		struct m0_msg msg;
		size_t used;
		int w = m0_wire_decode(p, need, n->cfg.max_msg, &msg, &used);
		if (w != M0_WIRE_OK) {
			conn_bad(c, PF_NDROP_WIRE_SHORT + w - M0_WIRE_SHORT);
			return;
		}
		n->st.rx_bytes += need;
		off += need;
		pf__net_arrive(
		    n, PF_FTCP, c->ifindex, (struct sockaddr *)&c->peer, &msg);
	}
	if (c->state == PF_CCLOSING)
		return;
	if (off) {
		memmove(c->rx, c->rx + off, c->rxlen - off);
		c->rxlen -= off;
		c->frame_us = 0; /* the next frame's clock starts below */
		rx_shrink(c);
	}
	if (c->rxlen && !c->frame_us)
		c->frame_us = (int64_t)uv_now(n->loop) * 1000;
}

static void
conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct pf_conn *c = s->data;
	/* UV_ENOBUFS: no room for the frame (link_memory, counted). */
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	c->rxlen += (size_t)nread;
	c->last_us = (int64_t)uv_now(c->net->loop) * 1000;
	conn_frames(c);
}

/* Bytes as if read from the peer (the fuzz target's way in). */
void
pf__tcp_input(struct pf_conn *c, const uint8_t *p, size_t len)
{
	while (len && c->state != PF_CCLOSING) {
		size_t room = rx_room(c);
		if (!room) { /* counted as link_memory */
			conn_close(c);
			return;
		}
		size_t n = len < room ? len : room;
		memcpy(c->rx + c->rxlen, p, n);
		c->rxlen += n;
		p += n;
		len -= n;
		conn_frames(c);
	}
}

/* An open inbound connection with no socket behind it (fuzzing). */
struct pf_conn *
pf__tcp_conn_fake(struct pf_net *n, const struct sockaddr *peer)
{
	struct pf_conn *c = conn_new(n, 0, true);
	if (c) {
		memcpy(&c->peer, peer, pf__sa_len(peer));
		c->state = PF_COPEN;
		if (!conn_charge(c)) {
			conn_close(c);
			return NULL;
		}
	}
	return c;
}

static void
on_accept(uv_stream_t *srv, int status)
{
	struct pf_listen *l = srv->data;
	struct pf_net *n = l->net;
	if (status < 0 || n->closing)
		return;
	struct pf_conn *c = conn_new(n, l->index, true);
	if (!c)
		return;
	if (uv_accept(srv, (uv_stream_t *)&c->h)) {
		conn_close(c);
		return;
	}
	if (n->nin > n->cfg.tcp_conns) {
		n->st.drops[PF_NDROP_TCP_CONN_CAP]++;
		conn_close(c);
		return;
	}
	int len = sizeof(c->peer);
	if (uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->peer, &len)) {
		conn_close(c);
		return;
	}
	uint32_t same = 0;
	for (struct pf_conn *o = n->conns; o; o = o->next)
		if (o->inbound && o->state != PF_CCLOSING &&
		    pf__sa_same_host((struct sockaddr *)&o->peer,
		        (struct sockaddr *)&c->peer))
			same++;
	if (same > n->cfg.tcp_per_host) { /* c itself is among them */
		n->st.drops[PF_NDROP_TCP_HOST_CAP]++;
		conn_close(c);
		return;
	}
	if (!conn_charge(c)) {
		conn_close(c);
		return;
	}
	if (uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read)) {
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->h, 1);
	c->state = PF_COPEN;
	n->st.tcp_accepted++;
}

int
pf__tcp_open(struct pf_listen *l, char *err, size_t errlen)
{
	struct pf_net *n = l->net;
	char a[64];
	pf_format_sa((struct sockaddr *)&l->sa, a, sizeof(a));
	int e = uv_tcp_init(n->loop, &l->tcp);
	if (e)
		goto fail;
	l->tcp.data = l;
	l->tcp_on = true;
	e = uv_tcp_bind(&l->tcp, (struct sockaddr *)&l->sa,
	    l->sa.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
	if (!e)
		e = uv_listen((uv_stream_t *)&l->tcp, 128, on_accept);
	if (e)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "tcp %s: %s", a, uv_strerror(e));
	return -1;
}

static void
on_connect(uv_connect_t *req, int status)
{
	struct pf_conn *c = req->data;
	if (status < 0) {
		/* Queued writes fail with the connection; they count there. */
		conn_close(c);
		return;
	}
	if (c->state == PF_CCLOSING)
		return;
	c->state = PF_COPEN;
	c->frame_us = 0; /* connected in time (the deadline of conn_open) */
	c->net->st.tcp_connected++;
	uv_tcp_nodelay(&c->h, 1);
	/* A daemon answers on connections it opened too (and a peer that
	 * sends garbage back is dropped like any other). */
	if (uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read))
		conn_close(c);
}

static struct pf_conn *
conn_find(struct pf_net *n, const struct sockaddr *sa)
{
	for (struct pf_conn *c = n->conns; c; c = c->next)
		if (pf__sa_equal((struct sockaddr *)&c->peer, sa))
			return c;
	return NULL;
}

static struct pf_conn *
conn_open(struct pf_net *n, const struct pf_dest *d)
{
	if (n->nout >= n->cfg.tcp_out) {
		n->st.drops[PF_NDROP_TCP_OUT_CAP]++;
		return NULL;
	}
	struct pf_conn *c = conn_new(n, d->ifindex, false);
	if (!c)
		return NULL;
	c->peer = d->sa;
	if (!conn_charge(c)) {
		conn_close(c);
		return NULL;
	}
	c->creq.data = c;
	/* Leave from the listen address of the ifindex (its port is not
	 * shared: the kernel picks one). */
	struct sockaddr_storage src = n->ls[d->ifindex].sa;
	if (src.ss_family == AF_INET)
		((struct sockaddr_in *)&src)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&src)->sin6_port = 0;
	uv_tcp_bind(&c->h, (struct sockaddr *)&src, 0);
	if (uv_tcp_connect(
	        &c->creq, &c->h, (struct sockaddr *)&d->sa, on_connect)) {
		conn_close(c);
		return NULL;
	}
	c->state = PF_CCONNECTING;
	/* A connect that hangs (a silent address) holds an outbound slot
	 * and its queued writes: it gets the frame deadline too. */
	c->frame_us = (int64_t)uv_now(n->loop) * 1000;
	return c;
}

struct tcp_write {
	uv_write_t req;
	struct pf_conn *conn;
	struct pf_orig *orig; /* the sender's, holding it in the budget */
	size_t len;
	uint8_t buf[];
};

static void
tcp_written(uv_write_t *req, int status)
{
	struct tcp_write *w = (struct tcp_write *)req;
	struct pf_conn *c = w->conn;
	c->queued -= w->len;
	pf__net_release(c->net, w->orig, sizeof(*w) + w->len);
	if (status < 0) {
		c->net->st.drops[PF_NDROP_TX_ERROR]++;
		conn_close(c);
	}
	free(w);
}

void
pf__tcp_send(
    struct pf_net *n, const struct pf_dest *d, const uint8_t *buf, size_t len)
{
	if (len > max_frame(n)) {
		n->st.drops[PF_NDROP_TX_TOO_BIG]++;
		return;
	}
	struct pf_conn *c = conn_find(n, (struct sockaddr *)&d->sa);
	if (!c && !(c = conn_open(n, d))) {
		n->st.drops[PF_NDROP_TX_ERROR]++;
		return;
	}
	/* To a pinned neighbour, or on a connection one authenticated:
	 * in envelopes. */
	size_t ix;
	if (c->authed || pf__auth_pinned(n, (struct sockaddr *)&d->sa, &ix)) {
		if (c->authed)
			ix = c->auth_ix;
		if (len + 128 > n->authcap) { /* no room for the envelope */
			n->st.drops[PF_NDROP_TX_TOO_BIG]++;
			return;
		}
		len = pf__auth_wrap(n, ix, buf, len, n->authbuf, n->authcap);
		if (!len) {
			n->st.drops[PF_NDROP_TX_ERROR]++;
			return;
		}
		buf = n->authbuf;
	}
	if (c->queued + len > n->cfg.tcp_queue) {
		n->st.drops[PF_NDROP_TX_QUEUE]++;
		return;
	}
	struct pf_orig *o = pf__net_orig(n, NULL);
	if (!pf__net_hold(n, o, sizeof(struct tcp_write) + len))
		return;
	struct tcp_write *w = malloc(sizeof(*w) + len);
	if (!w) {
		pf__net_release(n, o, sizeof(*w) + len);
		n->st.drops[PF_NDROP_TX_ERROR]++;
		return;
	}
	w->conn = c;
	w->orig = o;
	w->len = len;
	memcpy(w->buf, buf, len);
	uv_buf_t b = uv_buf_init((char *)w->buf, (unsigned)len);
	/* libuv holds writes made while connecting until it connects. */
	if (uv_write(&w->req, (uv_stream_t *)&c->h, &b, 1, tcp_written)) {
		pf__net_release(n, o, sizeof(*w) + len);
		free(w);
		n->st.drops[PF_NDROP_TX_ERROR]++;
		conn_close(c);
		return;
	}
	c->queued += len;
	c->last_us = (int64_t)uv_now(n->loop) * 1000;
	n->st.tx++;
	n->st.tx_bytes += len;
}

void
pf__tcp_sweep(struct pf_net *n, int64_t now_us)
{
	struct pf_conn *c = n->conns, *next;
	for (; c; c = next) {
		next = c->next;
		if (c->frame_us &&
		    now_us - c->frame_us >
		        (int64_t)n->cfg.tcp_frame_s * PF_US_PER_S) {
			n->st.drops[PF_NDROP_TCP_SLOW]++;
			conn_close(c);
		} else if (!c->queued &&
		    now_us - c->last_us >
		        (int64_t)n->cfg.tcp_idle_s * PF_US_PER_S)
			conn_close(c);
	}
}

void
pf__tcp_close_all(struct pf_net *n)
{
	while (n->conns)
		conn_close(n->conns);
}
