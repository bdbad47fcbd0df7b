/*
 * bench_proc: the cost of creating a process (an m0_state, before it
 * allocates anything) against lua_newthread in the same run: time per
 * creation and bytes per process.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "m0.h"

#define N 100000

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t
heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static int64_t
h_now(void *ud)
{
	return 0;
}

static void *
lua_count_alloc(void *ud, void *p, size_t osize, size_t nsize)
{
	if (nsize == 0) {
		free(p);
		return NULL;
	}
	return realloc(p, nsize);
}

/* One round: creates N processes and keeps them, as a platform does. */
static void
round_m0(struct m0_global *g, double *ns, size_t *bytes)
{
	static struct m0_state *st[N];
	size_t before = heap_used();
	double t0 = now();
	for (int i = 0; i < N; i++)
		st[i] = m0_state_new(g);
	double t1 = now();
	*bytes = (heap_used() - before) / N;
	for (int i = 0; i < N; i++)
		m0_state_free(st[i]);
	*ns = (t1 - t0) / N * 1e9;
}

static void
round_lua(double *ns, size_t *bytes)
{
	lua_State *L = lua_newstate(lua_count_alloc, NULL);
	lua_gc(L, LUA_GCSTOP);
	lua_newtable(L);
	size_t before = heap_used();
	double t0 = now();
	for (int i = 0; i < N; i++) {
		lua_newthread(L);
		lua_rawseti(L, -2, i + 1); /* keep it, as m0 keeps its states */
	}
	double t1 = now();
	*bytes = (heap_used() - before) / N;
	*ns = (t1 - t0) / N * 1e9;
	lua_close(L);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int
main(void)
{
	struct m0_host host = {.now = h_now};
	struct m0_global *g = m0_global_new(NULL, &host, 1, 2);
	if (!g)
		return 1;
	double m[7], l[7];
	size_t mb = 0, lb = 0;
	for (int r = 0; r < 7; r++) { /* interleaved rounds, median */
		round_m0(g, &m[r], &mb);
		round_lua(&l[r], &lb);
	}
	qsort(m, 7, sizeof(double), cmp);
	qsort(l, 7, sizeof(double), cmp);
	printf(
	    "process m0_state_new %.0f ns %zu B   lua_newthread %.0f ns %zu B"
	    "   time m0/lua %.2f (median of 7)\n",
	    m[3], mb, l[3], lb, m[3] / l[3]);
	m0_global_free(g);
	return 0;
}
