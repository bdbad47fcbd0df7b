/*
 * hostile.c: a guest that attacks the Linux personality (messengers/
 * linux.m0) through its system calls. Each mode prints what the calls
 * returned; test_m0run.sh compares it with what Linux would answer.
 *
 *   hostile wild | huge | fds | bomb | segv | passthru FILE
 *
 * passthru FILE: FILE (at least 64 KiB, from the -C tree) is read
 * through read passthrough (docs/native.md): its fd lies at 256 or
 * above, and offsets stay exact across dup, lseek and fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define WILD ((long)0xdead0000000)

static long
sys(long nr, long a, long b, long c, long d)
{
	long r = syscall(nr, a, b, c, d);
	return r < 0 ? -errno : r;
}

static int
check(const char *what, long got, long want)
{
	printf("%s %s\n", what, got == want ? "ok" : "WRONG");
	if (got != want)
		printf("  got %ld want %ld\n", got, want);
	return got != want;
}

/* the offset of fd, from the kernel or the messenger */
static long
at(int fd)
{
	return sys(SYS_lseek, fd, 0, SEEK_CUR, 0);
}

/* reads n bytes from fd and checks they are the file's bytes at off
 * (read independently with pread on fd) */
static int
same(const char *what, int fd, int pfd, long off, long n)
{
	char a[64] = {0}, b[64] = {0};
	long r = sys(SYS_read, fd, (long)a, n, 0);
	long q = sys(SYS_pread64, pfd, (long)b, n, off);
	check(what, r == n && q == n && !memcmp(a, b, (size_t)n) ? 0 : -1, 0);
	return 0;
}

static int
passthru(const char *file)
{
	int fd = (int)sys(SYS_open, (long)file, O_RDONLY, 0, 0), d, st = 0;
	char buf[16];
	pid_t pid;

	check("fd-range", fd >= 256 && fd < 320, 1);
	same("read", fd, fd, 0, 10);
	check("offset", at(fd), 10);
	d = (int)sys(SYS_dup, fd, 0, 0, 0);
	check("dup-low", d >= 3 && d < 256, 1);
	same("read-dup", d, fd, 10, 10); /* served, at the kernel's offset */
	check("offset-shared", at(fd), 20);
	same("read-after-dup", fd, fd, 20, 10);
	check("offset-dup", at(d), 30);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		same("child-read", fd, fd, 30, 10);
		same("child-read-dup", d, fd, 40, 10);
		fflush(stdout);
		_exit(0);
	}
	check("wait", waitpid(pid, &st, 0) == pid && st == 0, 1);
	check("offset-after-child", at(fd), 50);
	check("lseek-dup", sys(SYS_lseek, d, 5, SEEK_SET, 0), 5);
	same("read-after-lseek", fd, fd, 5, 10);
	check("write", sys(SYS_write, fd, (long)"x", 1, 0), -EBADF);
	check("read-wild", sys(SYS_read, fd, WILD, 10, 0), -EFAULT);
	check("read-empty-slot", sys(SYS_read, 300, (long)buf, 1, 0), -EBADF);
	check("read-beyond", sys(SYS_read, 319 + 1, (long)buf, 1, 0), -EBADF);
	check("close", sys(SYS_close, fd, 0, 0, 0), 0);
	check("read-closed", sys(SYS_read, fd, (long)buf, 1, 0), -EBADF);
	same("read-dup-after-close", d, d, 15, 10);
	check("offset-dup-kept", at(d), 25);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	char buf[64] = {0};
	long iov[2] = {WILD, 16};
	if (!strcmp(m, "wild")) {
		check("write", sys(SYS_write, 1, WILD, 10, 0), -EFAULT);
		check("read", sys(SYS_read, 0, WILD, 10, 0), 0); /* no input */
		check("open", sys(SYS_open, WILD, O_RDONLY, 0, 0), -EFAULT);
		check("writev", sys(SYS_writev, 1, (long)iov, 1, 0), -EFAULT);
		check("writev-vec", sys(SYS_writev, 1, WILD, 1, 0), -EFAULT);
		check("clock", sys(SYS_clock_gettime, 0, WILD, 0, 0), -EFAULT);
		check("uname", sys(SYS_uname, WILD, 0, 0, 0), -EFAULT);
		check("stat", sys(SYS_stat, (long)"/", WILD, 0, 0), -EFAULT);
		check("pipe", sys(SYS_pipe, WILD, 0, 0, 0), -EFAULT);
		check("execve", sys(SYS_execve, WILD, 0, 0, 0), -EFAULT);
		check("getcwd", sys(SYS_getcwd, WILD, 100, 0, 0), -EFAULT);
		check("kernel-half",
		    sys(SYS_write, 1, (long)0xffff800000000000, 8, 0), -EFAULT);
	} else if (!strcmp(m, "huge")) {
		check("mmap", sys(SYS_mmap, 0, 1L << 46, 3, 0x22), -ENOMEM);
		check("readv-count", sys(SYS_readv, 0, (long)iov, 1025, 0),
		    -EINVAL);
		/* the last 8 bytes of a page, and a length of 2^40 */
		char *pg = mmap(0, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		long r = sys(SYS_getrandom, (long)(pg + 4088), 1L << 40, 0, 0);
		check("getrandom", r == 8 || r == -EFAULT ? 0 : r, 0);
		int fd = open("/dev/zero", O_RDONLY);
		r = sys(SYS_read, fd, (long)buf, -1L, 0);
		/* a short read into what is mapped, or EFAULT: never a crash */
		check("read-zero", r == -EFAULT || r > 0 ? 0 : r, 0);
		long b = sys(SYS_brk, 0, 0, 0, 0);
		check("brk", sys(SYS_brk, 1L << 46, 0, 0, 0), b);
	} else if (!strcmp(m, "fds")) {
		int n = 0, fd;
		while ((fd = open("/dev/null", O_RDONLY)) >= 0 && n < 100000)
			n++;
		printf("fds %s %s\n", n > 16 && n < 4096 ? "bounded" : "WRONG",
		    fd < 0 && errno == EMFILE ? "EMFILE" : strerror(errno));
		close(3);
		check("again", open("/dev/null", O_RDONLY), 3);
	} else if (!strcmp(m, "bomb")) {
		for (;;)
			fork();
	} else if (!strcmp(m, "passthru") && argc > 2) {
		passthru(argv[2]);
	} else if (!strcmp(m, "segv")) {
		*(volatile int *)16 = 1;
	} else {
		fprintf(stderr,
		    "usage: hostile wild|huge|fds|bomb|segv|passthru FILE\n");
		return 2;
	}
	return 0;
}
