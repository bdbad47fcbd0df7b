/* heap: grows the heap with brk and with anonymous mmap, writes a pattern
 * into every page, reads it back, releases it, and prints "heap ok". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BRK_GROW (1u << 20)
#define MAP_LEN (4u << 20)

static int
fill_check(uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i += 64)
		p[i] = (uint8_t)(seed + i / 64);
	for (i = 0; i < len; i += 64)
		if (p[i] != (uint8_t)(seed + i / 64))
			return 0;
	return 1;
}

int
main(void)
{
	uint8_t *b, *m, *small;
	int ok = 1;

	/* musl's sbrk() only reports; grow with the raw brk call */
	b = (uint8_t *)syscall(SYS_brk, 0);
	if ((uint8_t *)syscall(SYS_brk, b + BRK_GROW) != b + BRK_GROW)
		return 2;
	ok &= fill_check(b, BRK_GROW, 1);
	m = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 3;
	ok &= fill_check(m, MAP_LEN, 7);
	if (munmap(m, MAP_LEN) != 0)
		return 4;
	small = malloc(100000);
	if (small == NULL)
		return 5;
	ok &= fill_check(small, 100000, 9);
	free(small);
	if (!ok)
		return 6;
	printf("heap ok\n");
	return 0;
}
