/*
 * pf_hint.c: hints that tools add to an error text, so that what works
 * in the REPL (which has longdict loaded) and fails in a file or a
 * messenger says why.
 */
#include <stdio.h>
#include <string.h>

#include "pf_int.h"

int
pf_hint(struct pf_platform *pf, const char *errtext, char *buf, size_t len)
{
	const char pre[] = "undefined ";
	char name[64];
	if (strncmp(errtext, pre, sizeof(pre) - 1))
		return 0;
	const char *n = errtext + sizeof(pre) - 1;
	size_t nl = strcspn(n, " \n");
	if (nl == 0 || nl >= sizeof(name))
		return 0;
	memcpy(name, n, nl);
	name[nl] = 0;
	if (!m0_global_known(pf_global(pf), "longdict", name))
		return 0;
	snprintf(buf, len,
	    "hint: %s is in longdict, which the REPL loads; begin with "
	    "`longdict (` to use it here",
	    name);
	return 1;
}
