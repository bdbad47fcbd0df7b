/*
 * fuzz_conf.c: libFuzzer target for the daemon's configuration parser.
 * Any bytes must give a result or a line-numbered error, never a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pf_conf c;
	char err[512];
	pf_conf_init(&c);
	if (pf_conf_parse(&c, (const char *)data, size, err, sizeof(err)) &&
	    strncmp(err, "line ", 5) && strcmp(err, "out of memory"))
		abort(); /* every error names its line */
	return 0;
}
