/*
 * bench_xchg.c: exchanges per second against raw signature checks, and
 * the simulator's scale.
 *
 * Usage: bench_xchg [DIR [PAIRS [N [EPOCHS]]]]
 *   DIR     where the reserve lives (default /tmp; run on tmpfs and on a
 *           real disk: every sell and buy is written and fdatasync()ed)
 *   PAIRS   sell+buy pairs (default 5000)
 *   N       platforms for the simulator run (default 1000)
 *   EPOCHS  its epochs (default 100)
 *
 * A pair is a sell (decode, Ed25519 verify, checks, reserve write + sync,
 * credit computed) of a fresh foreign token followed by a buy (pick, mark
 * sold + sync, price) of a token from the reserve. Raw: as many
 * crypto_sign_verify_detached() calls on one token body, on one thread.
 * The ratio is pairs/s over verifies/s (a pair verifies once).
 *
 * Then the same pairs with group commit, as the daemon runs them: one
 * thread (the loop) stages sells and buys for 64 messengers, each waiting
 * for its pair to be durable before it sends the next, while a second
 * thread (the pool) writes and syncs one batch at a time.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "sim.h"
#include "xchg.h"

/* The pool's side of group commit: one batch at a time. */
static struct xchg_batch *_Atomic job;
static atomic_int job_done, stop_pool;

static void *
pool(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_pool)) {
		struct xchg_batch *b = atomic_load(&job);
		if (b == NULL || atomic_load(&job_done)) {
			sched_yield();
			continue;
		}
		xchg_reserve_commit_write(b);
		atomic_store(&job_done, 1);
	}
	return NULL;
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_xchg: %s\n", what);
	exit(1);
}

int
main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : "/tmp";
	int pairs = argc > 2 ? atoi(argv[2]) : 5000;
	int n = argc > 3 ? atoi(argv[3]) : 1000;
	int epochs = argc > 4 ? atoi(argv[4]) : 100;
	char adir[4096], bdir[4096];
	struct money_ident *a = NULL, *b = NULL;
	struct money_prices pa, pb;
	struct money_quote q;
	uint8_t qb[MONEY_QUOTE_LEN], out[MONEY_TOKEN_LEN];
	uint8_t *toks;
	struct xchg_exchange *x;
	uint64_t t0 = 2000000000ull;
	double t, raw, ex;
	volatile int ok = 0;

	if (money_init() != MONEY_OK)
		die("money_init");
	snprintf(adir, sizeof(adir), "%s/bench-xchg-a-XXXXXX", base);
	snprintf(bdir, sizeof(bdir), "%s/bench-xchg-b-XXXXXX", base);
	if (mkdtemp(adir) == NULL || mkdtemp(bdir) == NULL)
		die("mkdtemp");
	if (money_ident_open(adir, &a) != MONEY_OK ||
	    money_ident_open(bdir, &b) != MONEY_OK)
		die("identity");
	money_prices_init(&pa);
	money_prices_init(&pb);
	if (money_quote_make(b, &pb, t0, 3600, &q, qb) != MONEY_OK)
		die("quote");
	if (xchg_exchange_open(adir, a, NULL, &x) != XCHG_OK)
		die("exchange");
	xchg_exchange_epoch(x, &pa, t0 + 3600);
	if (xchg_exchange_learn(x, qb, sizeof(qb), t0) != XCHG_OK)
		die("learn");
	/* Setup, not timed: the tokens the messengers will sell. */
	toks = malloc((size_t)pairs * MONEY_TOKEN_LEN);
	if (toks == NULL)
		die("malloc");
	for (int i = 0; i < pairs; i++) {
		struct money_token tk;
		if (money_token_sign(b, 1000000, t0 + 86400, &tk) != MONEY_OK)
			die("sign");
		money_token_encode(&tk, toks + (size_t)i * MONEY_TOKEN_LEN);
	}

	t = now_s();
	for (int i = 0; i < pairs; i++) {
		const uint8_t *tk =
		    toks + (size_t)(i % pairs) * MONEY_TOKEN_LEN;
		uint8_t m[16 + MONEY_TOKEN_BODY_LEN];
		memcpy(m, "mzero/token/v1", 15);
		memcpy(m + 15, tk, MONEY_TOKEN_BODY_LEN);
		ok += crypto_sign_verify_detached(tk + MONEY_TOKEN_BODY_LEN, m,
		          15 + MONEY_TOKEN_BODY_LEN, tk + 1) == 0;
	}
	raw = pairs / (now_s() - t);

	t = now_s();
	for (int i = 0; i < pairs; i++) {
		int64_t local, cost, amount;
		if (xchg_exchange_sell(x, toks + (size_t)i * MONEY_TOKEN_LEN,
		        MONEY_TOKEN_LEN, t0, &local) != XCHG_OK)
			die("sell");
		if (xchg_exchange_buy(x, q.issuer, 0, INT64_MAX / 4, t0, out,
		        &cost, &amount) != XCHG_OK)
			die("buy");
	}
	ex = pairs / (now_s() - t);
	printf(
	    "exchanges (sell+buy, verified, synced) in %s: %.0f/s\n", base, ex);
	printf("raw crypto_sign_verify_detached:     %.0f/s (%d valid)\n", raw,
	    ok);
	printf("ratio: %.3f\n", ex / raw);

	/* Group commit: sell fresh tokens again (the same serials came back
	 * as sold, so they may be sold to us again) and buy them back. */
	{
		struct xchg_reserve *r = xchg_exchange_reserve(x);
		pthread_t th;
		int staged = 0, acked = 0, cut = 0, inflight = 0;
		uint64_t batches = 0;
		pthread_create(&th, NULL, pool, NULL);
		t = now_s();
		while (acked < pairs) {
			while (staged < pairs && staged - acked < 64) {
				int64_t local, cost, amount;
				uint64_t tk;
				if (xchg_exchange_sell_stage(x,
				        toks + (size_t)staged * MONEY_TOKEN_LEN,
				        MONEY_TOKEN_LEN, t0, &local,
				        &tk) != XCHG_OK)
					die("sell_stage");
				if (xchg_exchange_buy_stage(x, q.issuer, 0,
				        INT64_MAX / 4, t0, out, &cost, &amount,
				        &tk) != XCHG_OK)
					die("buy_stage");
				staged++;
			}
			if (!inflight) {
				struct xchg_batch *b;
				if (xchg_reserve_commit_begin(r, &b) != XCHG_OK)
					die("commit_begin");
				if (b != NULL) {
					cut = staged;
					inflight = 1;
					atomic_store(&job_done, 0);
					atomic_store(&job, b);
				}
			} else if (atomic_load(&job_done)) {
				struct xchg_batch *b = atomic_load(&job);
				atomic_store(&job, NULL);
				if (xchg_reserve_commit_end(r, b) != XCHG_OK)
					die("commit_end");
				inflight = 0;
				acked = cut;
				batches++;
			} else {
				sched_yield();
			}
		}
		ex = pairs / (now_s() - t);
		atomic_store(&stop_pool, 1);
		pthread_join(th, NULL);
		printf("group commit, 64 waiting messengers:  %.0f/s "
		       "(%.1f pairs per sync), ratio %.3f\n",
		    ex, (double)pairs / (double)batches, ex / raw);
	}

	struct sim_cfg cfg = {.n = n,
	    .epochs = epochs,
	    .seed = 1,
	    .topo = SIM_RANDOM,
	    .scenario = SIM_ALL,
	    .degree = 3,
	    .mpp = 10,
	    .quiet = 1};
	struct sim_summary sum;
	struct sim *s = sim_new(&cfg);
	if (s == NULL)
		die("sim");
	sim_run(s, NULL, &sum);
	sim_free(s);
	printf("simulator: N=%d, %d epochs: %.0f platform-epochs/s\n", n,
	    epochs, sum.steps_per_s);

	xchg_exchange_close(x);
	money_ident_free(a);
	money_ident_free(b);
	free(toks);
	char p[4200];
	snprintf(p, sizeof(p), "%s/" MONEY_STORE_FILE, adir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/identity", adir);
	unlink(p);
	rmdir(adir);
	snprintf(p, sizeof(p), "%s/identity", bdir);
	unlink(p);
	rmdir(bdir);
	return 0;
}
