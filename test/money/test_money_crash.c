/*
 * test_money_crash.c: kill -9 during a stream of deposits and
 * withdrawals. A child process mints, deposits, re-deposits (which must be
 * refused), withdraws and prunes through a real state directory, and
 * reports on a pipe only after a commit returned: "I <token>" for an
 * acknowledged issue, "D <token>" for an acknowledged deposit. The parent
 * kills it at a random moment (fixed seed, 30 rounds), reopens the state
 * and checks: the ledger opens, every acknowledged deposit is spent, no
 * token was ever acknowledged as deposited twice (by the child in any
 * round or by the parent), and the book balances. The parent then deposits
 * the acknowledged tokens that are still unspent, once each.
 *
 * A killed process keeps what it wrote in the page cache, so this proves
 * the logic against process death at any instruction; the fault-injection
 * test covers torn writes.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "money_test.h"

#define ROUNDS 30
#define MAXTOK 20000
#define LINE_LEN (2 + 2 * MONEY_TOKEN_LEN + 1)

struct tokrec {
	uint8_t tok[MONEY_TOKEN_LEN];
	int deposited; /* acknowledged deposits seen: must stay <= 1 */
};

static struct tokrec toks[MAXTOK];
static int ntoks;

static void
report(int fd, char kind, const uint8_t *tok)
{
	char line[LINE_LEN];

	line[0] = kind;
	line[1] = ' ';
	for (int i = 0; i < MONEY_TOKEN_LEN; i++)
		snprintf(line + 2 + 2 * i, 3, "%02x", tok[i]);
	line[LINE_LEN - 1] = '\n';
	/* < PIPE_BUF: atomic, so a kill never leaves half a line. */
	if (write(fd, line, LINE_LEN) != LINE_LEN)
		_exit(3);
}

static int
deposit(struct money_bank *b, struct money_account *a, const uint8_t *tok,
    uint64_t now)
{
	int64_t amt;
	uint64_t ticket;

	if (money_bank_deposit_stage(
	        b, tok, MONEY_TOKEN_LEN, now, &amt, &ticket) != MONEY_OK)
		return 0;
	if (money_bank_commit(b) != MONEY_OK)
		_exit(4);
	money_account_deposit(&b->book, a, amt);
	return 1;
}

static void
child(const char *dir, int fd, uint64_t seed)
{
	struct money_bank b;
	struct money_account a;
	uint8_t tok[MONEY_TOKEN_LEN], last[MONEY_TOKEN_LEN];
	uint64_t now = mt_now(), ticket;
	int have_last = 0;

	if (money_bank_open(&b, dir) != MONEY_OK)
		_exit(2);
	money_account_open(&b.book, &a, 0);
	for (uint64_t i = 0;; i++) {
		uint64_t r = mt_rand(&seed);
		if (r % 16 == 0) {
			/* short-lived amount-1 tokens that a prune drops */
			if (money_bank_mint(&b, 1, now + 2, tok) != MONEY_OK)
				_exit(5);
			report(fd, 'I', tok);
			if (money_bank_prune(&b, now + 3) != MONEY_OK)
				_exit(6);
			continue;
		}
		if (money_bank_mint(&b, 100 + (int64_t)(r % 50), now + 3600,
		        tok) != MONEY_OK)
			_exit(5);
		report(fd, 'I', tok);
		if (deposit(&b, &a, tok, now))
			report(fd, 'D', tok);
		if (deposit(&b, &a, tok, now)) /* must be refused */
			report(fd, 'D', tok);
		if (have_last && deposit(&b, &a, last, now))
			report(fd, 'D', last);
		if (a.credit >= 60) {
			if (money_bank_withdraw_stage(&b, &a, 60, now + 3600,
			        tok, &ticket) != MONEY_OK)
				_exit(7);
			if (money_bank_commit(&b) != MONEY_OK)
				_exit(8);
			report(fd, 'I', tok);
			if (r % 3 == 0 && deposit(&b, &a, tok, now))
				report(fd, 'D', tok);
		}
		memcpy(last, tok, sizeof(last));
		have_last = 1;
	}
}

static struct tokrec *
find_tok(const uint8_t *tok)
{
	for (int i = ntoks - 1; i >= 0; i--)
		if (memcmp(toks[i].tok, tok, MONEY_TOKEN_LEN) == 0)
			return &toks[i];
	return NULL;
}

static void
parse(const char *buf, size_t len)
{
	for (size_t off = 0; off + LINE_LEN <= len; off += LINE_LEN) {
		uint8_t tok[MONEY_TOKEN_LEN];
		struct tokrec *t;
		for (int i = 0; i < MONEY_TOKEN_LEN; i++) {
			unsigned v;
			sscanf(buf + off + 2 + 2 * i, "%2x", &v);
			tok[i] = (uint8_t)v;
		}
		t = find_tok(tok);
		if (buf[off] == 'I') {
			assert_null(t);
			assert_true(ntoks < MAXTOK);
			memcpy(toks[ntoks++].tok, tok, MONEY_TOKEN_LEN);
		} else {
			assert_int_equal(buf[off], 'D');
			assert_non_null(t);
			t->deposited++;
			if (t->deposited > 1)
				fail_msg("token accepted twice");
		}
	}
}

static void
check(const char *dir)
{
	struct money_bank b;
	struct money_account a;
	struct money_token t;
	uint64_t now = mt_now();

	assert_int_equal(money_bank_open(&b, dir), MONEY_OK);
	assert_true(money_book_check(&b.book));
	money_account_open(&b.book, &a, 0);
	for (int i = 0; i < ntoks; i++) {
		struct money_serial_info info;
		int known;
		money_token_decode(toks[i].tok, MONEY_TOKEN_LEN, &t);
		known = money_ledger_lookup(b.ledger, t.serial, &info);
		if (t.amount == 1)
			continue; /* pruned by the child's fake clock */
		assert_true(known && info.issued); /* acknowledged issue */
		if (toks[i].deposited) {
			assert_true(info.spent);
			assert_false(deposit(&b, &a, toks[i].tok, now));
		} else if (!info.spent) {
			/* acknowledged, unspent: redeemable exactly once */
			assert_true(deposit(&b, &a, toks[i].tok, now));
			toks[i].deposited = 1;
			assert_false(deposit(&b, &a, toks[i].tok, now));
		}
		/* else: a deposit became durable but the child died before
		 * reporting it; the credit died with it, nobody gained. */
	}
	money_account_close(&b.book, &a);
	assert_true(money_book_check(&b.book));
	money_bank_close(&b);
}

static void
test_crash_kill9_rounds(void **state)
{
	char dir[PATH_MAX];
	uint64_t seed = 0x6d7a65726f2d6d6eull;
	static char buf[MAXTOK * LINE_LEN];

	mt_tmpdir(dir, sizeof(dir));
	for (int round = 0; round < ROUNDS; round++) {
		int p[2], status;
		size_t len = 0;
		ssize_t n;
		pid_t pid;

		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			child(dir, p[1], seed + (uint64_t)round);
		}
		close(p[1]);
		/* Wait for the first acknowledgement, so that the kill
		 * lands in the loop even on a slow, loaded machine. */
		while (len < LINE_LEN &&
		    (n = read(p[0], buf + len, sizeof(buf) - len)) > 0)
			len += (size_t)n;
		assert_true(len >= LINE_LEN);
		usleep((useconds_t)(mt_rand(&seed) % 30000));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status)); /* not an early _exit */
		while ((n = read(p[0], buf + len, sizeof(buf) - len)) > 0)
			len += (size_t)n;
		close(p[0]);
		assert_int_equal(len % LINE_LEN, 0);
		parse(buf, len);
		check(dir);
	}
	assert_true(ntoks >= ROUNDS); /* the children did real work */
	print_message("%d tokens acknowledged over %d kills\n", ntoks, ROUNDS);
	mt_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crash_kill9_rounds),
	};
	assert_int_equal(money_init(), MONEY_OK);
	return cmocka_run_group_tests_name("money_crash", tests, NULL, NULL);
}
