/*
 * m0_value.c: interned names, hashing and equality of values.
 */
#include <stdlib.h>

#include "m0_int.h"

static const char *const errnames[] = {"ok",
#define M0__ES(id, name) name,
    M0_ERRMAP(M0__ES)
#undef M0__ES
};

const char *
m0_strerror(int err)
{
	if (err < 0 || err >= M0_NERR)
		return "?";
	return errnames[err];
}

/* FNV-1a: names are short and interned once, so speed hardly matters. */
static uint32_t
hash_bytes(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

/* A name is an identifier when it reads back as one name token: a run of
 * [a-z_], or one printable byte that forms a name on its own. */
bool
m0__name_is_ident(const char *s, size_t len)
{
	if (len == 0)
		return false;
	bool lower = true;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
			lower = false;
	if (lower)
		return true;
	if (len != 1)
		return false;
	uint8_t c = (uint8_t)s[0];
	if (c < 33 || c > 126)
		return false;
	if (c >= '0' && c <= '9')
		return false;
	return c != '"' && c != '\\' && c != '{' && c != '}' && c != '\'';
}

static bool
grow_names(struct m0_global *g)
{
	uint32_t ncap = (g->names_mask + 1) * 2;
	struct m0_name **nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return false;
	for (uint32_t i = 0; i <= g->names_mask; i++) {
		struct m0_name *n = g->names[i], *next;
		for (; n; n = next) {
			next = n->chain;
			n->chain = nt[n->hash & (ncap - 1)];
			nt[n->hash & (ncap - 1)] = n;
		}
	}
	free(g->names);
	g->names = nt;
	g->names_mask = ncap - 1;
	return true;
}

/* Returns the one name with these bytes, or NULL when the name table is
 * over its byte limit or out of memory. */
struct m0_name *
m0__intern(struct m0_global *g, const char *s, size_t len)
{
	uint32_t h = hash_bytes(s, len);
	for (struct m0_name *n = g->names[h & g->names_mask]; n; n = n->chain)
		if (n->hash == h && n->len == len && memcmp(n->s, s, len) == 0)
			return n;
	if (len > UINT32_MAX / 2 ||
	    g->names_bytes + len + sizeof(struct m0_name) > g->lim.name_bytes)
		return NULL;
	if (g->names_count >= g->names_mask && !grow_names(g))
		return NULL;
	struct m0_name *n = malloc(sizeof(*n) + len + 1);
	if (!n)
		return NULL;
	n->hash = h;
	n->len = (uint32_t)len;
	n->op = -1;
	n->cache_op = -1;
	n->cache_epoch = 0;
	n->cache_slot = NULL;
	memcpy(n->s, s, len);
	n->s[len] = 0;
	n->ident = m0__name_is_ident(s, len);
	n->chain = g->names[h & g->names_mask];
	g->names[h & g->names_mask] = n;
	g->names_count++;
	g->names_bytes += len + sizeof(*n);
	return n;
}
