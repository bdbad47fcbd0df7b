/*
 * money_bank.c: the three pieces a platform holds together: its identity,
 * its ledger and its book. Minting, the deposit and withdraw paths in the
 * order that keeps them crash-safe (verify, then stage, then commit, then
 * act), the book snapshot that rides along with every commit, and pruning.
 * The ledger lives in the state database MONEY_STORE_FILE of the state
 * directory; a directory still holding the files of the hand-written
 * ledger that came before is refused, never silently started afresh.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "money_int.h"

/* MONEY_ERR_NOIDENT when (dir) holds a state database but no identity:
 * making a new identity there would turn every outstanding token of the
 * old one into a foreign currency. */
static enum money_err
lost_ident(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/identity", dir) >=
	    (int)sizeof(path))
		return MONEY_ERR_INVAL;
	if (lstat(path, &st) == 0 || errno != ENOENT)
		return MONEY_OK; /* money_ident_open judges it */
	if (snprintf(path, sizeof(path), "%s/%s", dir, MONEY_STORE_FILE) >=
	    (int)sizeof(path))
		return MONEY_ERR_INVAL;
	if (lstat(path, &st) == 0 && st.st_size > 0)
		return MONEY_ERR_NOIDENT;
	return MONEY_OK;
}

/* MONEY_ERR_OLDSTATE when (dir) holds a file of the former format. */
static enum money_err
old_state(const char *dir)
{
	static const char *const names[] = {"ledger", "reserve"};
	char path[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >=
		    (int)sizeof(path))
			return MONEY_ERR_INVAL;
		if (lstat(path, &st) == 0)
			return MONEY_ERR_OLDSTATE;
	}
	return MONEY_OK;
}

enum money_err
money_bank_open(struct money_bank *b, const char *dir)
{
	char path[PATH_MAX];
	struct money_totals t;
	struct money_ledger_stats st;
	enum money_err err;

	memset(b, 0, sizeof(*b));
	if (dir == NULL)
		return MONEY_ERR_INVAL;
	if ((err = old_state(dir)) != MONEY_OK ||
	    (err = lost_ident(dir)) != MONEY_OK)
		return err;
	if (snprintf(path, sizeof(path), "%s/%s", dir, MONEY_STORE_FILE) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return MONEY_ERR_SYS;
	}
	if ((err = money_ident_open(dir, &b->ident)) != MONEY_OK)
		goto err_out;
	if ((err = money_ledger_open(path, &b->ledger)) != MONEY_OK)
		goto err_ident;
	if ((err = money_ledger_pk(b->ledger, money_ident_pk(b->ident))) !=
	    MONEY_OK)
		goto err_ledger;
	money_ledger_totals(b->ledger, &t);
	money_ledger_stats(b->ledger, &st);
	if ((err = money_book_init(&b->book, &t, st.outstanding)) != MONEY_OK)
		goto err_ledger;
	b->lost_at_open = b->book.lost - t.lost;
	return MONEY_OK;

err_ledger:
	money_ledger_close(b->ledger);
err_ident:
	money_ident_free(b->ident);
err_out:
	memset(b, 0, sizeof(*b));
	return err;
}

void
money_bank_close(struct money_bank *b)
{
	if (b->ledger != NULL) {
		/* Best effort: a failure here only makes the next start
		 * count the still-held credit as lost. */
		(void)money_bank_commit(b);
		money_ledger_close(b->ledger);
	}
	money_ident_free(b->ident);
	memset(b, 0, sizeof(*b));
}

enum money_err
money_bank_commit(struct money_bank *b)
{
	struct money_totals t;

	money_book_totals(&b->book, &t);
	return money_ledger_commit(b->ledger, &t);
}

enum money_err
money_bank_mint(struct money_bank *b, int64_t amount, uint64_t expiry,
    uint8_t out[MONEY_TOKEN_LEN])
{
	struct money_token t;
	uint64_t ticket;
	enum money_err err;

	if ((err = money_book_mint(&b->book, amount)) != MONEY_OK)
		return err;
	if ((err = money_token_sign(b->ident, amount, expiry, &t)) != MONEY_OK)
		goto err_unmint;
	err = money_ledger_stage_issue(
	    b->ledger, t.serial, MONEY_ISSUE_MINT, amount, expiry, &ticket);
	if (err != MONEY_OK)
		goto err_unmint;
	if ((err = money_bank_commit(b)) != MONEY_OK)
		goto err_unmint;
	money_token_encode(&t, out);
	sodium_memzero(&t, sizeof(t));
	return MONEY_OK;

err_unmint:
	money_book_unmint(&b->book, amount);
	return err;
}

enum money_err
money_bank_deposit_stage(struct money_bank *b, const uint8_t *buf, size_t len,
    uint64_t now, int64_t *amount, uint64_t *ticket)
{
	struct money_token t;
	enum money_err err;

	*amount = 0;
	err = money_token_classify(b->ident, b->ledger, buf, len, now, &t);
	if (err != MONEY_OK)
		return err;
	/* Classification read the ledger without holding it: the stage is
	 * what refuses a concurrent second deposit of the same serial. */
	if ((err = money_ledger_stage_spend(b->ledger, t.serial, ticket)) !=
	    MONEY_OK)
		return err;
	*amount = t.amount;
	return MONEY_OK;
}

enum money_err
money_bank_withdraw_stage(struct money_bank *b, struct money_account *a,
    int64_t amount, uint64_t expiry, uint8_t out[MONEY_TOKEN_LEN],
    uint64_t *ticket)
{
	struct money_token t;
	enum money_err err;

	if ((err = money_account_withdraw(&b->book, a, amount)) != MONEY_OK)
		return err;
	if ((err = money_token_sign(b->ident, amount, expiry, &t)) != MONEY_OK)
		goto err_refund;
	err = money_ledger_stage_issue(
	    b->ledger, t.serial, MONEY_ISSUE_WITHDRAW, amount, expiry, ticket);
	if (err != MONEY_OK)
		goto err_refund;
	money_token_encode(&t, out);
	return MONEY_OK;

err_refund:
	money_account_deposit(&b->book, a, amount);
	return err;
}

enum money_err
money_bank_prune(struct money_bank *b, uint64_t now)
{
	struct money_totals t;
	struct money_book saved = b->book;
	enum money_err err;

	if ((err = money_book_expire(
	         &b->book, money_ledger_expired(b->ledger, now))) != MONEY_OK)
		return err;
	money_book_totals(&b->book, &t);
	if ((err = money_ledger_compact(b->ledger, now, &t)) != MONEY_OK)
		b->book = saved;
	return err;
}
