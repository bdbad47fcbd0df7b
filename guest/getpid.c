/* getpid: calls getpid(2) N times (argv[1], default 10000) and exits 0;
 * the served system call of bench/native/run.sh. */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000, i;

	for (i = 0; i < n; i++)
		(void)syscall(SYS_getpid);
	return 0;
}
