/*
 * xchg_file.c: the durable I/O calls of the reserve (write all, data sync,
 * fsync, truncate, rename, fsync of a directory), each a point where the
 * tests can fail or "crash" the process. Our own copy of the pattern the
 * money core uses, so that each module's tests count only their own calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "xchg_int.h"

long xchg__fail_at;
enum xchg__fail_mode xchg__fail_mode;
long xchg__io_calls;
int xchg__crashed;

/* 1 when this call is the one that must fail. */
static int
fault_now(void)
{
	xchg__io_calls++;
	if (xchg__fail_at <= 0 || --xchg__fail_at > 0)
		return 0;
	if (xchg__fail_mode == XCHG__FAIL_CRASH)
		xchg__crashed = 1;
	return 1;
}

static int
fail_errno(void)
{
	errno = xchg__fail_mode == XCHG__FAIL_CRASH ? EINTR : EIO;
	return -1;
}

int
xchg__io_write(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	if (fault_now()) {
		if (xchg__fail_mode == XCHG__FAIL_CRASH && len > 1) {
			/* A crash mid-write leaves a prefix on disk. */
			ssize_t n = pwrite(fd, buf, len / 2, off);
			(void)n;
		}
		return fail_errno();
	}
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int
xchg__io_datasync(int fd)
{
	if (fault_now())
		return fail_errno();
	return fdatasync(fd);
}

int
xchg__io_fsync(int fd)
{
	if (fault_now())
		return fail_errno();
	return fsync(fd);
}

int
xchg__io_truncate(int fd, off_t len)
{
	if (fault_now())
		return fail_errno();
	return ftruncate(fd, len);
}

int
xchg__io_rename(const char *from, const char *to)
{
	if (fault_now())
		return fail_errno();
	return rename(from, to);
}

int
xchg__sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, r;

	if (slash == NULL) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		n = (size_t)(slash - path);
		if (n >= sizeof(dir)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = xchg__io_fsync(fd);
	close(fd);
	return r;
}
