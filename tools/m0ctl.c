/*
 * m0ctl: administers the platform on this host through its control
 * socket (include/pf_proto.h).
 *
 *   m0ctl [-s STATEDIR | -S SOCKET] [--json] COMMAND [ARG]
 *
 *   status            uptime, processes, queues, links, drops, memory,
 *                     money
 *   ps                processes with queue, state, age, steps, memory
 *   kill ID|KEY       a process by id, or every process of a queue
 *   kill -f ID        a process and all it submitted, transitively
 *   neighbours        the configured neighbours
 *   inject FILE       run a messenger there (its _ori is the console)
 *   mint AMOUNT       a fresh token of the platform's money, in hex
 *   reload            reread the configuration (as SIGHUP)
 *   stop              stop the daemon cleanly (as SIGTERM)
 *
 * Without -s or -S the socket is $MZERO_STATE/control, else ./control
 * when there is one (a daemon run here by hand), else the installed
 * daemon's, /var/lib/mzero/control. Exit status: 0 done, 1 refused or
 * failed, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pf.h"
#include "pf_proto.h"

struct cmd_entry {
	const char *name;
	const char *alias;
	uint32_t type;
	int args;  /* 0 or 1 */
	bool json; /* takes --json */
	const char *usage;
};

static const struct cmd_entry cmds[] = {
    {"status", NULL, PF_MSG_STATUS, 0, true, "status"},
    {"ps", NULL, PF_MSG_PS, 0, true, "ps"},
    {"kill", NULL, PF_MSG_KILL, 1, false, "kill [-f] ID|KEY"},
    {"neighbours", "neighbors", PF_MSG_NEIGHBOURS, 0, true, "neighbours"},
    {"inject", NULL, PF_MSG_INJECT, 1, false, "inject FILE"},
    {"mint", NULL, PF_MSG_MINT, 1, false,
        "mint AMOUNT   (prints a token in hex)"},
    {"reload", NULL, PF_MSG_RELOAD, 0, false,
        "reload        (reread the configuration)"},
    {"stop", NULL, PF_MSG_STOP, 0, false, "stop          (stop the daemon)"},
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: m0ctl [-s STATEDIR | -S SOCKET] [--json] COMMAND\n"
	    "  -s STATEDIR  the daemon's state directory (default: "
	    "$MZERO_STATE,\n"
	    "               ./control if there, else " PF_STATE_DIR ")\n"
	    "  -S SOCKET    the control socket itself\n"
	    "  --json       JSON answers (status, ps, neighbours)\n"
	    "  -h, --help   this text\n"
	    "  -V, --version  the version\n"
	    "commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i].usage);
}

/* The payload of inject: the file as a messenger with a random queue. */
static int
build_messenger(const char *path, uint8_t **out, size_t *len)
{
	char *src, err[1024];
	size_t srclen;
	struct pf_source source;
	if (pf_source_load(&source, path, NULL, 0, NULL, err, sizeof(err)) ||
	    pf_source_check(&source, err, sizeof(err))) {
		fprintf(stderr, "m0ctl: %s\n", err);
		pf_source_free(&source);
		return -1;
	}
	src = source.text;
	srclen = source.len;
	source.text = NULL;
	pf_source_free(&source);
	struct m0_msg m = {
	    .code = (const uint8_t *)src, .code_len = (uint32_t)srclen};
	if (srclen > PF_PROTO_MAX - 64 ||
	    getrandom(&m.queue, sizeof(m.queue), 0) != sizeof(m.queue)) {
		fprintf(stderr, "m0ctl: %s: too large\n", path);
		free(src);
		return -1;
	}
	*len = m0_wire_size(&m);
	*out = malloc(*len);
	if (*out)
		m0_wire_encode(&m, *out, *len);
	free(src);
	return *out ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, 0, 'j'},
	    {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'},
	    {0, 0, 0, 0}};
	const char *sock = NULL, *state = NULL;
	bool json = false, family = false;
	int c;
	while ((c = getopt_long(argc, argv, "s:S:hVf", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			family = true;
			break;
		case 's':
			state = optarg;
			break;
		case 'S':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("m0ctl (mzero) %s\n", MZERO_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const struct cmd_entry *ce = NULL;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[optind], cmds[i].name) ||
		    (cmds[i].alias && !strcmp(argv[optind], cmds[i].alias)))
			ce = &cmds[i];
	if (!ce || argc - optind - 1 != ce->args || (json && !ce->json) ||
	    (family && ce->type != PF_MSG_KILL)) {
		usage(stderr);
		return 2;
	}
	uint8_t *payload = NULL;
	size_t plen = 0;
	if (ce->type == PF_MSG_INJECT) {
		if (build_messenger(argv[optind + 1], &payload, &plen))
			return 1;
	} else if (ce->args) {
		/* kill -f: the family, asked as "-f ID" */
		size_t al = strlen(argv[optind + 1]);
		plen = al + (family ? 3 : 0);
		if ((payload = malloc(plen + 1)))
			snprintf((char *)payload, plen + 1, "%s%s",
			    family ? "-f " : "", argv[optind + 1]);
	} else if (json) {
		payload = (uint8_t *)strdup("json");
		plen = 4;
	}

	char path[1100], err[1200], *text;
	size_t rlen;
	uint32_t rtype;
	pf_ctl_default_path(state, path, sizeof(path));
	if (pf_ctl_call(sock ? sock : path, ce->type, payload, plen, &rtype,
	        &text, &rlen, err, sizeof(err))) {
		fprintf(stderr, "m0ctl: %s\n", err);
		free(payload);
		return 1;
	}
	free(payload);
	fwrite(text, 1, rlen, rtype == PF_MSG_REPLY ? stdout : stderr);
	free(text);
	return rtype == PF_MSG_REPLY ? 0 : 1;
}
