/*
 * bench_money_deposit.c: deposits per second with 64 concurrent
 * depositors sharing group commits, against raw
 * crypto_sign_verify_detached() per second in the same run.
 *
 * Usage: bench_money_deposit [DIR [TOKENS [DEPOSITORS [ROUNDS]]]]
 *   DIR        state directory to create the ledger in (default /tmp);
 *              run once on tmpfs and once on a real disk
 *   TOKENS     tokens deposited (default 40000)
 *   DEPOSITORS threads (default 64)
 *   ROUNDS     interleaved rounds (default 5); each round measures raw
 *              verification then deposits on its own share of the
 *              tokens, so load from other programs hits both alike; the
 *              medians of the per-round figures are reported
 *
 * Columns: ratio(N) = deposits/s over raw verifies/s on one thread per
 * CPU; ratio(1) = over raw on one thread; per-cpu = deposits per CPU
 * second of this process over verifies per CPU second (load-independent,
 * but blind to the kernel's flush threads). On a busy machine the wall
 * ratios favour the 64-thread deposit phase, which gets more of the CPU
 * than two raw threads do; compare them only on a quiet machine.
 *
 * What is measured. Setup (not timed) mints TOKENS tokens into a fresh
 * ledger with one commit. Raw: as many threads as CPUs each run
 * crypto_sign_verify_detached() on a token body for the same total count;
 * the rate is verifies per wall second. Deposits: DEPOSITORS threads take
 * tokens from a shared counter; each runs the full redemption path
 * (money_bank_deposit_stage: decode, verify, ledger lookup, stage the
 * spend), then waits until its spend is durable: a waiter that finds no
 * commit in progress becomes the committer and runs money_bank_commit()
 * (one SQLite transaction for everything staged so far) while the
 * others keep verifying and staging into the next batch. (A dedicated
 * committer thread that waits for larger batches was tried and was not
 * faster: with 64 depositors each waiting for its own deposit, a larger
 * batch leaves fewer depositors verifying during the fsync.) Each
 * depositor has one deposit in flight, as a process blocked in `_dep`
 * would. A deposit counts when
 * its ticket is durable, i.e. when a daemon would acknowledge it. The
 * ratio is deposits/s over raw verifies/s (target >= 0.8).
 *
 * A second model, "loop", is measured on another TOKENS tokens in each
 * round: one thread runs DEPOSITORS simulated processes as the daemon's
 * loop thread would (see loop_model()) and a worker commits; it is
 * compared with raw verification on one thread, since the loop verifies
 * on one thread.
 */
#include <pthread.h>
#include <sys/resource.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "money.h"
#include "money_int.h"

static struct money_bank bank;
static uint8_t (*toks)[MONEY_TOKEN_LEN];
static long ntok;
static atomic_long next_tok; /* next token of the current round */
static long end_tok;         /* end of the current round's tokens */
static atomic_long failures;

static pthread_mutex_t gc_mu = PTHREAD_MUTEX_INITIALIZER;
/* Waiters sleep on the condition of their ticket's parity: while batch k
 * is being committed, waiting tickets are k or k+1, so finishing k wakes
 * only its own depositors (plus one of k+1 to lead the next commit)
 * instead of all 64. */
static pthread_cond_t gc_cv[2] = {
    PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};
static int committing;
static uint64_t batches;
static double commit_s; /* time spent in commits, threads model */

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Blocks until (ticket) is durable. A waiter that finds no commit in
 * progress becomes the committer for everything staged so far. */
static void
wait_durable(uint64_t ticket)
{
	pthread_mutex_lock(&gc_mu);
	while (money_ledger_durable(bank.ledger) < ticket) {
		if (!committing) {
			double c = now_s();
			committing = 1;
			pthread_mutex_unlock(&gc_mu);
			if (money_bank_commit(&bank) != MONEY_OK)
				abort();
			pthread_mutex_lock(&gc_mu);
			commit_s += now_s() - c;
			committing = 0;
			batches++;
			{
				uint64_t d = money_ledger_durable(bank.ledger);
				pthread_cond_broadcast(&gc_cv[d & 1]);
				pthread_cond_signal(&gc_cv[(d + 1) & 1]);
			}
		} else {
			pthread_cond_wait(&gc_cv[ticket & 1], &gc_mu);
		}
	}
	pthread_mutex_unlock(&gc_mu);
}

static void *
depositor(void *arg)
{
	uint64_t now = (uint64_t)time(NULL);

	(void)arg;
	for (;;) {
		long i = atomic_fetch_add(&next_tok, 1);
		int64_t amount;
		uint64_t ticket;
		if (i >= end_tok)
			break;
		if (money_bank_deposit_stage(&bank, toks[i], MONEY_TOKEN_LEN,
		        now, &amount, &ticket) != MONEY_OK) {
			atomic_fetch_add(&failures, 1);
			continue;
		}
		wait_durable(ticket);
	}
	return NULL;
}

/*
 * The loop model: what the daemon's single loop thread would do. One
 * thread interleaves DEPOSITORS simulated processes: each idle one runs
 * the redemption path and is parked with its ticket; a worker thread
 * commits whenever something is staged and none is running (as a
 * uv_queue_work would); parked processes whose ticket is durable resume
 * and deposit again. The loop blocks only when every process is parked.
 */
static pthread_mutex_t lm_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lm_cv = PTHREAD_COND_INITIALIZER;
static int lm_request, lm_busy, lm_quit;
static double lm_idle; /* seconds the loop slept waiting for a commit */
static double lm_commit_s;
static long lm_commits;

static void *
loop_committer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lm_mu);
	for (;;) {
		while (!lm_request && !lm_quit)
			pthread_cond_wait(&lm_cv, &lm_mu);
		if (lm_quit)
			break;
		double c = now_s();
		lm_request = 0;
		pthread_mutex_unlock(&lm_mu);
		if (money_bank_commit(&bank) != MONEY_OK)
			abort();
		pthread_mutex_lock(&lm_mu);
		lm_commit_s += now_s() - c;
		lm_commits++;
		lm_busy = 0;
		batches++;
		pthread_cond_broadcast(&lm_cv);
	}
	pthread_mutex_unlock(&lm_mu);
	return NULL;
}

static void
loop_model(long from, long to, int ndep)
{
	uint64_t *ticket = calloc((size_t)ndep, sizeof(*ticket));
	uint64_t now = (uint64_t)time(NULL), durable, staged = 0;
	long next = from, acked = 0;
	pthread_t th;

	if (ticket == NULL)
		abort();
	lm_quit = lm_request = lm_busy = 0;
	pthread_create(&th, NULL, loop_committer, NULL);
	while (acked < to - from) {
		int worked = 0;
		for (int i = 0; i < ndep; i++) {
			int64_t amount;
			durable = money_ledger_durable(bank.ledger);
			if (ticket[i] != 0 && ticket[i] <= durable) {
				ticket[i] = 0; /* acknowledged: resumes */
				acked++;
			}
			if (ticket[i] == 0 && next < to) {
				if (money_bank_deposit_stage(&bank, toks[next],
				        MONEY_TOKEN_LEN, now, &amount,
				        &ticket[i]) != MONEY_OK) {
					atomic_fetch_add(&failures, 1);
					acked++;
					ticket[i] = 0;
				} else if (ticket[i] > staged) {
					staged = ticket[i];
				}
				next++;
				worked++;
				/* As the daemon would after each _dep: start a
				 * commit when none is running. */
				pthread_mutex_lock(&lm_mu);
				if (!lm_busy && staged > durable) {
					lm_busy = lm_request = 1;
					pthread_cond_signal(&lm_cv);
				}
				pthread_mutex_unlock(&lm_mu);
			}
		}
		pthread_mutex_lock(&lm_mu);
		if (!lm_busy && staged > money_ledger_durable(bank.ledger)) {
			lm_busy = lm_request = 1;
			pthread_cond_broadcast(&lm_cv);
		}
		/* Nothing ran this pass (every process is parked): sleep
		 * until a commit completes. */
		if (worked == 0) {
			double w = now_s();
			while (lm_busy)
				pthread_cond_wait(&lm_cv, &lm_mu);
			lm_idle += now_s() - w;
		}
		pthread_mutex_unlock(&lm_mu);
	}
	pthread_mutex_lock(&lm_mu);
	lm_quit = 1;
	pthread_cond_broadcast(&lm_cv);
	pthread_mutex_unlock(&lm_mu);
	pthread_join(th, NULL);
	free(ticket);
}

struct raw_arg {
	long from, to;
};

static void *
raw_verifier(void *p)
{
	struct raw_arg *a = p;
	static const char dom[] = MONEY__DOM_TOKEN;
	uint8_t msg[sizeof(dom) + MONEY_TOKEN_BODY_LEN];

	for (long i = a->from; i < a->to; i++) {
		/* exactly the bytes a token signature covers */
		memcpy(msg, dom, sizeof(dom));
		memcpy(msg + sizeof(dom), toks[i], MONEY_TOKEN_BODY_LEN);
		if (crypto_sign_verify_detached(toks[i] + MONEY_TOKEN_BODY_LEN,
		        msg, sizeof(msg), toks[i] + 1) != 0)
			abort();
	}
	return NULL;
}

/* Verifies of tokens [from, to) per wall second on (nthreads). */
static double
raw_rate(int nthreads, long from, long to)
{
	pthread_t th[64];
	struct raw_arg args[64];
	long n = to - from;
	double t0 = now_s();

	for (int i = 0; i < nthreads; i++) {
		args[i].from = from + n * i / nthreads;
		args[i].to = from + n * (i + 1) / nthreads;
		pthread_create(&th[i], NULL, raw_verifier, &args[i]);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	return (double)n / (now_s() - t0);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : "/tmp";
	int ndep = argc > 3 ? atoi(argv[3]) : 64;
	int rounds = argc > 4 ? atoi(argv[4]) : 5;
	double rn[64], r1[64], dr[64], rc[64], lr[64], ld[64], raw_cpu, pc,
	    li[64];
	uint64_t batches_threads = 0;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	char dir[4096];
	pthread_t *th;
	struct money_ledger_stats st;
	double t0, t1, c0, busy, dep_rate, raw1, rawn;
	uint64_t ticket, exp = (uint64_t)time(NULL) + 3600;

	ntok = argc > 2 ? atol(argv[2]) : 40000;
	if (ntok < 1 || ndep < 1 || ncpu < 1 || rounds < 1 || rounds > 64 ||
	    ntok < rounds)
		return 2;
	if (ncpu > 64)
		ncpu = 64;
	snprintf(dir, sizeof(dir), "%s/bench-money-XXXXXX", base);
	if (money_init() != MONEY_OK || mkdtemp(dir) == NULL ||
	    money_bank_open(&bank, dir) != MONEY_OK)
		return 1;
	/* first half: threads model; second half: loop model */
	toks = malloc((size_t)ntok * 2 * MONEY_TOKEN_LEN);
	th = calloc((size_t)ndep, sizeof(*th));
	if (toks == NULL || th == NULL)
		return 1;
	for (long i = 0; i < 2 * ntok; i++) {
		struct money_token t;
		if (money_book_mint(&bank.book, 10) != MONEY_OK ||
		    money_token_sign(bank.ident, 10, exp, &t) != MONEY_OK ||
		    money_ledger_stage_issue(bank.ledger, t.serial,
		        MONEY_ISSUE_MINT, 10, exp, &ticket) != MONEY_OK)
			return 1;
		money_token_encode(&t, toks[i]);
	}
	if (money_bank_commit(&bank) != MONEY_OK)
		return 1;

	printf("dir %s, %ld tokens, %d depositors, %d CPUs, %d rounds\n", base,
	    ntok, ndep, ncpu, rounds);
	printf("round  raw/s(1)  raw/s(%d)  deposits/s  per-commit  cpu  "
	       "ratio(%d)  ratio(1)  per-cpu     loop/s  loop(1)  idle\n",
	    ncpu, ncpu);
	for (int r = 0; r < rounds; r++) {
		long from = ntok * r / rounds, to = ntok * (r + 1) / rounds;
		uint64_t b0 = batches;
		c0 = cpu_s();
		raw1 = raw_rate(1, from, to);
		raw_cpu = (double)(to - from) / (cpu_s() - c0);
		rawn = raw_rate(ncpu, from, to);
		atomic_store(&next_tok, from);
		end_tok = to;
		c0 = cpu_s();
		t0 = now_s();
		for (int i = 0; i < ndep; i++)
			pthread_create(&th[i], NULL, depositor, NULL);
		for (int i = 0; i < ndep; i++)
			pthread_join(th[i], NULL);
		t1 = now_s() - t0;
		dep_rate = (double)(to - from) / t1;
		busy = (cpu_s() - c0) / (t1 * ncpu);
		rc[r] = (double)(to - from) / (cpu_s() - c0) / raw_cpu;
		rn[r] = dep_rate / rawn;
		r1[r] = dep_rate / raw1;
		dr[r] = dep_rate;
		pc = batches > b0 ? (double)(to - from) / (double)(batches - b0)
		                  : 0.0;
		batches_threads += batches - b0;
		/* the loop model, on its own share of the second half */
		{
			long lf = ntok + ntok * r / rounds;
			long lt = ntok + ntok * (r + 1) / rounds;
			double raw1l, tl;
			raw1l = raw_rate(1, lf, lt);
			lm_idle = 0;
			tl = now_s();
			loop_model(lf, lt, ndep);
			tl = now_s() - tl;
			lr[r] = (double)(lt - lf) / tl / raw1l;
			li[r] = lm_idle / tl;
			ld[r] = (double)(lt - lf) / tl;
		}
		printf("%5d  %8.0f  %8.0f  %10.0f  %10.1f  %3.0f%%  %9.3f  "
		       "%8.3f  %7.3f  %9.0f  %8.3f  %3.0f%%\n",
		    r, raw1, rawn, dep_rate, pc, busy * 100, rn[r], r1[r],
		    rc[r], ld[r], lr[r], li[r] * 100);
	}
	money_ledger_stats(bank.ledger, &st);
	printf("median: deposits %.0f /s, ratio deposits/raw(%d threads) "
	       "%.3f, deposits/raw(1 thread) %.3f, per CPU-second %.3f; "
	       "%ld refused\n",
	    median(dr, rounds), ncpu, median(rn, rounds), median(r1, rounds),
	    median(rc, rounds), (long)atomic_load(&failures));
	printf("threads model: mean commit (one transaction) %.2f ms\n",
	    batches_threads ? commit_s * 1e3 / (double)batches_threads : 0.0);
	printf("loop model: %ld commits, mean %.2f ms\n", lm_commits,
	    lm_commits ? lm_commit_s * 1e3 / (double)lm_commits : 0.0);
	printf("loop model: median %.0f deposits/s, ratio to raw(1 thread) "
	       "%.3f\n",
	    median(ld, rounds), median(lr, rounds));
	printf("ledger %llu rows\n", (unsigned long long)st.records);

	/* The deposits' credit never reached an account: burn it. */
	money_book_expire(&bank.book, 0);
	money_bank_close(&bank);
	{
		char p[4200];
		snprintf(p, sizeof(p), "%s/" MONEY_STORE_FILE, dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/identity", dir);
		unlink(p);
		rmdir(dir);
	}
	free(th);
	free(toks);
	return atomic_load(&failures) == 0 ? 0 : 1;
}
