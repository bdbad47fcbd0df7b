/*
 * pf_load.c: the file loader of the tools (spec A1). It strips `#`
 * comments (a `#` that starts a line's text or follows whitespace, outside
 * strings and hex strings) and expands `#include "file"` (source) and
 * `#includestring "file"` (the file's code, stripped as the 1994 m0strip
 * did, as a string literal), so a messenger can be written in several
 * files. As in 1994 the file name may also stand without quotes.
 *
 * Comments and directives keep their lines, and a struct pf_source
 * remembers where each file's text starts in the result, so a byte of
 * the loaded code can be named FILE:LINE:COL (pf_source_where()).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>

#include "pf_int.h"

#define LOAD_MAX_DEPTH 8
#define LOAD_MAX_BYTES (16u << 20)

struct sbuf {
	char *p;
	size_t n, cap;
};

static int
sput(struct sbuf *b, const void *p, size_t n)
{
	if (b->n + n > LOAD_MAX_BYTES)
		return -1;
	if (b->n + n > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 4096;
		while (ncap < b->n + n)
			ncap *= 2;
		char *np = realloc(b->p, ncap);
		if (!np)
			return -1;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	return 0;
}

int
pf_read_file(const char *path, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f)
		return -1;
	struct sbuf b = {0};
	char tmp[65536];
	size_t n;
	int err = 0;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (sput(&b, tmp, n)) {
			err = -1;
			errno = EFBIG;
			break;
		}
	if (ferror(f))
		err = -1;
	if (f != stdin)
		fclose(f);
	if (err) {
		free(b.p);
		return -1;
	}
	if (sput(&b, "", 1)) {
		free(b.p);
		return -1;
	}
	*out = b.p;
	*len = b.n - 1;
	return 0;
}

static int load(struct sbuf *out, const char *path, int depth, char *err,
    size_t errlen, struct pf_source *src);

/* From (off) on, the loaded text is (file)'s from line (line). */
static int
mark(struct pf_source *src, size_t off, const char *file, uint32_t line)
{
	if (!src)
		return 0;
	struct pf_source_part *np =
	    realloc(src->part, (src->npart + 1) * sizeof(*np));
	char *f = strdup(file);
	if (!np || !f) {
		free(f);
		if (np)
			src->part = np;
		return -1;
	}
	src->part = np;
	np[src->npart++] = (struct pf_source_part){off, f, line};
	return 0;
}

static bool
blank(char c)
{
	return (uint8_t)c < 33 || (uint8_t)c > 126;
}

/* Parses `"file"` or `file` (up to white space: the 1994 form) after a
 * directive; returns the path or NULL. */
static char *
directive_path(const char *p, const char *end, const char *dir)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end)
		return NULL;
	const char *name, *q;
	if (*p == '"') {
		name = p + 1;
		q = memchr(name, '"', (size_t)(end - name));
		if (!q)
			return NULL;
	} else {
		name = p;
		for (q = p; q < end && !blank(*q); q++)
			;
	}
	size_t n = (size_t)(q - name);
	if (n == 0)
		return NULL;
	char *path = malloc(strlen(dir) + n + 2);
	if (!path)
		return NULL;
	if (name[0] == '/')
		snprintf(path, n + 1, "%s", name);
	else
		snprintf(
		    path, strlen(dir) + n + 2, "%s/%.*s", dir, (int)n, name);
	return path;
}

static bool
ident(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

static bool
digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Whether a token ending in a and one starting with b would run together
 * (or might: kept on the safe side) without white space between them. */
static bool
needs_space(char a, char b)
{
	return (ident(a) && ident(b)) || (digit(a) && (digit(b) || b == '#')) ||
	    a == '\'' || a == '#' || (a == b && (a == '"' || a == '\\'));
}

/*
 * m0strip's white space rule, on code whose comments are gone: outside
 * strings and hex strings, a run of white space becomes one space where
 * the tokens on either side need it (needs_space) and goes where they
 * do not; none is kept at either end.
 */
static int
compact(struct sbuf *out, const char *src, size_t len)
{
	enum { CODE, STR, HEX } st = CODE;
	bool gap = false;
	char last = 0;
	for (size_t i = 0; i < len; i++) {
		char c = src[i];
		if (st == CODE && blank(c)) {
			gap = true;
			continue;
		}
		if (st == CODE) {
			if (gap && last && needs_space(last, c) &&
			    sput(out, " ", 1))
				return -1;
			gap = false;
			if (c == '"')
				st = STR;
			else if (c == '\\')
				st = HEX;
		} else if (st == STR) {
			if (c == '\\' && i + 1 < len &&
			    (src[i + 1] == '"' || src[i + 1] == '\\')) {
				if (sput(out, src + i, 1))
					return -1;
				c = src[++i];
			} else if (c == '"') {
				st = CODE;
			}
		} else if (c == '\\') {
			st = CODE;
		}
		if (sput(out, &c, 1))
			return -1;
		last = c;
	}
	return 0;
}

/* #includestring: the file loaded as code (comments gone, includes
 * expanded), its white space compacted, as one string literal. */
static int
include_string(
    struct sbuf *out, const char *path, int depth, char *err, size_t errlen)
{
	struct sbuf code = {0}, small = {0};
	if (load(&code, path, depth, err, errlen, NULL))
		goto fail;
	if (compact(&small, code.p ? code.p : "", code.n)) {
		snprintf(err, errlen, "%s: too large", path);
		goto fail;
	}
	free(code.p);
	char *data = small.p;
	size_t n = small.n;
	int r = sput(out, "\"", 1);
	for (size_t i = 0; !r && i < n; i++) {
		uint8_t c = (uint8_t)data[i];
		char x[5];
		if (c == '"' || c == '\\') {
			x[0] = '\\';
			x[1] = (char)c;
			r = sput(out, x, 2);
		} else if (c < 32 || c > 126) {
			snprintf(x, sizeof(x), "\\x%02x", c);
			r = sput(out, x, 4);
		} else {
			r = sput(out, &data[i], 1);
		}
	}
	if (!r)
		r = sput(out, "\" ", 2);
	free(data);
	if (r)
		snprintf(err, errlen, "%s: too large", path);
	return r;
fail:
	free(code.p);
	free(small.p);
	return -1;
}

/* Appends to a failed include's message the line that asked for it,
 * as a C compiler does: the innermost include names itself already. */
static void
where_first(char *err, size_t errlen, const char *name, uint32_t line)
{
	char tmp[1024];
	if (strlen(err) + 64 > errlen)
		return;
	snprintf(
	    tmp, sizeof(tmp), "%s\n  included from %s:%u", err, name, line);
	snprintf(err, errlen, "%s", tmp);
}

/* Strips comments from src into out, expanding directives. */
static int
strip(struct sbuf *out, const char *src, size_t len, const char *dir, int depth,
    char *err, size_t errlen, struct pf_source *map, const char *name)
{
	enum { CODE, STR, HEX } st = CODE;
	bool ws = true; /* previous byte was whitespace or line start */
	uint32_t line = 1;
	if (mark(map, out->n, name, 1))
		goto big;
	for (size_t i = 0; i < len; i++) {
		char c = src[i];
		if (st == STR) {
			if (c == '\\' && i + 1 < len &&
			    (src[i + 1] == '"' || src[i + 1] == '\\')) {
				if (sput(out, src + i, 2))
					goto big;
				i++;
				continue;
			}
			if (c == '"')
				st = CODE;
		} else if (st == HEX) {
			if (c == '\\')
				st = CODE;
		} else if (c == '"') {
			st = STR;
		} else if (c == '\\') {
			st = HEX;
		} else if (c == '#' && ws) {
			const char *eol = memchr(src + i, '\n', len - i);
			const char *end = eol ? eol : src + len;
			size_t ll = (size_t)(end - (src + i));
			const char *kw = NULL;
			bool as_string = false;
			if (ll > 15 && !strncmp(src + i, "#includestring", 14))
				kw = src + i + 14, as_string = true;
			else if (ll > 9 && !strncmp(src + i, "#include", 8))
				kw = src + i + 8;
			if (kw) {
				char *path = directive_path(kw, end, dir);
				if (!path) {
					snprintf(err, errlen,
					    "%s:%u: bad include directive",
					    name, line);
					return -1;
				}
				int r = as_string ? include_string(out, path,
				                        depth + 1, err, errlen)
				                  : load(out, path, depth + 1,
				                        err, errlen, map);
				free(path);
				if (r) {
					where_first(err, errlen, name, line);
					return -1;
				}
				if (!as_string && mark(map, out->n, name, line))
					goto big;
			}
			i = (size_t)(end - src);
			if (i < len && sput(out, "\n", 1))
				goto big;
			line += i < len;
			ws = true;
			continue;
		}
		if (sput(out, &c, 1))
			goto big;
		line += c == '\n';
		uint8_t u = (uint8_t)c;
		ws = st == CODE && (u < 33 || u > 126);
	}
	return 0;
big:
	snprintf(err, errlen, "source too large");
	return -1;
}

static int
load(struct sbuf *out, const char *path, int depth, char *err, size_t errlen,
    struct pf_source *map)
{
	if (depth > LOAD_MAX_DEPTH) {
		snprintf(err, errlen, "%s: includes nested too deep", path);
		return -1;
	}
	char *src;
	size_t n;
	if (pf_read_file(path, &src, &n)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *pc = strdup(path);
	int r = pc
	    ? strip(out, src, n, dirname(pc), depth, err, errlen, map, path)
	    : -1;
	free(pc);
	free(src);
	return r;
}

int
pf_source_load(struct pf_source *src, const char *path, const char *text,
    size_t len, const char *name, char *err, size_t errlen)
{
	struct sbuf b = {0};
	memset(src, 0, sizeof(*src));
	int r = path ? load(&b, path, 0, err, errlen, src)
	             : strip(&b, text, len, ".", 0, err, errlen, src,
	                   name ? name : "-e");
	if (!r && sput(&b, "", 1)) {
		snprintf(err, errlen, "source too large");
		r = -1;
	}
	if (r) {
		free(b.p);
		pf_source_free(src);
		return -1;
	}
	src->text = b.p;
	src->len = b.n - 1;
	return 0;
}

void
pf_source_free(struct pf_source *src)
{
	for (size_t i = 0; i < src->npart; i++)
		free(src->part[i].file);
	free(src->part);
	free(src->text);
	memset(src, 0, sizeof(*src));
}

int
pf_source_where(const struct pf_source *src, size_t off, char *buf, size_t len)
{
	if (!src->npart || off > src->len)
		return -1;
	size_t k = src->npart - 1;
	while (k && src->part[k].off > off)
		k--;
	const struct pf_source_part *pt = &src->part[k];
	uint32_t line = pt->line;
	size_t bol = pt->off;
	for (size_t i = pt->off; i < off; i++)
		if (src->text[i] == '\n') {
			line++;
			bol = i + 1;
		}
	size_t eol = off;
	while (eol < src->len && src->text[eol] != '\n')
		eol++;
	/* The line as loaded (comments stripped), cut to fit, and a caret
	 * under the column; tabs stay tabs so the caret lines up. */
	int show = (int)(eol - bol > 200 ? 200 : eol - bol);
	int n = snprintf(buf, len, "%s:%u:%zu\n  %.*s\n  ", pt->file, line,
	    off - bol + 1, show, src->text + bol);
	for (size_t i = bol;
	     n >= 0 && (size_t)n + 2 < len && i < off && i < bol + 200; i++)
		buf[n++] = src->text[i] == '\t' ? '\t' : ' ';
	if (n >= 0 && (size_t)n + 2 < len) {
		buf[n++] = '^';
		buf[n] = 0;
	}
	return 0;
}

int
pf_source_check(const struct pf_source *src, char *err, size_t errlen)
{
	struct m0_syntax e;
	if (m0_syntax_check(src->text, src->len, &e) == M0_OK)
		return 0;
	char where[600];
	if (pf_source_where(src, e.off, where, sizeof(where)))
		snprintf(where, sizeof(where), "offset %u", e.off);
	/* "FILE:L:C: syntax error: why" then the line and the caret. */
	char *nl = strchr(where, '\n');
	snprintf(err, errlen, "%.*s: syntax error: %s%s",
	    nl ? (int)(nl - where) : (int)strlen(where), where, e.why,
	    nl ? nl : "");
	return -1;
}

int
pf_load_source(const char *path, const char *text, size_t len, char **out,
    size_t *outlen, char *err, size_t errlen)
{
	struct pf_source src;
	if (pf_source_load(&src, path, text, len, NULL, err, errlen))
		return -1;
	*out = src.text;
	*outlen = src.len;
	src.text = NULL;
	pf_source_free(&src);
	return 0;
}
