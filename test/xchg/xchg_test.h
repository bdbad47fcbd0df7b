/*
 * xchg_test.h: helpers shared by the xchg tests: the money tests'
 * scratch directories (money_test.h), a deterministic random source,
 * fresh identities and tokens.
 */
#ifndef XCHG_TEST_H
#define XCHG_TEST_H

#include <stdint.h>
#include <stdlib.h>

#include "money.h"
#include "money_test.h"
#include "xchg.h"

/* splitmix64: deterministic, seeded per test. */
static inline uint64_t
xt_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static inline int64_t
xt_range(uint64_t *s, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(xt_rand(s) % (uint64_t)(hi - lo + 1));
}

/* An identity in a fresh directory (dir), for a platform of the test. */
static inline struct money_ident *
xt_ident(char *dir, size_t len)
{
	struct money_ident *id = NULL;

	mt_tmpdir(dir, len);
	if (money_ident_open(dir, &id) != MONEY_OK)
		abort();
	return id;
}

#endif /* XCHG_TEST_H */
