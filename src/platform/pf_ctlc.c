/*
 * pf_ctlc.c: the client side of the control socket (include/pf_proto.h),
 * shared by m0ctl and m0inject --fund: one request, one answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pf_int.h"
#include "pf_proto.h"

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

int
pf_ctl_call(const char *path, uint32_t type, const void *payload, size_t len,
    uint32_t *rtype, char **reply, size_t *rlen, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	*reply = NULL;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct pf_msg_hdr h = {
	    .type = type, .len = (uint32_t)len, .version = PF_PROTO_VERSION};
	struct pf_msg_hdr r;
	if (len > PF_PROTO_MAX || write_all(fd, &h, sizeof(h)) ||
	    write_all(fd, payload, len)) {
		snprintf(err, errlen, "send: %s", strerror(errno));
		goto fail;
	}
	if (read_all(fd, &r, sizeof(r)) || r.version != PF_PROTO_VERSION ||
	    r.len > PF_PROTO_MAX) {
		snprintf(err, errlen, "no answer from the platform");
		goto fail;
	}
	char *text = malloc((size_t)r.len + 1);
	if (!text || read_all(fd, text, r.len)) {
		free(text);
		snprintf(err, errlen, "short answer");
		goto fail;
	}
	text[r.len] = 0;
	close(fd);
	*rtype = r.type;
	*reply = text;
	*rlen = r.len;
	return 0;
fail:
	close(fd);
	return -1;
}

void
pf_ctl_default_path(const char *state, char *buf, size_t len)
{
	const char *env = getenv("MZERO_STATE");
	if (!state && env && *env)
		state = env;
	if (!state) {
		/* A daemon run by hand in this directory, else the installed
		 * one (the unit's state directory). */
		struct stat st;
		state = stat(PF_CONTROL_NAME, &st) == 0 && S_ISSOCK(st.st_mode)
		    ? "."
		    : PF_STATE_DIR;
	}
	snprintf(buf, len, "%s/%s", state, PF_CONTROL_NAME);
}

char *
pf_ctl_fund(
    const char *path, long long amount, size_t *len, char *err, size_t errlen)
{
	char arg[32], *hex;
	size_t hl;
	uint32_t type;
	snprintf(arg, sizeof(arg), "%lld", amount);
	if (pf_ctl_call(path, PF_MSG_MINT, arg, strlen(arg), &type, &hex, &hl,
	        err, errlen))
		return NULL;
	while (hl && (hex[hl - 1] == '\n' || hex[hl - 1] == '\r'))
		hex[--hl] = 0;
	if (type != PF_MSG_REPLY || hl % 2) { /* the daemon's refusal */
		snprintf(err, errlen, "%s", hex);
		free(hex);
		return NULL;
	}
	char *out = malloc(hl * 2 + 16);
	if (!out) {
		snprintf(err, errlen, "out of memory");
		free(hex);
		return NULL;
	}
	size_t n = 0;
	out[n++] = '"';
	for (size_t i = 0; i < hl; i += 2) {
		out[n++] = '\\';
		out[n++] = 'x';
		out[n++] = hex[i];
		out[n++] = hex[i + 1];
	}
	n += (size_t)sprintf(out + n, "\" _dep P\n");
	free(hex);
	*len = n;
	return out;
}
