/* hello: the smallest useful guest: one write(2), then exit 0. */
#include <string.h>
#include <unistd.h>

int
main(void)
{
	static const char msg[] = "hello from native code\n";

	return write(1, msg, strlen(msg)) == (ssize_t)strlen(msg) ? 0 : 1;
}
