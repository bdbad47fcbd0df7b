/*
 * pf_net.h: internals of the network links (udpip, tcpip). One struct
 * pf_net per platform owns the listen sockets (one UDP and one TCP socket
 * per listen address; the index of an address is the ifindex messengers
 * use), the pool of TCP connections, the neighbours, the per-destination
 * rate limit and the drop counters.
 */
#ifndef PF_NET_H
#define PF_NET_H

#include <netinet/in.h>
#include <stdbool.h>

#include "pf_int.h"

#define PF_NET_MAX_LISTEN 16
#define PF_RATE_SLOTS 4096
#define PF_AUTH_VERSION 1            /* envelope version byte */
#define PF_AUTH_WINDOW_US 60000000LL /* envelope age accepted */
#define PF_REPLAY_BITS 4096          /* per-peer replay window */
#define PF_REPLAY_CLOCK_SHIFT 8      /* send counters start at µs << 8 */

enum pf_fkind { PF_FUDP, PF_FTCP };

/* One listen address: its UDP socket and TCP listener. */
struct pf_listen {
	struct pf_net *net;
	int index;
	struct sockaddr_storage sa;
	uv_udp_t udp;
	uv_tcp_t tcp;
	bool udp_on, tcp_on;
};

/* The destination behind a channel key. */
struct pf_dest {
	enum pf_fkind kind;
	int ifindex;
	struct sockaddr_storage sa;
};

/* Token bucket of one destination (a fixed table: slots are shared by
 * destinations that hash alike, and then a newcomer takes the slot). */
struct pf_rate {
	struct sockaddr_storage sa;
	int64_t last_us;
	int64_t tokens; /* µ-tokens: 1000000 per messenger */
	bool used;
};

/* Replay state of one pinned neighbour (pf_replay.c), by its key. */
struct pf_peer_ctr {
	unsigned char pk[32];
	uint64_t tx;                       /* last counter sent to it */
	uint64_t top;                      /* highest counter seen from it */
	uint64_t map[PF_REPLAY_BITS / 64]; /* seen, below and at top */
};

enum pf_cstate { PF_CCONNECTING, PF_COPEN, PF_CCLOSING };

struct pf_conn {
	struct pf_net *net;
	uv_tcp_t h;
	uv_connect_t creq;
	struct sockaddr_storage peer;
	int ifindex;
	enum pf_cstate state;
	bool inbound;
	bool authed;    /* a pinned neighbour's envelope came on it */
	size_t auth_ix; /* that neighbour */
	uint8_t *rx;
	size_t rxlen, rxcap;
	size_t queued; /* bytes written and not yet completed */
	int64_t last_us;
	int64_t frame_us;     /* when the unfinished frame began, 0: none */
	struct pf_orig *orig; /* the peer's host: holds the record and rx */
	struct pf_conn *prev, *next;
};

struct pf_net {
	struct pf_platform *pf;
	uv_loop_t *loop;
	struct pf_net_config cfg;
	int (*setup)(struct m0_state *s);
	struct pf_listen ls[PF_NET_MAX_LISTEN];
	int nls;
	bool started;
	bool closing;
	uint8_t *rxbuf; /* UDP receive buffer, cfg.max_dgram bytes */
	struct pf_conn *conns;
	uint32_t nconns;
	uint32_t nin, nout; /* of nconns: accepted, opened by us */
	uv_timer_t sweep;
	struct pf_neighbour *nbr;
	size_t nnbr;
	struct pf_rate *rate;
	struct pf_net_stats st;
	int pending_close; /* handles not yet closed */
	/* authenticated links (pf_auth.c) */
	bool has_identity;
	unsigned char *auth_sk; /* Curve25519 secret, sodium_malloc */
	unsigned char auth_pk[32];
	unsigned char *auth_k;    /* shared key per neighbour, sodium_malloc */
	struct pf_egress *egress; /* budgets toward strangers (pf_egress.c) */
	struct sockaddr_storage *bcast; /* the broadcast addresses of _bca */
	size_t nbcast;
	uint8_t *framebuf; /* a string framed as a messenger */
	size_t framecap;
	struct pf_peer_ctr *peer; /* one per entry of nbr */
	size_t npeer;
	char *replay_path;
	bool replay_dirty;
	int64_t replay_saved_us;
	uint8_t *authbuf; /* opened envelopes and envelopes to send */
	size_t authcap;
};

/* pf_net.c */
void pf__net_arrive(struct pf_net *n, enum pf_fkind kind, int ifindex,
    const struct sockaddr *from, const struct m0_msg *msg);
bool pf__net_rate_ok(struct pf_net *n, const struct sockaddr *sa);
/* The origin that link buffers are charged to: the host of (peer), or
 * with NULL the process whose send is being made (the local origin when
 * none). NULL when out of memory. */
struct pf_orig *pf__net_orig(struct pf_net *n, const struct sockaddr *peer);
/* Link buffers (connections, receive buffers, queued sends) count in the
 * daemon's memory budget and their origin's share while they are held:
 * hold takes (len) bytes for (o), or counts link_memory and returns false
 * (an (o) holding nothing then goes); release gives them back. */
bool pf__net_hold(struct pf_net *n, struct pf_orig *o, size_t len);
void pf__net_release(struct pf_net *n, struct pf_orig *o, size_t len);

/* pf_addr.c */
int pf__sa_port(const struct sockaddr *sa);
bool pf__sa_equal(const struct sockaddr *a, const struct sockaddr *b);
bool pf__sa_same_host(const struct sockaddr *a, const struct sockaddr *b);
size_t pf__sa_len(const struct sockaddr *sa);
int pf__parse_host(const char *h, int port, struct sockaddr_storage *ss);
void pf__net_handle_closed(uv_handle_t *h);

/* pf_auth.c */
int pf__auth_derive(struct pf_net *n);
void pf__auth_free(struct pf_net *n);
const struct pf_neighbour *pf__auth_pinned(
    const struct pf_net *n, const struct sockaddr *sa, size_t *ix);
size_t pf__auth_wrap(struct pf_net *n, size_t ix, const uint8_t *in, size_t len,
    uint8_t *out, size_t cap);
int pf__auth_open(struct pf_net *n, const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, size_t *outlen, size_t *from_ix);
/* Bytes of the envelope at p (0: its length is not there yet). */
size_t pf__auth_frame_len(const uint8_t *p, size_t have);

/* pf_egress.c: a string to send as a messenger (*buf, *len: framed in
 * n->framebuf unless it is one); 0, or the drop reason */
int pf__egress_frame(struct pf_net *n, const uint8_t **buf, size_t *len);
/* 0 when (len) bytes may go to (d), else the drop reason */
int pf__egress_check(
    struct pf_net *n, const struct pf_dest *d, const uint8_t *buf, size_t len);
void pf__egress_earn(struct pf_net *n, const struct sockaddr *from, size_t len);
void pf__egress_free(struct pf_net *n);

/* pf_replay.c */
int pf__replay_sync(struct pf_net *n);
uint64_t pf__replay_next(struct pf_net *n, size_t ix);
bool pf__replay_accept(struct pf_net *n, size_t ix, uint64_t ctr);
void pf__replay_save(struct pf_net *n, bool force);
void pf__replay_free(struct pf_net *n);

/* pf_udp.c */
int pf__udp_open(struct pf_listen *l, char *err, size_t errlen);
void pf__udp_input(struct pf_listen *l, const uint8_t *p, size_t len,
    const struct sockaddr *from, bool partial);
void pf__udp_send(
    struct pf_net *n, const struct pf_dest *d, const uint8_t *buf, size_t len);

/* pf_tcp.c */
int pf__tcp_open(struct pf_listen *l, char *err, size_t errlen);
void pf__tcp_send(
    struct pf_net *n, const struct pf_dest *d, const uint8_t *buf, size_t len);
void pf__tcp_sweep(struct pf_net *n, int64_t now_us);
void pf__tcp_close_all(struct pf_net *n);
void pf__tcp_input(struct pf_conn *c, const uint8_t *p, size_t len);
struct pf_conn *pf__tcp_conn_fake(
    struct pf_net *n, const struct sockaddr *peer);

#endif
