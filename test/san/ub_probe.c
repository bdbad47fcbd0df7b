/*
 * ub_probe: undefined behaviour on purpose. In a sanitizer build it must
 * stop the process with a non-zero status at the first report; if the
 * sanitizers only print and go on (recover mode), it exits 0 and the test
 * that expects it to fail fails, so a build that cannot catch UB is seen.
 */
#include <limits.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
	volatile int big = INT_MAX;
	int sum = big + argc; /* signed overflow: argc >= 1 */

	(void)argv;
	printf("%d\n", sum);
	return 0;
}
