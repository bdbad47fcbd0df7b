/*
 * pf_load.c: the file loader of the tools (spec A1). It strips `#`
 * comments (a `#` that starts a line's text or follows whitespace, outside
 * strings and hex strings) and expands `#include "file"` (source) and
 * `#includestring "file"` (the file's code, stripped as the 1994 m0strip
 * did, as a string literal), so a messenger can be written in several
 * files. As in 1994 the file name may also stand without quotes.
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
    size_t errlen);

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
		snprintf(path, strlen(dir) + n + 2, "%s/%.*s", dir, (int)n, name);
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
			if (gap && last && needs_space(last, c) && sput(out, " ", 1))
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
include_string(struct sbuf *out, const char *path, int depth, char *err,
    size_t errlen)
{
	struct sbuf code = {0}, small = {0};
	if (load(&code, path, depth, err, errlen))
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

/* Strips comments from src into out, expanding directives. */
static int
strip(struct sbuf *out, const char *src, size_t len, const char *dir,
    int depth, char *err, size_t errlen)
{
	enum { CODE, STR, HEX } st = CODE;
	bool ws = true; /* previous byte was whitespace or line start */
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
					    "bad include directive");
					return -1;
				}
				int r = as_string ? include_string(out, path,
							depth + 1, err, errlen)
						  : load(out, path, depth + 1,
							err, errlen);
				free(path);
				if (r)
					return -1;
			}
			i = (size_t)(end - src);
			if (i < len && sput(out, "\n", 1))
				goto big;
			ws = true;
			continue;
		}
		if (sput(out, &c, 1))
			goto big;
		uint8_t u = (uint8_t)c;
		ws = st == CODE && (u < 33 || u > 126);
	}
	return 0;
big:
	snprintf(err, errlen, "source too large");
	return -1;
}

static int
load(struct sbuf *out, const char *path, int depth, char *err, size_t errlen)
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
	int r = pc ? strip(out, src, n, dirname(pc), depth, err, errlen) : -1;
	free(pc);
	free(src);
	return r;
}

int
pf_load_source(const char *path, const char *text, size_t len, char **out,
    size_t *outlen, char *err, size_t errlen)
{
	struct sbuf b = {0};
	int r = path ? load(&b, path, 0, err, errlen)
		     : strip(&b, text, len, ".", 0, err, errlen);
	if (!r && sput(&b, "", 1))
		r = -1;
	if (r) {
		free(b.p);
		return -1;
	}
	*out = b.p;
	*outlen = b.n - 1;
	return 0;
}
