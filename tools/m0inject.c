/*
 * m0inject: sends a messenger to a platform and prints what comes back.
 *
 *   m0inject [-t HOST[:PORT]] [--tcp] [-w SECONDS] [--idle SECONDS]
 *            [--replies N] [--data FILE] [--queue KEY]
 *            [--fund N [-s STATEDIR | -S SOCKET]] (FILE | -e CODE)
 *
 * The source is loaded like m0 loads it (`#` comments, #include,
 * #includestring). The messenger goes over UDP (default) or TCP to HOST
 * (default 127.0.0.1:19760; IPv6 as [ADDR]:PORT) from a socket of our own;
 * whatever arrives on that socket is printed: a messenger as its code
 * text, anything else as it is. We stop after -w seconds (default 5),
 * when nothing arrived for --idle seconds (default 1), or after --replies
 * replies.
 *
 * With --fund N the target platform (on this host) mints N units through
 * its control socket and the messenger's code starts with a deposit of
 * that token, so it arrives with money (docs/money.md).
 *
 * Exit status: 0 when the messenger was sent, 1 when it could not be, 2
 * for usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "pf.h"
#include "pf_proto.h"

struct inject {
	uv_loop_t loop;
	uv_udp_t udp;
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_write_t wreq;
	uv_timer_t wait, idle;
	bool use_tcp;
	int sent;   /* 1 sent, -1 failed */
	uint64_t idle_ms;
	long replies; /* stop after this many; 0: no limit */
	long got;
	uint8_t *msg;
	size_t msglen;
	uint8_t *rx;
	size_t rxlen, rxcap;
	uint8_t dgram[65536];
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: m0inject [-t HOST[:PORT]] [--tcp] [-w SECONDS] "
	    "[--idle SECONDS]\n"
	    "                [--data FILE] [--queue KEY] (FILE | -e CODE)\n"
	    "  -t HOST[:PORT]   platform (default 127.0.0.1:19760; IPv6 as "
	    "[ADDR]:PORT)\n"
	    "  --tcp            send over TCP (default UDP)\n"
	    "  -w, --wait S     print replies for at most S seconds (default 5)\n"
	    "  --idle S         stop when nothing came for S seconds "
	    "(default 1)\n"
	    "  --replies N      stop after N replies\n"
	    "  --data FILE      data field of the messenger\n"
	    "  --queue KEY      queue key, 16 hex digits (default: random)\n"
	    "  --fund N         mint N units at the target (same host) and\n"
	    "                   deposit them first\n"
	    "  -s STATEDIR, -S SOCKET  the target's control socket for --fund\n"
	    "                   (default ./control)\n");
}

static void
stop(struct inject *in)
{
	uv_stop(&in->loop);
}

static void
on_timer(uv_timer_t *t)
{
	stop(t->data);
}

static void
got_something(struct inject *in)
{
	uv_timer_start(&in->idle, on_timer, in->idle_ms, 0);
}

static void
got_reply(struct inject *in)
{
	if (in->replies && ++in->got >= in->replies)
		stop(in);
	else
		got_something(in);
}

/* A messenger prints as its code, anything else as it is. */
static void
print_reply(const uint8_t *p, size_t len)
{
	struct m0_msg m;
	size_t used;
	if (m0_wire_decode(p, len, UINT32_MAX, &m, &used) == M0_WIRE_OK &&
	    used == len) {
		p = m.code;
		len = m.code_len;
	}
	fwrite(p, 1, len, stdout);
	if (len == 0 || p[len - 1] != '\n')
		putchar('\n');
	fflush(stdout);
}

static void
udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct inject *in = h->data;
	buf->base = (char *)in->dgram;
	buf->len = sizeof(in->dgram);
}

static void
udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
    const struct sockaddr *from, unsigned flags)
{
	if (n < 0 || !from)
		return;
	print_reply((const uint8_t *)buf->base, (size_t)n);
	got_reply(h->data);
}

static void
tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct inject *in = h->data;
	if (in->rxcap - in->rxlen < 4096) {
		size_t ncap = in->rxcap ? in->rxcap * 2 : 65536;
		uint8_t *nb = realloc(in->rx, ncap);
		if (!nb) {
			buf->len = 0;
			return;
		}
		in->rx = nb;
		in->rxcap = ncap;
	}
	buf->base = (char *)in->rx + in->rxlen;
	buf->len = in->rxcap - in->rxlen;
}

/* On a stream, messengers are framed; text has no frame and is printed
 * as it comes. */
static void
tcp_drain(struct inject *in, bool eof)
{
	size_t off = 0;
	while (off < in->rxlen) {
		const uint8_t *p = in->rx + off;
		size_t have = in->rxlen - off;
		bool framed = have >= 2 && (have < 3 || p[2] == 0) &&
		    (have < 4 || !(p[3] & 0x7f));
		size_t need = framed ? m0_wire_need(p, have) : 0;
		if (framed && (need == 0 || need > have) && !eof &&
		    need < (64u << 20))
			break; /* wait for the rest of a messenger */
		if (framed && need && need <= have) {
			print_reply(p, need);
			off += need;
			got_reply(in);
			continue;
		}
		print_reply(p, have);
		off += have;
		got_reply(in);
	}
	memmove(in->rx, in->rx + off, in->rxlen - off);
	in->rxlen -= off;
}

static void
tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct inject *in = s->data;
	if (n < 0) {
		tcp_drain(in, true);
		uv_read_stop(s);
		return;
	}
	in->rxlen += (size_t)n;
	tcp_drain(in, false);
	got_something(in);
}

static void
tcp_written(uv_write_t *req, int status)
{
	struct inject *in = req->data;
	if (status < 0) {
		fprintf(stderr, "m0inject: send: %s\n", uv_strerror(status));
		in->sent = -1;
		stop(in);
		return;
	}
	in->sent = 1;
}

static void
tcp_connected(uv_connect_t *req, int status)
{
	struct inject *in = req->data;
	if (status < 0) {
		fprintf(stderr, "m0inject: connect: %s\n", uv_strerror(status));
		in->sent = -1;
		stop(in);
		return;
	}
	uv_buf_t b = uv_buf_init((char *)in->msg, (unsigned)in->msglen);
	in->wreq.data = in;
	uv_read_start((uv_stream_t *)&in->tcp, tcp_alloc, tcp_read);
	if (uv_write(&in->wreq, (uv_stream_t *)&in->tcp, &b, 1, tcp_written)) {
		in->sent = -1;
		stop(in);
	}
}

static int
parse_key(const char *s, uint64_t *k)
{
	if (strlen(s) != 16)
		return -1;
	char *end;
	errno = 0;
	*k = strtoull(s, &end, 16);
	return *end || errno ? -1 : 0;
}

static int
parse_seconds(const char *s, uint64_t *ms)
{
	char *end;
	double v = strtod(s, &end);
	if (*end || end == s || !(v >= 0) || v > 86400 * 365)
		return -1;
	*ms = (uint64_t)(v * 1000);
	return 0;
}

/* Mints (amount) at the platform behind the control socket (sock) and
 * returns malloc'd MØ source that deposits the token: `"\xHH.." _dep P`. */
static char *
fund_prefix(const char *sock, long long amount, size_t *len)
{
	char arg[32], err[1200], *hex;
	size_t hl;
	uint32_t type;
	snprintf(arg, sizeof(arg), "%lld", amount);
	if (pf_ctl_call(sock, PF_MSG_MINT, arg, strlen(arg), &type, &hex, &hl,
		err, sizeof(err))) {
		fprintf(stderr, "m0inject: --fund: %s\n", err);
		return NULL;
	}
	while (hl && (hex[hl - 1] == '\n' || hex[hl - 1] == '\r'))
		hex[--hl] = 0;
	if (type != PF_MSG_REPLY || hl % 2) {
		fprintf(stderr, "m0inject: --fund: %s\n", hex);
		free(hex);
		return NULL;
	}
	char *out = malloc(hl * 2 + 16);
	if (!out) {
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

static void
close_cb(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int
main(int argc, char **argv)
{
	static struct inject in;
	static const struct option opts[] = {{"tcp", no_argument, 0, 'T'},
	    {"wait", required_argument, 0, 'w'},
	    {"idle", required_argument, 0, 'i'},
	    {"replies", required_argument, 0, 'r'},
	    {"data", required_argument, 0, 'd'},
	    {"queue", required_argument, 0, 'q'},
	    {"fund", required_argument, 0, 'F'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0}};
	const char *target = "127.0.0.1", *code = NULL, *data_file = NULL;
	uint64_t wait_ms = 5000, queue = 0;
	bool have_queue = false;
	long long fund = 0;
	const char *state = ".", *sock = NULL;
	in.idle_ms = 1000;
	int c;
	while ((c = getopt_long(argc, argv, "t:w:e:s:S:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			target = optarg;
			break;
		case 'T':
			in.use_tcp = true;
			break;
		case 'w':
			if (parse_seconds(optarg, &wait_ms))
				goto bad;
			break;
		case 'i':
			if (parse_seconds(optarg, &in.idle_ms))
				goto bad;
			break;
		case 'r': {
			char *end;
			in.replies = strtol(optarg, &end, 10);
			if (*end || in.replies < 1)
				goto bad;
			break;
		}
		case 'e':
			code = optarg;
			break;
		case 'F': {
			char *end;
			fund = strtoll(optarg, &end, 10);
			if (*end || fund < 1)
				goto bad;
			break;
		}
		case 's':
			state = optarg;
			break;
		case 'S':
			sock = optarg;
			break;
		case 'd':
			data_file = optarg;
			break;
		case 'q':
			if (parse_key(optarg, &queue)) {
				fprintf(stderr, "m0inject: --queue: 16 hex digits\n");
				return 2;
			}
			have_queue = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if ((code != NULL) + (argc - optind) != 1)
		goto bad;
	struct sockaddr_storage to;
	if (pf_parse_hostport(target, &to)) {
		fprintf(stderr, "m0inject: -t: not HOST[:PORT]: %s\n", target);
		return 2;
	}

	char *src, *data = NULL, err[1024];
	size_t srclen, datalen = 0;
	const char *path = code ? NULL : argv[optind];
	struct pf_source source;
	/* A syntax error is found here, with its place, not at the target. */
	if (pf_source_load(&source, path, code, code ? strlen(code) : 0, NULL,
		err, sizeof(err)) ||
	    pf_source_check(&source, err, sizeof(err))) {
		fprintf(stderr, "m0inject: %s\n", err);
		pf_source_free(&source);
		return 2;
	}
	src = source.text;
	srclen = source.len;
	source.text = NULL;
	pf_source_free(&source);
	if (data_file && pf_read_file(data_file, &data, &datalen)) {
		fprintf(stderr, "m0inject: %s: %s\n", data_file, strerror(errno));
		return 2;
	}
	if (!have_queue && getrandom(&queue, sizeof(queue), 0) != sizeof(queue))
		return 1;
	if (fund) {
		char ctl[1100];
		size_t pl;
		snprintf(ctl, sizeof(ctl), "%s/%s", state, PF_CONTROL_NAME);
		char *pre = fund_prefix(sock ? sock : ctl, fund, &pl);
		char *both = pre ? malloc(pl + srclen + 1) : NULL;
		if (!both) {
			free(pre);
			return 1;
		}
		memcpy(both, pre, pl);
		memcpy(both + pl, src, srclen + 1);
		free(pre);
		free(src);
		src = both;
		srclen += pl;
	}
	if (srclen > (64u << 20) || datalen > (64u << 20)) {
		fprintf(stderr, "m0inject: messenger too large\n");
		return 2;
	}
	struct m0_msg m = {.queue = queue,
	    .code = (const uint8_t *)src,
	    .code_len = (uint32_t)srclen,
	    .data = data ? (const uint8_t *)data : NULL,
	    .data_len = (uint32_t)datalen};
	in.msglen = m0_wire_size(&m);
	in.msg = malloc(in.msglen);
	if (!in.msg)
		return 1;
	m0_wire_encode(&m, in.msg, in.msglen);
	free(src);
	free(data);

	uv_loop_init(&in.loop);
	uv_timer_init(&in.loop, &in.wait);
	uv_timer_init(&in.loop, &in.idle);
	in.wait.data = in.idle.data = &in;
	int e;
	if (in.use_tcp) {
		uv_tcp_init(&in.loop, &in.tcp);
		in.tcp.data = &in;
		in.creq.data = &in;
		e = uv_tcp_connect(&in.creq, &in.tcp, (struct sockaddr *)&to,
		    tcp_connected);
	} else {
		struct sockaddr_storage any;
		pf_parse_hostport(to.ss_family == AF_INET6 ? "[::]:1" : "0.0.0.0:1",
		    &any);
		((struct sockaddr_in *)&any)->sin_port = 0; /* same offset in v6 */
		uv_udp_init(&in.loop, &in.udp);
		in.udp.data = &in;
		uv_buf_t b = uv_buf_init((char *)in.msg, (unsigned)in.msglen);
		e = uv_udp_bind(&in.udp, (struct sockaddr *)&any, 0);
		if (!e)
			e = uv_udp_recv_start(&in.udp, udp_alloc, udp_recv);
		if (!e) {
			e = uv_udp_try_send(&in.udp, &b, 1, (struct sockaddr *)&to);
			e = e == (int)in.msglen ? 0 : (e < 0 ? e : UV_EMSGSIZE);
		}
		in.sent = e ? -1 : 1;
	}
	if (e) {
		fprintf(stderr, "m0inject: send to %s: %s\n", target,
		    uv_strerror(e));
		in.sent = -1;
	} else {
		uv_timer_start(&in.wait, on_timer, wait_ms, 0);
		got_something(&in); /* the idle clock starts now */
		uv_run(&in.loop, UV_RUN_DEFAULT);
	}
	uv_walk(&in.loop, close_cb, NULL);
	uv_run(&in.loop, UV_RUN_DEFAULT);
	uv_loop_close(&in.loop);
	free(in.msg);
	free(in.rx);
	return in.sent == 1 ? 0 : 1;
bad:
	usage(stderr);
	return 2;
}
