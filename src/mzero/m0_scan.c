/*
 * m0_scan.c: the scanner (spec A1). It turns the next token of a code
 * string into a value; `{ ... }` becomes one procedure, built with an
 * explicit stack so hostile nesting cannot exhaust the C stack.
 *
 * Allocation cannot collect here (see m0_heap.c), so the half-built
 * procedures in the temporary vector are safe; on M0__ENOMEM the position
 * is left unchanged and the VM rescans after collecting.
 *
 * With no state (s == NULL) the scanner only reads: m0_syntax_check()
 * uses that to say where the first syntax error is and why, for tools
 * that report FILE:LINE:COL before a messenger runs.
 */
#include <stdlib.h>

#include "m0_int.h"

#define SCAN_MAX_DEPTH 1024

struct vec {
	struct m0_value *v;
	uint32_t n, cap;
};

static bool
vec_push(struct vec *t, const struct m0_value *v)
{
	if (t->n == t->cap) {
		uint32_t ncap = t->cap ? t->cap * 2 : 16;
		struct m0_value *nv = realloc(t->v, ncap * sizeof(*nv));
		if (!nv)
			return false;
		t->v = nv;
		t->cap = ncap;
	}
	t->v[t->n++] = *v;
	return true;
}

static bool
is_space(uint8_t c)
{
	return c < 33 || c > 126;
}

static bool
is_lower(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
digit_in_base(uint8_t c, unsigned base)
{
	int d = -1;
	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (c >= 'a' && c <= 'z')
		d = c - 'a' + 10;
	else if (c >= 'A' && c <= 'Z')
		d = c - 'A' + 10;
	return d >= 0 && (unsigned)d < base ? d : -1;
}

/* A bad based integer is one syntax error: skip to its closing `#`
 * (or to white space), so the rest of it is not read as more tokens. */
static int
skip_based(const uint8_t *p, uint32_t len, uint32_t *i)
{
	while (*i < len && p[*i] != '#' && p[*i] > 32 && p[*i] < 127)
		(*i)++;
	if (*i < len && p[*i] == '#')
		(*i)++;
	return M0_ESYNTAX;
}

/* Decimal or based integer at p[*i]. Values up to 2^64-1 are accepted
 * and read as two's complement, so every int64 has a literal form. */
static int
scan_number(const uint8_t *p, uint32_t len, uint32_t *i, int64_t *out)
{
	uint64_t v = 0;
	bool over = false;
	while (*i < len && is_digit(p[*i])) {
		unsigned d = p[(*i)++] - '0';
		if (v > (UINT64_MAX - d) / 10)
			over = true;
		v = v * 10 + d;
	}
	if (*i < len && p[*i] == '#') {
		(*i)++;
		if (over || v < 2 || v > 36)
			return skip_based(p, len, i);
		unsigned base = (unsigned)v;
		uint64_t b = 0;
		uint32_t nd = 0;
		while (*i < len && p[*i] != '#') {
			int d = digit_in_base(p[*i], base);
			if (d < 0)
				return skip_based(p, len, i);
			if (b > (UINT64_MAX - (unsigned)d) / base)
				over = true;
			b = b * base + (unsigned)d;
			nd++;
			(*i)++;
		}
		if (*i >= len || nd == 0 || over) {
			if (*i < len)
				(*i)++; /* the closing #: one error per token */
			return M0_ESYNTAX;
		}
		(*i)++;
		v = b;
	}
	if (over)
		return M0_ESYNTAX;
	*out = (int64_t)v;
	return M0_OK;
}

/* Quoted string with \" \\ and \xHH; other backslashes stay literal. */
static int
scan_string(struct m0_state *s, const uint8_t *p, uint32_t len, uint32_t *i,
    struct m0_value *out)
{
	uint32_t j = *i + 1;
	uint8_t *buf = malloc(len - *i + 1);
	uint32_t n = 0;
	if (!buf)
		return M0__ENOMEM;
	for (;;) {
		if (j >= len) {
			free(buf);
			*i = len;
			return M0_ESYNTAX;
		}
		uint8_t c = p[j];
		if (c == '"') {
			j++;
			break;
		}
		if (c == '\\' && j + 1 < len &&
		    (p[j + 1] == '"' || p[j + 1] == '\\')) {
			buf[n++] = p[j + 1];
			j += 2;
		} else if (c == '\\' && j + 3 < len && p[j + 1] == 'x' &&
		    hexval(p[j + 2]) >= 0 && hexval(p[j + 3]) >= 0) {
			buf[n++] =
			    (uint8_t)(hexval(p[j + 2]) << 4 | hexval(p[j + 3]));
			j += 4;
		} else {
			buf[n++] = c;
			j++;
		}
	}
	int err = s ? m0__new_string(s, false, buf, n, out) : M0_OK;
	free(buf);
	if (!err)
		*i = j;
	return err;
}

/* Hex string \...\ with an even number of hex digits. */
static int
scan_hex(struct m0_state *s, const uint8_t *p, uint32_t len, uint32_t *i,
    struct m0_value *out)
{
	uint32_t j = *i + 1, nd = 0;
	while (j < len && p[j] != '\\') {
		if (hexval(p[j]) < 0) {
			/* One error for the whole hex string: skip to its end. */
			while (j < len && p[j] != '\\')
				j++;
			*i = j < len ? j + 1 : len;
			return M0_ESYNTAX;
		}
		j++;
		nd++;
	}
	if (j >= len || nd % 2) {
		*i = j < len ? j + 1 : len;
		return M0_ESYNTAX;
	}
	if (!s) {
		*i = j + 1;
		return M0_OK;
	}
	uint8_t *buf = malloc(nd / 2 + 1);
	if (!buf)
		return M0__ENOMEM;
	for (uint32_t k = 0; k < nd / 2; k++)
		buf[k] = (uint8_t)(hexval(p[*i + 1 + 2 * k]) << 4 |
		    hexval(p[*i + 2 + 2 * k]));
	int err = m0__new_string(s, false, buf, nd / 2, out);
	free(buf);
	if (!err)
		*i = j + 1;
	return err;
}

static int
scan_name(struct m0_state *s, const uint8_t *p, uint32_t len, uint32_t *i,
    bool exec, struct m0_value *out)
{
	uint32_t j = *i;
	if (is_lower(p[j]))
		while (j < len && is_lower(p[j]))
			j++;
	else
		j++;
	if (!s) {
		*i = j;
		return M0_OK;
	}
	struct m0_name *n = m0__intern(s->g, (const char *)p + *i, j - *i);
	if (!n)
		return M0_EIMPLEMENTATION_LIMIT;
	*i = j;
	*out = m0__namev(n, exec);
	return M0_OK;
}

/* One token that is not a brace. */
static int
scan_atom(struct m0_state *s, const uint8_t *p, uint32_t len, uint32_t *i,
    struct m0_value *out)
{
	uint8_t c = p[*i];
	if (is_digit(c)) {
		int64_t v = 0;
		int err = scan_number(p, len, i, &v);
		if (err)
			return err;
		*out = m0__int(v);
		return M0_OK;
	}
	if (c == '"')
		return scan_string(s, p, len, i, out);
	if (c == '\\')
		return scan_hex(s, p, len, i, out);
	if (c == '\'') {
		uint32_t j = *i + 1;
		if (j < len && p[j] == '\'') {
			struct m0_name *n = s ? m0__intern(s->g, "'", 1) : NULL;
			if (s && !n)
				return M0_EIMPLEMENTATION_LIMIT;
			*i = j + 1;
			if (s)
				*out = m0__namev(n, false);
			return M0_OK;
		}
		if (j < len && !is_space(p[j]) && !is_digit(p[j]) &&
		    p[j] != '"' && p[j] != '\\' && p[j] != '{' && p[j] != '}') {
			*i = j;
			return scan_name(s, p, len, i, false, out);
		}
		/* A quote before anything else is ignored. */
		*i = j;
		return -1;
	}
	return scan_name(s, p, len, i, true, out);
}

/* Why the token at p[at] is bad, for m0_syntax_check(). */
static void
explain(struct m0_syntax *e, const uint8_t *p, uint32_t at, const char *why)
{
	if (!e)
		return;
	e->off = at;
	if (why)
		e->why = why;
	else if (p[at] == '"')
		e->why = "string not closed by \"";
	else if (p[at] == '\\')
		e->why = "bad hex string (hex digit pairs between \\ and \\)";
	else if (is_digit(p[at]))
		e->why = "bad number";
	else
		e->why = "bad token";
}

/* One token; (e) may be NULL, else it says where and why on error. */
static int
scan(struct m0_state *s, const uint8_t *p, uint32_t len, uint32_t *pos,
    struct m0_value *out, struct m0_syntax *e)
{
	struct vec t = {0};
	uint32_t starts[SCAN_MAX_DEPTH], opened[SCAN_MAX_DEPTH];
	uint32_t depth = 0, i = *pos;
	int err = M0_OK;
	for (;;) {
		while (i < len && is_space(p[i]))
			i++;
		if (i >= len) {
			if (depth) {
				err = M0_ESYNTAX;
				explain(e, p, opened[depth - 1],
				    "{ not closed by }");
				if (e)
					e->incomplete = 1;
				*pos = len;
				goto out;
			}
			err = M0__END;
			*pos = len;
			goto out;
		}
		uint8_t c = p[i];
		struct m0_value v;
		if (c == '{') {
			if (depth == SCAN_MAX_DEPTH) {
				err = M0_EIMPLEMENTATION_LIMIT;
				explain(e, p, i, "procedures nested too deep");
				*pos = len;
				goto out;
			}
			opened[depth] = i;
			starts[depth++] = t.n;
			i++;
			continue;
		}
		if (c == '}') {
			if (depth == 0) {
				explain(e, p, i, "} without {");
				*pos = i + 1;
				err = M0_ESYNTAX;
				goto out;
			}
			uint32_t st = starts[--depth];
			if (!s) {
				i++;
				if (depth)
					continue;
				*pos = i;
				goto out;
			}
			err = m0__new_array(s, false, t.n - st, &v);
			if (err)
				goto out; /* pos unchanged: retry rescans */
			if (t.n > st)
				memcpy(M0_ARR(&v)->v, t.v + st,
				    (size_t)(t.n - st) *
				        sizeof(struct m0_value));
			v.x = 1;
			t.n = st;
			i++;
		} else {
			uint32_t before = i;
			err = scan_atom(s, p, len, &i, &v);
			if (err == -1) {
				err = M0_OK;
				continue;
			}
			if (err == M0__ENOMEM)
				goto out;
			if (err) {
				explain(e, p, before, NULL);
				if (e && i >= len &&
				    (p[before] == '"' || p[before] == '\\'))
					e->incomplete = 1;
				if (i == before)
					i++;
				/* The whole procedure being read is lost. */
				*pos = depth ? len : i;
				goto out;
			}
		}
		if (depth == 0) {
			if (s)
				*out = v;
			*pos = i;
			goto out;
		}
		if (!s)
			continue;
		if (t.n >= s->g->lim.max_len || !vec_push(&t, &v)) {
			err = M0_EIMPLEMENTATION_LIMIT;
			*pos = len;
			goto out;
		}
	}
out:
	free(t.v);
	return err;
}

int
m0__scan(struct m0_state *s, const uint8_t *p, uint32_t len, uint32_t *pos,
    struct m0_value *out)
{
	return scan(s, p, len, pos, out, NULL);
}

int
m0_syntax_check(const void *code, size_t len, struct m0_syntax *e)
{
	const uint8_t *p = code;
	uint32_t pos = 0;
	struct m0_syntax dummy;
	if (!e)
		e = &dummy;
	e->off = 0;
	e->why = NULL;
	e->incomplete = 0;
	if (len > UINT32_MAX) {
		e->why = "code longer than 4 GiB";
		return M0_EIMPLEMENTATION_LIMIT;
	}
	for (;;) {
		int err = scan(NULL, p, (uint32_t)len, &pos, NULL, e);
		if (err == M0__END)
			return M0_OK;
		if (err)
			return err;
	}
}
