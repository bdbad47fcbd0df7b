/*
 * asan_probe: a one-byte heap overflow on purpose. In a sanitizer build
 * AddressSanitizer must stop the process with a non-zero status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
	volatile size_t n = 8;
	char *p = malloc(n);

	(void)argv;
	if (p == NULL)
		return 2;
	memset(p, 'x', n + (size_t)argc); /* one byte past the end */
	printf("%c\n", p[0]);
	free(p);
	return 0;
}
