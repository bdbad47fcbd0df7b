/*
 * pf_log.c: log lines, one per call, to one of three places: stderr (with
 * a level prefix that journald understands, "<N>", when stderr goes to
 * the journal: systemd sets JOURNAL_STREAM then), a file given with
 * `mdaemon --log FILE` (with a UTC time stamp), or syslog once the daemon
 * has detached from its terminal.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "pf.h"

static const char *prog = "mzero";
static int min_level = PF_LOG_INFO;
static int journal = -1;
static FILE *logfile;
static int use_syslog;

int
log_open_file(const char *path)
{
	FILE *f = fopen(path, "ae");
	if (!f)
		return -1;
	setvbuf(f, NULL, _IOLBF, 0);
	if (logfile)
		fclose(logfile);
	logfile = f;
	return 0;
}

void
log_use_syslog(void)
{
	if (logfile || use_syslog)
		return;
	openlog(prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	use_syslog = 1;
}

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
	static const char *const names[] = {
	    "debug", "info", "warning", "error"};
	static const int prio[] = {7, 6, 4, 3}; /* syslog priorities */
	if (level < min_level)
		return;
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (logfile) {
		char ts[32];
		struct timespec now;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(logfile, "%s %s: %s: %s%s%s\n", ts, prog, names[level],
		    msg, err ? ": " : "", err ? strerror(err) : "");
	} else if (use_syslog)
		syslog(prio[level], "%s: %s%s%s", names[level], msg,
		    err ? ": " : "", err ? strerror(err) : "");
	else if (journal > 0)
		fprintf(stderr, "<%d>%s: %s%s%s\n", prio[level], names[level],
		    msg, err ? ": " : "", err ? strerror(err) : "");
	else
		fprintf(stderr, "%s: %s: %s%s%s\n", prog, names[level], msg,
		    err ? ": " : "", err ? strerror(err) : "");
}

#define LOGFN(fn, level, witherr)                                              \
	void fn(const char *fmt, ...)                                          \
	{                                                                      \
		int e = errno;                                                 \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		vlog(level, witherr ? e : 0, fmt, ap);                         \
		va_end(ap);                                                    \
		errno = e;                                                     \
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
