/*
 * bench_hop: messengers per second that one mdaemon receives, runs (a
 * small messenger that sends a reply on to its origin) and sends on,
 * against a plain libuv UDP echo server on the same machine, same client,
 * same run. Also the round-trip time of one messenger alone against one
 * echo alone. Traffic stays on 127.0.0.1; every loop is bounded in time.
 *
 *   bench_hop MDAEMON_PORT ECHO_PORT SECONDS
 */
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "m0.h"

#define WINDOW 32

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the peer: a libuv UDP echo server in a child process ---- */

static uv_udp_t echo_sock;
static char echo_buf[65536];

static void
echo_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	*b = uv_buf_init(echo_buf, sizeof(echo_buf));
}

static void
echo_sent(uv_udp_send_t *req, int status)
{
	free(req);
}

static void
echo_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b,
    const struct sockaddr *from, unsigned flags)
{
	if (n <= 0 || !from)
		return;
	uv_udp_send_t *req = malloc(sizeof(*req) + (size_t)n);
	if (!req)
		return;
	memcpy(req + 1, b->base, (size_t)n);
	uv_buf_t out = uv_buf_init((char *)(req + 1), (unsigned)n);
	uv_udp_send(req, h, &out, 1, from, echo_sent);
}

static pid_t
start_echo(int port)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	uv_loop_t *loop = uv_default_loop();
	struct sockaddr_in a;
	uv_ip4_addr("127.0.0.1", port, &a);
	uv_udp_init(loop, &echo_sock);
	if (uv_udp_bind(&echo_sock, (struct sockaddr *)&a, 0))
		_exit(1);
	uv_udp_recv_start(&echo_sock, echo_alloc, echo_recv);
	alarm(120); /* never outlive the bench */
	uv_run(loop, UV_RUN_DEFAULT);
	_exit(0);
}

/* ---- the client ---- */

struct result {
	double rate;
	double rtt_us;
	unsigned long sent, got;
};

static void
measure(
    int port, const uint8_t *msg, size_t len, double seconds, struct result *r)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = {
	    .sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	int rcv = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	char buf[65536];
	struct pollfd p = {.fd = fd, .events = POLLIN};

	/* Round trip of one at a time, median of 201. */
	double rt[201];
	int nrt = 0;
	for (int i = 0; i < 201; i++) {
		double t0 = now();
		sendto(fd, msg, len, 0, (struct sockaddr *)&to, sizeof(to));
		if (poll(&p, 1, 500) == 1 && recv(fd, buf, sizeof(buf), 0) > 0)
			rt[nrt++] = (now() - t0) * 1e6;
	}
	for (int i = 1; i < nrt; i++) /* insertion sort, small */
		for (int j = i; j > 0 && rt[j] < rt[j - 1]; j--) {
			double t = rt[j];
			rt[j] = rt[j - 1];
			rt[j - 1] = t;
		}
	r->rtt_us = nrt ? rt[nrt / 2] : -1;

	/* Throughput with WINDOW in flight; a lost one is written off after
	 * 50 ms so the window never stalls. */
	unsigned long sent = 0, got = 0;
	int inflight = 0;
	double start = now(), last_rx = start;
	while (now() - start < seconds) {
		while (inflight < WINDOW) {
			if (sendto(fd, msg, len, 0, (struct sockaddr *)&to,
			        sizeof(to)) < 0)
				break;
			sent++;
			inflight++;
		}
		if (poll(&p, 1, 10) == 1) {
			while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
				got++;
				inflight--;
				last_rx = now();
			}
		} else if (now() - last_rx > 0.05) {
			inflight = 0;
			last_rx = now();
		}
	}
	double el = now() - start;
	r->rate = got / el;
	r->sent = sent;
	r->got = got;
	close(fd);
}

int
main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr,
		    "usage: bench_hop MDAEMON_PORT ECHO_PORT SECONDS\n");
		return 2;
	}
	int mport = atoi(argv[1]), eport = atoi(argv[2]);
	double secs = atof(argv[3]);
	/* The forwarding messenger: on arrival it sends a reply on to where
	 * it came from (the 1994 back channel). */
	const char *code = "_ori 2 G _ori 1 G {} _cha _ori 0 G G '_key G ! "
	                   "\"hop\" $";
	/* All share one queue: each runs to its end before the next. */
	struct m0_msg m = {.queue = 0x6d7a65726f686f70ULL,
	    .code = (const uint8_t *)code,
	    .code_len = (uint32_t)strlen(code)};
	uint8_t msg[512];
	size_t len = m0_wire_encode(&m, msg, sizeof(msg));
	pid_t echo = start_echo(eport);
	usleep(200000);
	struct result d, e;
	measure(mport, msg, len, secs, &d);
	measure(eport, msg, len, secs, &e);
	kill(echo, SIGTERM);
	waitpid(echo, NULL, 0);
	printf("hop       mdaemon %.0f msg/s (%lu sent, %lu back)   libuv echo "
	       "%.0f msg/s   mdaemon/echo %.2f\n",
	    d.rate, d.sent, d.got, e.rate, e.rate > 0 ? d.rate / e.rate : 0);
	printf("rtt       mdaemon %.0f us   libuv echo %.0f us   mdaemon/echo "
	       "%.2f\n",
	    d.rtt_us, e.rtt_us, e.rtt_us > 0 ? d.rtt_us / e.rtt_us : 0);
	return 0;
}
