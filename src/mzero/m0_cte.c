/*
 * m0_cte.c: the external form of values (spec A4) and the display form the
 * console words and error reports use. One emitter serves both; it walks
 * nested arrays with an explicit stack, so depth costs no C stack.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "m0_int.h"

#define MARK_BUSY 2 /* on the current path (GC marks are 0 or 1) */

void
m0__buf_put(struct m0_buf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		while (ncap < b->n + n)
			ncap *= 2;
		char *np = realloc(b->p, ncap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

struct emit {
	const struct m0_global *g;
	struct m0_buf *b;
	bool display; /* display form: never fails */
	size_t limit;
	int err;
};

static bool
is_lower(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Appends a token, with a space only where the two would merge. */
static void
tok(struct emit *e, const char *t, size_t n)
{
	struct m0_buf *b = e->b;
	if (n == 0)
		return;
	if (b->n) {
		char last = b->p[b->n - 1];
		if ((is_digit(last) && (is_digit(t[0]) || t[0] == '#')) ||
		    (is_lower(last) && is_lower(t[0])))
			m0__buf_put(b, " ", 1);
	}
	m0__buf_put(b, t, n);
	if (b->n > e->limit && !e->err)
		e->err = M0_EIMPLEMENTATION_LIMIT;
}

static void
tokz(struct emit *e, const char *t)
{
	tok(e, t, strlen(t));
}

static void
quoted(struct emit *e, const uint8_t *p, size_t n)
{
	struct m0_buf q = {0};
	m0__buf_put(&q, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		char x[5];
		if (p[i] == '"' || p[i] == '\\') {
			x[0] = '\\';
			x[1] = (char)p[i];
			m0__buf_put(&q, x, 2);
		} else if (p[i] < 32 || p[i] > 126) {
			snprintf(x, sizeof(x), "\\x%02x", p[i]);
			m0__buf_put(&q, x, 4);
		} else {
			m0__buf_put(&q, &p[i], 1);
		}
	}
	m0__buf_put(&q, "\"", 1);
	if (q.oom)
		e->b->oom = true;
	else
		tok(e, q.p, q.n);
	free(q.p);
}

static void
emit_int(struct emit *e, int64_t i)
{
	char t[32];
	if (i >= 0)
		snprintf(t, sizeof(t), "%" PRId64, i);
	else
		snprintf(
		    t, sizeof(t), "%" PRIu64 "N", (uint64_t)0 - (uint64_t)i);
	tokz(e, t);
}

static void
emit_time(struct emit *e, int64_t t)
{
	char x[48];
	if (t >= 0) {
		snprintf(x, sizeof(x), "%" PRId64, t / 1000000);
		tokz(e, x);
		tokz(e, "_ctt");
		emit_int(e, t % 1000000);
	} else {
		tokz(e, "0");
		tokz(e, "_ctt");
		emit_int(e, t);
	}
	tokz(e, "+");
}

static void
emit_name(struct emit *e, const struct m0_name *n, bool exec, bool in_proc)
{
	if (exec && in_proc && n->ident) {
		tok(e, n->s, n->len);
		return;
	}
	if (n->ident) {
		tokz(e, "'");
		/* Keep the quote glued to its name whatever came before. */
		m0__buf_put(e->b, n->s, n->len);
	} else if (n->len == 1 && n->s[0] == '\'') {
		tokz(e, "''");
	} else {
		quoted(e, (const uint8_t *)n->s, n->len);
		tokz(e, "_ctn");
	}
	if (exec)
		tokz(e, "_ctx");
}

static void
emit_simple(struct emit *e, const struct m0_value *v, bool in_proc)
{
	char t[40];
	switch (v->type) {
	case M0_TINT:
		emit_int(e, v->u.i);
		break;
	case M0_TTIME:
		emit_time(e, v->u.i);
		break;
	case M0_TNAME:
		emit_name(e, v->u.name, v->x, in_proc);
		break;
	case M0_TKEY:
		snprintf(t, sizeof(t), "\\%016" PRIx64 "\\", v->u.k);
		tokz(e, t);
		tokz(e, "_ctk");
		break;
	case M0_TNULL:
		tokz(e, "null");
		break;
	case M0_TMARK:
		tokz(e, "[");
		break;
	case M0_TSTRING:
		if (!e->display && !(v->u.o->attr & M0_AR)) {
			e->err =
			    M0_EACCESS_CHECK; /* no copy of the unreadable */
			break;
		}
		quoted(e, M0_BYTES(v), v->len);
		break;
	case M0_TOPER:
		if (!e->display) {
			e->err = M0_ENOT_IMPLEMENTED;
			break;
		}
		tokz(e, "--");
		{
			const char *n = m0__op_name(e->g, v->u.op);
			m0__buf_put(e->b, n, strlen(n));
		}
		m0__buf_put(e->b, "--", 2);
		break;
	case M0_TDICT:
		if (!e->display)
			e->err = M0_ENOT_IMPLEMENTED;
		else
			tokz(e, "--dict--");
		break;
	default:
		tokz(e, "--?--");
		break;
	}
}

struct level {
	struct m0_value a;
	uint32_t i;
	bool in_proc;
};

static void
emit(struct emit *e, const struct m0_value *root, bool in_proc)
{
	struct level *st = NULL;
	uint32_t depth = 0, cap = 0;
	struct m0_value cur = *root;
	bool cur_proc = in_proc;
	for (;;) {
		if (e->err || e->b->oom)
			break;
		if (cur.type == M0_TARRAY) {
			if (!e->display && !(cur.u.o->attr & M0_AR)) {
				e->err = M0_EACCESS_CHECK;
				break;
			}
			if (cur.u.o->mark == MARK_BUSY) {
				if (!e->display) {
					e->err = M0_ECIRCULAR_DATA;
					break;
				}
				tokz(e, "...");
			} else {
				if (depth == cap) {
					cap = cap ? cap * 2 : 16;
					struct level *ns =
					    realloc(st, cap * sizeof(*ns));
					if (!ns) {
						e->b->oom = true;
						break;
					}
					st = ns;
				}
				bool p = cur_proc || cur.x;
				tokz(e, cur.x ? "{" : "[");
				st[depth++] = (struct level){cur, 0, p};
				cur.u.o->mark = MARK_BUSY;
			}
		} else {
			emit_simple(e, &cur, cur_proc);
		}
		/* Next element, closing finished arrays. */
		for (;;) {
			if (depth == 0)
				goto done;
			struct level *l = &st[depth - 1];
			if (l->i < l->a.len) {
				cur = M0_ELEMS(&l->a)[l->i++];
				cur_proc = l->in_proc;
				break;
			}
			tokz(e, l->a.x ? "}" : "]");
			l->a.u.o->mark = 0;
			depth--;
		}
	}
done:
	/* On failure, leave no object marked busy. */
	while (depth > 0)
		st[--depth].a.u.o->mark = 0;
	free(st);
}

int
m0__cte(struct m0_state *s, const struct m0_value *v, struct m0_buf *b)
{
	struct emit e = {s->g, b, false, s->g->lim.max_len, M0_OK};
	emit(&e, v, false);
	if (b->oom)
		return M0__ENOMEM;
	return e.err;
}

void
m0__display(struct m0_state *s, const struct m0_value *v, struct m0_buf *b)
{
	struct emit e = {s->g, b, true, (size_t)s->g->lim.max_len, M0_OK};
	emit(&e, v, true);
	if (e.err) {
		/* Too long to show: say so instead. */
		m0__buf_put(b, "...", 3);
	}
}
