/*
 * money_account.c: process accounts and the conservation book. Every unit
 * is in exactly one of: held (credit of open accounts), outstanding
 * (tokens issued and not redeemed), burned (charged, left on close,
 * expired unredeemed) or lost (held when the platform died); the sum is
 * what was minted. All arithmetic is overflow-checked; an operation that
 * would overflow changes nothing.
 */
#include <string.h>

#include "money_int.h"

enum money_err
money_book_init(
    struct money_book *b, const struct money_totals *t, int64_t outstanding)
{
	struct money_totals zero = {0};
	int64_t rest;

	if (t == NULL)
		t = &zero;
	memset(b, 0, sizeof(*b));
	if (t->minted < 0 || t->burned < 0 || t->lost < 0 || outstanding < 0)
		return MONEY_ERR_OVERFLOW;
	b->minted = t->minted;
	b->burned = t->burned;
	b->lost = t->lost;
	b->outstanding = outstanding;
	/* Nobody holds anything yet: the rest was held when we died. */
	if (__builtin_sub_overflow(t->minted, t->burned, &rest) ||
	    __builtin_sub_overflow(rest, t->lost, &rest) ||
	    __builtin_sub_overflow(rest, outstanding, &rest))
		return MONEY_ERR_OVERFLOW;
	if (rest < 0)
		return MONEY_ERR_CORRUPT; /* totals and ledger disagree */
	b->lost += rest;
	return MONEY_OK;
}

void
money_book_totals(const struct money_book *b, struct money_totals *t)
{
	t->minted = b->minted;
	t->burned = b->burned;
	t->lost = b->lost;
}

int
money_book_check(const struct money_book *b)
{
	int64_t s;

	if (b->minted < 0 || b->held < 0 || b->outstanding < 0 ||
	    b->burned < 0 || b->lost < 0 || b->charged < 0 ||
	    b->charged > b->burned)
		return 0;
	if (__builtin_add_overflow(b->held, b->outstanding, &s) ||
	    __builtin_add_overflow(s, b->burned, &s) ||
	    __builtin_add_overflow(s, b->lost, &s))
		return 0;
	return s == b->minted;
}

enum money_err
money_book_mint(struct money_book *b, int64_t amount)
{
	int64_t m, o;

	if (amount <= 0 || amount > MONEY_AMOUNT_MAX)
		return MONEY_ERR_OVERFLOW;
	if (__builtin_add_overflow(b->minted, amount, &m) ||
	    m > MONEY_MINT_MAX ||
	    __builtin_add_overflow(b->outstanding, amount, &o))
		return MONEY_ERR_OVERFLOW;
	b->minted = m;
	b->outstanding = o;
	return MONEY_OK;
}

enum money_err
money_book_unmint(struct money_book *b, int64_t amount)
{
	if (amount <= 0 || amount > b->minted || amount > b->outstanding)
		return MONEY_ERR_OVERFLOW;
	b->minted -= amount;
	b->outstanding -= amount;
	return MONEY_OK;
}

enum money_err
money_book_expire(struct money_book *b, int64_t amount)
{
	int64_t burned;

	if (amount < 0 || amount > b->outstanding ||
	    __builtin_add_overflow(b->burned, amount, &burned))
		return MONEY_ERR_OVERFLOW;
	b->outstanding -= amount;
	b->burned = burned;
	return MONEY_OK;
}

enum money_err
money_account_open(
    struct money_book *b, struct money_account *a, int64_t allowance)
{
	int64_t m, h;

	memset(a, 0, sizeof(*a));
	if (allowance < 0 || __builtin_add_overflow(b->minted, allowance, &m) ||
	    __builtin_add_overflow(b->held, allowance, &h)) {
		a->closed = 1;
		return MONEY_ERR_OVERFLOW;
	}
	b->minted = m;
	b->held = h;
	b->open_accounts++;
	a->credit = allowance;
	return MONEY_OK;
}

enum money_err
money_account_charge(struct money_book *b, struct money_account *a,
    int64_t amount, int *exhausted)
{
	int64_t take;

	if (exhausted != NULL)
		*exhausted = 0;
	if (a->closed)
		return MONEY_ERR_CLOSED;
	if (amount < 0)
		return MONEY_ERR_INVAL;
	take = amount < a->credit ? amount : a->credit;
	/* burned <= minted always, so these cannot overflow */
	a->credit -= take;
	b->held -= take;
	b->burned += take;
	b->charged += take;
	if (exhausted != NULL && (take < amount || a->credit == 0))
		*exhausted = 1;
	return MONEY_OK;
}

enum money_err
money_account_deposit(
    struct money_book *b, struct money_account *a, int64_t amount)
{
	int64_t c, h;

	if (amount <= 0 || amount > b->outstanding)
		return MONEY_ERR_OVERFLOW;
	if (a->closed) {
		b->outstanding -= amount;
		b->burned += amount;
		return MONEY_OK;
	}
	if (__builtin_add_overflow(a->credit, amount, &c) ||
	    __builtin_add_overflow(b->held, amount, &h))
		return MONEY_ERR_OVERFLOW;
	a->credit = c;
	b->held = h;
	b->outstanding -= amount;
	return MONEY_OK;
}

enum money_err
money_account_withdraw(
    struct money_book *b, struct money_account *a, int64_t amount)
{
	if (a->closed)
		return MONEY_ERR_CLOSED;
	if (amount <= 0)
		return MONEY_ERR_INVAL;
	if (amount > a->credit)
		return MONEY_ERR_CREDIT;
	a->credit -= amount;
	b->held -= amount;
	b->outstanding += amount; /* <= minted: cannot overflow */
	return MONEY_OK;
}

enum money_err
money_account_transfer(struct money_book *b, struct money_account *from,
    struct money_account *to, int64_t amount)
{
	int64_t c;

	(void)b; /* held does not change */
	if (from->closed || to->closed)
		return MONEY_ERR_CLOSED;
	if (amount <= 0)
		return MONEY_ERR_INVAL;
	if (amount > from->credit)
		return MONEY_ERR_CREDIT;
	if (from == to)
		return MONEY_OK;
	if (__builtin_add_overflow(to->credit, amount, &c))
		return MONEY_ERR_OVERFLOW;
	from->credit -= amount;
	to->credit = c;
	return MONEY_OK;
}

int64_t
money_account_close(struct money_book *b, struct money_account *a)
{
	int64_t left = a->credit;

	if (a->closed)
		return 0;
	a->closed = 1;
	a->credit = 0;
	b->held -= left;
	b->burned += left;
	b->open_accounts--;
	return left;
}
