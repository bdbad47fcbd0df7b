/*
 * m0ctl: administers the platform on this host through its control
 * socket (include/pf_proto.h).
 *
 *   m0ctl [-s STATEDIR | -S SOCKET] [--json] COMMAND [ARG]
 *
 *   status            uptime, processes, queues, links, drops, memory
 *   ps                processes with queue, state, age, steps, memory
 *   kill ID|KEY       a process by id, or every process of a queue
 *   neighbours        the configured neighbours
 *   inject FILE       run a messenger there (its _ori is the console)
 *
 * The default socket is ./control (the daemon's default state directory
 * is the working directory). Exit status: 0 done, 1 refused or failed,
 * 2 usage.
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
	int args; /* 0 or 1 */
	bool json; /* takes --json */
	const char *usage;
};

static const struct cmd_entry cmds[] = {
    {"status", NULL, PF_MSG_STATUS, 0, true, "status"},
    {"ps", NULL, PF_MSG_PS, 0, true, "ps"},
    {"kill", NULL, PF_MSG_KILL, 1, false, "kill ID|KEY"},
    {"neighbours", "neighbors", PF_MSG_NEIGHBOURS, 0, true, "neighbours"},
    {"inject", NULL, PF_MSG_INJECT, 1, false, "inject FILE"},
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: m0ctl [-s STATEDIR | -S SOCKET] [--json] COMMAND\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i].usage);
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, void *p, size_t n)
{
	char *c = p;
	while (n) {
		ssize_t r = read(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The payload of inject: the file as a messenger with a random queue. */
static int
build_messenger(const char *path, uint8_t **out, size_t *len)
{
	char *src, err[512];
	size_t srclen;
	if (pf_load_source(path, NULL, 0, &src, &srclen, err, sizeof(err))) {
		fprintf(stderr, "m0ctl: %s\n", err);
		return -1;
	}
	struct m0_msg m = {.code = (const uint8_t *)src,
	    .code_len = (uint32_t)srclen};
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
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0}};
	const char *sock = NULL, *state = ".";
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "s:S:h", opts, NULL)) != -1) {
		switch (c) {
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
	if (!ce || argc - optind - 1 != ce->args || (json && !ce->json)) {
		usage(stderr);
		return 2;
	}
	uint8_t *payload = NULL;
	size_t plen = 0;
	if (ce->type == PF_MSG_INJECT) {
		if (build_messenger(argv[optind + 1], &payload, &plen))
			return 1;
	} else if (ce->args) {
		payload = (uint8_t *)strdup(argv[optind + 1]);
		plen = strlen(argv[optind + 1]);
	} else if (json) {
		payload = (uint8_t *)strdup("json");
		plen = 4;
	}

	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int n = sock ? snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock)
		     : snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
			   state, PF_CONTROL_NAME);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		fprintf(stderr, "m0ctl: socket path too long\n");
		return 2;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		fprintf(stderr, "m0ctl: %s: %s\n", sun.sun_path, strerror(errno));
		return 1;
	}
	struct pf_msg_hdr h = {.type = ce->type,
	    .len = (uint32_t)plen,
	    .version = PF_PROTO_VERSION};
	if (write_all(fd, &h, sizeof(h)) || write_all(fd, payload, plen)) {
		fprintf(stderr, "m0ctl: send: %s\n", strerror(errno));
		return 1;
	}
	free(payload);
	struct pf_msg_hdr r;
	if (read_all(fd, &r, sizeof(r)) || r.version != PF_PROTO_VERSION ||
	    r.len > PF_PROTO_MAX) {
		fprintf(stderr, "m0ctl: no answer from the platform\n");
		return 1;
	}
	char *text = malloc((size_t)r.len + 1);
	if (!text || read_all(fd, text, r.len)) {
		fprintf(stderr, "m0ctl: short answer\n");
		return 1;
	}
	close(fd);
	FILE *out = r.type == PF_MSG_REPLY ? stdout : stderr;
	fwrite(text, 1, r.len, out);
	free(text);
	return r.type == PF_MSG_REPLY ? 0 : 1;
}
