/*
 * pf_load.c: the file loader of the tools (spec A1). It strips `#`
 * comments (a `#` that starts a line's text or follows whitespace, outside
 * strings and hex strings) and expands `#include "file"` (source) and
 * `#includestring "file"` (the file's bytes as a string literal), so a
 * messenger can be written in several files.
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

/* Parses `"file"` after a directive; returns the path or NULL. */
static char *
directive_path(const char *p, const char *end, const char *dir)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end || *p != '"')
		return NULL;
	const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
	if (!q)
		return NULL;
	size_t n = (size_t)(q - p - 1);
	char *path = malloc(strlen(dir) + n + 2);
	if (!path)
		return NULL;
	if (p[1] == '/')
		snprintf(path, n + 1, "%s", p + 1);
	else
		snprintf(path, strlen(dir) + n + 2, "%s/%.*s", dir, (int)n, p + 1);
	return path;
}

static int
include_string(struct sbuf *out, const char *path, char *err, size_t errlen)
{
	char *data;
	size_t n;
	if (pf_read_file(path, &data, &n)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
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
							err, errlen)
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
