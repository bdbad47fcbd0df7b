/*
 * xchg_test.h: helpers shared by the xchg tests: scratch directories, a
 * deterministic random source, fresh identities and tokens.
 */
#ifndef XCHG_TEST_H
#define XCHG_TEST_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "money.h"
#include "xchg.h"

/* A fresh empty directory under $TMPDIR (or /tmp) in (buf). */
static inline void
xt_tmpdir(char *buf, size_t len)
{
	const char *t = getenv("TMPDIR");

	snprintf(buf, len, "%s/xchg-test-XXXXXX", t ? t : "/tmp");
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

/* Removes the files of (dir) (no subdirectories) and (dir). */
static inline void
xt_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX + 256];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

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

	xt_tmpdir(dir, len);
	if (money_ident_open(dir, &id) != MONEY_OK)
		abort();
	return id;
}

#endif /* XCHG_TEST_H */
