/*
 * test_money_ledger.c: the serial ledger alone: replay, group commit,
 * refusals, torn-tail truncation, corruption detection and compaction.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "money_test.h"

struct fx {
	char dir[PATH_MAX];
	char path[PATH_MAX + 16];
	struct money_ledger *l;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(money_init(), MONEY_OK);
	mt_tmpdir(f->dir, sizeof(f->dir));
	mt_path(f->path, sizeof(f->path), f->dir, "ledger");
	assert_int_equal(money_ledger_open(f->path, &f->l), MONEY_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	money_ledger_close(f->l);
	mt_rmdir(f->dir);
	free(f);
	return 0;
}

static void
serial_of(uint8_t s[MONEY_SERIAL_LEN], uint64_t i)
{
	/* Spread over the table like random serials would be. */
	uint64_t x = i * 0x9e3779b97f4a7c15ull + 1;
	for (int k = 0; k < MONEY_SERIAL_LEN; k++) {
		s[k] = (uint8_t)(x >> (8 * (k % 8)));
		if (k == 7)
			x = x * 31 + i;
	}
}

static void
reopen(struct fx *f)
{
	money_ledger_close(f->l);
	assert_int_equal(money_ledger_open(f->path, &f->l), MONEY_OK);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void
test_ledger_create_mode(void **state)
{
	struct fx *f = *state;
	struct stat st;
	struct money_ledger_stats ls;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 128); /* header + first commit */
	money_ledger_stats(f->l, &ls);
	assert_int_equal(ls.records, 2);
	assert_int_equal(ls.serials, 0);
}

static void
test_ledger_replay(void **state)
{
	struct fx *f = *state;
	uint8_t s[MONEY_SERIAL_LEN];
	struct money_serial_info info;
	struct money_totals t = {.minted = 60, .burned = 1, .lost = 2};
	uint64_t ticket;

	for (uint64_t i = 0; i < 3; i++) {
		serial_of(s, i);
		assert_int_equal(money_ledger_stage_issue(f->l, s,
		                     MONEY_ISSUE_MINT, 10 * (int64_t)(i + 1),
		                     1000 + i, &ticket),
		    MONEY_OK);
	}
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	serial_of(s, 1);
	assert_int_equal(money_ledger_stage_spend(f->l, s, &ticket), MONEY_OK);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	reopen(f);
	for (uint64_t i = 0; i < 3; i++) {
		serial_of(s, i);
		assert_true(money_ledger_lookup(f->l, s, &info));
		assert_true(info.issued);
		assert_int_equal(info.spent, i == 1);
		assert_int_equal(info.amount, 10 * (int64_t)(i + 1));
		assert_int_equal(info.expiry, 1000 + i);
	}
	serial_of(s, 99);
	assert_false(money_ledger_lookup(f->l, s, &info));
	money_ledger_totals(f->l, &t);
	assert_int_equal(t.minted, 60);
	assert_int_equal(t.burned, 1);
	assert_int_equal(t.lost, 2);
	{
		struct money_ledger_stats ls;
		money_ledger_stats(f->l, &ls);
		assert_int_equal(ls.outstanding, 40);
		assert_int_equal(ls.records, 2 + 4 + 2);
		assert_int_equal(ls.truncated, 0);
	}
}

static void
test_ledger_group_commit(void **state)
{
	struct fx *f = *state;
	uint8_t s[MONEY_SERIAL_LEN];
	struct money_totals t = {0};
	struct money_ledger_stats a, b;
	uint64_t ticket, first = 0;

	for (uint64_t i = 0; i < 500; i++) {
		serial_of(s, i);
		assert_int_equal(money_ledger_stage_issue(f->l, s,
		                     MONEY_ISSUE_MINT, 1, 1000, &ticket),
		    MONEY_OK);
	}
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	money_ledger_stats(f->l, &a);
	for (uint64_t i = 0; i < 500; i++) {
		serial_of(s, i);
		assert_int_equal(money_ledger_stage_spend(f->l, s, &ticket),
		    MONEY_OK);
		if (i == 0)
			first = ticket;
		assert_int_equal(ticket, first); /* all in one batch */
	}
	assert_true(money_ledger_durable(f->l) < first);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	assert_int_equal(money_ledger_durable(f->l), first);
	money_ledger_stats(f->l, &b);
	assert_int_equal(b.commits, a.commits + 1);
	assert_int_equal(b.records, a.records + 501);
	assert_int_equal(b.outstanding, 0);
}

static void
test_ledger_refusals(void **state)
{
	struct fx *f = *state;
	uint8_t s[MONEY_SERIAL_LEN];
	struct money_totals t = {0};
	uint64_t ticket;

	serial_of(s, 1);
	assert_int_equal(money_ledger_stage_spend(f->l, s, &ticket),
	    MONEY_ERR_FORGED);
	assert_int_equal(money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT, 5,
	                     9, &ticket),
	    MONEY_OK);
	/* Staged issue is not yet issued. */
	assert_int_equal(money_ledger_stage_spend(f->l, s, &ticket),
	    MONEY_ERR_FORGED);
	assert_int_equal(money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT, 5,
	                     9, &ticket),
	    MONEY_ERR_DUP);
	assert_int_equal(money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT, 0,
	                     9, &ticket),
	    MONEY_ERR_INVAL);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	assert_int_equal(money_ledger_stage_spend(f->l, s, &ticket), MONEY_OK);
	assert_int_equal(money_ledger_stage_spend(f->l, s, &ticket),
	    MONEY_ERR_SPENT);
	assert_int_equal(money_ledger_compact(f->l, 0, &t), MONEY_ERR_BUSY);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	reopen(f);
	assert_int_equal(money_ledger_stage_spend(f->l, s, &ticket),
	    MONEY_ERR_SPENT);
}

/* Writes (len) bytes at (off) of the ledger file. */
static void
put(const char *path, const uint8_t *buf, size_t len, off_t off)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static off_t
logical_size(struct money_ledger *l)
{
	struct money_ledger_stats ls;

	money_ledger_stats(l, &ls);
	return (off_t)ls.bytes;
}

static void
test_ledger_torn_tail_truncated(void **state)
{
	struct fx *f = *state;
	uint8_t s[MONEY_SERIAL_LEN], junk[200];
	struct money_serial_info info;
	struct money_totals t = {0};
	struct money_ledger_stats ls;
	uint64_t ticket;
	off_t size;

	serial_of(s, 7);
	money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT, 5, 99, &ticket);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	size = logical_size(f->l);
	assert_true(file_size(f->path) > size); /* preallocated zeros */
	/* Lengths: part of a record, whole garbage records, both. */
	for (size_t n = 1; n <= sizeof(junk); n += 37) {
		memset(junk, (int)n, sizeof(junk));
		put(f->path, junk, n, size);
		reopen(f);
		money_ledger_stats(f->l, &ls);
		assert_int_equal(ls.truncated, n);
		assert_int_equal(logical_size(f->l), size);
		assert_true(money_ledger_lookup(f->l, s, &info));
		assert_true(info.issued);
	}
}

static void
test_ledger_uncommitted_batch_dropped(void **state)
{
	struct fx *f = *state;
	uint8_t s[MONEY_SERIAL_LEN];
	struct money_serial_info info;
	struct money_totals t = {0};
	uint64_t ticket;
	off_t size;
	int fd;
	static const uint8_t zero64[64];

	serial_of(s, 1);
	money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT, 5, 99, &ticket);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	serial_of(s, 2);
	money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT, 6, 99, &ticket);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	/* Zero the COMMIT record of the last batch: its valid ISSUE record
	 * must not count. */
	size = logical_size(f->l);
	money_ledger_close(f->l);
	f->l = NULL;
	fd = open(f->path, O_RDWR);
	assert_int_equal(pwrite(fd, zero64, 64, size - 64), 64);
	close(fd);
	assert_int_equal(money_ledger_open(f->path, &f->l), MONEY_OK);
	assert_false(money_ledger_lookup(f->l, s, &info));
	serial_of(s, 1);
	assert_true(money_ledger_lookup(f->l, s, &info));
}

static void
flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x01;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void
test_ledger_corruption_detected(void **state)
{
	struct fx *f = *state;
	uint8_t s[MONEY_SERIAL_LEN];
	struct money_totals t = {0};
	struct money_ledger *l;
	uint64_t ticket;
	off_t size;

	for (uint64_t b = 0; b < 3; b++) {
		serial_of(s, b);
		money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT, 5, 99,
		    &ticket);
		assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	}
	size = logical_size(f->l);
	money_ledger_close(f->l);
	f->l = NULL;
	/* Any byte of any record except the last batch (records 6 and 7). */
	for (off_t off = 0; off < size - 128; off += 7) {
		flip_byte(f->path, off);
		assert_int_equal(money_ledger_open(f->path, &l),
		    MONEY_ERR_CORRUPT);
		assert_null(l);
		flip_byte(f->path, off);
	}
	/* Damage in the last batch looks like a torn tail: cut, not an
	 * error; the two earlier batches survive. */
	flip_byte(f->path, size - 100);
	assert_int_equal(money_ledger_open(f->path, &f->l), MONEY_OK);
	assert_int_equal(logical_size(f->l), size - 128);
}

static void
test_ledger_compaction_prunes(void **state)
{
	struct fx *f = *state;
	uint8_t s[MONEY_SERIAL_LEN];
	struct money_serial_info info;
	struct money_totals t = {.minted = 3000, .burned = 0};
	struct money_ledger_stats ls;
	uint64_t ticket;

	/* 1000 serials: even ones expire at 100, odd ones at 10000; every
	 * third is spent. */
	for (uint64_t i = 0; i < 1000; i++) {
		serial_of(s, i);
		money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT, 3,
		    i % 2 ? 10000 : 100, &ticket);
	}
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	for (uint64_t i = 0; i < 1000; i += 3) {
		serial_of(s, i);
		assert_int_equal(money_ledger_stage_spend(f->l, s, &ticket),
		    MONEY_OK);
	}
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	/* expired unspent: even i not divisible by 3 → 333 of them */
	assert_int_equal(money_ledger_expired(f->l, 100), 3 * 333);
	t.burned = 3 * 333;
	assert_int_equal(money_ledger_compact(f->l, 100, &t), MONEY_OK);
	money_ledger_stats(f->l, &ls);
	assert_int_equal(ls.serials, 500);
	/* header + 500 issues + 167 spends (odd multiples of 3) + commit */
	assert_int_equal(ls.records, 1 + 500 + 167 + 1);
	assert_int_equal(file_size(f->path), (off_t)ls.records * 64);
	reopen(f);
	money_ledger_stats(f->l, &ls);
	assert_int_equal(ls.serials, 500);
	assert_int_equal(ls.outstanding, 3 * (500 - 167));
	for (uint64_t i = 0; i < 1000; i++) {
		serial_of(s, i);
		int known = money_ledger_lookup(f->l, s, &info);
		assert_int_equal(known, i % 2);
		if (known)
			assert_int_equal(info.spent, i % 3 == 0);
	}
	money_ledger_totals(f->l, &t);
	assert_int_equal(t.burned, 999);
	/* Still appendable after compaction. */
	serial_of(s, 5000);
	money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT, 3, 10000, &ticket);
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	reopen(f);
	assert_true(money_ledger_lookup(f->l, s, &info));
}

/* Eight threads race to spend the same 300 serials, committing as they
 * go: each serial is accepted exactly once. */
#define RACE_THREADS 8
#define RACE_SERIALS 300

struct race {
	struct money_ledger *l;
	int won[RACE_SERIALS];
	uint64_t seed;
};

static void *
racer(void *p)
{
	struct race *r = p;
	struct money_totals t = {0};
	uint8_t s[MONEY_SERIAL_LEN];
	uint64_t ticket;

	for (uint64_t i = 0; i < RACE_SERIALS; i++) {
		serial_of(s, i);
		if (money_ledger_stage_spend(r->l, s, &ticket) == MONEY_OK)
			r->won[i]++;
		if (mt_rand(&r->seed) % 8 == 0 &&
		    money_ledger_commit(r->l, &t) != MONEY_OK)
			return p; /* reported through won[] sums */
	}
	return NULL;
}

static void
test_ledger_concurrent_double_spend(void **state)
{
	struct fx *f = *state;
	struct race r[RACE_THREADS];
	pthread_t th[RACE_THREADS];
	struct money_totals t = {0};
	uint8_t s[MONEY_SERIAL_LEN];
	uint64_t ticket;

	for (uint64_t i = 0; i < RACE_SERIALS; i++) {
		serial_of(s, i);
		money_ledger_stage_issue(f->l, s, MONEY_ISSUE_MINT, 1, 1000,
		    &ticket);
	}
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	for (int k = 0; k < RACE_THREADS; k++) {
		memset(&r[k], 0, sizeof(r[k]));
		r[k].l = f->l;
		r[k].seed = (uint64_t)k + 1;
		assert_int_equal(pthread_create(&th[k], NULL, racer, &r[k]), 0);
	}
	for (int k = 0; k < RACE_THREADS; k++) {
		void *ret;
		pthread_join(th[k], &ret);
		assert_null(ret);
	}
	assert_int_equal(money_ledger_commit(f->l, &t), MONEY_OK);
	for (int i = 0; i < RACE_SERIALS; i++) {
		int sum = 0;
		for (int k = 0; k < RACE_THREADS; k++)
			sum += r[k].won[i];
		assert_int_equal(sum, 1);
	}
	reopen(f);
	{
		struct money_ledger_stats ls;
		money_ledger_stats(f->l, &ls);
		assert_int_equal(ls.outstanding, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ledger_create_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ledger_replay, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ledger_group_commit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ledger_refusals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_ledger_torn_tail_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_ledger_uncommitted_batch_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_ledger_corruption_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_compaction_prunes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_ledger_concurrent_double_spend, setup, teardown),
	};
	return cmocka_run_group_tests_name("money_ledger", tests, NULL, NULL);
}
