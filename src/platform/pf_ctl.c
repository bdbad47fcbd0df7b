/*
 * pf_ctl.c: the control socket of a platform (include/pf_proto.h): a Unix
 * stream socket, owner-only, that answers status, ps, kill, neighbours,
 * inject and mint, one request per connection. A client that speaks another version
 * or sends an oversized request gets an error and is dropped.
 */
#include <errno.h>
#include <stdarg.h>
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

/* ---- text answers ---- */

struct cbuf {
	char *p;
	size_t n, cap;
	bool oom;
};

static void __attribute__((format(printf, 2, 3)))
cprintf(struct cbuf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = b->oom ? 0
			       : vsnprintf(b->p ? b->p + b->n : NULL,
				     b->cap - b->n, fmt, ap);
		va_end(ap);
		if (b->oom || n < 0)
			return;
		if ((size_t)n < b->cap - b->n) {
			b->n += (size_t)n;
			return;
		}
		size_t ncap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
		char *np = realloc(b->p, ncap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

static void
add_heap(void *ud, struct pf_proc *p)
{
	struct pf_proc_info info;
	pf_proc_info(p, &info);
	*(uint64_t *)ud += info.heap;
}

static long
rss_kb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Money in units; prices in units per resource unit, fixed point. */
static void
money_text(struct pf_ctl *c, struct cbuf *b)
{
	struct pf_money_stats m;
	pf_money_get_stats(c->pf, &m);
	if (!m.nprices)
		return;
	cprintf(b, "economy    %s\n", m.charged ? "charged" : "free");
	cprintf(b, "money      minted %lld, held %lld, outstanding %lld, "
		   "burned %lld (charged %lld), lost %lld (%lld at start)\n",
	    (long long)m.minted, (long long)m.held, (long long)m.outstanding,
	    (long long)m.burned, (long long)m.charged_units, (long long)m.lost,
	    (long long)m.lost_at_open);
	cprintf(b, "ledger     %llu records, %llu serials, %llu commits; "
		   "%llu deposits, %llu withdrawals, %llu refused\n",
	    (unsigned long long)m.ledger_records,
	    (unsigned long long)m.ledger_serials,
	    (unsigned long long)m.commits, (unsigned long long)m.deposits,
	    (unsigned long long)m.withdrawals, (unsigned long long)m.refused);
	cprintf(b, "refused   ");
	for (int r = 0; r < PF_REFUSAL_N; r++)
		cprintf(b, " %s %llu", pf_refusal_name(r),
		    (unsigned long long)m.refused_by[r]);
	cprintf(b, "\n");
	cprintf(b, "removals   %llu (credit exhausted); %llu entries of _ "
		   "expired\n",
	    (unsigned long long)m.removed,
	    (unsigned long long)m.expired_store);
	cprintf(b, "prices     epoch %llu, per unit of resource x 1e-6:",
	    (unsigned long long)m.epoch);
	for (int r = 0; r < m.nprices; r++)
		cprintf(b, " %s=%lld", money_res_name((enum money_res)r),
		    (long long)m.price[r]);
	cprintf(b, "\n");
	struct pf_xchg_stats x;
	pf_xchg_get_stats(c->pf, &x);
	if (!x.present)
		return;
	cprintf(b, "exchange   %llu sold to us, %llu bought, %llu refused; "
		   "paid out %lld, taken in %lld; reserve %llu tokens, %llu "
		   "records, %llu commits, %llu compactions\n",
	    (unsigned long long)x.sells, (unsigned long long)x.buys,
	    (unsigned long long)x.refused, (long long)x.minted,
	    (long long)x.burned, (unsigned long long)x.reserve_tokens,
	    (unsigned long long)x.reserve_records,
	    (unsigned long long)x.reserve_commits,
	    (unsigned long long)x.reserve_compactions);
}

static void
money_json(struct pf_ctl *c, struct cbuf *b)
{
	struct pf_money_stats m;
	pf_money_get_stats(c->pf, &m);
	if (!m.nprices)
		return;
	cprintf(b, ",\"money\":{\"economy\":\"%s\",\"minted\":%lld,"
		   "\"held\":%lld,\"outstanding\":%lld,\"burned\":%lld,"
		   "\"charged\":%lld,\"lost\":%lld,\"lost_at_start\":%lld,"
		   "\"removed\":%llu,\"deposits\":%llu,\"withdrawals\":%llu,"
		   "\"refused\":%llu,\"store_expired\":%llu,"
		   "\"ledger_records\":%llu,\"ledger_serials\":%llu,"
		   "\"commits\":%llu,\"epoch\":%llu,\"prices\":{",
	    m.charged ? "charged" : "free", (long long)m.minted,
	    (long long)m.held, (long long)m.outstanding, (long long)m.burned,
	    (long long)m.charged_units, (long long)m.lost,
	    (long long)m.lost_at_open, (unsigned long long)m.removed,
	    (unsigned long long)m.deposits, (unsigned long long)m.withdrawals,
	    (unsigned long long)m.refused,
	    (unsigned long long)m.expired_store,
	    (unsigned long long)m.ledger_records,
	    (unsigned long long)m.ledger_serials,
	    (unsigned long long)m.commits, (unsigned long long)m.epoch);
	for (int r = 0; r < m.nprices; r++)
		cprintf(b, "%s\"%s\":%lld", r ? "," : "",
		    money_res_name((enum money_res)r), (long long)m.price[r]);
	cprintf(b, "},\"refusals\":{");
	for (int r = 0; r < PF_REFUSAL_N; r++)
		cprintf(b, "%s\"%s\":%llu", r ? "," : "", pf_refusal_name(r),
		    (unsigned long long)m.refused_by[r]);
	cprintf(b, "}}");
	struct pf_xchg_stats x;
	pf_xchg_get_stats(c->pf, &x);
	if (!x.present)
		return;
	cprintf(b, ",\"exchange\":{\"sells\":%llu,\"buys\":%llu,"
		   "\"refused\":%llu,\"paid_out\":%lld,\"taken_in\":%lld,"
		   "\"reserve_tokens\":%llu,\"reserve_records\":%llu,"
		   "\"reserve_commits\":%llu,\"reserve_compactions\":%llu}",
	    (unsigned long long)x.sells, (unsigned long long)x.buys,
	    (unsigned long long)x.refused, (long long)x.minted,
	    (long long)x.burned, (unsigned long long)x.reserve_tokens,
	    (unsigned long long)x.reserve_records,
	    (unsigned long long)x.reserve_commits,
	    (unsigned long long)x.reserve_compactions);
}

static void neighbours_live(struct pf_ctl *c, bool json, struct cbuf *b);

static void
cmd_status(struct pf_ctl *c, bool json, struct cbuf *b)
{
	struct pf_stats ps;
	struct pf_net_stats ns = {0};
	uint64_t heaps = 0;
	pf_get_stats(c->pf, &ps);
	if (c->net)
		pf_net_get_stats(c->net, &ns);
	pf_foreach(c->pf, add_heap, &heaps);
	long long up = (long long)((pf_now_us() - c->started_us) / 1000000);
	unsigned long long gl = m0_global_bytes(pf_global(c->pf));
	char a[80];
#define U(x) ((unsigned long long)(x))
	if (json) {
		cprintf(b, "{\"version\":\"%s\",\"identity\":\"%s\","
			   "\"hid\":\"%016llx\",\"pid\":\"%016llx\","
			   "\"state\":\"%s\",",
		    c->d.version ? c->d.version : "",
		    c->d.pubkey ? c->d.pubkey : "", U(c->pf->cfg.hid),
		    U(c->pf->cfg.pid), c->d.state_dir ? c->d.state_dir : "");
		cprintf(b, "\"uptime_s\":%lld,\"processes\":{\"running\":%llu,"
			   "\"waiting\":%llu,\"created\":%llu,\"ended\":%llu},"
			   "\"queues\":%llu,\"memory\":{\"global_bytes\":%llu,"
			   "\"process_bytes\":%llu,\"rss_kb\":%ld},\"links\":{"
			   "\"listen\":[",
		    up, U(ps.running), U(ps.waiting), U(ps.created), U(ps.ended),
		    U(ps.queues), gl, U(heaps), rss_kb());
		for (int i = 0; c->net && i < c->net->nls; i++) {
			pf_format_sa((struct sockaddr *)&c->net->ls[i].sa, a,
			    sizeof(a));
			cprintf(b, "%s\"%s\"", i ? "," : "", a);
		}
		cprintf(b, "],\"rx\":%llu,\"rx_bytes\":%llu,\"tx\":%llu,"
			   "\"tx_bytes\":%llu,\"rx_auth\":%llu,\"tx_auth\":%llu,"
			   "\"tcp_open\":%llu,"
			   "\"tcp_accepted\":%llu,\"tcp_connected\":%llu},"
			   "\"drops\":{",
		    U(ns.rx), U(ns.rx_bytes), U(ns.tx), U(ns.tx_bytes),
		    U(ns.rx_auth), U(ns.tx_auth), U(ns.tcp_open),
		    U(ns.tcp_accepted), U(ns.tcp_connected));
		for (int i = 0; i < PF_DROP_N; i++) {
			cprintf(b, "%s\"%s\":%llu", i ? "," : "", pf_drop_id(i),
			    U(ps.drops[i]));
		}
		for (int i = 0; i < PF_NDROP_N; i++) {
			cprintf(b, ",\"%s\":%llu", pf_net_drop_id(i),
			    U(ns.drops[i]));
		}
		cprintf(b, "},\"neighbours\":");
		neighbours_live(c, true, b);
		b->n--; /* its new line */
		money_json(c, b);
		cprintf(b, "}\n");
		return;
	}
	if (c->d.version)
		cprintf(b, "version    %s\n", c->d.version);
	if (c->d.pubkey)
		cprintf(b, "identity   %s\n", c->d.pubkey);
	cprintf(b, "_hid _pid  %016llx %016llx\n", U(c->pf->cfg.hid),
	    U(c->pf->cfg.pid));
	if (c->d.state_dir)
		cprintf(b, "state      %s\n", c->d.state_dir);
	cprintf(b, "uptime     %llds\n", up);
	cprintf(b, "processes  %llu running, %llu waiting (%llu created, "
		   "%llu ended)\n",
	    U(ps.running), U(ps.waiting), U(ps.created), U(ps.ended));
	cprintf(b, "queues     %llu\n", U(ps.queues));
	cprintf(b, "memory     global %llu B, processes %llu B, rss %ld kB\n",
	    gl, U(heaps), rss_kb());
	for (int i = 0; c->net && i < c->net->nls; i++) {
		pf_format_sa((struct sockaddr *)&c->net->ls[i].sa, a, sizeof(a));
		cprintf(b, "link %-3d   %s (udpip, tcpip)\n", i, a);
	}
	cprintf(b, "traffic    rx %llu (%llu B), tx %llu (%llu B); envelopes "
		   "%llu in, %llu out\n",
	    U(ns.rx), U(ns.rx_bytes), U(ns.tx), U(ns.tx_bytes), U(ns.rx_auth),
	    U(ns.tx_auth));
	cprintf(b, "tcp        %llu open (%llu accepted, %llu connected)\n",
	    U(ns.tcp_open), U(ns.tcp_accepted), U(ns.tcp_connected));
	if (c->net && c->net->nnbr) {
		cprintf(b, "neighbours\n");
		neighbours_live(c, false, b);
	}
	cprintf(b, "drops\n");
	for (int i = 0; i < PF_DROP_N; i++) {
		cprintf(b, "  %-14s %10llu  %s\n", pf_drop_id(i), U(ps.drops[i]),
		    pf_drop_reason(i));
	}
	for (int i = 0; i < PF_NDROP_N; i++) {
		cprintf(b, "  %-14s %10llu  %s\n", pf_net_drop_id(i),
		    U(ns.drops[i]),
		    pf_net_drop_reason(i));
	}
	money_text(c, b);
}

struct ps_ctx {
	struct cbuf *b;
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
		cprintf(x->b, "%s{\"id\":%llu,\"queue\":\"%016llx\",\"state\":"
			      "\"%s\",\"age_ms\":%lld,\"steps\":%llu,"
			      "\"heap\":%llu}",
		    x->n ? "," : "", U(i.id), U(i.queue), where,
		    (long long)(i.age_us / 1000), U(i.steps), U(i.heap));
	else
		cprintf(x->b, "%8llu %016llx %-8s %10lld %12llu %10llu\n",
		    U(i.id), U(i.queue), where, (long long)(i.age_us / 1000),
		    U(i.steps), U(i.heap));
	x->n++;
}

static void
cmd_ps(struct pf_ctl *c, bool json, struct cbuf *b)
{
	struct ps_ctx x = {b, json, 0};
	if (json)
		cprintf(b, "[");
	else
		cprintf(b, "%8s %-16s %-8s %10s %12s %10s\n", "ID", "QUEUE",
		    "STATE", "AGE_MS", "STEPS", "HEAP");
	pf_foreach(c->pf, ps_one, &x);
	if (json)
		cprintf(b, "]\n");
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
cmd_kill(struct pf_ctl *c, const char *arg, struct cbuf *b)
{
	char *end;
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
		cprintf(b, "killed %d processes of queue %s\n", killed, arg);
		return 0;
	}
	errno = 0;
	unsigned long long id = strtoull(arg, &end, 10);
	if (!*arg || *end || errno)
		goto bad;
	if (pf_kill(c->pf, id)) {
		cprintf(b, "no process %llu\n", id);
		return -1;
	}
	cprintf(b, "killed process %llu\n", id);
	return 0;
bad:
	cprintf(b, "kill: want a process id or a queue key (16 hex digits)\n");
	return -1;
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

/* m0ctl neighbours: name and address; status adds their liveness. */
static void
cmd_neighbours(struct pf_ctl *c, bool json, struct cbuf *b)
{
	char a[80];
	if (json)
		cprintf(b, "{");
	for (size_t i = 0; c->net && i < c->net->nnbr; i++) {
		pf_format_sa((struct sockaddr *)&c->net->nbr[i].sa, a, sizeof(a));
		if (json)
			cprintf(b, "%s\"%s\":\"%s\"", i ? "," : "",
			    c->net->nbr[i].name, a);
		else
			cprintf(b, "%-20s %s\n", c->net->nbr[i].name, a);
	}
	if (json)
		cprintf(b, "}\n");
}

static void
neighbours_live(struct pf_ctl *c, bool json, struct cbuf *b)
{
	char a[80], rx[32], tx[32];
	int64_t now = pf_now_us();
	if (json)
		cprintf(b, "{");
	for (size_t i = 0; c->net && i < c->net->nnbr; i++) {
		const struct pf_neighbour *nb = &c->net->nbr[i];
		pf_format_sa((struct sockaddr *)&nb->sa, a, sizeof(a));
		if (json) {
			cprintf(b, "%s\"%s\":{\"address\":\"%s\",\"pinned\":%d,"
				   "\"last_rx_s\":%.3f,\"last_tx_s\":%.3f,"
				   "\"rtt_us\":%lld}",
			    i ? "," : "", nb->name, a, nb->pinned,
			    nb->last_rx_us ? (double)(now - nb->last_rx_us) / 1e6
					   : -1.0,
			    nb->last_tx_us ? (double)(now - nb->last_tx_us) / 1e6
					   : -1.0,
			    (long long)nb->rtt_us);
			continue;
		}
		ago(nb->last_rx_us, now, rx, sizeof(rx));
		ago(nb->last_tx_us, now, tx, sizeof(tx));
		cprintf(b, "%-16s %-22s %s heard %s, sent %s", nb->name, a,
		    nb->pinned ? "pinned" : "plain ", rx, tx);
		if (nb->rtt_us)
			cprintf(b, ", round trip %lld us", (long long)nb->rtt_us);
		cprintf(b, "\n");
	}
	if (json)
		cprintf(b, "}\n");
}

static int
cmd_inject(struct pf_ctl *c, const uint8_t *p, size_t len, struct cbuf *b)
{
	struct m0_msg m;
	size_t used;
	int w = m0_wire_decode(p, len, UINT32_MAX, &m, &used);
	if (w != M0_WIRE_OK) {
		cprintf(b, "not a messenger: %s\n", m0_wire_strerror(w));
		return -1;
	}
	/* Its origin is the console, so its answers reach the log. */
	struct pf_origin ori = {.family = "console"};
	uint64_t id;
	int err = pf_spawn(c->pf, &m, &ori, c->setup, NULL, &id);
	if (err) {
		cprintf(b, "not started: %s\n",
		    err > 0 ? m0_strerror(err) : "process cap reached");
		return -1;
	}
	cprintf(b, "process %llu\n", U(id));
	return 0;
#undef U
}

static void answer(struct ctl_client *k, uint32_t type, struct cbuf *b);
static void client_closed(uv_handle_t *h);

static void
mint_done(void *ud, int err, const uint8_t *token)
{
	struct ctl_client *k = ud;
	struct cbuf b = {0};
	k->minting = false;
	if (k->closed) { /* the client left: the token expires unused */
		client_closed((uv_handle_t *)&k->h);
		return;
	}
	if (err) {
		cprintf(&b, "mint failed: %s\n", money_strerror(err));
	} else {
		for (size_t i = 0; i < MONEY_TOKEN_LEN; i++)
			cprintf(&b, "%02x", token[i]);
		cprintf(&b, "\n");
	}
	answer(k, err ? PF_MSG_ERROR : PF_MSG_REPLY, &b);
	free(b.p);
}

/* Returns 1 when the answer comes later. */
static int
cmd_mint(struct ctl_client *k, const char *arg, struct cbuf *b)
{
	char *end;
	errno = 0;
	long long n = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || n <= 0) {
		cprintf(b, "mint: want a positive amount\n");
		return -1;
	}
	k->minting = true;
	if (pf_money_mint(k->ctl->pf, n, mint_done, k)) {
		k->minting = false;
		cprintf(b, "mint: this platform has no money\n");
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
answer(struct ctl_client *k, uint32_t type, struct cbuf *b)
{
	k->answered = true;
	uv_read_stop((uv_stream_t *)&k->h);
	if (b->oom) {
		client_close(k);
		return;
	}
	struct pf_msg_hdr h = {.type = type,
	    .len = (uint32_t)b->n,
	    .version = PF_PROTO_VERSION};
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
	struct cbuf b = {0};
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
			cprintf(&b, "stop: not a daemon\n");
			r = -1;
		} else {
			cprintf(&b, "stopping\n");
			k->then_stop = true;
		}
		break;
	case PF_MSG_RELOAD: {
		char msg[400] = "reload: not a daemon";
		r = c->d.reload ? c->d.reload(c->d.ud, msg, sizeof(msg)) : -1;
		cprintf(&b, "%s\n", msg);
		break;
	}
	default:
		cprintf(&b, "unknown request %u\n", h->type);
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
	struct cbuf b = {0};
	if (h.version != PF_PROTO_VERSION) {
		cprintf(&b, "protocol version %u, want %u\n", h.version,
		    PF_PROTO_VERSION);
	} else if (h.len > PF_PROTO_MAX) {
		cprintf(&b, "request too large\n");
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
