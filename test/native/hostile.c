/*
 * hostile.c: a guest that attacks the Linux personality (messengers/
 * linux.m0) through its system calls. Each mode prints what the calls
 * returned; test_m0run.sh compares it with what Linux would answer.
 *
 *   hostile wild | huge | fds | bomb | segv
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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
	} else if (!strcmp(m, "segv")) {
		*(volatile int *)16 = 1;
	} else {
		fprintf(stderr, "usage: hostile wild|huge|fds|bomb|segv\n");
		return 2;
	}
	return 0;
}
