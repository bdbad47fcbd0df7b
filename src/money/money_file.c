/*
 * money_file.c: durable file primitives (write all, fsync, atomic replace,
 * fsync of a directory) and the fault injection that lets the tests fail
 * or "crash" at every write and sync boundary of the module.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "money_int.h"

long money__fail_at;
enum money__fail_mode money__fail_mode;
long money__io_calls;
int money__crashed;

/* Returns 1 when this call is the one that must fail. */
static int
fault_now(void)
{
	money__io_calls++;
	if (money__fail_at <= 0)
		return 0;
	if (--money__fail_at > 0)
		return 0;
	if (money__fail_mode == MONEY__FAIL_CRASH)
		money__crashed = 1;
	return 1;
}

ssize_t
money__io_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (fault_now()) {
		if (money__fail_mode == MONEY__FAIL_CRASH && len > 1) {
			/* A crash mid-write leaves a prefix on disk. */
			ssize_t n = pwrite(fd, buf, len / 2, off);
			(void)n;
			errno = EINTR;
		} else {
			errno = EIO;
		}
		return -1;
	}
	return pwrite(fd, buf, len, off);
}

int
money__io_datasync(int fd)
{
	if (fault_now()) {
		errno = money__fail_mode == MONEY__FAIL_CRASH ? EINTR : EIO;
		return -1;
	}
	return fdatasync(fd);
}

int
money__io_fsync(int fd)
{
	if (fault_now()) {
		errno = money__fail_mode == MONEY__FAIL_CRASH ? EINTR : EIO;
		return -1;
	}
	return fsync(fd);
}

int
money__io_rename(const char *from, const char *to)
{
	if (fault_now()) {
		errno = money__fail_mode == MONEY__FAIL_CRASH ? EINTR : EIO;
		return -1;
	}
	return rename(from, to);
}

int
money__write_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = money__io_pwrite(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR && !money__crashed)
				continue;
			return -1;
		}
		if (n == 0) {
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
money__sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, r;

	if (slash == NULL) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		size_t n = (size_t)(slash - path);
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
	r = money__io_fsync(fd);
	close(fd);
	return r;
}

enum money_err
money__file_replace(const char *path, const void *buf, size_t len,
    mode_t mode)
{
	char tmp[PATH_MAX];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return MONEY_ERR_SYS;
	}
	/* A temp file left by an earlier crash is stale: start over. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return MONEY_ERR_SYS;
	if (fchmod(fd, mode) < 0 || money__write_all(fd, buf, len, 0) < 0 ||
	    money__io_fsync(fd) < 0) {
		int e = errno;
		close(fd);
		if (!money__crashed)
			unlink(tmp);
		errno = e;
		return money__io_err();
	}
	if (close(fd) < 0)
		return MONEY_ERR_SYS;
	if (money__io_rename(tmp, path) < 0) {
		int e = errno;
		if (!money__crashed)
			unlink(tmp);
		errno = e;
		return money__io_err();
	}
	if (money__sync_dir(path) < 0)
		return money__io_err();
	return MONEY_OK;
}
