/*
 * pf_ctl.c: the control socket of a platform (include/pf_proto.h): a Unix
 * stream socket, owner-only, that answers status, ps, kill, neighbours,
 * inject and mint, one request per connection. A client that speaks another version
 * or sends an oversized request gets an error and is dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "money.h"
#include "pf_net.h"
#include "pf_proto.h"

struct ctl_client {
	struct pf_ctl *ctl;
	uv_pipe_t h;
	uv_write_t wreq;
	uint8_t *buf;
	size_t len, cap;
	bool answered;
	bool minting; /* a mint answers later; keep k until it does */
	bool closed;
	bool then_stop; /* m0ctl stop: stop the daemon once answered */
	struct ctl_client *prev, *next;
	char *reply; /* header + payload, until written */
};

struct pf_ctl {
	struct pf_platform *pf;
	struct pf_net *net;
	int (*setup)(struct m0_state *s);
	uv_pipe_t srv;
	bool srv_on;
	int64_t started_us;
	struct ctl_client *clients;
	char path[1100];
	struct pf_ctl_daemon d; /* stop, reload and identity; may be unset */
};

void
pf_ctl_set_daemon(struct pf_ctl *c, const struct pf_ctl_daemon *d)
{
	c->d = *d;
}

static void neighbours_live(struct pf_ctl *c, bool json, struct pf_sbuf *b);

/* ---- text answers ---- */

#define U(x) ((unsigned long long)(x))

/* The status table (pf_status.c): the same counters as the log. */
static void
cmd_status(struct pf_ctl *c, bool json, struct pf_sbuf *b)
{
	struct pf_status st = {0};
	pf_status_collect(c->pf, c->net, &st);
	char *out = st.oom ? NULL
	    : json         ? pf_status_json(&st)
	                   : pf_status_text(&st);
	pf_status_free(&st);
	if (!out) {
		b->oom = true;
		return;
	}
	/* What only the daemon knows, then the table, then the neighbours'
	 * liveness (m0ctl status). */
	const char *v = c->d.version ? c->d.version : "";
	const char *pk = c->d.pubkey ? c->d.pubkey : "";
	const char *sd = c->d.state_dir ? c->d.state_dir : "";
	if (json && out[0] == '{') {
		pf__sprint(b,
		    "{\"version\":\"%s\",\"identity\":\"%s\","
		    "\"hid\":\"%016llx\",\"pid\":\"%016llx\","
		    "\"state\":\"%s\",\"neighbours\":",
		    v, pk, U(c->pf->cfg.hid), U(c->pf->cfg.pid), sd);
		neighbours_live(c, true, b);
		b->n--; /* its new line */
		pf__sprint(b, ",%s", out + 1);
	} else {
		pf__sprint(b,
		    "version    %s\nidentity   %s\n"
		    "_hid _pid  %016llx %016llx\nstate      %s\n",
		    v, pk, U(c->pf->cfg.hid), U(c->pf->cfg.pid), sd);
		pf__sprint(b, "%s", out);
		if (c->net && c->net->nnbr) {
			pf__sprint(b, "neighbours\n");
			neighbours_live(c, false, b);
		}
	}
	free(out);
}

struct ps_ctx {
	struct pf_sbuf *b;
	bool json;
	int n;
};

static void
ps_one(void *ud, struct pf_proc *p)
{
	struct ps_ctx *x = ud;
	struct pf_proc_info i;
	pf_proc_info(p, &i);
	const char *where = !i.in_queue ? "-" : i.head ? "head" : "waiting";
	if (x->json)
		pf__sprint(x->b,
		    "%s{\"id\":%llu,\"queue\":\"%016llx\",\"state\":"
		    "\"%s\",\"age_ms\":%lld,\"steps\":%llu,"
		    "\"heap\":%llu}",
		    x->n ? "," : "", U(i.id), U(i.queue), where,
		    (long long)(i.age_us / 1000), U(i.steps), U(i.heap));
	else
		pf__sprint(x->b, "%8llu %016llx %-8s %10lld %12llu %10llu\n",
		    U(i.id), U(i.queue), where, (long long)(i.age_us / 1000),
		    U(i.steps), U(i.heap));
	x->n++;
}

static void
cmd_ps(struct pf_ctl *c, bool json, struct pf_sbuf *b)
{
	struct ps_ctx x = {b, json, 0};
	if (json)
		pf__sprint(b, "[");
	else
		pf__sprint(b, "%8s %-16s %-8s %10s %12s %10s\n", "ID", "QUEUE",
		    "STATE", "AGE_MS", "STEPS", "HEAP");
	pf_foreach(c->pf, ps_one, &x);
	if (json)
		pf__sprint(b, "]\n");
}

struct kill_ctx {
	uint64_t key;
	uint64_t ids[64];
	int n;
};

static void
kill_pick(void *ud, struct pf_proc *p)
{
	struct kill_ctx *k = ud;
	struct pf_proc_info i;
	pf_proc_info(p, &i);
	if (i.in_queue && i.queue == k->key && k->n < 64)
		k->ids[k->n++] = i.id;
}

static int
cmd_kill(struct pf_ctl *c, const char *arg, struct pf_sbuf *b)
{
	char *end;
	if (!strncmp(arg, "-f ", 3)) {
		errno = 0;
		unsigned long long id = strtoull(arg + 3, &end, 10);
		if (!arg[3] || *end || errno)
			goto bad;
		int n = pf_kill_family(c->pf, id);
		if (!n) {
			pf__sprint(b, "no family of process %llu\n", id);
			return -1;
		}
		pf__sprint(
		    b, "killed %d processes of the family of %llu\n", n, id);
		return 0;
	}
	if (strlen(arg) == 16) {
		struct kill_ctx k = {0};
		errno = 0;
		k.key = strtoull(arg, &end, 16);
		if (*end || errno)
			goto bad;
		int killed = 0, now;
		do { /* 64 at a time: never free while walking the list */
			k.n = 0;
			now = 0;
			pf_foreach(c->pf, kill_pick, &k);
			for (int i = 0; i < k.n; i++)
				now += pf_kill(c->pf, k.ids[i]) == 0;
			killed += now;
		} while (k.n == 64 && now > 0);
		pf__sprint(b, "killed %d processes of queue %s\n", killed, arg);
		return 0;
	}
	errno = 0;
	unsigned long long id = strtoull(arg, &end, 10);
	if (!*arg || *end || errno)
		goto bad;
	if (pf_kill(c->pf, id)) {
		pf__sprint(b, "no process %llu\n", id);
		return -1;
	}
	pf__sprint(b, "killed process %llu\n", id);
	return 0;
bad:
	pf__sprint(b,
	    "kill: want a process id, -f and a process id, or a "
	    "queue key (16 hex digits)\n");
	return -1;
}

static void
cmd_neighbours(struct pf_ctl *c, bool json, struct pf_sbuf *b)
{
	char a[80];
	if (json)
		pf__sprint(b, "{");
	for (size_t i = 0; c->net && i < c->net->nnbr; i++) {
		pf_format_sa(
		    (struct sockaddr *)&c->net->nbr[i].sa, a, sizeof(a));
		if (json)
			pf__sprint(b, "%s\"%s\":\"%s\"", i ? "," : "",
			    c->net->nbr[i].name, a);
		else
			pf__sprint(b, "%-20s %s\n", c->net->nbr[i].name, a);
	}
	if (json)
		pf__sprint(b, "}\n");
}

/* "12.3 s ago", or "never". */
static void
ago(int64_t then, int64_t now, char *buf, size_t len)
{
	if (!then)
		snprintf(buf, len, "never");
	else
		snprintf(buf, len, "%.1f s ago", (double)(now - then) / 1e6);
}

/* Each neighbour with when a messenger last came from it and went to it
 * and the last round trip (struct pf_neighbour). */
static void
neighbours_live(struct pf_ctl *c, bool json, struct pf_sbuf *b)
{
	char a[80], rx[32], tx[32];
	int64_t now = pf_now_us();
	if (json)
		pf__sprint(b, "{");
	for (size_t i = 0; c->net && i < c->net->nnbr; i++) {
		const struct pf_neighbour *nb = &c->net->nbr[i];
		pf_format_sa((struct sockaddr *)&nb->sa, a, sizeof(a));
		if (json) {
			pf__sprint(b,
			    "%s\"%s\":{\"address\":\"%s\",\"pinned\":%d,"
			    "\"last_rx_s\":%.3f,\"last_tx_s\":%.3f,"
			    "\"rtt_us\":%lld}",
			    i ? "," : "", nb->name, a, nb->pinned,
			    nb->last_rx_us
			        ? (double)(now - nb->last_rx_us) / 1e6
			        : -1.0,
			    nb->last_tx_us
			        ? (double)(now - nb->last_tx_us) / 1e6
			        : -1.0,
			    (long long)nb->rtt_us);
			continue;
		}
		ago(nb->last_rx_us, now, rx, sizeof(rx));
		ago(nb->last_tx_us, now, tx, sizeof(tx));
		pf__sprint(b, "%-16s %-22s %s heard %s, sent %s", nb->name, a,
		    nb->pinned ? "pinned" : "plain ", rx, tx);
		if (nb->rtt_us)
			pf__sprint(
			    b, ", round trip %lld us", (long long)nb->rtt_us);
		pf__sprint(b, "\n");
	}
	if (json)
		pf__sprint(b, "}\n");
}

static int
cmd_inject(struct pf_ctl *c, const uint8_t *p, size_t len, struct pf_sbuf *b)
{
	struct m0_msg m;
	size_t used;
	int w = m0_wire_decode(p, len, UINT32_MAX, &m, &used);
	if (w != M0_WIRE_OK) {
		pf__sprint(b, "not a messenger: %s\n", m0_wire_strerror(w));
		return -1;
	}
	/* Its origin is the console, so its answers reach the log. */
	struct pf_origin ori = {.family = "console"};
	uint64_t id;
	int err = pf_spawn(c->pf, &m, &ori, c->setup, NULL, &id);
	if (err) {
		pf__sprint(b, "not started: %s\n", pf_strerror(err));
		return -1;
	}
	pf__sprint(b, "process %llu\n", U(id));
	return 0;
#undef U
}

static void answer(struct ctl_client *k, uint32_t type, struct pf_sbuf *b);
static void client_closed(uv_handle_t *h);

static void
mint_done(void *ud, int err, const uint8_t *token)
{
	struct ctl_client *k = ud;
	struct pf_sbuf b = {0};
	k->minting = false;
	if (k->closed) { /* the client left: the token expires unused */
		client_closed((uv_handle_t *)&k->h);
		return;
	}
	if (err) {
		pf__sprint(&b, "mint failed: %s\n", money_strerror(err));
	} else {
		for (size_t i = 0; i < MONEY_TOKEN_LEN; i++)
			pf__sprint(&b, "%02x", token[i]);
		pf__sprint(&b, "\n");
	}
	answer(k, err ? PF_MSG_ERROR : PF_MSG_REPLY, &b);
	free(b.p);
}

/* Returns 1 when the answer comes later. */
static int
cmd_mint(struct ctl_client *k, const char *arg, struct pf_sbuf *b)
{
	char *end;
	errno = 0;
	long long n = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || n <= 0) {
		pf__sprint(b, "mint: want a positive amount\n");
		return -1;
	}
	k->minting = true;
	if (pf_money_mint(k->ctl->pf, n, mint_done, k)) {
		k->minting = false;
		pf__sprint(b, "mint: this platform has no money\n");
		return -1;
	}
	return 1;
}

/* ---- the socket ---- */

static void
client_closed(uv_handle_t *h)
{
	struct ctl_client *k = h->data;
	if (k->minting) { /* mint_done() frees it */
		k->closed = true;
		return;
	}
	free(k->buf);
	free(k->reply);
	free(k);
}

static void
client_close(struct ctl_client *k)
{
	if (uv_is_closing((uv_handle_t *)&k->h))
		return;
	if (k->prev)
		k->prev->next = k->next;
	else
		k->ctl->clients = k->next;
	if (k->next)
		k->next->prev = k->prev;
	uv_close((uv_handle_t *)&k->h, client_closed);
}

static void
answered(uv_write_t *req, int status)
{
	struct ctl_client *k = req->data;
	struct pf_ctl *c = k->ctl;
	bool stop = k->then_stop;
	client_close(k);
	if (stop && c->d.stop)
		c->d.stop(c->d.ud);
}

static void
answer(struct ctl_client *k, uint32_t type, struct pf_sbuf *b)
{
	k->answered = true;
	uv_read_stop((uv_stream_t *)&k->h);
	if (b->oom) {
		client_close(k);
		return;
	}
	struct pf_msg_hdr h = {
	    .type = type, .len = (uint32_t)b->n, .version = PF_PROTO_VERSION};
	k->reply = malloc(sizeof(h) + b->n);
	if (!k->reply) {
		client_close(k);
		return;
	}
	memcpy(k->reply, &h, sizeof(h));
	if (b->n)
		memcpy(k->reply + sizeof(h), b->p, b->n);
	uv_buf_t ub = uv_buf_init(k->reply, (unsigned)(sizeof(h) + b->n));
	k->wreq.data = k;
	if (uv_write(&k->wreq, (uv_stream_t *)&k->h, &ub, 1, answered))
		client_close(k);
}

static void
dispatch(struct ctl_client *k, const struct pf_msg_hdr *h, const uint8_t *p)
{
	struct pf_ctl *c = k->ctl;
	struct pf_sbuf b = {0};
	char arg[64] = "";
	if (h->type != PF_MSG_INJECT) {
		size_t n = h->len < sizeof(arg) - 1 ? h->len : sizeof(arg) - 1;
		memcpy(arg, p, n);
		arg[n] = 0;
	}
	bool json = strcmp(arg, "json") == 0;
	int r = 0;
	switch (h->type) {
	case PF_MSG_STATUS:
		cmd_status(c, json, &b);
		break;
	case PF_MSG_PS:
		cmd_ps(c, json, &b);
		break;
	case PF_MSG_KILL:
		r = cmd_kill(c, arg, &b);
		break;
	case PF_MSG_NEIGHBOURS:
		cmd_neighbours(c, json, &b);
		break;
	case PF_MSG_INJECT:
		r = cmd_inject(c, p, h->len, &b);
		break;
	case PF_MSG_MINT:
		if ((r = cmd_mint(k, arg, &b)) == 1)
			return; /* answered when the issue is durable */
		break;
	case PF_MSG_STOP:
		if (!c->d.stop) {
			pf__sprint(&b, "stop: not a daemon\n");
			r = -1;
		} else {
			pf__sprint(&b, "stopping\n");
			k->then_stop = true;
		}
		break;
	case PF_MSG_RELOAD: {
		char msg[400] = "reload: not a daemon";
		r = c->d.reload ? c->d.reload(c->d.ud, msg, sizeof(msg)) : -1;
		pf__sprint(&b, "%s\n", msg);
		break;
	}
	default:
		pf__sprint(&b, "unknown request %u\n", h->type);
		r = -1;
		break;
	}
	answer(k, r ? PF_MSG_ERROR : PF_MSG_REPLY, &b);
	free(b.p);
}

static void
client_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *buf)
{
	struct ctl_client *k = hd->data;
	if (k->cap - k->len < 4096 && k->cap < PF_PROTO_MAX + 16) {
		size_t ncap = k->cap ? k->cap * 2 : 8192;
		if (ncap > PF_PROTO_MAX + 16)
			ncap = PF_PROTO_MAX + 16;
		uint8_t *nb = realloc(k->buf, ncap);
		if (nb) {
			k->buf = nb;
			k->cap = ncap;
		}
	}
	buf->base = (char *)k->buf + k->len;
	buf->len = k->cap - k->len;
}

static void
client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct ctl_client *k = s->data;
	if (n < 0) {
		client_close(k);
		return;
	}
	if (k->answered)
		return;
	k->len += (size_t)n;
	if (k->len < sizeof(struct pf_msg_hdr))
		return;
	struct pf_msg_hdr h;
	memcpy(&h, k->buf, sizeof(h));
	struct pf_sbuf b = {0};
	if (h.version != PF_PROTO_VERSION) {
		pf__sprint(&b, "protocol version %u, want %u\n", h.version,
		    PF_PROTO_VERSION);
	} else if (h.len > PF_PROTO_MAX) {
		pf__sprint(&b, "request too large\n");
	} else if (k->len - sizeof(h) >= h.len) {
		dispatch(k, &h, k->buf + sizeof(h));
		return;
	} else {
		return; /* wait for the rest */
	}
	answer(k, PF_MSG_ERROR, &b);
	free(b.p);
}

static void
on_client(uv_stream_t *srv, int status)
{
	struct pf_ctl *c = srv->data;
	if (status < 0)
		return;
	struct ctl_client *k = calloc(1, sizeof(*k));
	if (!k)
		return;
	k->ctl = c;
	uv_pipe_init(c->pf->loop, &k->h, 0);
	k->h.data = k;
	k->next = c->clients;
	if (c->clients)
		c->clients->prev = k;
	c->clients = k;
	if (uv_accept(srv, (uv_stream_t *)&k->h) ||
	    uv_read_start((uv_stream_t *)&k->h, client_alloc, client_read))
		client_close(k);
}

static void
srv_failed(uv_handle_t *h)
{
	free(h->data);
}

struct pf_ctl *
pf_ctl_new(struct pf_platform *pf, struct pf_net *net, const char *path,
    int (*setup)(struct m0_state *s), char *err, size_t errlen)
{
	struct pf_ctl *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->pf = pf;
	c->net = net;
	c->setup = setup;
	c->started_us = pf_now_us();
	if (strlen(path) >= sizeof(c->path) || strlen(path) >= 108) {
		snprintf(err, errlen, "%s: path too long for a socket", path);
		free(c);
		return NULL;
	}
	strcpy(c->path, path);
	/* The state directory is locked, so a socket left there is stale. */
	unlink(path);
	uv_pipe_init(pf->loop, &c->srv, 0);
	c->srv.data = c;
	c->srv_on = true;
	mode_t old = umask(077);
	int e = uv_pipe_bind(&c->srv, path);
	umask(old);
	if (!e)
		e = uv_listen((uv_stream_t *)&c->srv, 16, on_client);
	if (e) {
		snprintf(err, errlen, "%s: %s", path, uv_strerror(e));
		uv_close((uv_handle_t *)&c->srv, srv_failed);
		return NULL;
	}
	return c;
}

void
pf_ctl_close(struct pf_ctl *c)
{
	if (!c)
		return;
	while (c->clients)
		client_close(c->clients);
	if (c->srv_on) {
		uv_close((uv_handle_t *)&c->srv, NULL);
		c->srv_on = false;
		unlink(c->path);
	}
}

void
pf_ctl_free(struct pf_ctl *c)
{
	free(c);
}
