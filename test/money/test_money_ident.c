/*
 * test_money_ident.c: the persistent identity: creation with mode 0600,
 * the same key and ids after a restart, _pid != _hid, refusal of damaged
 * or world-readable key files, domain-separated signatures.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sodium.h>

#include "money_test.h"

static void
test_ident_created_private(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct money_ident *id;
	struct stat st;

	mt_tmpdir(dir, sizeof(dir));
	assert_int_equal(money_ident_open(dir, &id), MONEY_OK);
	mt_path(path, sizeof(path), dir, "identity");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 72);
	mt_path(path, sizeof(path), dir, "identity.tmp");
	assert_int_not_equal(access(path, F_OK), 0); /* renamed away */
	money_ident_free(id);
	mt_rmdir(dir);
}

static void
test_ident_stable_across_restart(void **state)
{
	char dir[PATH_MAX];
	struct money_ident *a, *b;
	uint8_t pk[MONEY_PK_LEN], pid[MONEY_ID_LEN], hid[MONEY_ID_LEN];

	mt_tmpdir(dir, sizeof(dir));
	assert_int_equal(money_ident_open(dir, &a), MONEY_OK);
	memcpy(pk, money_ident_pk(a), sizeof(pk));
	memcpy(pid, money_ident_pid(a), sizeof(pid));
	memcpy(hid, money_ident_hid(a), sizeof(hid));
	money_ident_free(a);
	assert_int_equal(money_ident_open(dir, &b), MONEY_OK);
	assert_memory_equal(pk, money_ident_pk(b), sizeof(pk));
	assert_memory_equal(pid, money_ident_pid(b), sizeof(pid));
	assert_memory_equal(hid, money_ident_hid(b), sizeof(hid));
	money_ident_free(b);
	mt_rmdir(dir);
}

static void
test_ident_ids_derived(void **state)
{
	char d1[PATH_MAX], d2[PATH_MAX];
	struct money_ident *a, *b;
	uint8_t x[MONEY_ID_LEN], zero[MONEY_PK_LEN] = {0};
	uint8_t pid0[MONEY_ID_LEN], hid0[MONEY_ID_LEN];

	mt_tmpdir(d1, sizeof(d1));
	mt_tmpdir(d2, sizeof(d2));
	assert_int_equal(money_ident_open(d1, &a), MONEY_OK);
	assert_int_equal(money_ident_open(d2, &b), MONEY_OK);
	assert_memory_not_equal(
	    money_ident_pid(a), money_ident_hid(a), MONEY_ID_LEN);
	assert_memory_not_equal(
	    money_ident_pid(a), money_ident_pid(b), MONEY_ID_LEN);
	assert_memory_not_equal(
	    money_ident_hid(a), money_ident_hid(b), MONEY_ID_LEN);
	money_pid_of(money_ident_pk(a), x);
	assert_memory_equal(x, money_ident_pid(a), MONEY_ID_LEN);
	money_hid_of(money_ident_pk(a), x);
	assert_memory_equal(x, money_ident_hid(a), MONEY_ID_LEN);
	/* Against libsodium directly, as docs/money.md states it:
	 * first 8 bytes of BLAKE2b-128 keyed with the zero-padded label. */
	{
		uint8_t key[16] = "mzero/pid/v1", h[16];
		crypto_generichash(h, 16, zero, sizeof(zero), key, 16);
		money_pid_of(zero, pid0);
		assert_memory_equal(pid0, h, MONEY_ID_LEN);
		memcpy(key, "mzero/hid/v1", 12);
		crypto_generichash(h, 16, zero, sizeof(zero), key, 16);
		money_hid_of(zero, hid0);
		assert_memory_equal(hid0, h, MONEY_ID_LEN);
		assert_memory_not_equal(pid0, hid0, MONEY_ID_LEN);
	}
	money_ident_free(a);
	money_ident_free(b);
	mt_rmdir(d1);
	mt_rmdir(d2);
}

static void
write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_ident_refuses_bad_files(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct money_ident *id;
	uint8_t buf[72];
	int fd;

	mt_tmpdir(dir, sizeof(dir));
	assert_int_equal(money_ident_open(dir, &id), MONEY_OK);
	money_ident_free(id);
	mt_path(path, sizeof(path), dir, "identity");
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 72);
	close(fd);

	write_file(path, buf, sizeof(buf), 0644); /* readable by others */
	assert_int_equal(money_ident_open(dir, &id), MONEY_ERR_IDENT);
	assert_null(id);
	write_file(path, buf, 71, 0600); /* short */
	assert_int_equal(money_ident_open(dir, &id), MONEY_ERR_IDENT);
	buf[70] ^= 1; /* public key does not match the seed */
	write_file(path, buf, sizeof(buf), 0600);
	assert_int_equal(money_ident_open(dir, &id), MONEY_ERR_IDENT);
	buf[70] ^= 1;
	buf[0] ^= 1; /* magic */
	write_file(path, buf, sizeof(buf), 0600);
	assert_int_equal(money_ident_open(dir, &id), MONEY_ERR_IDENT);
	buf[0] ^= 1;
	write_file(path, buf, sizeof(buf), 0600);
	assert_int_equal(money_ident_open(dir, &id), MONEY_OK);
	money_ident_free(id);
	assert_int_equal(
	    money_ident_open("/nonexistent/dir", &id), MONEY_ERR_SYS);
	mt_rmdir(dir);
}

static void
test_ident_sign_domains(void **state)
{
	char dir[PATH_MAX];
	struct money_ident *id;
	uint8_t sig[MONEY_SIG_LEN], msg[1000];

	mt_tmpdir(dir, sizeof(dir));
	assert_int_equal(money_ident_open(dir, &id), MONEY_OK);
	memset(msg, 7, sizeof(msg)); /* also past the 512-byte stack path */
	for (size_t len = 0; len <= sizeof(msg); len += 250) {
		assert_int_equal(
		    money_ident_sign(id, "a", msg, len, sig), MONEY_OK);
		assert_true(
		    money_sig_verify(money_ident_pk(id), "a", msg, len, sig));
		assert_false(
		    money_sig_verify(money_ident_pk(id), "b", msg, len, sig));
		/* The NUL after the label separates it from the message. */
		assert_false(money_sig_verify(money_ident_pk(id), "a\a", msg,
		    len > 0 ? len - 1 : 0, sig));
	}
	money_ident_free(id);
	mt_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ident_created_private),
	    cmocka_unit_test(test_ident_stable_across_restart),
	    cmocka_unit_test(test_ident_ids_derived),
	    cmocka_unit_test(test_ident_refuses_bad_files),
	    cmocka_unit_test(test_ident_sign_domains),
	};
	assert_int_equal(money_init(), MONEY_OK);
	return cmocka_run_group_tests_name("money_ident", tests, NULL, NULL);
}
