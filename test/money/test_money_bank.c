/*
 * test_money_bank.c: the bank's state directory: the one database file
 * it keeps, refusal of a directory in the former format (nothing touched,
 * nothing created), refusal of a database that names another identity,
 * and one shared connection for every open of the same file.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "money_test.h"

static int
exists(const char *dir, const char *name)
{
	char p[PATH_MAX + 64];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

static void
put_file(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX + 64];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
test_bank_state_dir_files(void **state)
{
	char dir[PATH_MAX];
	struct money_bank b;
	uint8_t tok[MONEY_TOKEN_LEN];

	mt_tmpdir(dir, sizeof(dir));
	assert_int_equal(money_bank_open(&b, dir), MONEY_OK);
	assert_int_equal(money_bank_mint(&b, 5, 4000000000u, tok), MONEY_OK);
	money_bank_close(&b);
	assert_true(exists(dir, "identity"));
	assert_true(exists(dir, MONEY_STORE_FILE));
	assert_false(exists(dir, "ledger"));
	mt_rmdir(dir);
}

/* A directory of the former format is refused before anything is
 * opened or created: the operator decides, nothing is wiped. */
static void
test_bank_old_format_refused(void **state)
{
	static const char *const names[] = {"ledger", "reserve"};
	char dir[PATH_MAX];
	struct money_bank b;

	for (int i = 0; i < 2; i++) {
		mt_tmpdir(dir, sizeof(dir));
		put_file(dir, names[i], "old records");
		assert_int_equal(money_bank_open(&b, dir), MONEY_ERR_OLDSTATE);
		assert_null(b.ledger);
		assert_false(exists(dir, MONEY_STORE_FILE));
		assert_false(exists(dir, "identity"));
		assert_true(exists(dir, names[i]));
		assert_non_null(
		    strstr(money_strerror(MONEY_ERR_OLDSTATE), "old-format"));
		mt_rmdir(dir);
	}
}

/* The database remembers the currency it serves: an identity file
 * replaced (or lost and recreated) cannot take over its serials. */
static void
test_bank_other_identity_refused(void **state)
{
	char dir[PATH_MAX], p[PATH_MAX + 16];
	struct money_bank b;
	uint8_t tok[MONEY_TOKEN_LEN];

	mt_tmpdir(dir, sizeof(dir));
	assert_int_equal(money_bank_open(&b, dir), MONEY_OK);
	assert_int_equal(money_bank_mint(&b, 5, 4000000000u, tok), MONEY_OK);
	money_bank_close(&b);
	mt_path(p, sizeof(p), dir, "identity");
	assert_int_equal(unlink(p), 0);
	/* Lost: refused before a new identity is made over the ledger. */
	assert_int_equal(money_bank_open(&b, dir), MONEY_ERR_NOIDENT);
	assert_null(b.ident);
	assert_false(exists(dir, "identity"));
	/* Replaced by another (a fresh directory's): the meta table. */
	char other[PATH_MAX], q[PATH_MAX + 16];
	mt_tmpdir(other, sizeof(other));
	assert_int_equal(money_bank_open(&b, other), MONEY_OK);
	money_bank_close(&b);
	mt_path(q, sizeof(q), other, "identity");
	assert_int_equal(rename(q, p), 0);
	assert_int_equal(money_bank_open(&b, dir), MONEY_ERR_IDENT);
	assert_null(b.ident);
	mt_rmdir(other);
	mt_rmdir(dir);
}

/* Every open of one file shares one connection (so one commit path, as
 * the bank and the exchange do), and it stays open until the last close:
 * what the bank committed is there for the next opener. */
static void
test_bank_store_shared(void **state)
{
	char dir[PATH_MAX], p[PATH_MAX + 16];
	struct money_bank b;
	struct money_ledger *l;
	struct money_token t;
	struct money_serial_info info;
	uint8_t tok[MONEY_TOKEN_LEN];

	mt_tmpdir(dir, sizeof(dir));
	assert_int_equal(money_bank_open(&b, dir), MONEY_OK);
	mt_path(p, sizeof(p), dir, MONEY_STORE_FILE);
	assert_int_equal(money_ledger_open(p, &l), MONEY_OK);
	assert_ptr_equal(money_ledger_store(l), money_ledger_store(b.ledger));
	assert_int_equal(money_bank_mint(&b, 7, 4000000000u, tok), MONEY_OK);
	money_bank_close(&b);
	money_ledger_close(l);
	assert_int_equal(money_ledger_open(p, &l), MONEY_OK);
	money_token_decode(tok, sizeof(tok), &t);
	assert_true(money_ledger_lookup(l, t.serial, &info));
	assert_int_equal(info.amount, 7);
	money_ledger_close(l);
	mt_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bank_state_dir_files),
	    cmocka_unit_test(test_bank_old_format_refused),
	    cmocka_unit_test(test_bank_other_identity_refused),
	    cmocka_unit_test(test_bank_store_shared),
	};
	assert_int_equal(money_init(), MONEY_OK);
	return cmocka_run_group_tests_name("money_bank", tests, NULL, NULL);
}
