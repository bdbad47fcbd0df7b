/*
 * hostile: sends a platform everything a link must survive, over UDP and
 * TCP on loopback (test helper; the test script checks the counters).
 *
 *   hostile PORT CASE...
 *
 * Cases: short version flags codelen crc oversize random (1000 random
 * datagrams), tcpgarbage, tcpcrc, tcptrunc (half a messenger, then
 * close), tcpbig (a header announcing 1 GiB), ctl PATH (bad requests
 * on the control socket), env KEYHEX (an envelope from that key with a
 * garbage box), flood N (N messengers that
 * sleep 1 s each), from ADDR (later UDP leaves from that local IPv4
 * address, e.g. 127.0.0.2: another origin), send N CODE (N messengers
 * of that code, each on its own queue), tcpflood C N CODE (C TCP
 * connections from the `from` address, N messengers of that code on
 * each, and never a byte read back: the connections stay open until
 * hostile exits), hold S (wait S seconds before going on, holding what
 * is open). Exits 0 when everything could be sent.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "m0.h"
#include "pf_proto.h"

static struct sockaddr_in to, from;

static size_t
msgr(uint8_t *out, size_t cap, const char *code, uint64_t queue)
{
	struct m0_msg m = {.queue = queue,
	    .code = (const uint8_t *)code,
	    .code_len = (uint32_t)strlen(code)};
	return m0_wire_encode(&m, out, cap);
}

static int
udp(const void *p, size_t len)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (from.sin_family && bind(fd, (struct sockaddr *)&from, sizeof(from)))
		perror("hostile: bind");
	ssize_t n = sendto(fd, p, len, 0, (struct sockaddr *)&to, sizeof(to));
	close(fd);
	if (n != (ssize_t)len)
		perror("hostile: sendto");
	return n == (ssize_t)len ? 0 : 1;
}

static int
tcp(const void *p, size_t len)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&to, sizeof(to))) {
		perror("hostile: connect");
		close(fd);
		return 1;
	}
	ssize_t n = write(fd, p, len);
	usleep(50000); /* let the platform read before we hang up */
	close(fd);
	return n == (ssize_t)len ? 0 : 1;
}

/* Opens (conns) connections and sends (count) messengers of (code) on
 * each; they are left open and never read. */
static int
tcpflood(int conns, int count, const char *code)
{
	static uint8_t m[70000];
	int rc = 0;
	for (int k = 0; k < conns; k++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (from.sin_family) {
			struct sockaddr_in a = from;
			a.sin_port = 0;
			if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
				perror("hostile: bind");
		}
		if (connect(fd, (struct sockaddr *)&to, sizeof(to))) {
			perror("hostile: connect");
			close(fd);
			return 1;
		}
		for (int i = 0; i < count; i++) {
			size_t n = msgr(m, sizeof(m), code, 1 + (uint64_t)i);
			if (send(fd, m, n, MSG_NOSIGNAL) != (ssize_t)n) {
				rc = 1; /* the platform hung up: it may */
				break;
			}
		}
	}
	return rc;
}

/* A control socket client that speaks badly; the answer is ignored. */
static int
ctl(const char *path, const void *p, size_t len)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		perror("hostile: control socket");
		close(fd);
		return 1;
	}
	ssize_t n = write(fd, p, len);
	char buf[256];
	(void)!read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)len ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: hostile PORT CASE...\n");
		return 2;
	}
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)atoi(argv[1]));
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	static uint8_t b[70000];
	size_t n = msgr(b, sizeof(b), "\"hostile\" P", 1);
	int rc = 0;
	srand(4242);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 2; i < argc; i++) {
		const char *c = argv[i];
		n = msgr(b, sizeof(b), "\"hostile\" P", 1);
		if (!strcmp(c, "short"))
			rc |= udp(b, 10);
		else if (!strcmp(c, "version")) {
			b[2] = 1;
			rc |= udp(b, n);
		} else if (!strcmp(c, "flags")) {
			b[3] = 0x01;
			rc |= udp(b, n);
		} else if (!strcmp(c, "codelen")) {
			b[15] += 40;
			rc |= udp(b, n);
		} else if (!strcmp(c, "crc")) {
			b[0] ^= 0x55;
			rc |= udp(b, n);
		} else if (!strcmp(c, "oversize")) {
			memset(b, 'x', sizeof(b));
			rc |= udp(b, 65100);
		} else if (!strcmp(c, "random")) {
			for (int k = 0; k < 1000; k++) {
				size_t len = (size_t)rand() % 200;
				for (size_t j = 0; j < len; j++)
					b[j] = (uint8_t)rand();
				if (k % 3 == 0 && len > 4)
					b[2] = 0; /* get past the version */
				rc |= udp(b, len);
			}
		} else if (!strcmp(c, "tcpgarbage")) {
			memcpy(b, "GET / HTTP/1.0\r\n\r\n", 18);
			rc |= tcp(b, 18);
		} else if (!strcmp(c, "tcpcrc")) {
			b[1] ^= 1;
			rc |= tcp(b, n);
		} else if (!strcmp(c, "tcptrunc")) {
			rc |= tcp(b, n / 2);
		} else if (!strcmp(c, "tcpbig")) {
			b[12] = 0x40; /* 1 GiB of code announced */
			rc |= tcp(b, n);
		} else if (!strcmp(c, "ctl") && i + 1 < argc) {
			const char *path = argv[++i];
			struct pf_msg_hdr h = {PF_MSG_STATUS, 0, 99, 0};
			rc |= ctl(path, &h, sizeof(h)); /* another version */
			h = (struct pf_msg_hdr){
			    PF_MSG_STATUS, 0xffffffffu, PF_PROTO_VERSION, 0};
			rc |= ctl(path, &h, sizeof(h)); /* 4 GiB announced */
			h = (struct pf_msg_hdr){77, 3, PF_PROTO_VERSION, 0};
			memcpy(b, &h, sizeof(h));
			memcpy(b + sizeof(h), "abc", 3);
			rc |= ctl(path, b, sizeof(h) + 3); /* unknown request */
			h = (struct pf_msg_hdr){
			    PF_MSG_INJECT, 5, PF_PROTO_VERSION, 0};
			memcpy(b, &h, sizeof(h));
			memcpy(b + sizeof(h), "junk!", 5);
			rc |= ctl(path, b, sizeof(h) + 5); /* not a messenger */
			h = (struct pf_msg_hdr){
			    PF_MSG_KILL, 20, PF_PROTO_VERSION, 0};
			memcpy(b, &h, sizeof(h));
			memcpy(b + sizeof(h), "12345678901234567890", 20);
			rc |= ctl(path, b, sizeof(h) + 20); /* no such id */
		} else if (!strcmp(c, "env") && i + 1 < argc) {
			/* An envelope from a known key whose box is garbage. */
			const char *hex = argv[++i];
			memcpy(b, "M0\x01\x00\x00\x00\x00\x60", 8); /* 96 */
			for (int k = 0; k < 32 && hex[2 * k] && hex[2 * k + 1];
			     k++) {
				unsigned v;
				sscanf(hex + 2 * k, "%2x", &v);
				b[8 + k] = (uint8_t)v;
			}
			for (int k = 40; k < 160; k++)
				b[k] = (uint8_t)rand();
			rc |= udp(b, 160);
		} else if (!strcmp(c, "from") && i + 1 < argc) {
			from.sin_family = AF_INET;
			if (inet_pton(AF_INET, argv[++i], &from.sin_addr) != 1)
				return 2;
		} else if (!strcmp(c, "send") && i + 2 < argc) {
			int count = atoi(argv[++i]);
			const char *code = argv[++i];
			for (int k = 0; k < count; k++) {
				n = msgr(
				    b, sizeof(b), code, 1000 + (uint64_t)k);
				rc |= udp(b, n);
			}
		} else if (!strcmp(c, "tcpflood") && i + 3 < argc) {
			int conns = atoi(argv[i + 1]),
			    count = atoi(argv[i + 2]);
			rc |= tcpflood(conns, count, argv[i + 3]);
			i += 3;
		} else if (!strcmp(c, "hold") && i + 1 < argc) {
			sleep((unsigned)atoi(argv[++i]));
		} else if (!strcmp(c, "flood") && i + 1 < argc) {
			int count = atoi(argv[++i]);
			for (int k = 0; k < count; k++) {
				n = msgr(b, sizeof(b),
				    "longdict ( 1000000 sleep",
				    100 + (uint64_t)k);
				rc |= udp(b, n);
			}
		} else {
			fprintf(stderr, "hostile: unknown case %s\n", c);
			return 2;
		}
	}
	return rc;
}
