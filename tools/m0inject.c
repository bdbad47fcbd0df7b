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
 * when nothing arrived for --idle seconds (default 1; with --replies and
 * no --idle, only -w counts, so that a slow answer is still awaited), or
 * after --replies replies.
 *
 * With --fund N the target platform (on this host) mints N units through
 * its control socket and the messenger's code starts with a deposit of
 * that token, so it arrives with money (docs/money.md).
 *
 * Errors come home: unless --no-report, the code starts with an `_err`
 * written in MØ (report_code below) that sends the error's text back to
 * us before the default handler ends the process, unless the messenger
 * handles the error itself (inside `H`, or with an `_err` of its own).
 * Over UDP it answers our address as the target saw it (so from any
 * platform the messenger hops to), over TCP its `_ori`.
 *
 * Exit status: 0 when the messenger was sent and something came back (or
 * --no-reply), 1 when it could not be sent, no platform took it, or it
 * failed with an error it did not handle, 2 for usage errors, 3 when
 * nothing came back within the wait.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pf.h"

struct inject {
	uv_loop_t loop;
	uv_udp_t udp;
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_write_t wreq;
	uv_timer_t wait, idle;
	bool use_tcp;
	int sent;         /* 1 sent, -1 failed */
	bool refused;     /* ICMP port unreachable, or no TCP listener */
	bool remote_err;  /* an error report came home */
	char report[256]; /* its text */
	const char *target;
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
	    "  -t HOST[:PORT]   platform (default 127.0.0.1:19760; a host "
	    "name,\n"
	    "                   or IPv6 as [ADDR]:PORT)\n"
	    "  --tcp            send over TCP (default UDP)\n"
	    "  -w, --wait S     print replies for at most S seconds (default "
	    "5)\n"
	    "  --idle S         stop when nothing came for S seconds "
	    "(default 1)\n"
	    "  --replies N      stop after N replies\n"
	    "  --no-reply       fire and forget: nothing back is no failure\n"
	    "  --no-report      do not add the _err that reports errors home\n"
	    "  --data FILE      data field of the messenger\n"
	    "  --queue KEY      queue key, 16 hex digits (default: random)\n"
	    "  --fund N         mint N units at the target (same host) and\n"
	    "                   deposit them first\n"
	    "  -s STATEDIR, -S SOCKET  the target's control socket for --fund\n"
	    "                   (default " PF_STATE_DIR "/control)\n"
	    "  -h, --help       this text\n"
	    "  -V, --version    the version\n"
	    "exit: 0 sent and answered, 1 not sent or failed there, 2 usage,\n"
	    "      3 nothing came back within the wait\n");
}

/*
 * The error handler put before the messenger's code (MØ only). On an
 * error it counts the null frames of the exec stack (H and handler
 * frames): more than its own means an H will catch the error, so it
 * stops as the default `_err` does. Otherwise it sends
 * "\x1bM0ERR NAME OBJECT" on KEY (to us) and stops. The object is shown
 * as the platform logs it: a name as itself, an operator as --NAME--
 * (found by value in the system dict, the bottom of the dict stack),
 * anything else in its external form.
 */
static const char report_code[] =
    " 3 _stk 0 1 I ` { 2 I X G null = { 1 + } {} ? } L X P 1 >\n"
    " _ori null = |\n"
    " { Z } {\n"
    "  D ( . X 'nm X : . X 'ob X :\n"
    "  %s\n"
    "  \"\\x1bM0ERR \" . 'nm G _cts + \" \" +\n"
    "  . 'ob G Y 'oper =\n"
    "   { \"?\" 2 _stk 0 G { . 'ob G = { X P _cts } { P } ? } L\n"
    "     \"--\" X + \"--\" + }\n"
    "   { . 'ob G 0 I Y 'name = { _cts } { _cte } ? } ?\n"
    "  + $ ) Z\n"
    " } ?\n";

/* The key back to us: over UDP our address as the target sees it (the
 * source address the kernel picks to reach it), on the interface the
 * messenger came in on; else (TCP, or unknown) `_ori`. */
static int
report_prefix(const struct sockaddr_storage *to, bool tcp, int port, char *buf,
    size_t len)
{
	char key[200] = "_ori 2 G _ori 1 G {} _cha _ori 0 G G '_key G !";
	struct sockaddr_storage me;
	socklen_t ml = sizeof(me);
	int fd = tcp ? -1 : socket(to->ss_family, SOCK_DGRAM, 0);
	if (fd >= 0 &&
	    !connect(fd, (const struct sockaddr *)to,
	        to->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                  : sizeof(struct sockaddr_in)) &&
	    !getsockname(fd, (struct sockaddr *)&me, &ml)) {
		char host[INET6_ADDRSTRLEN + 2] = "\"";
		if (me.ss_family == AF_INET) {
			snprintf(host, sizeof(host), "%lu",
			    (unsigned long)ntohl(
			        ((struct sockaddr_in *)&me)->sin_addr.s_addr));
		} else {
			inet_ntop(AF_INET6,
			    &((struct sockaddr_in6 *)&me)->sin6_addr, host + 1,
			    sizeof(host) - 2);
			strcat(host, "\"");
		}
		snprintf(key, sizeof(key),
		    "[%s %d] _ori 1 G {} _cha 'udpip G '_key G !", host, port);
	}
	if (fd >= 0)
		close(fd);
	/* `_err` is the handler as a string, not a procedure: executable
	 * strings run as code, and its bytes cost a charged platform's
	 * memory rent a fraction of what the parsed procedure would. */
	char body[2048];
	int bn = snprintf(body, sizeof(body), report_code, key);
	if (bn < 0 || (size_t)bn >= sizeof(body))
		return -1;
	size_t n = 0;
	n += (size_t)snprintf(buf, len, ". '_err \"");
	for (int i = 0; i < bn && n + 4 < len; i++) {
		if (body[i] == '"' || body[i] == '\\')
			buf[n++] = '\\';
		buf[n++] = body[i] == '\n' ? ' ' : body[i];
	}
	if (n + 8 >= len)
		return -1;
	n += (size_t)snprintf(buf + n, len - n, "\" :\n");
	return (int)n;
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
	if (++in->got >= in->replies && in->replies)
		stop(in);
	else
		got_something(in);
}

#define REPORT_MARK "\x1bM0ERR "

/* An error report from report_code goes to stderr and ends the wait. */
static bool
error_report(struct inject *in, const uint8_t *p, size_t len,
    const struct sockaddr *from)
{
	size_t ml = sizeof(REPORT_MARK) - 1;
	/* A platform may frame the text as a messenger with empty code and
	 * the text as its data. */
	struct m0_msg m;
	size_t used;
	if (m0_wire_decode(p, len, UINT32_MAX, &m, &used) == M0_WIRE_OK &&
	    used == len && m.code_len == 0 && m.data) {
		p = m.data;
		len = m.data_len;
	}
	if (len < ml || memcmp(p, REPORT_MARK, ml))
		return false;
	char where[80];
	if (from)
		pf_format_sa(from, where, sizeof(where));
	fflush(stdout);
	fprintf(stderr, "m0inject: %s: %.*s\n", from ? where : in->target,
	    (int)(len - ml), (const char *)p + ml);
	in->remote_err = true;
	snprintf(in->report, sizeof(in->report), "%.*s", (int)(len - ml),
	    (const char *)p + ml);
	stop(in);
	return true;
}

/* A messenger prints as its code; one with empty code and a data field
 * is text a platform framed (its links send nothing else: pf_egress.c)
 * and prints as its data; anything else as it is. */
static void
print_reply(const uint8_t *p, size_t len)
{
	struct m0_msg m;
	size_t used;
	if (m0_wire_decode(p, len, UINT32_MAX, &m, &used) == M0_WIRE_OK &&
	    used == len) {
		bool text = m.code_len == 0 && m.data;
		p = text ? m.data : m.code;
		len = text ? m.data_len : m.code_len;
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
	struct inject *in = h->data;
	if (n == UV_ECONNREFUSED) {
		/* ICMP port unreachable (IP_RECVERR): nothing listens there. */
		in->refused = true;
		stop(in);
		return;
	}
	if (n < 0 || !from)
		return;
	if (error_report(in, (const uint8_t *)buf->base, (size_t)n, from))
		return;
	print_reply((const uint8_t *)buf->base, (size_t)n);
	got_reply(in);
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
		if (!framed && error_report(in, p, have, NULL)) {
			off += have;
			continue;
		}
		if (framed && need && need <= have &&
		    error_report(in, p, need, NULL)) {
			off += need;
			continue;
		}
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
		if (status == UV_ECONNREFUSED)
			in->refused = true;
		else
			fprintf(stderr, "m0inject: connect to %s: %s\n",
			    in->target, uv_strerror(status));
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

static void
close_cb(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Binds the UDP socket (any address of the target's family, a free
 * port) and asks for ICMP errors, so that a port where nothing listens
 * shows as ECONNREFUSED in udp_recv. Returns the port, or a libuv error. */
static int
udp_open(struct inject *in, const struct sockaddr_storage *to)
{
	struct sockaddr_storage any;
	pf_parse_hostport(
	    to->ss_family == AF_INET6 ? "[::]:1" : "0.0.0.0:1", &any);
	((struct sockaddr_in *)&any)->sin_port = 0; /* same offset in v6 */
	uv_udp_init(&in->loop, &in->udp);
	in->udp.data = in;
	int e = uv_udp_bind(&in->udp, (struct sockaddr *)&any, 0);
	uv_os_fd_t fd;
	if (!e && !uv_fileno((uv_handle_t *)&in->udp, &fd)) {
		int on = 1;
		if (to->ss_family == AF_INET6)
			setsockopt(
			    fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
		else
			setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
	}
	struct sockaddr_storage me;
	int ml = sizeof(me);
	if (!e)
		e = uv_udp_getsockname(&in->udp, (struct sockaddr *)&me, &ml);
	return e ? e : ntohs(((struct sockaddr_in *)&me)->sin_port);
}

/* Puts (pre) of (pl) bytes before *src. Returns 0, or -1 out of memory. */
static int
prepend(char **src, size_t *srclen, const char *pre, size_t pl)
{
	char *both = malloc(pl + *srclen + 1);
	if (!both)
		return -1;
	memcpy(both, pre, pl);
	memcpy(both + pl, *src, *srclen + 1);
	free(*src);
	*src = both;
	*srclen += pl;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct inject in;
	static const struct option opts[] = {{"tcp", no_argument, 0, 'T'},
	    {"wait", required_argument, 0, 'w'},
	    {"idle", required_argument, 0, 'i'},
	    {"replies", required_argument, 0, 'r'},
	    {"no-reply", no_argument, 0, 'n'},
	    {"no-report", no_argument, 0, 'R'},
	    {"data", required_argument, 0, 'd'},
	    {"queue", required_argument, 0, 'q'},
	    {"fund", required_argument, 0, 'F'}, {"help", no_argument, 0, 'h'},
	    {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
	const char *target = "127.0.0.1", *code = NULL, *data_file = NULL;
	uint64_t wait_ms = 5000, queue = 0;
	bool idle_set = false;
	bool have_queue = false, no_reply = false, report = true;
	long long fund = 0;
	const char *state = NULL, *sock = NULL;
	in.idle_ms = 1000;
	int c;
	while (
	    (c = getopt_long(argc, argv, "t:w:e:s:S:hV", opts, NULL)) != -1) {
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
			idle_set = true;
			break;
		case 'r': {
			char *end;
			in.replies = strtol(optarg, &end, 10);
			if (*end || in.replies < 1)
				goto bad;
			break;
		}
		case 'n':
			no_reply = true;
			break;
		case 'R':
			report = false;
			break;
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
				fprintf(stderr,
				    "m0inject: --queue: 16 hex digits\n");
				return 2;
			}
			have_queue = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("m0inject (mzero) %s\n", MZERO_VERSION);
			return 0;
		default:
			goto bad;
		}
	}
	if ((code != NULL) + (argc - optind) != 1)
		goto bad;
	struct sockaddr_storage to;
	if (pf_parse_hostport(target, &to)) {
		fprintf(stderr,
		    "m0inject: -t: not HOST[:PORT], or no such "
		    "host: %s\n",
		    target);
		return 2;
	}
	char tname[80];
	pf_format_sa((struct sockaddr *)&to, tname, sizeof(tname));
	in.target = tname;

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
		fprintf(
		    stderr, "m0inject: %s: %s\n", data_file, strerror(errno));
		return 2;
	}
	if (!have_queue && getrandom(&queue, sizeof(queue), 0) != sizeof(queue))
		return 1;
	uv_loop_init(&in.loop);
	int e = 0, port = 0;
	if (!in.use_tcp && (port = udp_open(&in, &to)) < 0)
		e = port;
	if (!e && fund) {
		char ctl[1100];
		size_t pl;
		pf_ctl_default_path(state, ctl, sizeof(ctl));
		char ferr[1200];
		char *pre = pf_ctl_fund(
		    sock ? sock : ctl, fund, &pl, ferr, sizeof(ferr));
		if (!pre)
			fprintf(stderr, "m0inject: --fund: %s\n", ferr);
		if (!pre || prepend(&src, &srclen, pre, pl)) {
			free(pre);
			return 1;
		}
		free(pre);
	}
	if (!e && report) {
		/* Before the deposit, so that a refused token is reported. */
		char pre[2048];
		int pl = report_prefix(&to, in.use_tcp, port, pre, sizeof(pre));
		if (pl < 0 || prepend(&src, &srclen, pre, (size_t)pl))
			return 1;
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
	if (in.replies && !idle_set)
		in.idle_ms = wait_ms;
	m0_wire_encode(&m, in.msg, in.msglen);
	free(src);
	free(data);

	uv_timer_init(&in.loop, &in.wait);
	uv_timer_init(&in.loop, &in.idle);
	in.wait.data = in.idle.data = &in;
	if (e) {
		/* the UDP socket could not be opened */
	} else if (in.use_tcp) {
		uv_tcp_init(&in.loop, &in.tcp);
		in.tcp.data = &in;
		in.creq.data = &in;
		e = uv_tcp_connect(
		    &in.creq, &in.tcp, (struct sockaddr *)&to, tcp_connected);
	} else {
		uv_buf_t b = uv_buf_init((char *)in.msg, (unsigned)in.msglen);
		e = uv_udp_recv_start(&in.udp, udp_alloc, udp_recv);
		if (!e) {
			e = uv_udp_try_send(
			    &in.udp, &b, 1, (struct sockaddr *)&to);
			e = e == (int)in.msglen ? 0 : (e < 0 ? e : UV_EMSGSIZE);
		}
		in.sent = e ? -1 : 1;
	}
	if (e) {
		fprintf(stderr, "m0inject: send to %s: %s\n", tname,
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
	if (in.refused) {
		fprintf(stderr, "m0inject: no platform at %s\n", tname);
		return 1;
	}
	if (in.remote_err) {
		/* A name the REPL knows: say where it lives. */
		uv_loop_t l;
		uv_loop_init(&l);
		struct pf_platform *pf = pf_new(&l, NULL);
		char hint[200];
		if (pf && pf_hint(pf, in.report, hint, sizeof(hint)))
			fprintf(stderr, "m0inject: %s\n", hint);
		if (pf)
			pf_free(pf);
		uv_loop_close(&l);
		return 1;
	}
	if (in.sent != 1)
		return 1;
	if (!in.got && !in.rxlen && !no_reply) {
		fprintf(stderr,
		    "m0inject: warning: nothing came back from %s "
		    "within the wait (--no-reply if none is due)\n",
		    tname);
		return 3;
	}
	return 0;
bad:
	usage(stderr);
	return 2;
}
