/*
 * test_xchg_reserve.c: the reserve of foreign tokens: states and their
 * transitions, persistence across reopen, the rows an operator reads,
 * refusal of contradicting rows, pruning, and a script that fails (EIO)
 * and crashes (unsynced writes undone, or torn) at each write, sync and
 * truncate of the state database in turn (vfs_fault.h): after each,
 * reopening must show every acknowledged change, at most the one change
 * in flight besides, and no token counted twice.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "vfs_fault.h"
#include "xchg_int.h"
#include "xchg_test.h"
#include "sql_test.h"

#define NTOK 8
#define NOW 1000000

struct fx {
	char dir[PATH_MAX], path[PATH_MAX + 16], iddir[PATH_MAX];
	struct money_ident *issuer;
	struct money_token t[NTOK];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(money_init(), MONEY_OK);
	mt_tmpdir(f->dir, sizeof(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, MONEY_STORE_FILE);
	assert_int_equal(vf_install(), 0);
	f->issuer = xt_ident(f->iddir, sizeof(f->iddir));
	for (int i = 0; i < NTOK; i++)
		assert_int_equal(
		    money_token_sign(f->issuer, 100 * (i + 1),
		        i == 5 ? NOW + 10 : NOW + 100000, &f->t[i]),
		    MONEY_OK);
	vf_restart();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	vf_restart();
	money_ident_free(f->issuer);
	mt_rmdir(f->iddir);
	mt_rmdir(f->dir);
	free(f);
	return 0;
}

static void
test_reserve_states_and_refusals(void **state)
{
	struct fx *f = *state;
	struct xchg_reserve *r;
	struct xchg_reserve_sums s;
	const uint8_t *cur = f->t[0].currency;

	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
	for (int i = 0; i < 4; i++)
		assert_int_equal(xchg_reserve_add(r, &f->t[i]), XCHG_OK);
	assert_int_equal(xchg_reserve_add(r, &f->t[0]), XCHG_ERR_HELD);
	assert_int_equal(
	    xchg_reserve_set(r, cur, f->t[0].serial, XCHG_CLEARING), XCHG_OK);
	assert_int_equal(xchg_reserve_add(r, &f->t[0]), XCHG_ERR_HELD);
	assert_int_equal(xchg_reserve_set(r, cur, f->t[0].serial, XCHG_SOLD),
	    XCHG_ERR_STATE);
	assert_int_equal(
	    xchg_reserve_set(r, cur, f->t[0].serial, XCHG_CLEARED), XCHG_OK);
	assert_int_equal(xchg_reserve_add(r, &f->t[0]), XCHG_ERR_SPENT);
	assert_int_equal(
	    xchg_reserve_set(r, cur, f->t[1].serial, XCHG_CLEARING), XCHG_OK);
	assert_int_equal(
	    xchg_reserve_set(r, cur, f->t[1].serial, XCHG_SPENT), XCHG_OK);
	assert_int_equal(xchg_reserve_add(r, &f->t[1]), XCHG_ERR_SPENT);
	assert_int_equal(
	    xchg_reserve_set(r, cur, f->t[2].serial, XCHG_SOLD), XCHG_OK);
	/* A token we sold may be sold back to us. */
	assert_int_equal(xchg_reserve_add(r, &f->t[2]), XCHG_OK);
	assert_int_equal(xchg_reserve_set(r, cur, f->t[7].serial, XCHG_SOLD),
	    XCHG_ERR_STATE);
	xchg_reserve_sums(r, cur, &s);
	assert_int_equal(s.amount[XCHG_HELD], 300 + 400);
	assert_int_equal(s.amount[XCHG_CLEARED], 100);
	assert_int_equal(s.amount[XCHG_SPENT], 200);
	assert_int_equal(s.tokens[XCHG_HELD], 2);
	/* Picking: smallest >= want, else largest; within most. */
	struct money_token t;
	assert_int_equal(xchg_reserve_pick(r, cur, 350, 0, NOW, &t), XCHG_OK);
	assert_int_equal(t.amount, 400);
	assert_int_equal(xchg_reserve_pick(r, cur, 350, 399, NOW, &t), XCHG_OK);
	assert_int_equal(t.amount, 300);
	assert_int_equal(xchg_reserve_pick(r, cur, 0, 0, NOW, &t), XCHG_OK);
	assert_int_equal(t.amount, 400);
	assert_int_equal(
	    xchg_reserve_pick(r, cur, 0, 299, NOW, &t), XCHG_ERR_CREDIT);
	assert_int_equal(
	    xchg_reserve_pick(r, cur, 0, 0, NOW + 200000, &t), XCHG_ERR_EMPTY);
	xchg_reserve_close(r);

	/* Everything survives a reopen. */
	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
	xchg_reserve_sums(r, cur, &s);
	assert_int_equal(s.amount[XCHG_HELD], 700);
	assert_int_equal(s.amount[XCHG_SPENT], 200);
	assert_int_equal(
	    xchg_reserve_lookup(r, cur, f->t[0].serial, NULL), XCHG_CLEARED);
	assert_int_equal(xchg_reserve_add(r, &f->t[1]), XCHG_ERR_SPENT);
	xchg_reserve_close(r);
}

/* The rows say what the reserve says (the queries of docs/xchg.md), and
 * rows that contradict its rules are refused at open. */
static void
test_reserve_rows_and_contradictions(void **state)
{
	struct fx *f = *state;
	struct xchg_reserve *r;
	const uint8_t *cur = f->t[0].currency;

	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(xchg_reserve_add(r, &f->t[i]), XCHG_OK);
	assert_int_equal(
	    xchg_reserve_set(r, cur, f->t[1].serial, XCHG_CLEARING), XCHG_OK);
	xchg_reserve_close(r);
	assert_int_equal(sql_int(f->path,
	                     "SELECT sum(amount) FROM"
	                     " xchg_reserve WHERE state = 1"),
	    100 + 300);
	assert_int_equal(sql_int(f->path,
	                     "SELECT count(*) FROM xchg_reserve"
	                     " WHERE state = 2"),
	    1);
	assert_int_equal(sql_int(f->path,
	                     "SELECT count(DISTINCT currency)"
	                     " FROM xchg_reserve"),
	    1);
	/* a state no token can be in */
	sql_exec(f->path, "UPDATE xchg_reserve SET state = 9 WHERE state = 2");
	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_ERR_CORRUPT);
	assert_null(r);
	sql_exec(f->path, "UPDATE xchg_reserve SET state = 2 WHERE state = 9");
	/* a token twice */
	sql_exec(f->path,
	    "INSERT INTO xchg_reserve(currency, serial, state,"
	    " amount, expiry, token) SELECT currency, serial,"
	    " 3, amount, expiry, token FROM xchg_reserve"
	    " WHERE state = 2");
	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_ERR_CORRUPT);
	sql_exec(f->path, "DELETE FROM xchg_reserve WHERE state = 3");
	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
	xchg_reserve_close(r);
	/* a token that does not decode */
	sql_exec(f->path,
	    "UPDATE xchg_reserve SET token = x'00'"
	    " WHERE state = 2");
	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_ERR_CORRUPT);
	/* another program's database */
	snprintf(f->path, sizeof(f->path), "%s/other.db", f->dir);
	sql_exec(f->path, "CREATE TABLE x(y)");
	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_ERR_CORRUPT);
}

static void
test_reserve_compaction(void **state)
{
	struct fx *f = *state;
	struct xchg_reserve *r;
	struct xchg_reserve_sums s0, s1;
	struct xchg_reserve_stats st;
	const uint8_t *cur = f->t[0].currency;
	uint64_t n;

	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
	for (int i = 0; i < NTOK; i++)
		assert_int_equal(xchg_reserve_add(r, &f->t[i]), XCHG_OK);
	assert_int_equal(
	    xchg_reserve_set(r, cur, f->t[0].serial, XCHG_SOLD), XCHG_OK);
	assert_int_equal(
	    xchg_reserve_set(r, cur, f->t[1].serial, XCHG_CLEARING), XCHG_OK);
	assert_int_equal(
	    xchg_reserve_set(r, cur, f->t[1].serial, XCHG_SPENT), XCHG_OK);
	assert_int_equal(
	    xchg_reserve_set(r, cur, f->t[2].serial, XCHG_CLEARING), XCHG_OK);
	/* t[5] expires at NOW + 10. */
	assert_int_equal(xchg_reserve_expire(r, NOW + 10, &n), XCHG_OK);
	assert_int_equal(n, 1);
	xchg_reserve_sums(r, cur, &s0);
	assert_int_equal(s0.amount[XCHG_EXPIRED], 600);
	assert_int_equal(xchg_reserve_compact(r, NOW + 10), XCHG_OK);
	xchg_reserve_stats(r, &st);
	assert_int_equal(st.entries, NTOK - 2); /* sold and expired dropped */
	xchg_reserve_sums(r, cur, &s1);
	assert_memory_equal(&s0, &s1, sizeof(s0));
	/* The spent serial is still refused, the sold one comes back. */
	assert_int_equal(xchg_reserve_add(r, &f->t[1]), XCHG_ERR_SPENT);
	assert_int_equal(xchg_reserve_add(r, &f->t[0]), XCHG_OK);
	xchg_reserve_close(r);
	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
	xchg_reserve_sums(r, cur, &s1);
	assert_int_equal(s1.amount[XCHG_HELD], s0.amount[XCHG_HELD] + 100);
	assert_int_equal(s1.amount[XCHG_SPENT], 200);
	assert_int_equal(s1.amount[XCHG_EXPIRED], 600);
	assert_int_equal(
	    xchg_reserve_lookup(r, cur, f->t[2].serial, NULL), XCHG_CLEARING);
	/* Once the spent token has expired its serial may be forgotten. */
	assert_int_equal(xchg_reserve_compact(r, NOW + 100000), XCHG_OK);
	assert_int_equal(xchg_reserve_lookup(r, cur, f->t[1].serial, NULL), 0);
	xchg_reserve_sums(r, cur, &s1);
	assert_int_equal(s1.amount[XCHG_SPENT], 200);
	xchg_reserve_close(r);
}

/* ---- the fault script ---- */

enum { OP_ADD, OP_SET, OP_EXPIRE, OP_COMPACT };
static const struct op {
	int kind, tok, to;
} script[] = {
    {OP_ADD, 0, 0},
    {OP_ADD, 1, 0},
    {OP_ADD, 2, 0},
    {OP_SET, 0, XCHG_CLEARING},
    {OP_ADD, 3, 0},
    {OP_SET, 0, XCHG_CLEARED},
    {OP_SET, 1, XCHG_SOLD},
    {OP_ADD, 5, 0},
    {OP_SET, 2, XCHG_CLEARING},
    {OP_SET, 2, XCHG_SPENT},
    {OP_COMPACT, 0, 0},
    {OP_ADD, 1, 0},
    {OP_ADD, 4, 0},
    {OP_EXPIRE, 0, 0},
    {OP_SET, 3, XCHG_CLEARING},
    {OP_SET, 3, XCHG_HELD},
    {OP_ADD, 6, 0},
    {OP_COMPACT, 0, 0},
    {OP_SET, 4, XCHG_SOLD},
    {OP_ADD, 7, 0},
};
#define NOPS (int)(sizeof(script) / sizeof(script[0]))

/* The model: the state of each token after ops [0, n), and the sums:
 * HELD and CLEARING as they are now, terminal states counting every
 * entry into them. */
static void
model(struct fx *f, int n, int st[NTOK], struct xchg_reserve_sums *sum)
{
	memset(st, 0, sizeof(int) * NTOK);
	memset(sum, 0, sizeof(*sum));
	for (int i = 0; i < n; i++) {
		const struct op *o = &script[i];
		int t = o->tok, to;
		if (o->kind == OP_ADD)
			to = XCHG_HELD;
		else if (o->kind == OP_SET)
			to = o->to;
		else if (o->kind == OP_EXPIRE && st[5] == XCHG_HELD)
			t = 5, to = XCHG_EXPIRED; /* only t[5] expires */
		else
			continue;
		if (st[t] == XCHG_HELD || st[t] == XCHG_CLEARING) {
			sum->amount[st[t]] -= f->t[t].amount;
			sum->tokens[st[t]]--;
		}
		sum->amount[to] += f->t[t].amount;
		sum->tokens[to]++;
		st[t] = to;
	}
}

static enum xchg_err
run_op(struct fx *f, struct xchg_reserve *r, const struct op *o)
{
	switch (o->kind) {
	case OP_ADD:
		return xchg_reserve_add(r, &f->t[o->tok]);
	case OP_SET:
		return xchg_reserve_set(
		    r, f->t[o->tok].currency, f->t[o->tok].serial, o->to);
	case OP_EXPIRE:
		return xchg_reserve_expire(r, NOW + 10, NULL);
	default:
		return xchg_reserve_compact(r, NOW);
	}
}

/* Whether what (r) shows matches the model after (n) ops. */
static int
matches(struct fx *f, struct xchg_reserve *r, int n)
{
	int st[NTOK];
	struct xchg_reserve_sums s, want;

	model(f, n, st, &want);
	for (int i = 0; i < NTOK; i++) {
		int got = xchg_reserve_lookup(
		    r, f->t[i].currency, f->t[i].serial, NULL);
		/* Compaction forgets sold and expired serials. */
		if (got != st[i] &&
		    !(got == 0 &&
		        (st[i] == XCHG_SOLD || st[i] == XCHG_EXPIRED)))
			return 0;
	}
	/* Sums equal to the model's: nothing lost, nothing twice. */
	xchg_reserve_sums(r, f->t[0].currency, &s);
	return memcmp(&s, &want, sizeof(s)) == 0;
}

static void
fault_run(struct fx *f, enum vf_mode mode, long *points)
{
	for (long at = 1;; at++) {
		struct xchg_reserve *r;
		int acked = 0, failed = 0;

		mt_rmdir(f->dir);
		assert_int_equal(mkdir(f->dir, 0700), 0);
		vf_arm(at, mode);
		if (xchg_reserve_open(f->path, &r) != XCHG_OK) {
			failed = 1;
			r = NULL;
		}
		for (int i = 0; r != NULL && i < NOPS; i++) {
			enum xchg_err e = run_op(f, r, &script[i]);
			if (e != XCHG_OK) {
				assert_int_equal(e, XCHG_ERR_SYS);
				assert_true(vf_fired());
				failed = 1;
				/* Broken until reopened. */
				assert_int_equal(xchg_reserve_add(r, &f->t[7]),
				    XCHG_ERR_BROKEN);
				break;
			}
			acked = i + 1;
		}
		xchg_reserve_close(r);
		/* The fault may also fire in the close (its checkpoint). */
		if (!vf_fired()) {
			assert_false(failed);
			*points = at - 1;
			return;
		}
		vf_restart();
		assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
		/* Every acknowledged change, perhaps the one in flight. */
		if (!matches(f, r, acked))
			assert_true(acked < NOPS && matches(f, r, acked + 1));
		/* And it works on. */
		struct money_token extra;
		assert_int_equal(
		    money_token_sign(f->issuer, 9, NOW + 100000, &extra),
		    MONEY_OK);
		assert_int_equal(xchg_reserve_add(r, &extra), XCHG_OK);
		xchg_reserve_close(r);
	}
}

static void
test_reserve_fault_every_io_call(void **state)
{
	struct fx *f = *state;
	long e, c;

	long t;

	fault_run(f, VF_ERROR, &e);
	fault_run(f, VF_CRASH, &c);
	fault_run(f, VF_TORN, &t);
	assert_int_equal(e, c);
	assert_int_equal(e, t);
	assert_true(e > 2 * NOPS);
	print_message("%ld I/O boundaries, each failed, crashed and torn in "
	              "turn\n",
	    e);
}

/* Group commit: many staged changes share one transaction; the index
 * sees them at once; an uncut batch is not durable, and a batch crashed
 * at any of its boundaries is there whole or not at all. */
static void
test_reserve_group_commit(void **state)
{
	struct fx *f = *state;
	struct xchg_reserve *r;
	struct xchg_reserve_stats st;
	struct xchg_batch *b;
	uint64_t tk[NTOK], commits, t2;

	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
	for (int i = 0; i < 4; i++)
		assert_int_equal(
		    xchg_reserve_stage_add(r, &f->t[i], &tk[i]), XCHG_OK);
	assert_int_equal(tk[0], tk[3]);
	assert_true(xchg_reserve_durable(r) < tk[0]);
	/* Staged is already known: a second sale of a serial is refused. */
	assert_int_equal(
	    xchg_reserve_stage_add(r, &f->t[1], &t2), XCHG_ERR_HELD);
	assert_int_equal(xchg_reserve_compact(r, NOW), XCHG_ERR_BUSY);
	xchg_reserve_stats(r, &st);
	commits = st.commits;
	assert_int_equal(xchg_reserve_commit_begin(r, &b), XCHG_OK);
	assert_non_null(b);
	/* Staging goes on while a batch is in flight; a second begin waits. */
	assert_int_equal(xchg_reserve_stage_set(r, f->t[0].currency,
	                     f->t[0].serial, XCHG_CLEARING, &t2),
	    XCHG_OK);
	assert_true(t2 > tk[0]);
	struct xchg_batch *b2;
	assert_int_equal(xchg_reserve_commit_begin(r, &b2), XCHG_ERR_BUSY);
	xchg_reserve_commit_write(b);
	assert_int_equal(xchg_reserve_commit_end(r, b), XCHG_OK);
	xchg_reserve_stats(r, &st);
	assert_int_equal(st.commits, commits + 1); /* one batch */
	assert_int_equal(xchg_reserve_durable(r), tk[0]);
	assert_int_equal(xchg_reserve_staged(r), 1);
	assert_int_equal(xchg_reserve_commit(r), XCHG_OK);
	assert_int_equal(xchg_reserve_durable(r), t2);
	assert_int_equal(xchg_reserve_commit_begin(r, &b), XCHG_OK);
	assert_null(b); /* nothing staged */
	/* Staged but never committed: gone after a reopen. */
	assert_int_equal(xchg_reserve_stage_add(r, &f->t[4], &t2), XCHG_OK);
	xchg_reserve_close(r);
	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
	assert_int_equal(
	    xchg_reserve_lookup(r, f->t[4].currency, f->t[4].serial, NULL), 0);
	assert_int_equal(
	    xchg_reserve_lookup(r, f->t[0].currency, f->t[0].serial, NULL),
	    XCHG_CLEARING);
	xchg_reserve_stats(r, &st);
	assert_int_equal(st.records, 4);
	xchg_reserve_close(r);
	/* A batch of three crashed at each of its boundaries in turn: after
	 * the restart all three are there or none, never part. */
	for (long at = 1;; at++) {
		int n = 0;
		assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
		for (int i = 4; i < 7; i++)
			assert_int_equal(
			    xchg_reserve_stage_add(r, &f->t[i], &t2), XCHG_OK);
		vf_arm(at, VF_TORN);
		enum xchg_err e = xchg_reserve_commit(r);
		int fired = vf_fired();
		vf_arm(0, VF_ERROR);
		if (!fired) {
			assert_int_equal(e, XCHG_OK);
			xchg_reserve_close(r);
			break;
		}
		assert_int_equal(e, XCHG_ERR_SYS);
		xchg_reserve_close(r);
		vf_restart();
		assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
		for (int i = 4; i < 7; i++)
			n += xchg_reserve_lookup(r, f->t[i].currency,
			         f->t[i].serial, NULL) != 0;
		assert_true(n == 0 || n == 3);
		xchg_reserve_stats(r, &st);
		assert_int_equal(st.records, 4 + (uint64_t)n);
		/* start over from the four rows */
		for (int i = 4; n && i < 7; i++)
			assert_int_equal(xchg_reserve_set(r, f->t[i].currency,
			                     f->t[i].serial, XCHG_SOLD),
			    XCHG_OK);
		assert_int_equal(xchg_reserve_compact(r, NOW), XCHG_OK);
		xchg_reserve_close(r);
		assert_true(at < 100);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_reserve_states_and_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_reserve_rows_and_contradictions, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_reserve_compaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_reserve_fault_every_io_call, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_reserve_group_commit, setup, teardown),
	};

	return cmocka_run_group_tests_name("xchg_reserve", tests, NULL, NULL);
}
