/*
 * pf_net.c: the network links of a platform (spec A6, Part B "Links").
 * It registers the families udpip and tcpip, turns every well-formed
 * arrival into a process with _ori = [family ifindex [host port]], keeps
 * the neighbours that messengers see in `_nbr`, limits the send rate per
 * destination and counts every drop. The sockets live in pf_udp.c and
 * pf_tcp.c.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>

#include "pf_net.h"

static const char *const net_reasons[] = {
#define PF__NDS(id, s) s,
    PF_NETDROPMAP(PF__NDS)
#undef PF__NDS
};

const char *
pf_net_drop_reason(int reason)
{
	return reason >= 0 && reason < PF_NDROP_N ? net_reasons[reason] : "?";
}

const char *
pf_net_drop_id(int reason)
{
	static const char *const ids[] = {
#define PF__NDI(id, s) #id,
	    PF_NETDROPMAP(PF__NDI)
#undef PF__NDI
	};
	static char low[PF_NDROP_N][32];
	if (reason < 0 || reason >= PF_NDROP_N)
		return "?";
	if (!low[reason][0])
		pf__lower(low[reason], ids[reason], sizeof(low[reason]));
	return low[reason];
}

/* ---- socket addresses (the rest in pf_addr.c) ---- */

static void
sa_set_port(struct sockaddr *sa, int port)
{
	if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
}

/* [host port] for _ori, _adr and _nbr: IPv4 as an int, IPv6 a string. */
static void
sa_to_addr(const struct sockaddr *sa, struct m0_addr *a, char *h, size_t hl)
{
	memset(a, 0, sizeof(*a));
	a->has_port = 1;
	a->port = pf__sa_port(sa);
	if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, h,
		    (socklen_t)hl);
		a->str = h;
		a->str_len = strlen(h);
	} else {
		a->host =
		    ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
	}
}

/* The MØ source of an address value. */
static int
addr_src(char *buf, size_t len, const struct sockaddr *sa)
{
	char h[INET6_ADDRSTRLEN];
	struct m0_addr a;
	sa_to_addr(sa, &a, h, sizeof(h));
	if (a.str)
		return snprintf(buf, len, "[\"%s\" %d]", h, (int)a.port);
	return snprintf(buf, len, "[%lld %d]", (long long)a.host, (int)a.port);
}

static int
addr_to_sa(const struct m0_addr *a, struct sockaddr_storage *ss)
{
	int port = PF_PORT;
	if (a->has_port) {
		if (a->port < 1 || a->port > 65535)
			return M0_ERANGE_CHECK;
		port = (int)a->port;
	}
	if (!a->str) {
		if (a->host < 0 || a->host > 0xffffffffLL)
			return M0_ERANGE_CHECK;
		memset(ss, 0, sizeof(*ss));
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		s4->sin_addr.s_addr = htonl((uint32_t)a->host);
		return M0_OK;
	}
	char h[INET6_ADDRSTRLEN];
	if (a->str_len >= sizeof(h))
		return M0_ERANGE_CHECK;
	memcpy(h, a->str, a->str_len);
	h[a->str_len] = 0;
	return pf__parse_host(h, port, ss) ? M0_ERANGE_CHECK : M0_OK;
}

/* The host's address bytes of (sa): what names its origin. */
static const void *
sa_host(const struct sockaddr *sa, size_t *len)
{
	*len = sa->sa_family == AF_INET6 ? 16 : 4;
	return sa->sa_family == AF_INET6
	    ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
	    : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
}

/* ---- arrivals ---- */

/* pf_spawn's setup has no user data; arrivals are handled one at a time
 * on the loop thread, so the origin waits here. */
static struct {
	struct pf_net *net;
	const char *family;
	int ifindex;
	const struct sockaddr *from;
} arrival;

static int
arrival_setup(struct m0_state *s)
{
	char h[INET6_ADDRSTRLEN];
	struct m0_addr a;
	int err = arrival.net->setup ? arrival.net->setup(s) : M0_OK;
	if (err)
		return err;
	sa_to_addr(arrival.from, &a, h, sizeof(h));
	return m0_state_set_ori_addr(s, arrival.family, arrival.ifindex, &a);
}

static bool
accepted(struct pf_net *n, const struct sockaddr *from)
{
	if (n->cfg.accept_any)
		return true;
	for (size_t i = 0; i < n->nnbr; i++)
		if (pf__sa_same_host((struct sockaddr *)&n->nbr[i].sa, from))
			return true;
	return false;
}

/* Liveness for m0ctl status: a messenger came from (rx) or went to a
 * neighbour's address. A linear scan, as accepted() makes. */
static void
note_neighbour(struct pf_net *n, const struct sockaddr *sa, bool rx)
{
	for (size_t i = 0; i < n->nnbr; i++) {
		struct pf_neighbour *nb = &n->nbr[i];
		if (!pf__sa_equal((struct sockaddr *)&nb->sa, sa))
			continue;
		int64_t now = pf_now_us();
		if (!rx) {
			nb->last_tx_us = now;
		} else {
			if (nb->last_tx_us > nb->last_rx_us)
				nb->rtt_us = now - nb->last_tx_us;
			nb->last_rx_us = now;
		}
		return;
	}
}

void
pf__net_arrive(struct pf_net *n, enum pf_fkind kind, int ifindex,
    const struct sockaddr *from, const struct m0_msg *msg)
{
	if (!accepted(n, from)) {
		n->st.drops[PF_NDROP_NOT_ACCEPTED]++;
		return;
	}
	note_neighbour(n, from, true);
	n->st.rx++;
	pf__egress_earn(n, from, m0_wire_size(msg));
	arrival.net = n;
	arrival.family = kind == PF_FUDP ? "udpip" : "tcpip";
	arrival.ifindex = ifindex;
	arrival.from = from;
	/* The source host (not its port) is the origin the caps count. */
	size_t hlen;
	const void *host = sa_host(from, &hlen);
	struct pf_origin o = {.host = host, .host_len = hlen};
	if (pf_spawn(n->pf, msg, &o, arrival_setup, NULL, NULL) != M0_OK)
		n->st.drops[PF_NDROP_SPAWN]++;
	arrival.from = NULL;
}

/* ---- sending ---- */

static uint32_t
sa_hash(const struct sockaddr *sa)
{
	const uint8_t *p;
	size_t len;
	if (sa->sa_family == AF_INET6) {
		p = (const uint8_t *)&((const struct sockaddr_in6 *)sa)
		        ->sin6_addr;
		len = 16;
	} else {
		p = (const uint8_t *)&((const struct sockaddr_in *)sa)
		        ->sin_addr;
		len = 4;
	}
	uint32_t h = 2166136261u ^ (uint32_t)pf__sa_port(sa);
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* A messenger in the token bucket: rate is per second, time in µs, so
 * a token is a million of the bucket's units. */
#define RATE_TOKEN PF_US_PER_S
/* Idle and slow TCP connections are looked for this often (ms). */
#define SWEEP_MS 1000

bool
pf__net_rate_ok(struct pf_net *n, const struct sockaddr *sa)
{
	struct pf_rate *r = &n->rate[sa_hash(sa) % PF_RATE_SLOTS];
	int64_t now = uv_now(n->loop) * 1000;
	int64_t cap = (int64_t)n->cfg.burst * RATE_TOKEN;
	if (!r->used || !pf__sa_equal((struct sockaddr *)&r->sa, sa)) {
		memcpy(&r->sa, sa, pf__sa_len(sa));
		r->used = true;
		r->tokens = cap;
		r->last_us = now;
	}
	int64_t idle = now - r->last_us, rate = n->cfg.rate;
	if (idle >= cap / rate)
		r->tokens =
		    cap; /* full again; and idle * rate cannot overflow */
	else if ((r->tokens += idle * rate) > cap)
		r->tokens = cap;
	r->last_us = now;
	if (r->tokens < RATE_TOKEN)
		return false;
	r->tokens -= RATE_TOKEN;
	return true;
}

static int
check(struct pf_net *n, enum pf_fkind kind, const struct m0_value *addr,
    int64_t ifindex, void **dest)
{
	struct m0_addr a;
	struct sockaddr_storage ss;
	int err = m0_value_addr(addr, &a);
	if (!err)
		err = addr_to_sa(&a, &ss);
	if (err)
		return err;
	if (ifindex < 0 || ifindex >= n->nls)
		return M0_ERANGE_CHECK;
	if (n->ls[ifindex].sa.ss_family != ss.ss_family)
		return M0_EINVALID_CHANNEL; /* no IPv4 from an IPv6 socket */
	struct pf_dest *d = malloc(sizeof(*d));
	if (!d)
		return M0_EIMPLEMENTATION_LIMIT;
	d->kind = kind;
	d->ifindex = (int)ifindex;
	d->sa = ss;
	*dest = d;
	return M0_OK;
}

static int
udp_check(void *ud, struct m0_state *s, const struct m0_value *addr,
    int64_t ifindex, void **dest)
{
	return check(ud, PF_FUDP, addr, ifindex, dest);
}

static int
tcp_check(void *ud, struct m0_state *s, const struct m0_value *addr,
    int64_t ifindex, void **dest)
{
	return check(ud, PF_FTCP, addr, ifindex, dest);
}

static void
net_send(void *ud, void *dest, const uint8_t *buf, size_t len)
{
	struct pf_net *n = ud;
	struct pf_dest *d = dest;
	if (n->closing)
		return;
	int why = pf__egress_frame(n, &buf, &len);
	if (!why)
		why = pf__egress_check(n, d, buf, len);
	if (why) {
		n->st.drops[why]++;
		return;
	}
	if (!pf__net_rate_ok(n, (struct sockaddr *)&d->sa)) {
		n->st.drops[PF_NDROP_TX_RATE]++;
		return;
	}
	note_neighbour(n, (struct sockaddr *)&d->sa, false);
	if (d->kind == PF_FUDP)
		pf__udp_send(n, d, buf, len);
	else
		pf__tcp_send(n, d, buf, len);
}

static void
dest_free(void *ud, void *dest)
{
	free(dest);
}

/* ---- the object ---- */

static void
on_sweep(uv_timer_t *t)
{
	struct pf_net *n = t->data;
	pf__tcp_sweep(n, uv_now(n->loop) * 1000);
}

struct pf_net *
pf_net_new(struct pf_platform *pf, const struct pf_net_config *cfg,
    int (*setup)(struct m0_state *s))
{
	struct pf_net *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->pf = pf;
	n->loop = pf->loop;
	n->setup = setup;
	if (cfg)
		n->cfg = *cfg;
	if (!n->cfg.max_dgram || n->cfg.max_dgram > PF_DGRAM_MAX)
		n->cfg.max_dgram = n->cfg.max_dgram ? PF_DGRAM_MAX : PF_DGRAM;
	if (!n->cfg.max_msg)
		n->cfg.max_msg = n->cfg.max_dgram;
	if (!n->cfg.rate)
		n->cfg.rate = PF_RATE;
	if (!n->cfg.burst)
		n->cfg.burst = n->cfg.rate / 10 ? n->cfg.rate / 10 : 1;
	if (!n->cfg.tcp_queue)
		n->cfg.tcp_queue = PF_TCP_QUEUE;
	if (!n->cfg.tcp_conns)
		n->cfg.tcp_conns = PF_TCP_CONNS;
	if (!n->cfg.tcp_out)
		n->cfg.tcp_out = 64;
	if (!n->cfg.tcp_per_host)
		n->cfg.tcp_per_host = 8;
	if (!n->cfg.tcp_frame_s)
		n->cfg.tcp_frame_s = 10;
	if (!n->cfg.egress_bytes)
		n->cfg.egress_bytes = 65536;
	if (!n->cfg.egress_period_s)
		n->cfg.egress_period_s = 10;
	if (!n->cfg.egress_factor)
		n->cfg.egress_factor = 4;
	if (!n->cfg.tcp_idle_s)
		n->cfg.tcp_idle_s = PF_TCP_IDLE_S;
	n->rxbuf = malloc(n->cfg.max_dgram);
	/* The largest frame, datagram or TCP, and an envelope around it. */
	n->authcap = (n->cfg.max_dgram > (size_t)n->cfg.max_msg + 24
	                     ? n->cfg.max_dgram
	                     : (size_t)n->cfg.max_msg + 24) +
	    128;
	n->authbuf = malloc(n->authcap);
	n->rate = calloc(PF_RATE_SLOTS, sizeof(*n->rate));
	if (!n->rxbuf || !n->authbuf || !n->rate) {
		pf_net_free(n);
		return NULL;
	}
	return n;
}

int
pf_net_listen(
    struct pf_net *n, const struct sockaddr *sa, char *err, size_t errlen)
{
	if (n->started || n->nls == PF_NET_MAX_LISTEN) {
		snprintf(err, errlen, "too many listen addresses");
		return -1;
	}
	struct pf_listen *l = &n->ls[n->nls];
	memset(l, 0, sizeof(*l));
	l->net = n;
	l->index = n->nls;
	memcpy(&l->sa, sa, pf__sa_len(sa));
	if (pf__sa_port(sa) == 0)
		sa_set_port((struct sockaddr *)&l->sa, PF_PORT);
	n->nls++; /* even when it fails: pf_net_close() closes what opened */
	if (pf__udp_open(l, err, errlen) || pf__tcp_open(l, err, errlen))
		return -1;
	return 0;
}

static int
define_adr(struct pf_net *n, const char *family)
{
	size_t cap = 16 + (size_t)n->nls * 64, len = 1;
	char *src = malloc(cap);
	if (!src)
		return PF_ERR_NOMEM;
	strcpy(src, "[");
	for (int i = 0; i < n->nls; i++)
		len += (size_t)addr_src(
		    src + len, cap - len, (struct sockaddr *)&n->ls[i].sa);
	strcpy(src + len, "]");
	int err = m0_global_define(pf_global(n->pf), "_adr", family, src);
	free(src);
	return err ? PF_ERR_INTERP : PF_OK;
}

/* `_bca`: [udpip ifindex [broadcast port]] for every IPv4 listen address
 * and interface with a broadcast address that it can reach: all of them
 * for a wildcard listen address, its own interface's otherwise. */
static int
define_bca(struct pf_net *n)
{
	struct ifaddrs *ifs = NULL, *i;
	size_t cap = 64, len = 1;
	char *src = malloc(cap);
	if (!src)
		return PF_ERR_NOMEM;
	strcpy(src, "[");
	if (getifaddrs(&ifs))
		ifs = NULL; /* no interfaces: no broadcast */
	for (int l = 0; l < n->nls; l++) {
		struct sockaddr_in *ls = (struct sockaddr_in *)&n->ls[l].sa;
		if (ls->sin_family != AF_INET)
			continue;
		for (i = ifs; i; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
			    !(i->ifa_flags & IFF_BROADCAST) ||
			    !(i->ifa_flags & IFF_UP) || !i->ifa_broadaddr)
				continue;
			struct sockaddr_in *a =
			    (struct sockaddr_in *)i->ifa_addr;
			if (ls->sin_addr.s_addr != htonl(INADDR_ANY) &&
			    ls->sin_addr.s_addr != a->sin_addr.s_addr)
				continue;
			struct sockaddr_in b =
			    *(struct sockaddr_in *)i->ifa_broadaddr;
			b.sin_port = ls->sin_port;
			/* Broadcasts on these are no stranger's (pf_egress). */
			struct sockaddr_storage *nb =
			    realloc(n->bcast, (n->nbcast + 1) * sizeof(*nb));
			if (nb) {
				n->bcast = nb;
				memset(&nb[n->nbcast], 0, sizeof(*nb));
				memcpy(&nb[n->nbcast++], &b, sizeof(b));
			}
			char one[96];
			size_t m = (size_t)snprintf(
			    one, sizeof(one), "['udpip %d ", l);
			m += (size_t)addr_src(
			    one + m, sizeof(one) - m, (struct sockaddr *)&b);
			m += (size_t)snprintf(one + m, sizeof(one) - m, "]");
			if (len + m + 2 > cap) {
				char *ns = realloc(src, cap * 2 + m);
				if (!ns)
					break;
				src = ns;
				cap = cap * 2 + m;
			}
			memcpy(src + len, one, m);
			len += m;
		}
	}
	if (ifs)
		freeifaddrs(ifs);
	strcpy(src + len, "]");
	int err = m0_global_define(pf_global(n->pf), "_sys", "_bca", src);
	free(src);
	return err ? PF_ERR_INTERP : PF_OK;
}

int
pf_net_start(struct pf_net *n, char *err, size_t errlen)
{
	int64_t hosts[PF_NET_MAX_LISTEN];
	for (int i = 0; i < n->nls; i++)
		hosts[i] = n->ls[i].sa.ss_family == AF_INET
		    ? ntohl(
		          ((struct sockaddr_in *)&n->ls[i].sa)->sin_addr.s_addr)
		    : 0;
	struct pf_family udp = {.name = "udpip",
	    .mtu = n->cfg.max_dgram,
	    .ud = n,
	    .check = udp_check,
	    .send = net_send,
	    .dest_free = dest_free};
	struct pf_family tcp = udp;
	tcp.name = "tcpip";
	tcp.mtu = n->cfg.max_msg;
	tcp.check = tcp_check;
	int e = pf_add_family(n->pf, &udp, hosts, (size_t)n->nls);
	if (!e)
		e = pf_add_family(n->pf, &tcp, hosts, (size_t)n->nls);
	if (!e)
		e = define_adr(n, "udpip");
	if (!e)
		e = define_adr(n, "tcpip");
	if (!e)
		e = define_bca(n);
	/* Long aliases (Part B): procedures, so they see a reloaded _nbr. */
	if (!e &&
	    (m0_global_define(
	         pf_global(n->pf), "longdict", "neighbours", "{_nbr}") ||
	        m0_global_define(
	            pf_global(n->pf), "longdict", "broadcasts", "{_bca}")))
		e = PF_ERR_INTERP;
	if (!e)
		e = pf_net_set_neighbours(n, NULL, 0);
	if (e) {
		snprintf(err, errlen, "cannot register the links: %s",
		    pf_strerror(e));
		return -1;
	}
	uv_timer_init(n->loop, &n->sweep);
	n->sweep.data = n;
	/* Each second: frame deadlines are counted in seconds. */
	uv_timer_start(&n->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
	uv_unref((uv_handle_t *)&n->sweep);
	n->started = true;
	return 0;
}

/* The neighbour's interface: the first listen address of its family. */
static int
nbr_ifindex(struct pf_net *n, const struct sockaddr *sa)
{
	for (int i = 0; i < n->nls; i++)
		if (n->ls[i].sa.ss_family == sa->sa_family)
			return i;
	return 0;
}

int
pf_net_set_neighbours(
    struct pf_net *n, const struct pf_neighbour *nb, size_t count)
{
	struct pf_neighbour *copy = NULL;
	if (count && !(copy = malloc(count * sizeof(*copy))))
		return PF_ERR_NOMEM;
	if (count)
		memcpy(copy, nb, count * sizeof(*copy));
	/* `_nbr`: a dict of name -> [udpip ifindex [host port]]. */
	size_t cap = 8 + count * (64 * 4 + 96), len;
	char *src = malloc(cap);
	if (!src) {
		free(copy);
		return PF_ERR_NOMEM;
	}
	len = (size_t)snprintf(src, cap, "D");
	for (size_t i = 0; i < count; i++) {
		len += (size_t)snprintf(src + len, cap - len, " 0 I \"");
		for (const char *c = nb[i].name; *c && c < nb[i].name + 63; c++)
			len += (size_t)snprintf(
			    src + len, cap - len, "\\x%02x", (unsigned char)*c);
		len +=
		    (size_t)snprintf(src + len, cap - len, "\"_ctn['udpip %d ",
		        nbr_ifindex(n, (struct sockaddr *)&nb[i].sa));
		len += (size_t)addr_src(
		    src + len, cap - len, (struct sockaddr *)&nb[i].sa);
		len += (size_t)snprintf(src + len, cap - len, "]:");
	}
	int err = m0_global_define(pf_global(n->pf), "_sys", "_nbr", src);
	free(src);
	if (err) {
		free(copy);
		return PF_ERR_INTERP;
	}
	free(n->nbr);
	n->nbr = copy;
	n->nnbr = count;
	for (struct pf_conn *c = n->conns; c; c = c->next)
		c->authed = false; /* its neighbour index is stale now */
	if (pf__auth_derive(n))
		return PF_ERR_NOMEM;
	return PF_OK;
}

void
pf_net_set_accept(struct pf_net *n, int accept_any)
{
	n->cfg.accept_any = accept_any;
}

void
pf_net_get_stats(const struct pf_net *n, struct pf_net_stats *st)
{
	*st = n->st;
	st->tcp_open = n->nconns;
}

struct pf_orig *
pf__net_orig(struct pf_net *n, const struct sockaddr *peer)
{
	if (!peer)
		return n->pf->sending ? n->pf->sending : pf__orig_get(n->pf, 0);
	size_t len;
	const void *h = sa_host(peer, &len);
	return pf__orig_host(n->pf, h, len);
}

bool
pf__net_hold(struct pf_net *n, struct pf_orig *o, size_t len)
{
	if (!o || !pf__orig_hold(n->pf, o, len)) {
		if (o)
			pf__orig_put(n->pf, o);
		n->st.drops[PF_NDROP_LINK_MEMORY]++;
		return false;
	}
	n->st.buf_bytes += len;
	return true;
}

void
pf__net_release(struct pf_net *n, struct pf_orig *o, size_t len)
{
	n->st.buf_bytes -= len;
	pf__orig_release(n->pf, o, len);
}

void
pf__net_handle_closed(uv_handle_t *h)
{
	struct pf_net *n = h->data;
	n->pending_close--;
	pf__pending_done(n->pf); /* queued datagrams are released by now */
}

static void
close_handle(struct pf_net *n, uv_handle_t *h)
{
	h->data = n;
	n->pending_close++;
	pf__pending_add(n->pf);
	uv_close(h, pf__net_handle_closed);
}

void
pf_net_close(struct pf_net *n)
{
	if (n->closing)
		return;
	n->closing = true;
	for (int i = 0; i < n->nls; i++) {
		struct pf_listen *l = &n->ls[i];
		if (l->udp_on)
			close_handle(n, (uv_handle_t *)&l->udp);
		if (l->tcp_on)
			close_handle(n, (uv_handle_t *)&l->tcp);
		l->udp_on = l->tcp_on = false;
	}
	if (n->started)
		close_handle(n, (uv_handle_t *)&n->sweep);
	pf__tcp_close_all(n);
}

void
pf_net_free(struct pf_net *n)
{
	if (!n)
		return;
	pf__auth_free(n);
	pf__egress_free(n);
	free(n->rxbuf);
	free(n->authbuf);
	free(n->rate);
	free(n->nbr);
	free(n);
}
