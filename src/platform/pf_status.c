/*
 * pf_status.c: one table of status counters for everything an operator
 * reads: m0ctl status (text and JSON) and the daemon's log. The core
 * fills in processes, memory, links and drops; each service adds its own
 * groups through its stats hook (include/pf_svc.h), so a counter is
 * named once and shows up everywhere.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pf_net.h"

void
pf_status_add(struct pf_status *st, const char *group, const char *name,
    int64_t value, const char *note)
{
	if (st->n == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 128;
		struct pf_counter *nv = realloc(st->v, ncap * sizeof(*nv));
		if (!nv) {
			st->oom = true;
			return;
		}
		st->v = nv;
		st->cap = ncap;
	}
	st->v[st->n++] = (struct pf_counter){
	    .group = group, .name = name, .value = value, .note = note};
}

void
pf_status_word(
    struct pf_status *st, const char *group, const char *name, const char *word)
{
	size_t n = st->n;
	pf_status_add(st, group, name, 0, NULL);
	if (st->n == n)
		return;
	struct pf_counter *c = &st->v[n];
	snprintf(c->buf, sizeof(c->buf), "%s", word);
	c->word = c->buf;
}

void
pf_status_free(struct pf_status *st)
{
	free(st->v);
	*st = (struct pf_status){0};
}

static void
add_heap(void *ud, struct pf_proc *p)
{
	*(uint64_t *)ud += m0_state_heap_bytes(p->s);
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

#define ADD(g, n, v) pf_status_add(st, g, n, (int64_t)(v), NULL)

void
pf_status_collect(
    struct pf_platform *pf, struct pf_net *net, struct pf_status *st)
{
	struct pf_stats ps;
	struct pf_net_stats ns = {0};
	uint64_t heaps = 0;
	pf_get_stats(pf, &ps);
	if (net)
		pf_net_get_stats(net, &ns);
	pf_foreach(pf, add_heap, &heaps);
	ADD(NULL, "uptime_s", (pf_now_us() - pf->started_us) / PF_US_PER_S);
	ADD("processes", "running", ps.running);
	ADD("processes", "waiting", ps.waiting);
	ADD("processes", "created", ps.created);
	ADD("processes", "ended", ps.ended);
	ADD(NULL, "queues", ps.queues);
	ADD("families", "ended_parents", ps.ended_parents);
	ADD("families", "ended_spliced", ps.ended_spliced);
	ADD("memory", "global_bytes", m0_global_bytes(pf->g));
	ADD("memory", "process_bytes", heaps);
	ADD("memory", "rss_kb", rss_kb());
	ADD("memory", "budget_bytes", ps.mem_limit);
	ADD("memory", "budget_used", ps.mem_used);
	ADD("memory", "budget_refused", ps.mem_refused);
	ADD(NULL, "origins", ps.origins);
	for (int i = 0; net && i < net->nls; i++) {
		static const char *const names[] = {"listen0", "listen1",
		    "listen2", "listen3", "listen4", "listen5", "listen6",
		    "listen7", "listen8", "listen9", "listen10", "listen11",
		    "listen12", "listen13", "listen14", "listen15"};
		char a[64];
		if (i >= (int)(sizeof(names) / sizeof(names[0])))
			break;
		pf_format_sa((struct sockaddr *)&net->ls[i].sa, a, sizeof(a));
		pf_status_word(st, "links", names[i], a);
	}
	ADD("links", "rx", ns.rx);
	ADD("links", "rx_bytes", ns.rx_bytes);
	ADD("links", "tx", ns.tx);
	ADD("links", "tx_bytes", ns.tx_bytes);
	ADD("links", "rx_auth", ns.rx_auth);
	ADD("links", "tx_auth", ns.tx_auth);
	ADD("links", "tcp_open", ns.tcp_open);
	ADD("links", "tcp_accepted", ns.tcp_accepted);
	ADD("links", "tcp_connected", ns.tcp_connected);
	ADD("links", "buf_bytes", ns.buf_bytes);
	for (int i = 0; i < PF_DROP_N; i++)
		pf_status_add(st, "drops", pf_drop_id(i), (int64_t)ps.drops[i],
		    pf_drop_reason(i));
	for (int i = 0; i < PF_NDROP_N; i++)
		pf_status_add(st, "drops", pf_net_drop_id(i),
		    (int64_t)ns.drops[i], pf_net_drop_reason(i));
	for (int i = 0; i < pf->nsvc; i++) {
		if (!pf->svc[i].stats)
			continue;
		size_t from = st->n;
		pf->svc[i].stats(pf->svc[i].ud, st);
		for (size_t k = from; k < st->n; k++)
			st->v[k].service = true;
	}
}

/* ---- writers ---- */

void
pf__sprint(struct pf_sbuf *b, const char *fmt, ...)
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

static char *
done(struct pf_sbuf *b)
{
	if (b->oom || !b->p) {
		free(b->p);
		return NULL;
	}
	return b->p;
}

static bool
same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* The rows of one group: [i, end). */
static size_t
group_end(const struct pf_status *st, size_t i)
{
	size_t e = i + 1;
	while (e < st->n && same(st->v[e].group, st->v[i].group))
		e++;
	return e;
}

/* Text: a line per group, "group      5 name, 7 name"; a group with
 * notes (drops) as a table of name, value and reason; top-level
 * counters each on its own line. */
char *
pf_status_text(const struct pf_status *st)
{
	struct pf_sbuf b = {0};
	for (size_t i = 0; i < st->n;) {
		size_t e = group_end(st, i);
		const struct pf_counter *c = &st->v[i];
		if (!c->group) {
			for (; i < e; i++)
				pf__sprint(&b, "%-10s %lld\n", st->v[i].name,
				    (long long)st->v[i].value);
			continue;
		}
		if (c->note) {
			pf__sprint(&b, "%s\n", c->group);
			for (; i < e; i++)
				pf__sprint(&b, "  %-14s %10lld  %s\n",
				    st->v[i].name, (long long)st->v[i].value,
				    st->v[i].note);
			continue;
		}
		pf__sprint(&b, "%-10s", c->group);
		for (size_t k = i; k < e; k++) {
			const struct pf_counter *x = &st->v[k];
			if (x->word)
				pf__sprint(&b, "%s %s %s", k > i ? "," : "",
				    x->word, x->name);
			else
				pf__sprint(&b, "%s %lld %s", k > i ? "," : "",
				    (long long)x->value, x->name);
		}
		pf__sprint(&b, "\n");
		i = e;
	}
	return done(&b);
}

/* The length of the part of group (g) up to its first dot. */
static size_t
head_len(const char *g)
{
	const char *d = strchr(g, '.');
	return d ? (size_t)(d - g) : strlen(g);
}

static void
json_value(struct pf_sbuf *b, const struct pf_counter *c)
{
	if (c->word)
		pf__sprint(b, "\"%s\":\"%s\"", c->name, c->word);
	else
		pf__sprint(b, "\"%s\":%lld", c->name, (long long)c->value);
}

/* JSON: top-level counters as members, a group as an object, and
 * "a.b" as object b inside object a (when they follow each other). */
char *
pf_status_json(const struct pf_status *st)
{
	struct pf_sbuf b = {0};
	const char *outer = NULL; /* the open object: head of its group */
	bool inner = false;       /* an "a.b" object is open inside it */
	bool top_first = true, outer_first = true;
	pf__sprint(&b, "{");
	for (size_t i = 0; i < st->n; i++) {
		const struct pf_counter *c = &st->v[i];
		const char *g = c->group;
		if (i > 0 && same(g, st->v[i - 1].group)) {
			pf__sprint(&b, ",");
			json_value(&b, c);
			continue;
		}
		if (inner)
			pf__sprint(&b, "}");
		inner = false;
		size_t hl = g ? head_len(g) : 0;
		if (outer &&
		    (!g || hl != head_len(outer) || strncmp(g, outer, hl))) {
			pf__sprint(&b, "}");
			outer = NULL;
		}
		if (!g) {
			pf__sprint(&b, "%s", top_first ? "" : ",");
			top_first = false;
			json_value(&b, c);
			continue;
		}
		if (!outer) {
			pf__sprint(&b, "%s\"%.*s\":{", top_first ? "" : ",",
			    (int)hl, g);
			top_first = false;
			outer = g;
			outer_first = true;
		}
		pf__sprint(&b, "%s", outer_first ? "" : ",");
		outer_first = false;
		if (g[hl] == '.') {
			pf__sprint(&b, "\"%s\":{", g + hl + 1);
			inner = true;
		}
		json_value(&b, c);
	}
	if (inner)
		pf__sprint(&b, "}");
	if (outer)
		pf__sprint(&b, "}");
	pf__sprint(&b, "}\n");
	return done(&b);
}

/* The log: a line per service group ("money: minted=5 ..."), then
 * "stats: name=value ..." of the core's counters but the drops, then
 * "drops: name=value ..." (a log line holds about 1 KiB). */
void
pf_status_log(const struct pf_status *st)
{
	struct pf_sbuf b = {0}, d = {0};
	for (size_t i = 0; i < st->n;) {
		size_t e = group_end(st, i);
		if (!st->v[i].service) {
			i = e;
			continue;
		}
		struct pf_sbuf g = {0};
		pf__sprint(&g, "%s:", st->v[i].group ? st->v[i].group : "-");
		for (; i < e; i++)
			if (st->v[i].word)
				pf__sprint(
				    &g, " %s=%s", st->v[i].name, st->v[i].word);
			else
				pf__sprint(&g, " %s=%lld", st->v[i].name,
				    (long long)st->v[i].value);
		char *s = done(&g);
		if (s)
			log_info("%s", s);
		free(s);
	}
	pf__sprint(&b, "stats:");
	pf__sprint(&d, "drops:");
	for (size_t i = 0; i < st->n; i++) {
		const struct pf_counter *c = &st->v[i];
		if (c->service)
			continue;
		bool drop = c->group && !strcmp(c->group, "drops");
		struct pf_sbuf *o = drop ? &d : &b;
		if (c->word)
			pf__sprint(o, " %s=%s", c->name, c->word);
		else
			pf__sprint(o, " %s=%lld", c->name, (long long)c->value);
	}
	char *s = done(&b), *t = done(&d);
	if (s)
		log_info("%s", s);
	if (t)
		log_info("%s", t);
	free(s);
	free(t);
}
