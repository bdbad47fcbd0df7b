/*
 * m0: runs MØ locally on an embedded platform with a console channel.
 *
 *   m0 FILE | m0 -e CODE    run as the code field of a messenger
 *   m0 --messenger FILE     run a wire-format messenger
 *   m0                      REPL (longdict loaded, errors survive)
 *
 * With --state DIR the platform has money (docs/money.md): its identity
 * and ledger live in DIR, --economy charged makes it charge, and --fund N
 * starts the messenger with a deposit of N freshly minted units.
 *
 * Exit status: 0 when the first process ended normally, 1 when it ended
 * through the error handler, 2 for usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <editline/readline.h>

#include <signal.h>

#include "../src/mzero/m0_ops.h"
#include "fund_local.h"
#include "m0_opdoc.h"
#include "money.h"
#include "pf.h"

struct run {
	uint64_t first;
	int first_end;
	int status;
	const struct pf_source *src; /* the first process's code */
	size_t shift;                /* bytes put before it (--fund) */
	struct pf_platform *pf;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: m0 [options] FILE | -e CODE | --messenger FILE\n"
	    "       m0            (interactive)\n"
	    "options:\n"
	    "  --data FILE     data field of the messenger\n"
	    "  --slice N       steps per slice (default 1000)\n"
	    "  --heap BYTES    local heap quota per process\n"
	    "  --steps N       step limit per process (0: none)\n"
	    "  --life SECONDS  wall-clock limit per process (0: none)\n"
	    "  --state DIR     give the platform money; identity and ledger "
	    "in DIR\n"
	    "  --economy free|charged  (with --state; default free)\n"
	    "  --fund N        (with --state) deposit N minted units first\n"
	    "  --reference[=man]  print the operator table of "
	    "docs/reference.md\n"
	    "                  (or of m0(7)) and exit\n"
	    "  -h, --help      this text\n"
	    "  -V, --version   the version\n");
}

static void
console_out(void *ud, struct pf_proc *p, const void *buf, size_t len)
{
	fwrite(buf, 1, len, stdout);
}

static void
on_end(void *ud, struct pf_proc *p, uint64_t id, int end, const char *err)
{
	struct run *r = ud;
	int64_t at = err && id == r->first && r->src
	    ? m0_state_error_pos(pf_proc_state(p)) - (int64_t)r->shift
	    : -1;
	char where[600];
	if (at >= 0) {
		/* The token, not the white space before it. */
		while ((size_t)at < r->src->len &&
		    (uint8_t)(r->src->text[at] - 33) > 93)
			at++;
		if (pf_source_where(r->src, (size_t)at, where, sizeof(where)))
			at = -1;
	}
	if (err && at >= 0) {
		char *nl = strchr(where, '\n');
		fflush(stdout);
		fprintf(stderr, "m0: %.*s: %s%s\n", (int)(nl - where), where,
		    err, nl);
	} else if (err) {
		fflush(stdout);
		fprintf(stderr, "m0: process %llu: %s\n",
		    (unsigned long long)id, err);
	}
	char hint[200];
	if (err && r->pf && pf_hint(r->pf, err, hint, sizeof(hint)))
		fprintf(stderr, "m0: %s\n", hint);
	if (id == r->first)
		r->first_end = end;
}

/* The console family: any address, text goes to stdout. */
static int
setup_run(struct m0_state *s)
{
	return m0_state_add_console_words(s);
}

static int
setup_repl(struct m0_state *s)
{
	int err = m0_state_add_console_words(s);
	if (!err)
		err = m0_state_begin_longdict(s);
	if (!err)
		err = m0_state_set_repl_handler(s);
	return err;
}

/* The host, as mdaemon assembles it (pf_host.c): with a state directory
 * it has money and the exchange (DIR/reserve, docs/xchg.md; no clearing
 * key, so no clearing from m0). Native code without /dev/kvm raises an
 * error in the operators. */
static struct pf_host host;

static struct pf_platform *
host_open(uv_loop_t *loop, const struct pf_config *cfg, const char *state,
    const struct pf_money_config *mcfg)
{
	struct pf_host_config hc = {
	    .pf = *cfg, .state_dir = state, .native = 1};
	char err[400];
	if (mcfg)
		hc.money = *mcfg;
	if (pf_host_open(&host, loop, &hc, err, sizeof(err))) {
		fprintf(stderr, "m0: %s\n", err);
		return NULL;
	}
	pf_set_console(host.pf, console_out, NULL);
	return host.pf;
}

/* Closes the host: its services finish in the loop, then the bank. */
static void
host_close(uv_loop_t *loop)
{
	pf_host_close(&host);
	uv_run(loop, UV_RUN_DEFAULT);
	pf_host_free(&host);
}

/* ---- the REPL ---- */

static volatile sig_atomic_t interrupted;

static void
on_sigint(int sig)
{
	interrupted = 1;
}

/* While a line runs, a timer looks at the Ctrl-C flag: a process that
 * waits (a timed E) keeps the loop in epoll, which retries on EINTR. */
static void
poll_interrupt(uv_timer_t *t)
{
	if (interrupted)
		uv_stop(t->loop);
}

/* The operators in the order of the operator table, with their help. */
#define M0__OPNAME(id, name, fn, hidden) name,
static const char *const op_names[] = {M0_OPS(M0__OPNAME)};
#undef M0__OPNAME
#define M0__DOC(name, sig, what) {name, sig, what},
static const struct {
	const char *name, *sig, *what;
} op_doc[] = {M0_OPDOC(M0__DOC)};
#undef M0__DOC
#define NOPS (sizeof(op_names) / sizeof(op_names[0]))
#define NDOC (sizeof(op_doc) / sizeof(op_doc[0]))

static int
doc_of(const char *name)
{
	for (size_t i = 0; i < NDOC; i++)
		if (!strcmp(op_doc[i].name, name))
			return (int)i;
	return -1;
}

/* `help`: every operator of the table, one line each; `help NAME`: one. */
static void
help(struct pf_platform *pf, const char *arg)
{
	while (*arg == ' ' || *arg == '\t')
		arg++;
	size_t al = strcspn(arg, " \t\r\n");
	for (size_t i = 0; i < NOPS; i++) {
		if (al &&
		    (strlen(op_names[i]) != al ||
		        strncmp(op_names[i], arg, al)))
			continue;
		int d = doc_of(op_names[i]);
		printf("%-6s %-28s %s\n", op_names[i],
		    d < 0 ? "" : op_doc[d].sig,
		    d < 0 ? "(no description)" : op_doc[d].what);
		if (al)
			return;
	}
	if (!al) {
		printf(
		    "Long names (def, dup, sleep, ...) are in longdict, loaded "
		    "here; a file or messenger\nneeds `longdict (`. "
		    "help NAME: one entry. quit, exit or ^D: leave.\n"
		    "docs/reference.md has the whole language.\n");
		return;
	}
	char name[64];
	snprintf(name, sizeof(name), "%.*s", (int)(al < 63 ? al : 63), arg);
	if (m0_global_known(pf_global(pf), "longdict", name))
		printf("%s: in longdict (an alias or utility; see "
		       "docs/reference.md)\n",
		    name);
	else if (m0_global_known(pf_global(pf), "_sys", name))
		printf("%s: in _sys (see docs/reference.md)\n", name);
	else
		printf("%s: no such operator\n", name);
}

/* Writes s for roff: \ and - escaped, a leading . or ' guarded. */
static void
roff(const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", stdout);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			putchar(*s);
	}
}

/* --reference[=man]: the operator table of docs/reference.md (markdown)
 * or of m0(7) (roff), generated from the operator table. */
static int
reference(const char *form)
{
	bool man = form && !strcmp(form, "man");
	if (form && !man)
		return 2;
	if (!man)
		printf("| operator | stack | what it does |\n|---|---|---|\n");
	for (size_t i = 0; i < NOPS; i++) {
		int d = doc_of(op_names[i]);
		const char *sig = d < 0 ? "" : op_doc[d].sig;
		const char *what = d < 0 ? "" : op_doc[d].what;
		if (man) {
			fputs(".TP\n.B \"", stdout);
			roff(op_names[i]);
			fputs("\"\n", stdout);
			roff(sig);
			fputs(" \\(em ", stdout);
			roff(what);
			putchar('\n');
			continue;
		}
		/* | cannot stand in a table cell, even in backquotes. */
		printf("| `%s` | `",
		    strcmp(op_names[i], "|") ? op_names[i] : "\\|");
		for (const char *c = sig; *c; c++)
			fputs(*c == '|' ? "\\|" : (char[]){*c, 0}, stdout);
		printf("` | ");
		for (const char *c = what; *c; c++)
			fputs(*c == '|' ? "\\|" : (char[]){*c, 0}, stdout);
		printf(" |\n");
	}
	return 0;
}

static char *
history_path(void)
{
	const char *home = getenv("HOME");
	char *path = NULL;
	if (home && *home && asprintf(&path, "%s/.m0_history", home) < 0)
		path = NULL;
	return path;
}

/* The command words of the REPL, at the start of a fresh entry. */
static bool
is_word(const char *line, const char *w)
{
	size_t n = strlen(w);
	while (*line == ' ' || *line == '\t')
		line++;
	if (strncmp(line, w, n))
		return false;
	line += n;
	while (*line == ' ' || *line == '\t' || *line == '\r' || *line == '\n')
		line++;
	return *line == 0;
}

static int
repl(const struct pf_config *cfg)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct run r = {0};
	struct pf_platform *pf = host_open(&loop, cfg, NULL, NULL);
	if (!pf)
		return 1;
	pf_set_end(pf, on_end, &r);
	struct m0_msg msg = {.code = (const uint8_t *)"", .code_len = 0};
	getrandom(&msg.queue, sizeof(msg.queue), 0);
	struct pf_proc *p;
	if (pf_spawn(pf, &msg, NULL, setup_repl, &p, &r.first)) {
		fprintf(stderr, "m0: cannot start\n");
		return 1;
	}
	pf_proc_set_manual(p);
	bool tty = isatty(0);
	char *hist = tty ? history_path() : NULL;
	if (tty) {
		using_history();
		stifle_history(1000);
		if (hist)
			read_history(hist);
		printf("MØ %s — longdict loaded; help lists the operators, "
		       "quit or ^D leaves\n",
		    MZERO_VERSION);
	}
	/* Ctrl-C sets a flag and interrupts reads (no SA_RESTART). */
	struct sigaction sa = {.sa_handler = on_sigint};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	uv_timer_t poll;
	uv_timer_init(&loop, &poll);
	char *entry = NULL; /* the lines of an unfinished entry */
	size_t elen = 0;
	for (;;) {
		/* The prompt shows the stack depth; "..." continues an entry
		 * with { }, a string or a hex string still open. */
		char prompt[32] = "  ... ";
		if (!entry)
			snprintf(prompt, sizeof(prompt), "M0 %u> ",
			    m0_state_depth(pf_proc_state(p)));
		interrupted = 0;
		char *line = tty ? readline(prompt) : NULL;
		if (!tty) {
			size_t cap = 0;
			ssize_t n = getline(&line, &cap, stdin);
			if (n < 0) {
				free(line);
				line = NULL;
			}
		}
		if (!line && interrupted && tty) {
			/* ^C at the prompt drops the entry being typed. */
			printf("\n");
			free(entry);
			entry = NULL;
			elen = 0;
			continue;
		}
		if (!line && !entry)
			break;
		if (!entry &&
		    (is_word(line, "quit") || is_word(line, "exit"))) {
			free(line);
			break;
		}
		if (!entry &&
		    (is_word(line, "help") || !strncmp(line, "help ", 5))) {
			help(pf, line + 4);
			free(line);
			continue;
		}
		if (tty && line && *line)
			add_history(line);
		/* The entry so far, with this line. */
		size_t ll = line ? strlen(line) : 0;
		char *ne = realloc(entry, elen + ll + 2);
		if (!ne) {
			free(line);
			break;
		}
		entry = ne;
		if (line) {
			memcpy(entry + elen, line, ll);
			elen += ll;
			entry[elen++] = '\n';
		}
		entry[elen] = 0;
		bool eof = !line;
		free(line);
		struct pf_source src;
		char errbuf[1024];
		struct m0_syntax syn;
		if (pf_source_load(&src, NULL, entry, elen, "(repl)", errbuf,
		        sizeof(errbuf))) {
			fprintf(stderr, "m0: %s\n", errbuf);
			free(entry);
			entry = NULL;
			elen = 0;
			continue;
		}
		if (m0_syntax_check(src.text, src.len, &syn) != M0_OK) {
			if (syn.incomplete && !eof) {
				/* More lines; a hex string takes no white
				 * space, so its lines join without one. */
				if (src.text[syn.off] == '\\' && elen)
					entry[--elen] = 0;
				pf_source_free(&src);
				continue;
			}
			pf_source_check(&src, errbuf, sizeof(errbuf));
			fprintf(stderr, "m0: %s\n", errbuf);
			pf_source_free(&src);
			free(entry);
			entry = NULL;
			elen = 0;
			if (eof)
				break;
			continue;
		}
		free(entry);
		entry = NULL;
		elen = 0;
		m0_state_push_code(pf_proc_state(p), src.text, src.len);
		pf_source_free(&src);
		uv_timer_start(&poll, poll_interrupt, 100, 100);
		for (;;) {
			if (interrupted) {
				pf_proc_interrupt(p);
				fflush(stdout);
				fprintf(stderr, "interrupted\n");
				interrupted = 0;
			}
			int st = pf_run_manual(p, cfg->slice);
			if (st == M0_RUN_DONE)
				break;
			uv_run(&loop,
			    st == M0_RUN_BLOCKED ? UV_RUN_ONCE : UV_RUN_NOWAIT);
		}
		uv_timer_stop(&poll);
		fflush(stdout);
		/* Let processes submitted by the line run too. */
		uv_run(&loop, UV_RUN_NOWAIT);
		if (eof)
			break;
	}
	if (tty && hist)
		write_history(hist);
	free(hist);
	free(entry);
	uv_close((uv_handle_t *)&poll, NULL);
	host_close(&loop);
	uv_loop_close(&loop);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"data", required_argument, 0, 'd'},
	    {"messenger", required_argument, 0, 'm'},
	    {"slice", required_argument, 0, 'S'},
	    {"heap", required_argument, 0, 'H'},
	    {"steps", required_argument, 0, 'T'},
	    {"life", required_argument, 0, 'F'},
	    {"state", required_argument, 0, 's'},
	    {"economy", required_argument, 0, 'E'},
	    {"fund", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'},
	    {"version", no_argument, 0, 'V'},
	    {"reference", optional_argument, 0, 'r'}, {0, 0, 0, 0}};
	const char *code = NULL, *data_file = NULL, *msgr_file = NULL;
	struct pf_config cfg = {0};
	struct pf_money_config mcfg = {0};
	const char *state = NULL;
	long long fund = 0;
	cfg.slice = 1000;
	int c;
	while ((c = getopt_long(argc, argv, "e:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			code = optarg;
			break;
		case 'd':
			data_file = optarg;
			break;
		case 'm':
			msgr_file = optarg;
			break;
		case 'S':
			cfg.slice = strtoll(optarg, NULL, 0);
			break;
		case 'H':
			cfg.lim.heap_quota = strtoull(optarg, NULL, 0);
			break;
		case 'T':
			cfg.max_steps = strtoull(optarg, NULL, 0);
			break;
		case 'F':
			cfg.max_life_us = (int64_t)(strtod(optarg, NULL) * 1e6);
			break;
		case 's':
			state = optarg;
			break;
		case 'E':
			if (strcmp(optarg, "free") &&
			    strcmp(optarg, "charged")) {
				usage(stderr);
				return 2;
			}
			mcfg.charged = strcmp(optarg, "charged") == 0;
			break;
		case 'f':
			fund = strtoll(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("m0 (mzero) %s\n", MZERO_VERSION);
			return 0;
		case 'r':
			return reference(optarg);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (cfg.slice <= 0 || fund < 0 || ((fund || mcfg.charged) && !state)) {
		usage(stderr);
		return 2;
	}
	int nsrc = (code != NULL) + (msgr_file != NULL) + (optind < argc);
	if (nsrc > 1 || argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	getrandom(&cfg.hid, sizeof(cfg.hid), 0);
	getrandom(&cfg.pid, sizeof(cfg.pid), 0);
	if (nsrc == 0)
		return repl(&cfg);

	char *src = NULL, *data = NULL, errbuf[1024];
	size_t srclen = 0, datalen = 0;
	struct m0_msg msg = {0};
	struct pf_source source = {0};
	struct run r = {0};
	if (msgr_file) {
		if (pf_read_file(msgr_file, &src, &srclen)) {
			fprintf(
			    stderr, "m0: %s: %s\n", msgr_file, strerror(errno));
			return 2;
		}
		int w = m0_wire_decode(
		    (uint8_t *)src, srclen, UINT32_MAX, &msg, NULL);
		if (w != M0_WIRE_OK) {
			fprintf(stderr, "m0: %s: not a messenger: %s\n",
			    msgr_file, m0_wire_strerror(w));
			return 2;
		}
	} else {
		const char *path = code ? NULL : argv[optind];
		if (pf_source_load(&source, path, code, code ? strlen(code) : 0,
		        NULL, errbuf, sizeof(errbuf)) ||
		    pf_source_check(&source, errbuf, sizeof(errbuf))) {
			fprintf(stderr, "m0: %s\n", errbuf);
			pf_source_free(&source);
			return 2;
		}
		r.src = &source;
		msg.code = (const uint8_t *)source.text;
		msg.code_len = (uint32_t)source.len;
		getrandom(&msg.queue, sizeof(msg.queue), 0);
	}
	if (data_file) {
		if (pf_read_file(data_file, &data, &datalen)) {
			fprintf(
			    stderr, "m0: %s: %s\n", data_file, strerror(errno));
			return 2;
		}
		msg.data = (const uint8_t *)data;
		msg.data_len = (uint32_t)datalen;
	}
	if (msg.code_len + (uint64_t)msg.data_len > UINT32_MAX / 2) {
		fprintf(stderr, "m0: messenger too large\n");
		return 2;
	}
	cfg.lim.max_msg = msg.code_len + msg.data_len + 64 > PF_DGRAM
	    ? msg.code_len + msg.data_len + 64
	    : 0;

	uv_loop_t loop;
	uv_loop_init(&loop);
	struct pf_platform *pf = host_open(&loop, &cfg, state, &mcfg);
	if (!pf)
		return 1;
	r.pf = pf;
	pf_set_end(pf, on_end, &r);
	char *funded = NULL;
	if (fund) {
		/* msg.code and msg.data may point into src: it stays */
		size_t len = msg.code_len;
		funded = fund_local(
		    &loop, pf, fund, (const char *)msg.code, &len, "m0");
		if (!funded)
			return 1;
		r.shift = len - msg.code_len;
		msg.code = (const uint8_t *)funded;
		msg.code_len = (uint32_t)len;
	}
	int err = pf_spawn(pf, &msg, NULL, setup_run, NULL, &r.first);
	free(data);
	if (err) {
		fprintf(stderr, "m0: cannot start the messenger: %s\n",
		    pf_strerror(err));
		host_close(&loop);
		return 1;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	fflush(stdout);
	free(src);
	free(funded);
	pf_source_free(&source);
	host_close(&loop);
	uv_loop_close(&loop);
	return r.first_end == M0_END_ERROR || r.first_end == M0_END_FATAL ||
	        r.first_end == M0_END_KILLED
	    ? 1
	    : 0;
}
