/*
 * money_ident.c: the platform's persistent Ed25519 identity, the ids
 * derived from it, domain-separated signing, and the module's error
 * strings. The secret key lives only in sodium_malloc memory that is
 * no-access while idle.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "money_int.h"

/* File "identity": magic, seed, public key (to detect damage). */
#define IDENT_MAGIC "mzeroid1"
#define IDENT_MAGIC_LEN 8
#define IDENT_SEED_LEN crypto_sign_SEEDBYTES
#define IDENT_FILE_LEN (IDENT_MAGIC_LEN + IDENT_SEED_LEN + MONEY_PK_LEN)

struct money_ident {
	uint8_t pk[MONEY_PK_LEN];
	uint8_t pid[MONEY_ID_LEN];
	uint8_t hid[MONEY_ID_LEN];
	uint8_t *sk; /* sodium_malloc, crypto_sign_SECRETKEYBYTES, noaccess */
	pthread_mutex_t mu;
};

static const char *const err_str[] = {"success",
#define MONEY__S(id, s) s,
    MONEY_ERRMAP(MONEY__S)
#undef MONEY__S
};

const char *
money_strerror(enum money_err err)
{
	if ((unsigned)err >= MONEY_ERR_N)
		return "unknown money error";
	return err_str[err];
}

enum money_err
money_init(void)
{
	return sodium_init() < 0 ? MONEY_ERR_SYS : MONEY_OK;
}

/* Keyed BLAKE2b: the 16-byte keys are the labels zero-padded. */
static void
derive_id(const char *label, const uint8_t pk[MONEY_PK_LEN],
    uint8_t out[MONEY_ID_LEN])
{
	uint8_t key[crypto_generichash_KEYBYTES_MIN] = {0};
	uint8_t h[crypto_generichash_BYTES_MIN];

	memcpy(key, label, strlen(label));
	crypto_generichash(h, sizeof(h), pk, MONEY_PK_LEN, key, sizeof(key));
	memcpy(out, h, MONEY_ID_LEN);
}

void
money_pid_of(const uint8_t pk[MONEY_PK_LEN], uint8_t out[MONEY_ID_LEN])
{
	derive_id("mzero/pid/v1", pk, out);
}

void
money_hid_of(const uint8_t pk[MONEY_PK_LEN], uint8_t out[MONEY_ID_LEN])
{
	derive_id("mzero/hid/v1", pk, out);
}

/* Builds the key pair from the seed in (seed) into (id). */
static enum money_err
ident_from_seed(struct money_ident *id, const uint8_t *seed)
{
	id->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (id->sk == NULL)
		return MONEY_ERR_NOMEM;
	crypto_sign_seed_keypair(id->pk, id->sk, seed);
	money_pid_of(id->pk, id->pid);
	money_hid_of(id->pk, id->hid);
	sodium_mprotect_noaccess(id->sk);
	return MONEY_OK;
}

/*
 * Writes (len) bytes as the new file (path), mode 0600, whole or not at
 * all: a temp file, then link() to the name, which fails if another
 * start created it meanwhile. No sync of its own: SQLite owns
 * durability, and the bank records the key in the state database at
 * once, so an identity lost to a crash is noticed (MONEY_ERR_IDENT), never
 * replaced silently while the ledger holds serials of the old one.
 */
static enum money_err
file_create(const char *path, const uint8_t *buf, size_t len)
{
	char tmp[PATH_MAX];
	int fd, rc;
	size_t done = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return MONEY_ERR_INVAL;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return MONEY_ERR_SYS;
	rc = fchmod(fd, 0600);
	while (rc == 0 && done < len) {
		ssize_t n = write(fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -1;
			break;
		}
		done += (size_t)n;
	}
	if (close(fd) < 0)
		rc = -1;
	if (rc == 0)
		rc = link(tmp, path);
	{
		int saved = errno;
		unlink(tmp);
		errno = saved;
	}
	return rc == 0 ? MONEY_OK : MONEY_ERR_SYS;
}

/* Creates the identity file; (buf) is IDENT_FILE_LEN secure bytes. */
static enum money_err
ident_create(struct money_ident *id, const char *path, uint8_t *buf)
{
	enum money_err err;

	memcpy(buf, IDENT_MAGIC, IDENT_MAGIC_LEN);
	randombytes_buf(buf + IDENT_MAGIC_LEN, IDENT_SEED_LEN);
	if ((err = ident_from_seed(id, buf + IDENT_MAGIC_LEN)) != MONEY_OK)
		return err;
	memcpy(buf + IDENT_MAGIC_LEN + IDENT_SEED_LEN, id->pk, MONEY_PK_LEN);
	return file_create(path, buf, IDENT_FILE_LEN);
}

/* Loads an existing identity file opened as (fd) into (id). */
static enum money_err
ident_load(struct money_ident *id, int fd, uint8_t *buf)
{
	struct stat st;
	size_t got = 0;
	enum money_err err;

	if (fstat(fd, &st) < 0)
		return MONEY_ERR_SYS;
	/* Like ssh: a key others can read is not a secret any more. */
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
	    st.st_size != IDENT_FILE_LEN)
		return MONEY_ERR_IDENT;
	while (got < IDENT_FILE_LEN) {
		ssize_t n = read(fd, buf + got, IDENT_FILE_LEN - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return MONEY_ERR_SYS;
		if (n == 0)
			return MONEY_ERR_IDENT;
		got += (size_t)n;
	}
	if (memcmp(buf, IDENT_MAGIC, IDENT_MAGIC_LEN) != 0)
		return MONEY_ERR_IDENT;
	if ((err = ident_from_seed(id, buf + IDENT_MAGIC_LEN)) != MONEY_OK)
		return err;
	if (sodium_memcmp(id->pk, buf + IDENT_MAGIC_LEN + IDENT_SEED_LEN,
	        MONEY_PK_LEN) != 0)
		return MONEY_ERR_IDENT;
	return MONEY_OK;
}

enum money_err
money_ident_open(const char *dir, struct money_ident **out)
{
	char path[PATH_MAX];
	struct money_ident *id;
	uint8_t *buf;
	enum money_err err;
	int fd;

	*out = NULL;
	if (dir == NULL)
		return MONEY_ERR_INVAL;
	if (snprintf(path, sizeof(path), "%s/identity", dir) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return MONEY_ERR_SYS;
	}
	if ((id = calloc(1, sizeof(*id))) == NULL)
		return MONEY_ERR_NOMEM;
	if ((buf = sodium_malloc(IDENT_FILE_LEN)) == NULL) {
		err = MONEY_ERR_NOMEM;
		goto err_id;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		err = ident_load(id, fd, buf);
		close(fd);
	} else if (errno == ENOENT) {
		err = ident_create(id, path, buf);
	} else {
		err = MONEY_ERR_SYS;
	}
	sodium_free(buf); /* zeroes before freeing */
	if (err != MONEY_OK)
		goto err_id;
	pthread_mutex_init(&id->mu, NULL);
	*out = id;
	return MONEY_OK;

err_id:
	if (id->sk != NULL)
		sodium_free(id->sk);
	free(id);
	return err;
}

void
money_ident_free(struct money_ident *id)
{
	if (id == NULL)
		return;
	pthread_mutex_destroy(&id->mu);
	sodium_free(id->sk);
	sodium_memzero(id, sizeof(*id));
	free(id);
}

const uint8_t *
money_ident_pk(const struct money_ident *id)
{
	return id->pk;
}

const uint8_t *
money_ident_pid(const struct money_ident *id)
{
	return id->pid;
}

const uint8_t *
money_ident_hid(const struct money_ident *id)
{
	return id->hid;
}

/* domain || NUL || msg, in (small) when it fits, else malloc'd. */
static uint8_t *
domain_msg(const char *domain, const uint8_t *msg, size_t len, uint8_t *small,
    size_t small_len, size_t *total)
{
	size_t dl = strlen(domain) + 1;
	uint8_t *m;

	if (len > SIZE_MAX - dl)
		return NULL;
	*total = dl + len;
	m = *total <= small_len ? small : malloc(*total);
	if (m == NULL)
		return NULL;
	memcpy(m, domain, dl);
	if (len > 0)
		memcpy(m + dl, msg, len);
	return m;
}

enum money_err
money_ident_sign(struct money_ident *id, const char *domain, const uint8_t *msg,
    size_t len, uint8_t sig[MONEY_SIG_LEN])
{
	uint8_t small[512], *m;
	size_t total;

	if (domain == NULL || (msg == NULL && len > 0))
		return MONEY_ERR_INVAL;
	m = domain_msg(domain, msg, len, small, sizeof(small), &total);
	if (m == NULL)
		return MONEY_ERR_NOMEM;
	/* The mutex also serialises the mprotect window of the key. */
	pthread_mutex_lock(&id->mu);
	sodium_mprotect_readonly(id->sk);
	crypto_sign_detached(sig, NULL, m, total, id->sk);
	sodium_mprotect_noaccess(id->sk);
	pthread_mutex_unlock(&id->mu);
	if (m != small)
		free(m);
	return MONEY_OK;
}

enum money_err
money_ident_box_sk(struct money_ident *id, uint8_t out[32])
{
	int r;

	pthread_mutex_lock(&id->mu);
	sodium_mprotect_readonly(id->sk);
	r = crypto_sign_ed25519_sk_to_curve25519(out, id->sk);
	sodium_mprotect_noaccess(id->sk);
	pthread_mutex_unlock(&id->mu);
	return r ? MONEY_ERR_IDENT : MONEY_OK;
}

int
money_sig_verify(const uint8_t pk[MONEY_PK_LEN], const char *domain,
    const uint8_t *msg, size_t len, const uint8_t sig[MONEY_SIG_LEN])
{
	uint8_t small[512], *m;
	size_t total;
	int ok;

	if (domain == NULL || (msg == NULL && len > 0))
		return 0;
	m = domain_msg(domain, msg, len, small, sizeof(small), &total);
	if (m == NULL)
		return 0;
	ok = crypto_sign_verify_detached(sig, m, total, pk) == 0;
	if (m != small)
		free(m);
	return ok;
}
