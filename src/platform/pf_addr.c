/*
 * pf_addr.c: socket addresses of the links: length, port, comparison,
 * "ADDR:PORT" both ways. A leaf every link file uses (pf_net.c, pf_udp.c,
 * pf_tcp.c, pf_auth.c, pf_egress.c), so none of them calls another for
 * these.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>

#include "pf_net.h"

size_t
pf__sa_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                 : sizeof(struct sockaddr_in);
}

int
pf__sa_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

/* Same host (and port when ports is set). */
static bool
sa_same(const struct sockaddr *a, const struct sockaddr *b, bool ports)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (ports && pf__sa_port(a) != pf__sa_port(b))
		return false;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		           &((const struct sockaddr_in6 *)b)->sin6_addr,
		           16) == 0;
	return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
	    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
}

bool
pf__sa_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	return sa_same(a, b, true);
}

bool
pf__sa_same_host(const struct sockaddr *a, const struct sockaddr *b)
{
	return sa_same(a, b, false);
}

void
pf_format_sa(const struct sockaddr *sa, char *buf, size_t len)
{
	char h[INET6_ADDRSTRLEN] = "?";
	if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, h,
		    sizeof(h));
		snprintf(buf, len, "[%s]:%d", h, pf__sa_port(sa));
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    h, sizeof(h));
		snprintf(buf, len, "%s:%d", h, pf__sa_port(sa));
	}
}

/* (h) a numeric IPv4 or IPv6 host; 0, or -1 when it is neither. */
int
pf__parse_host(const char *h, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, h, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, h, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -1;
}

/* Only what can be a host name is looked up (RFC 1123 letters, digits,
 * '-', '.'), so that garbage never becomes a DNS query; a fuzzing build
 * looks up nothing but localhost. */
static bool
host_name(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 253 || *h == '-' || *h == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.')
			return false;
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	return strcmp(h, "localhost") == 0;
#else
	return true;
#endif
}

/* A host name, resolved once, here (tools and configuration only, at
 * startup or reload): the first IPv4 answer, else the first. This is the
 * lookup uv_getaddrinfo() makes, without a loop to run it on. */
static int
resolve_host(const char *h, int port, struct sockaddr_storage *ss)
{
	if (!host_name(h))
		return -1;
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai, *a;
	if (getaddrinfo(h, NULL, &hints, &ai))
		return -1;
	for (a = ai; a && a->ai_family != AF_INET; a = a->ai_next)
		;
	if (!a)
		a = ai;
	int r = -1;
	if (a->ai_addrlen <= sizeof(*ss) &&
	    (a->ai_family == AF_INET || a->ai_family == AF_INET6)) {
		memset(ss, 0, sizeof(*ss));
		memcpy(ss, a->ai_addr, a->ai_addrlen);
		if (ss->ss_family == AF_INET6)
			((struct sockaddr_in6 *)ss)->sin6_port =
			    htons((uint16_t)port);
		else
			((struct sockaddr_in *)ss)->sin_port =
			    htons((uint16_t)port);
		r = 0;
	}
	freeaddrinfo(ai);
	return r;
}

int
pf_parse_hostport(const char *s, struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *p, *end;
	long port = PF_PORT;
	if (*s == '[') {
		end = strchr(s, ']');
		if (!end)
			return -1;
		p = end[1] == ':' ? end + 2 : (end[1] ? NULL : end + 1);
		s++;
	} else {
		end = strrchr(s, ':');
		if (end && strchr(s, ':') != end)
			end = NULL; /* a bare IPv6 address */
		p = end ? end + 1 : s + strlen(s);
		if (!end)
			end = s + strlen(s);
	}
	if (!p || (size_t)(end - s) >= sizeof(host))
		return -1;
	if (*p) {
		char *q;
		port = strtol(p, &q, 10);
		if (*q || port < 1 || port > 65535)
			return -1;
	}
	memcpy(host, s, (size_t)(end - s));
	host[end - s] = 0;
	if (!pf__parse_host(host, (int)port, ss))
		return 0;
	return resolve_host(host, (int)port, ss);
}
