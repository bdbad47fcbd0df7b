/*
 * money_int.h: internals shared by the files of src/money: big-endian
 * field access, the durable file primitives with their fault injection,
 * and helpers. Not installed.
 */
#ifndef MONEY_INT_H
#define MONEY_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/*
 * Fault injection (tests only). Every durable I/O call of the module goes
 * through money__io_*(). When money__fail_at is > 0 it counts down by one
 * per call; the call that brings it to zero fails: with
 * MONEY__FAIL_ERROR it returns -1 with errno EIO and does nothing; with
 * MONEY__FAIL_CRASH a write stores only the first half of its bytes (a
 * sync or rename does nothing) and returns -1 with errno EINTR, and the
 * caller reports MONEY_ERR_CRASH, which the tests treat as the death of the
 * process. money__io_calls counts every call, for tests that enumerate
 * every failure point.
 */
enum money__fail_mode {
	MONEY__FAIL_ERROR = 0,
	MONEY__FAIL_CRASH = 1,
};
extern long money__fail_at;
extern enum money__fail_mode money__fail_mode;
extern long money__io_calls;
extern int money__crashed; /* set when a simulated crash happened */

ssize_t money__io_pwrite(int fd, const void *buf, size_t len, off_t off);
int money__io_datasync(int fd);
int money__io_fsync(int fd);
int money__io_rename(const char *from, const char *to);

/* Writes all of (buf, len) at (off); -1 on error (errno set). */
int money__write_all(int fd, const void *buf, size_t len, off_t off);

/* fsyncs the directory that holds (path); -1 on error. */
int money__sync_dir(const char *path);

/* Writes (len) bytes as the whole content of (path), mode (mode),
 * atomically: temp file, fsync, rename, fsync of the directory.
 * Returns MONEY_OK, MONEY_ERR_SYS or MONEY_ERR_CRASH. */
enum money_err money__file_replace(const char *path, const void *buf,
    size_t len, mode_t mode);

/* The error to report after a failed money__io_* call. */
static inline enum money_err
money__io_err(void)
{
	return money__crashed ? MONEY_ERR_CRASH : MONEY_ERR_SYS;
}

#endif /* MONEY_INT_H */
