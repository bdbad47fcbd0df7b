/* primes: counts the primes below 10,000,000 with a sieve of
 * Eratosthenes (one byte per number) and prints the count: 664579. The
 * same sieve runs in MØ in the benchmarks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 10000000

int
main(void)
{
	unsigned char *composite = calloc(N, 1);
	long i, j, count = 0;

	if (composite == NULL)
		return 1;
	for (i = 2; i < N; i++) {
		if (composite[i])
			continue;
		count++;
		for (j = i * i; j < N; j += i)
			composite[j] = 1;
	}
	printf("%ld\n", count);
	free(composite);
	return 0;
}
