/*
 * test_xchg_reserve.c: the reserve of foreign tokens: states and their
 * transitions, persistence across reopen, torn tails and corruption,
 * compaction, and a script that fails (EIO) and crashes (half a write,
 * no sync) at each of its write and sync calls in turn: after each,
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

#include "xchg_int.h"
#include "xchg_test.h"

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
	xt_tmpdir(f->dir, sizeof(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/reserve", f->dir);
	f->issuer = xt_ident(f->iddir, sizeof(f->iddir));
	for (int i = 0; i < NTOK; i++)
		assert_int_equal(
		    money_token_sign(f->issuer, 100 * (i + 1),
		                     i == 5 ? NOW + 10 : NOW + 100000,
		                     &f->t[i]),
		    MONEY_OK);
	xchg__fail_at = 0;
	xchg__crashed = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	xchg__fail_at = 0;
	xchg__crashed = 0;
	money_ident_free(f->issuer);
	xt_rmdir(f->iddir);
	xt_rmdir(f->dir);
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
	assert_int_equal(xchg_reserve_set(r, cur, f->t[0].serial, XCHG_CLEARED),
	                 XCHG_OK);
	assert_int_equal(xchg_reserve_add(r, &f->t[0]), XCHG_ERR_SPENT);
	assert_int_equal(
	    xchg_reserve_set(r, cur, f->t[1].serial, XCHG_CLEARING), XCHG_OK);
	assert_int_equal(xchg_reserve_set(r, cur, f->t[1].serial, XCHG_SPENT),
	                 XCHG_OK);
	assert_int_equal(xchg_reserve_add(r, &f->t[1]), XCHG_ERR_SPENT);
	assert_int_equal(xchg_reserve_set(r, cur, f->t[2].serial, XCHG_SOLD),
	                 XCHG_OK);
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
	assert_int_equal(xchg_reserve_pick(r, cur, 0, 299, NOW, &t),
	                 XCHG_ERR_CREDIT);
	assert_int_equal(xchg_reserve_pick(r, cur, 0, 0, NOW + 200000, &t),
	                 XCHG_ERR_EMPTY);
	xchg_reserve_close(r);

	/* Everything survives a reopen. */
	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
	xchg_reserve_sums(r, cur, &s);
	assert_int_equal(s.amount[XCHG_HELD], 700);
	assert_int_equal(s.amount[XCHG_SPENT], 200);
	assert_int_equal(xchg_reserve_lookup(r, cur, f->t[0].serial, NULL),
	                 XCHG_CLEARED);
	assert_int_equal(xchg_reserve_add(r, &f->t[1]), XCHG_ERR_SPENT);
	xchg_reserve_close(r);
}

static void
test_reserve_torn_tail_and_corruption(void **state)
{
	struct fx *f = *state;
	struct xchg_reserve *r;
	struct xchg_reserve_stats st;
	struct stat sb;
	uint8_t junk[100];
	int fd;

	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(xchg_reserve_add(r, &f->t[i]), XCHG_OK);
	xchg_reserve_close(r);
	/* A torn record at the end is cut. */
	for (size_t n = 1; n < 160; n += 37) {
		memset(junk, 0xab, sizeof(junk));
		fd = open(f->path, O_WRONLY | O_APPEND);
		assert_true(write(fd, junk, n < 100 ? n : 100) > 0);
		close(fd);
		assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
		xchg_reserve_stats(r, &st);
		assert_int_equal(st.records, 4);
		assert_true(st.truncated > 0);
		assert_int_equal(st.entries, 3);
		xchg_reserve_close(r);
		assert_int_equal(stat(f->path, &sb), 0);
		assert_int_equal(sb.st_size, 4 * 160);
	}
	/* A crash while cutting the tail: the next open still recovers. */
	fd = open(f->path, O_WRONLY | O_APPEND);
	assert_true(write(fd, junk, 50) == 50);
	close(fd);
	xchg__fail_mode = XCHG__FAIL_CRASH;
	xchg__fail_at = 1;
	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_ERR_CRASH);
	xchg__fail_at = 0;
	xchg__crashed = 0;
	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
	xchg_reserve_close(r);
	/* Damage before the last record is corruption, byte by byte. */
	for (off_t off = 0; off < 3 * 160; off += 7) {
		uint8_t b;
		fd = open(f->path, O_RDWR);
		assert_int_equal(pread(fd, &b, 1, off), 1);
		b ^= 0x40;
		assert_int_equal(pwrite(fd, &b, 1, off), 1);
		assert_int_equal(xchg_reserve_open(f->path, &r),
		                 XCHG_ERR_CORRUPT);
		b ^= 0x40;
		assert_int_equal(pwrite(fd, &b, 1, off), 1);
		close(fd);
	}
	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
	xchg_reserve_close(r);
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
	assert_int_equal(xchg_reserve_set(r, cur, f->t[0].serial, XCHG_SOLD),
	                 XCHG_OK);
	assert_int_equal(
	    xchg_reserve_set(r, cur, f->t[1].serial, XCHG_CLEARING), XCHG_OK);
	assert_int_equal(xchg_reserve_set(r, cur, f->t[1].serial, XCHG_SPENT),
	                 XCHG_OK);
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
	assert_int_equal(xchg_reserve_lookup(r, cur, f->t[2].serial, NULL),
	                 XCHG_CLEARING);
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
		return xchg_reserve_set(r, f->t[o->tok].currency,
		                        f->t[o->tok].serial, o->to);
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
		int got = xchg_reserve_lookup(r, f->t[i].currency,
		                              f->t[i].serial, NULL);
		/* Compaction forgets sold and expired serials. */
		if (got != st[i] && !(got == 0 && (st[i] == XCHG_SOLD ||
		                                   st[i] == XCHG_EXPIRED)))
			return 0;
	}
	/* Sums equal to the model's: nothing lost, nothing twice. */
	xchg_reserve_sums(r, f->t[0].currency, &s);
	return memcmp(&s, &want, sizeof(s)) == 0;
}

static void
fault_run(struct fx *f, enum xchg__fail_mode mode, long *points)
{
	for (long at = 1;; at++) {
		struct xchg_reserve *r;
		int acked = 0, failed = 0;

		xt_rmdir(f->dir);
		assert_int_equal(mkdir(f->dir, 0700), 0);
		xchg__fail_mode = mode;
		xchg__crashed = 0;
		xchg__fail_at = at;
		if (xchg_reserve_open(f->path, &r) != XCHG_OK) {
			failed = 1;
			r = NULL;
		}
		for (int i = 0; r != NULL && i < NOPS; i++) {
			enum xchg_err e = run_op(f, r, &script[i]);
			if (e != XCHG_OK) {
				assert_true(e == XCHG_ERR_SYS ||
				            e == XCHG_ERR_CRASH);
				assert_int_equal(e == XCHG_ERR_CRASH,
				                 mode == XCHG__FAIL_CRASH);
				failed = 1;
				/* Broken until reopened. */
				assert_int_equal(xchg_reserve_add(r, &f->t[7]),
				                 XCHG_ERR_BROKEN);
				break;
			}
			acked = i + 1;
		}
		xchg_reserve_close(r);
		xchg__fail_at = 0;
		xchg__crashed = 0;
		if (!failed) {
			*points = at - 1;
			return;
		}
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

	fault_run(f, XCHG__FAIL_ERROR, &e);
	fault_run(f, XCHG__FAIL_CRASH, &c);
	assert_int_equal(e, c);
	assert_true(e > 2 * NOPS);
	print_message("%ld I/O calls, each failed and crashed in turn\n", e);
}

/* Group commit: many staged changes share one write and one sync; the
 * index sees them at once; an uncut or torn batch is not durable, and a
 * torn batch is cut whatever part of it reached the file. */
static void
test_reserve_group_commit(void **state)
{
	struct fx *f = *state;
	struct xchg_reserve *r;
	struct xchg_reserve_stats st;
	struct xchg_batch *b;
	uint64_t tk[NTOK], calls, t2;
	struct stat sb;
	int fd;

	assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
	for (int i = 0; i < 4; i++)
		assert_int_equal(xchg_reserve_stage_add(r, &f->t[i], &tk[i]),
		                 XCHG_OK);
	assert_int_equal(tk[0], tk[3]);
	assert_true(xchg_reserve_durable(r) < tk[0]);
	/* Staged is already known: a second sale of a serial is refused. */
	assert_int_equal(xchg_reserve_stage_add(r, &f->t[1], &t2),
	                 XCHG_ERR_HELD);
	assert_int_equal(xchg_reserve_compact(r, NOW), XCHG_ERR_BUSY);
	calls = (uint64_t)xchg__io_calls;
	assert_int_equal(xchg_reserve_commit_begin(r, &b), XCHG_OK);
	assert_non_null(b);
	/* Staging goes on while a batch is in flight; a second begin waits. */
	assert_int_equal(xchg_reserve_stage_set(r, f->t[0].currency,
	                                        f->t[0].serial, XCHG_CLEARING,
	                                        &t2),
	                 XCHG_OK);
	assert_true(t2 > tk[0]);
	struct xchg_batch *b2;
	assert_int_equal(xchg_reserve_commit_begin(r, &b2), XCHG_ERR_BUSY);
	xchg_reserve_commit_write(b);
	assert_int_equal(xchg_reserve_commit_end(r, b), XCHG_OK);
	assert_int_equal((uint64_t)xchg__io_calls - calls, 2); /* one batch */
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
	assert_int_equal(st.records, 6);
	/* A batch of three torn in any way (its last record missing, or a
	 * hole in the middle): cut, never corruption, never applied. */
	for (int hole = 0; hole < 3; hole++) {
		for (int i = 4; i < 7; i++)
			assert_int_equal(
			    xchg_reserve_stage_add(r, &f->t[i], &t2), XCHG_OK);
		assert_int_equal(xchg_reserve_commit(r), XCHG_OK);
		xchg_reserve_close(r);
		fd = open(f->path, O_RDWR);
		uint8_t z[160] = {0};
		assert_int_equal(pwrite(fd, z, 160, (off_t)(6 + hole) * 160),
		                 160);
		close(fd);
		assert_int_equal(xchg_reserve_open(f->path, &r), XCHG_OK);
		xchg_reserve_stats(r, &st);
		assert_int_equal(st.records, 6);
		assert_int_equal(st.entries, 4);
		assert_int_equal(stat(f->path, &sb), 0);
		assert_int_equal(sb.st_size, 6 * 160);
	}
	xchg_reserve_close(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reserve_states_and_refusals,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_reserve_torn_tail_and_corruption, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reserve_compaction, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_reserve_fault_every_io_call,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reserve_group_commit, setup,
	                                    teardown),
	};

	return cmocka_run_group_tests_name("xchg_reserve", tests, NULL, NULL);
}
