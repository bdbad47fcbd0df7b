/*
 * pf_log.c: log lines to stderr, one per call, with a level prefix that
 * journald understands ("<N>") when stderr goes to the journal (systemd
 * sets JOURNAL_STREAM then).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf.h"

static const char *prog = "mzero";
static int min_level = PF_LOG_INFO;
static int journal = -1;

void
log_init(const char *progname, int level)
{
	prog = progname;
	min_level = level;
	journal = getenv("JOURNAL_STREAM") != NULL;
}

void
log_set_level(int level)
{
	min_level = level;
}

static void
vlog(int level, int err, const char *fmt, va_list ap)
{
	static const char *const names[] = {"debug", "info", "warning",
	    "error"};
	static const int prio[] = {7, 6, 4, 3}; /* syslog priorities */
	if (level < min_level)
		return;
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (journal > 0)
		fprintf(stderr, "<%d>%s: %s%s%s\n", prio[level], names[level],
		    msg, err ? ": " : "", err ? strerror(err) : "");
	else
		fprintf(stderr, "%s: %s: %s%s%s\n", prog, names[level], msg,
		    err ? ": " : "", err ? strerror(err) : "");
}

#define LOGFN(fn, level, witherr)                                             \
	void fn(const char *fmt, ...)                                         \
	{                                                                     \
		int e = errno;                                                \
		va_list ap;                                                   \
		va_start(ap, fmt);                                            \
		vlog(level, witherr ? e : 0, fmt, ap);                        \
		va_end(ap);                                                   \
		errno = e;                                                    \
	}

LOGFN(log_debug, PF_LOG_DEBUG, 0)
LOGFN(log_info, PF_LOG_INFO, 0)
LOGFN(log_warnx, PF_LOG_WARN, 0)
LOGFN(log_warn, PF_LOG_WARN, 1)

void
fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(PF_LOG_ERROR, e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(PF_LOG_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
