/* spin: never returns and makes no system call; only the time budget
 * brings control back to the host. */
int
main(void)
{
	volatile unsigned long n = 0;

	for (;;)
		n++;
}
