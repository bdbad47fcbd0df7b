/* fault: touches an address that nothing maps; the host sees a page
 * fault (write access, user mode, page not present) at 0xdead0000. */
#include <stdint.h>

int
main(void)
{
	volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)0xdead0000u;

	*p = 42;
	return 0;
}
