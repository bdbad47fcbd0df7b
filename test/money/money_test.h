/*
 * money_test.h: helpers shared by the money tests: scratch state
 * directories and a deterministic random source.
 */
#ifndef MONEY_TEST_H
#define MONEY_TEST_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "money.h"

/* A fresh empty directory under $TMPDIR (or /tmp) in (buf). */
static inline void
mt_tmpdir(char *buf, size_t len)
{
	const char *t = getenv("TMPDIR");

	snprintf(buf, len, "%s/money-test-XXXXXX", t ? t : "/tmp");
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

/* Removes the files of (dir) (no subdirectories) and (dir). */
static inline void
mt_rmdir(const char *dir)
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

static inline void
mt_path(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* xorshift64*: deterministic, seeded per test. */
static inline uint64_t
mt_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static inline uint64_t
mt_now(void)
{
	return (uint64_t)time(NULL);
}

#endif /* MONEY_TEST_H */
