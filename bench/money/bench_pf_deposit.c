/*
 * bench_pf_deposit.c: deposits per second through the platform (the
 * daemon's path: MØ messengers calling `_dep` on a libuv loop, group
 * commit on the libuv thread pool), against raw
 * crypto_sign_verify_detached() per second on the same token bodies in the
 * same run.
 *
 * Usage: bench_pf_deposit [DIR [TOKENS [DEPOSITORS [ROUNDS [ECONOMY]]]]]
 *   DIR        where the state directory is made (default /tmp); run
 *              once on tmpfs (/dev/shm) and once on a real disk
 *   TOKENS     tokens deposited over all rounds (default 40000)
 *   DEPOSITORS messengers depositing at once (default 64)
 *   ROUNDS     interleaved rounds (default 5, at least 3 for a median)
 *   ECONOMY    charged (default) or free
 *
 * Setup (not timed): one bank and one platform (pf_new, pf_money_init);
 * all TOKENS tokens are minted with the money API and one commit, the
 * way money_bank_mint() does it (book, sign, stage the issue) but with a
 * single fdatasync. Each round takes its own TOKENS/ROUNDS tokens and
 *   raw: verifies their signatures on one thread, exactly the bytes a
 *        token signature covers (also on one thread per CPU, for scale);
 *   pf:  spawns DEPOSITORS messengers, each in its own queue, each with
 *        its share of the tokens concatenated in its data field; each
 *        deposits them one after another:
 *          _dat ` 129 / { 129 * [ X 129 ] _dat X G _dep P } L
 *        The time runs from the first pf_spawn() until uv_run() returns,
 *        i.e. every process has ended, so every deposit was acknowledged
 *        (its spend synced) and credited.
 * The daemon verifies on its loop thread, so the fair peer is raw on one
 * thread: ratio(1) = deposits/s over raw verifies/s on one thread (target
 * >= 0.8). ratio(N) compares with all CPUs verifying. The medians of the
 * per-round figures are reported. pf_money_get_stats() must count exactly
 * TOKENS deposits and no refusal.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "money.h"
#include "money_int.h"
#include "pf.h"

#define MAXR 64

static uint8_t (*toks)[MONEY_TOKEN_LEN];

/* Deposits the tokens of its data field one after another. */
static const char code[] = "_dat ` 129 / { 129 * [ X 129 ] _dat X G _dep P } L";

struct ends {
	int live;
	int errors;
	double last;
};

static double
thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
on_end(void *ud, struct pf_proc *p, uint64_t id, int end, const char *err)
{
	struct ends *e = ud;

	e->live--;
	e->last = now_s();
	if (err != NULL && e->errors++ < 3)
		fprintf(
		    stderr, "process %llu: %s\n", (unsigned long long)id, err);
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
		memcpy(msg, dom, sizeof(dom));
		memcpy(msg + sizeof(dom), toks[i], MONEY_TOKEN_BODY_LEN);
		if (crypto_sign_verify_detached(toks[i] + MONEY_TOKEN_BODY_LEN,
		        msg, sizeof(msg), toks[i] + 1) != 0)
			abort();
	}
	return NULL;
}

/* Verifies of tokens [from, to) per wall second on (nthreads); with one
 * thread also per CPU second of this thread in *cpu. */
static double
raw_rate(int nthreads, long from, long to, double *cpu)
{
	pthread_t th[MAXR];
	struct raw_arg args[MAXR];
	long n = to - from;
	double t0 = now_s(), c0 = thread_cpu_s();

	if (nthreads == 1) {
		args[0].from = from;
		args[0].to = to;
		raw_verifier(&args[0]);
		*cpu = (double)n / (thread_cpu_s() - c0);
		return (double)n / (now_s() - t0);
	}
	for (int i = 0; i < nthreads; i++) {
		args[i].from = from + n * i / nthreads;
		args[i].to = from + n * (i + 1) / nthreads;
		pthread_create(&th[i], NULL, raw_verifier, &args[i]);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	return (double)n / (now_s() - t0);
}

/* Deposits tokens [from, to) with (ndep) messengers; returns deposits
 * per wall second, or a negative value when a spawn failed. *busy is the
 * share of the wall time the loop thread was on a CPU, *wait the share it
 * slept in the loop's poll (every depositor waited for a commit), *cpu
 * deposits per CPU second of the loop thread. */
static double
pf_rate(uv_loop_t *loop, struct pf_platform *pf, struct ends *e, long from,
    long to, int ndep, uint64_t qbase, double *busy, double *wait, double *cpu)
{
	long n = to - from;
	double t0 = now_s(), c0 = thread_cpu_s();
	uint64_t i0 = uv_metrics_idle_time(loop);

	for (int i = 0; i < ndep; i++) {
		long a = from + n * i / ndep, b = from + n * (i + 1) / ndep;
		struct m0_msg msg = {
		    .queue = qbase + (uint64_t)i,
		    .code = (const uint8_t *)code,
		    .code_len = sizeof(code) - 1,
		    .data = toks[a],
		    .data_len = (uint32_t)((b - a) * MONEY_TOKEN_LEN),
		};
		if (pf_spawn(pf, &msg, NULL, NULL, NULL, NULL) != M0_OK)
			return -1;
		e->live++;
	}
	uv_run(loop, UV_RUN_DEFAULT);
	if (e->live != 0)
		return -1;
	*busy = (thread_cpu_s() - c0) / (now_s() - t0);
	*cpu = (double)n / (thread_cpu_s() - c0);
	*wait =
	    (double)(uv_metrics_idle_time(loop) - i0) * 1e-9 / (now_s() - t0);
	return (double)n / (e->last - t0);
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

/* Mints (n) tokens of (amount) units with one commit. */
static int
mint_all(struct money_bank *bank, long n, int64_t amount)
{
	uint64_t ticket, exp = (uint64_t)time(NULL) + 3600;

	for (long i = 0; i < n; i++) {
		struct money_token t;
		if (money_book_mint(&bank->book, amount) != MONEY_OK ||
		    money_token_sign(bank->ident, amount, exp, &t) !=
		        MONEY_OK ||
		    money_ledger_stage_issue(bank->ledger, t.serial,
		        MONEY_ISSUE_MINT, amount, exp, &ticket) != MONEY_OK)
			return -1;
		money_token_encode(&t, toks[i]);
	}
	return money_bank_commit(bank) == MONEY_OK ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : "/tmp";
	long ntok = argc > 2 ? atol(argv[2]) : 40000;
	int ndep = argc > 3 ? atoi(argv[3]) : 64;
	int rounds = argc > 4 ? atoi(argv[4]) : 5;
	int charged = argc > 5 ? strcmp(argv[5], "free") != 0 : 1;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	double r1[MAXR], rn[MAXR], dr[MAXR], q1[MAXR], qn[MAXR], lb[MAXR],
	    lw[MAXR], rc[MAXR], dc[MAXR], qc[MAXR], dummy;
	char dir[4096], path[4200];
	struct money_bank bank;
	struct pf_money_config mcfg = {.charged = charged};
	struct pf_money_stats ms;
	struct ends e = {0};
	uv_loop_t loop;
	struct pf_platform *pf;
	uint64_t qbase;

	if (ntok < 1 || ndep < 1 || rounds < 1 || rounds > MAXR ||
	    ntok < (long)rounds * ndep || ncpu < 1)
		return 2;
	if (ncpu > MAXR)
		ncpu = MAXR;
	snprintf(dir, sizeof(dir), "%s/bench-pf-deposit-XXXXXX", base);
	toks = malloc((size_t)ntok * MONEY_TOKEN_LEN);
	if (toks == NULL || money_init() != MONEY_OK || mkdtemp(dir) == NULL ||
	    money_bank_open(&bank, dir) != MONEY_OK) {
		fprintf(stderr, "bench_pf_deposit: cannot open a bank in %s\n",
		    dir);
		return 1;
	}
	if (mint_all(&bank, ntok, 10) != 0) {
		fprintf(stderr, "bench_pf_deposit: mint failed\n");
		return 1;
	}
	uv_loop_init(&loop);
	uv_loop_configure(&loop, UV_METRICS_IDLE_TIME);
	pf = pf_new(&loop, NULL);
	if (pf == NULL || pf_money_init(pf, &bank, &mcfg) != M0_OK)
		return 1;
	pf_set_end(pf, on_end, &e);
	if (getrandom(&qbase, sizeof(qbase), 0) != sizeof(qbase))
		qbase = (uint64_t)time(NULL) << 20;

	printf("dir %s, %ld tokens, %d depositors, %d CPUs, %d rounds, "
	       "economy %s\n",
	    base, ntok, ndep, ncpu, rounds, charged ? "charged" : "free");
	printf("round  raw/s(1)  raw/s(%d)  pf deposits/s  ratio(1)  "
	       "ratio(%d)  loop: busy  waits  per-cpu\n",
	    ncpu, ncpu);
	for (int r = 0; r < rounds; r++) {
		long from = ntok * r / rounds, to = ntok * (r + 1) / rounds;
		r1[r] = raw_rate(1, from, to, &rc[r]);
		rn[r] = raw_rate(ncpu, from, to, &dummy);
		dr[r] = pf_rate(&loop, pf, &e, from, to, ndep,
		    qbase + (uint64_t)r * (uint64_t)ndep, &lb[r], &lw[r],
		    &dc[r]);
		if (dr[r] < 0) {
			fprintf(
			    stderr, "bench_pf_deposit: round %d failed\n", r);
			return 1;
		}
		q1[r] = dr[r] / r1[r];
		qn[r] = dr[r] / rn[r];
		qc[r] = dc[r] / rc[r];
		printf("%5d  %8.0f  %8.0f  %13.0f  %8.3f  %8.3f  %10.0f%%  "
		       "%4.0f%%  %7.3f\n",
		    r, r1[r], rn[r], dr[r], q1[r], qn[r], lb[r] * 100,
		    lw[r] * 100, qc[r]);
	}
	pf_money_get_stats(pf, &ms);
	printf("median: pf deposits %.0f /s, raw(1) %.0f /s, raw(%d) %.0f /s; "
	       "ratio(1) %.3f, ratio(%d) %.3f; loop thread busy %.0f%%, "
	       "waiting for commits %.0f%%\n"
	       "per CPU-second: loop thread %.0f deposits, raw %.0f verifies, "
	       "ratio %.3f (%.1f us of loop CPU per deposit, %.1f us per "
	       "verify)\n",
	    median(dr, rounds), median(r1, rounds), ncpu, median(rn, rounds),
	    median(q1, rounds), ncpu, median(qn, rounds),
	    median(lb, rounds) * 100, median(lw, rounds) * 100,
	    median(dc, rounds), median(rc, rounds), median(qc, rounds),
	    1e6 / median(dc, rounds), 1e6 / median(rc, rounds));
	printf("check: %llu deposits (expected %ld), %llu refused, %d process "
	       "errors, %llu removed at zero credit, %llu commits (%.1f "
	       "deposits each): %s\n",
	    (unsigned long long)ms.deposits, ntok,
	    (unsigned long long)ms.refused, e.errors,
	    (unsigned long long)ms.removed, (unsigned long long)ms.commits,
	    ms.commits ? (double)ms.deposits / (double)ms.commits : 0.0,
	    ms.deposits == (uint64_t)ntok && ms.refused == 0 && e.errors == 0
	        ? "ok"
	        : "FAILED");

	pf_money_close(pf);
	pf_free(pf);
	uv_loop_close(&loop);
	money_bank_close(&bank);
	snprintf(path, sizeof(path), "%s/" MONEY_STORE_FILE, dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/identity", dir);
	unlink(path);
	rmdir(dir);
	return ms.deposits == (uint64_t)ntok && ms.refused == 0 ? 0 : 1;
}
