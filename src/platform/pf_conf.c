/*
 * pf_conf.c: the daemon's INI configuration (libinih). Every error names
 * its line. The keys are documented in docs/platform.md:
 *
 *   [platform]   listen, state, log, accept, egress_allow
 *   [limits]     max_procs, heap_quota, global_quota, slice, max_steps,
 *                max_life, max_msg, max_dgram, rate, burst, tcp_queue,
 *                tcp_conns, tcp_out, tcp_per_host, tcp_frame, tcp_idle,
 *                egress_bytes, egress_period, egress_factor,
 *                native_slab, native_contexts
 *   [neighbours] NAME = ADDR[:PORT] [KEY]
 *   [money]      economy, allowance, token_ttl, quote_ttl, epoch,
 *                store_lease, mem_capacity, link_capacity
 *   [exchange]   clear_key, spread, target, min_life, quote_ttl, credit
 *                (docs/xchg.md)
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "pf_int.h"

struct conf_ctx {
	struct pf_conf *c;
	const char *text, *end, *pos;
	int line;
	int err_line;
	char *err;
	size_t errlen;
};

void
pf_conf_init(struct pf_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->log_level = PF_LOG_INFO;
	c->accept = -1;
	/* Not configured yet: pf_conf_settle_limits() decides. */
	c->pf.max_steps = UINT64_MAX;
	c->pf.max_life_us = INT64_MAX;
	snprintf(c->state_dir, sizeof(c->state_dir), ".");
}

void
pf_conf_settle_limits(struct pf_conf *c)
{
	/* On a free platform arrivals are anyone's code at no cost: limited
	 * unless configured (0: off). On a charged one money is the limit. */
	bool free = !c->money.charged;
	if (c->pf.max_steps == UINT64_MAX)
		c->pf.max_steps = free ? PF_DEFAULT_MAX_STEPS : 0;
	if (c->pf.max_life_us == INT64_MAX)
		c->pf.max_life_us = free ? PF_DEFAULT_MAX_LIFE_S * 1000000 : 0;
}

/* Decimal or 0x hex, with an optional k, m or g (binary) suffix. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	if (*s == '-' || *s == '+' || *s == 0)
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	int shift = 0;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	v <<= shift;
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_key(const char *s, unsigned char *key)
{
	for (int i = 0; i < 32; i++) {
		unsigned v = 0;
		for (int j = 0; j < 2; j++) {
			char ch = s[2 * i + j];
			v <<= 4;
			if (ch >= '0' && ch <= '9')
				v |= (unsigned)(ch - '0');
			else if (ch >= 'a' && ch <= 'f')
				v |= (unsigned)(ch - 'a' + 10);
			else if (ch >= 'A' && ch <= 'F')
				v |= (unsigned)(ch - 'A' + 10);
			else
				return -1;
		}
		key[i] = (unsigned char)v;
	}
	return 0;
}

static bool
name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof(((struct pf_neighbour *)0)->name))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		        (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		        *s == '.'))
			return false;
	return true;
}

int
pf_conf_add_listen(
    struct pf_conf *c, const char *addr, char *err, size_t errlen)
{
	if (c->nlisten == PF_CONF_MAX_LISTEN) {
		snprintf(err, errlen, "more than %d listen addresses",
		    PF_CONF_MAX_LISTEN);
		return -1;
	}
	if (pf_parse_hostport(addr, &c->listen[c->nlisten])) {
		snprintf(err, errlen, "listen: not an ADDR:PORT: %.80s", addr);
		return -1;
	}
	c->nlisten++;
	return 0;
}

int
pf_conf_add_neighbour(struct pf_conf *c, const char *name, const char *addr,
    char *err, size_t errlen)
{
	if (!name_ok(name)) {
		snprintf(err, errlen,
		    "neighbour name must be 1-63 of [A-Za-z0-9_.-]: %.80s",
		    name);
		return -1;
	}
	for (size_t i = 0; i < c->nnbr; i++)
		if (strcmp(c->nbr[i].name, name) == 0) {
			snprintf(err, errlen, "neighbour %s given twice", name);
			return -1;
		}
	if (c->nnbr == PF_CONF_MAX_NBR) {
		snprintf(
		    err, errlen, "more than %d neighbours", PF_CONF_MAX_NBR);
		return -1;
	}
	struct pf_neighbour *n = &c->nbr[c->nnbr];
	memset(n, 0, sizeof(*n));
	/* "ADDR[:PORT] [KEY]": a key pins the neighbour (pf_auth.c). */
	char a[128];
	size_t al = strcspn(addr, " \t,");
	const char *key = addr + al + strspn(addr + al, " \t,");
	if (al >= sizeof(a)) {
		snprintf(err, errlen, "neighbour %s: address too long", name);
		return -1;
	}
	memcpy(a, addr, al);
	a[al] = 0;
	if (pf_parse_hostport(a, &n->sa)) {
		snprintf(err, errlen, "neighbour %s: not an ADDR:PORT: %.80s",
		    name, a);
		return -1;
	}
	if (*key) {
		if (strlen(key) != 64 || parse_key(key, n->key)) {
			snprintf(err, errlen,
			    "neighbour %s: the key must be 64 hex digits",
			    name);
			return -1;
		}
		n->pinned = 1;
	}
	snprintf(n->name, sizeof(n->name), "%s", name);
	c->nnbr++;
	return 0;
}

static const struct {
	const char *name;
	size_t off;
	int width; /* 32 or 64 */
	uint64_t max;
} limits[] = {
#define L32(k, f, m)                                                           \
	{                                                                      \
		k, offsetof(struct pf_conf, f), 32, m                          \
	}
#define L64(k, f, m)                                                           \
	{                                                                      \
		k, offsetof(struct pf_conf, f), 64, m                          \
	}
    L32("max_procs", pf.max_procs, 100000000),
    L32("max_queues", pf.max_queues, 100000000),
    L64("heap_quota", pf.lim.heap_quota, 1ull << 40),
    L64("global_quota", pf.lim.global_quota, 1ull << 40),
    L64("slice", pf.slice, 1000000000),
    L64("max_steps", pf.max_steps, UINT64_MAX),
    L64("max_life", pf.max_life_us, 1ull << 40), /* seconds */
    L32("max_msg", pf.lim.max_msg, 1u << 30),
    L32("max_dgram", net.max_dgram, 65507),
    L32("rate", net.rate, 100000000),
    L32("burst", net.burst, 100000000),
    L32("tcp_queue", net.tcp_queue, 1u << 30),
    L32("tcp_conns", net.tcp_conns, 100000),
    L32("tcp_out", net.tcp_out, 100000),
    L32("tcp_per_host", net.tcp_per_host, 100000),
    L32("tcp_frame", net.tcp_frame_s, 1u << 30),
    L32("egress_bytes", net.egress_bytes, 1u << 30),
    L32("egress_period", net.egress_period_s, 1u << 20),
    L32("egress_factor", net.egress_factor, 1000),
    L32("tcp_idle", net.tcp_idle_s, 1u << 30),
    L64("native_slab", pf.native_slab, 3ull << 30),
    L32("native_contexts", pf.native_contexts, 4096),
    L64("memory", pf.memory, 1ull << 50),
    L32("origin_procs", pf.origin_procs, 100000000),
    L32("origin_queues", pf.origin_queues, 100000000),
    L64("origin_memory", pf.origin_memory, 1ull << 50),
    L32("proc_contexts", pf.proc_contexts, 4096),
    L32("origin_contexts", pf.origin_contexts, 4096),
    L32("proc_queues", pf.proc_queues, 100000000),
    L32("proc_kids", pf.proc_kids, 100000000),
    /* [money] (pf.h struct pf_money_config) */
    L64("allowance", money.allowance, 1ull << 40),
    L64("token_ttl", money.token_ttl_s, 1ull << 32), /* seconds */
    L64("quote_ttl", money.quote_ttl_s, 1ull << 32),
    L64("epoch", money.epoch_ms, 1ull << 32), /* ms */
    L64("store_lease", money.store_lease_s, 1ull << 32),
    L64("mem_capacity", money.mem_capacity, 1ull << 50),
    L64("link_capacity", money.link_capacity, 1ull << 40),
#undef L32
#undef L64
};

/* The keys of [limits] come first in the table, those of [money] after
 * "allowance". */
static int
set_limit(struct pf_conf *c, const char *section, const char *name,
    const char *value, char *err, size_t errlen)
{
	bool money = strcmp(section, "money") == 0, in_money = false;
	if (money && strcmp(name, "economy") == 0)
		return pf_conf_set_economy(c, value, err, errlen);
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		in_money |= strcmp(limits[i].name, "allowance") == 0;
		if (strcmp(limits[i].name, name) || in_money != money)
			continue;
		uint64_t v;
		if (parse_u64(value, limits[i].max, &v)) {
			snprintf(err, errlen,
			    "%s: not a number up to %llu: %.80s", name,
			    (unsigned long long)limits[i].max, value);
			return -1;
		}
		if (strcmp(name, "max_life") == 0)
			v *= PF_US_PER_S;
		char *p = (char *)c + limits[i].off;
		if (limits[i].width == 32) {
			uint32_t v32 = (uint32_t)v;
			memcpy(p, &v32, sizeof(v32));
		} else {
			memcpy(p, &v, sizeof(v));
		}
		return 0;
	}
	snprintf(err, errlen, "unknown key %.60s in [%s]", name, section);
	return -1;
}

/* The defaults that the platform and its links take for zero fields
 * (pf_new, m0_limits_default, pf_net_new), filled in for printing. */
static void
fill_defaults(struct pf_conf *c)
{
	struct pf_config *p = &c->pf;
	struct pf_net_config *n = &c->net;
	struct m0_limits d;
	m0_limits_default(&d);
#define DEF(f, v)                                                              \
	if (!(f))                                                              \
	(f) = (v)
	DEF(p->lim.heap_quota, d.heap_quota);
	DEF(p->lim.global_quota, d.global_quota);
	DEF(p->lim.max_msg, d.max_msg);
	DEF(p->slice, PF_SLICE);
	DEF(p->max_procs, PF_MAX_PROCS);
	DEF(p->max_queues, PF_MAX_QUEUES);
	DEF(p->origin_procs, p->max_procs - p->max_procs / 4);
	DEF(p->origin_queues, p->max_queues - p->max_queues / 4);
	DEF(p->proc_queues, PF_PROC_QUEUES);
	DEF(p->proc_kids, PF_PROC_KIDS);
	DEF(p->memory, pf_default_memory());
	DEF(p->origin_memory, p->memory - p->memory / 4);
	DEF(p->proc_contexts, PF_PROC_CONTEXTS);
	DEF(p->origin_contexts, pf_origin_contexts(p));
	DEF(p->native_slab, PF_NATIVE_SLAB);
	DEF(p->native_contexts, PF_NATIVE_CONTEXTS);
	DEF(n->max_dgram, PF_DGRAM);
	DEF(n->rate, PF_RATE);
	DEF(n->burst, n->rate / 10 ? n->rate / 10 : 1);
	DEF(n->tcp_queue, PF_TCP_QUEUE);
	DEF(n->tcp_conns, PF_TCP_CONNS);
	DEF(n->tcp_out, 64);
	DEF(n->tcp_per_host, 8);
	DEF(n->tcp_frame_s, 10);
	DEF(n->egress_bytes, 65536);
	DEF(n->egress_period_s, 10);
	DEF(n->egress_factor, 4);
	DEF(n->tcp_idle_s, PF_TCP_IDLE_S);
#undef DEF
}

void
pf_conf_print_limits(const struct pf_conf *conf, FILE *f)
{
	struct pf_conf c = *conf;
	fill_defaults(&c);
	fprintf(f, "[limits]\n");
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		if (strcmp(limits[i].name, "allowance") == 0)
			break; /* [money] from here */
		const char *p = (const char *)&c + limits[i].off;
		uint64_t v;
		if (limits[i].width == 32) {
			uint32_t v32;
			memcpy(&v32, p, sizeof(v32));
			v = v32;
		} else {
			memcpy(&v, p, sizeof(v));
		}
		if (strcmp(limits[i].name, "max_life") == 0)
			v /= PF_US_PER_S;
		fprintf(
		    f, "%s = %llu\n", limits[i].name, (unsigned long long)v);
	}
}

int
pf_conf_set_economy(
    struct pf_conf *c, const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "free") == 0)
		c->money.charged = 0;
	else if (strcmp(value, "charged") == 0)
		c->money.charged = 1;
	else {
		snprintf(err, errlen, "economy: free or charged");
		return -1;
	}
	return 0;
}

static int
set_platform(struct pf_conf *c, const char *name, const char *value, char *err,
    size_t errlen)
{
	static const char *const levels[] = {"debug", "info", "warn", "error"};
	if (strcmp(name, "listen") == 0)
		return pf_conf_add_listen(c, value, err, errlen);
	if (strcmp(name, "state") == 0) {
		if (!*value || strlen(value) >= sizeof(c->state_dir)) {
			snprintf(err, errlen, "state: bad directory name");
			return -1;
		}
		snprintf(c->state_dir, sizeof(c->state_dir), "%s", value);
		return 0;
	}
	if (strcmp(name, "log") == 0) {
		for (int i = 0; i < 4; i++)
			if (strcmp(value, levels[i]) == 0) {
				c->log_level = i;
				return 0;
			}
		snprintf(err, errlen, "log: debug, info, warn or error");
		return -1;
	}
	if (strcmp(name, "egress_allow") == 0) {
		struct pf_net_config *nc = &c->net;
		char addr[128];
		const char *slash = strchr(value, '/');
		size_t alen = slash ? (size_t)(slash - value) : strlen(value);
		char *end;
		long bits = slash ? strtol(slash + 1, &end, 10) : 128;
		if (nc->negress_allow == PF_EGRESS_MAX_ALLOW) {
			snprintf(err, errlen, "egress_allow: at most %d",
			    PF_EGRESS_MAX_ALLOW);
			return -1;
		}
		struct pf_prefix *p = &nc->egress_allow[nc->negress_allow];
		if (alen >= sizeof(addr) ||
		    (slash && (*end || bits < 0 || bits > 128))) {
			snprintf(err, errlen, "egress_allow: ADDR[/BITS]");
			return -1;
		}
		memcpy(addr, value, alen);
		addr[alen] = 0;
		if (pf_parse_hostport(addr, &p->sa)) {
			snprintf(err, errlen, "egress_allow: bad address");
			return -1;
		}
		p->bits = (int)bits;
		nc->negress_allow++;
		return 0;
	}
	if (strcmp(name, "accept") == 0) {
		if (strcmp(value, "any") == 0)
			c->accept = 1;
		else if (strcmp(value, "neighbours") == 0 ||
		    strcmp(value, "neighbors") == 0)
			c->accept = 0;
		else {
			snprintf(err, errlen, "accept: any or neighbours");
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "unknown key %.60s in [platform]", name);
	return -1;
}

/* [exchange] credit = KEY AMOUNT: the credit line of the currency KEY
 * (64 hex digits, or * for every currency not named), in local units. */
static int
set_credit(struct pf_xchg_conf *x, const char *value, char *err, size_t errlen)
{
	char key[72], amt[32];
	uint64_t v;
	if (sscanf(value, "%71s %31s", key, amt) != 2 ||
	    parse_u64(amt, 1ull << 62, &v)) {
		snprintf(err, errlen, "credit: KEY AMOUNT (up to 2^62): %.80s",
		    value);
		return -1;
	}
	if (strcmp(key, "*") == 0) {
		x->credit_any = (int64_t)v;
		return 0;
	}
	if (strlen(key) != 64 || x->ncredit >= 64) {
		snprintf(err, errlen,
		    "credit: KEY is 64 hex digits or *, "
		    "64 lines at most: %.80s",
		    value);
		return -1;
	}
	for (int i = 0; i < 32; i++) {
		unsigned b;
		if (!isxdigit((unsigned char)key[2 * i]) ||
		    !isxdigit((unsigned char)key[2 * i + 1]) ||
		    sscanf(key + 2 * i, "%2x", &b) != 1) {
			snprintf(err, errlen, "credit: KEY is 64 hex digits");
			return -1;
		}
		x->credit[x->ncredit].pk[i] = (uint8_t)b;
	}
	x->credit[x->ncredit++].amount = (int64_t)v;
	return 0;
}

/* [exchange]: clear_key is 16 hex digits (a capability), the rest
 * numbers. */
static int
set_exchange(struct pf_conf *c, const char *name, const char *value, char *err,
    size_t errlen)
{
	static const struct {
		const char *name;
		size_t off;
		uint64_t max;
	} keys[] = {
	    {"spread", offsetof(struct pf_xchg_conf, spread), 999999},
	    {"target", offsetof(struct pf_xchg_conf, target), 1ull << 50},
	    {"min_life", offsetof(struct pf_xchg_conf, min_life_s), 1ull << 32},
	    {"quote_ttl", offsetof(struct pf_xchg_conf, quote_ttl_s),
	        1ull << 32},
	};
	uint64_t v;
	if (strcmp(name, "credit") == 0)
		return set_credit(&c->xchg, value, err, errlen);
	if (strcmp(name, "clear_key") == 0) {
		char *end;
		errno = 0;
		v = strtoull(value, &end, 16);
		if (errno || *end || strlen(value) != 16 || v == 0) {
			snprintf(
			    err, errlen, "clear_key: 16 hex digits, not 0");
			return -1;
		}
		c->xchg.clear_key = v;
		return 0;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].name, name))
			continue;
		if (parse_u64(value, keys[i].max, &v)) {
			snprintf(err, errlen,
			    "%s: not a number up to %llu: %.80s", name,
			    (unsigned long long)keys[i].max, value);
			return -1;
		}
		int64_t iv = (int64_t)v;
		memcpy((char *)&c->xchg + keys[i].off, &iv, sizeof(iv));
		return 0;
	}
	snprintf(err, errlen, "unknown key %.60s in [exchange]", name);
	return -1;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_ctx *x = user;
	char msg[256];
	int r;
	if (strcmp(section, "platform") == 0)
		r = set_platform(x->c, name, value, msg, sizeof(msg));
	else if (strcmp(section, "limits") == 0 ||
	    strcmp(section, "money") == 0)
		r = set_limit(x->c, section, name, value, msg, sizeof(msg));
	else if (strcmp(section, "exchange") == 0)
		r = set_exchange(x->c, name, value, msg, sizeof(msg));
	else if (strcmp(section, "neighbours") == 0 ||
	    strcmp(section, "neighbors") == 0)
		r = pf_conf_add_neighbour(x->c, name, value, msg, sizeof(msg));
	else {
		snprintf(msg, sizeof(msg), "unknown section [%.60s]", section);
		r = -1;
	}
	if (r && !x->err_line) {
		x->err_line = x->line;
		snprintf(x->err, x->errlen, "line %d: %s", x->line, msg);
	}
	return r == 0;
}

/* fgets over the text, counting lines for the handler's messages. */
static char *
reader(char *str, int num, void *stream)
{
	struct conf_ctx *x = stream;
	if (x->pos >= x->end || num < 2)
		return NULL;
	if (x->pos == x->text || x->pos[-1] == '\n')
		x->line++;
	size_t n = 0;
	while (x->pos + n < x->end && n < (size_t)num - 1) {
		char ch = x->pos[n++];
		if (ch == '\n')
			break;
	}
	memcpy(str, x->pos, n);
	str[n] = 0;
	x->pos += n;
	return str;
}

int
pf_conf_parse(
    struct pf_conf *c, const char *text, size_t len, char *err, size_t errlen)
{
	struct conf_ctx x = {.c = c,
	    .text = text,
	    .end = text + len,
	    .pos = text,
	    .err = err,
	    .errlen = errlen};
	int r = ini_parse_stream(reader, &x, handler, &x);
	if (r == 0)
		return 0;
	if (r < 0)
		snprintf(err, errlen, "out of memory");
	else if (r != x.err_line)
		snprintf(err, errlen,
		    "line %d: syntax error (want [section] or name = value)",
		    r);
	return -1;
}

int
pf_conf_load(struct pf_conf *c, const char *path, char *err, size_t errlen)
{
	char *text;
	size_t len;
	if (pf_read_file(path, &text, &len)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char msg[300];
	int r = pf_conf_parse(c, text, len, msg, sizeof(msg));
	if (r)
		snprintf(err, errlen, "%s: %s", path, msg);
	free(text);
	return r;
}
