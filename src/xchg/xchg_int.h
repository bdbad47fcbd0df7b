/*
 * xchg_int.h: internals shared by the files of src/xchg: big-endian field
 * access, 128-bit rationals, the durable file primitives with their fault
 * injection. Not installed.
 */
#ifndef XCHG_INT_H
#define XCHG_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xchg.h"

/* Domain labels for signatures and hashes (docs/xchg.md). */
#define XCHG__DOM_XQUOTE "mzero/xquote/v1"
#define XCHG__DOM_RESERVE "mzero/xreserve/v1"

typedef unsigned __int128 xchg_u128;

static inline void
xchg__put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t
xchg__get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * xchg__rat_make: n/d (d >= 1) as a 64-bit rational into *(out), exact
 * when it fits after reduction, else rounded down ((up) == 0) or up.
 * Returns 0, or -1 when d is 0, or the value rounded up does not fit,
 * or rounded down is 0 while n is not.
 */
int xchg__rat_make(xchg_u128 n, xchg_u128 d, int up, struct xchg_rat *out);

/* The basket level of (price) in 128 bits; 0 when a price is < 1. */
xchg_u128 xchg__level128(const int64_t price[MONEY_RES_N]);

/*
 * Fault injection (tests only), as in the money core but our own: every
 * durable I/O call of the module goes through xchg__io_*(). When
 * xchg__fail_at is > 0 it counts down per call; the call that reaches zero
 * fails: XCHG__FAIL_ERROR returns -1 with EIO and does nothing;
 * XCHG__FAIL_CRASH stores half of a write (a sync, truncate or rename
 * does nothing), sets xchg__crashed, and the caller reports
 * XCHG_ERR_CRASH: the test treats the process as dead. xchg__io_calls
 * counts every call.
 */
enum xchg__fail_mode {
	XCHG__FAIL_ERROR = 0,
	XCHG__FAIL_CRASH = 1,
};
extern long xchg__fail_at;
extern enum xchg__fail_mode xchg__fail_mode;
extern long xchg__io_calls;
extern int xchg__crashed;

int xchg__io_write(int fd, const void *buf, size_t len, off_t off);
int xchg__io_datasync(int fd);
int xchg__io_fsync(int fd);
int xchg__io_truncate(int fd, off_t len);
int xchg__io_rename(const char *from, const char *to);
int xchg__sync_dir(const char *path);

static inline enum xchg_err
xchg__io_err(void)
{
	return xchg__crashed ? XCHG_ERR_CRASH : XCHG_ERR_SYS;
}

#endif /* XCHG_INT_H */
