/*
 * money_int.h: internals shared by the files of src/money: big-endian
 * field access and helpers. Not installed.
 */
#ifndef MONEY_INT_H
#define MONEY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "money.h"

/* Domain labels for signatures and hashes: never reuse one for another
 * purpose (docs/money.md). */
#define MONEY__DOM_TOKEN "mzero/token/v1"
#define MONEY__DOM_QUOTE "mzero/quote/v1"

static inline void
money__put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t
money__get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

#endif /* MONEY_INT_H */
