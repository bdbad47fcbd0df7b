/*
 * pf_proto.h: the control socket protocol between mdaemon and m0ctl,
 * versioned (after tmux-protocol.h). The socket is a Unix stream socket
 * in the state directory, owner-only; both ends run on one host, so the
 * header is in host byte order.
 *
 * A client sends one request: a header and len bytes of payload. The
 * daemon answers with one PF_MSG_REPLY (text, or JSON when asked) or one
 * PF_MSG_ERROR (text), then closes. A header with another version, an
 * unknown type or an oversized payload gets PF_MSG_ERROR and the close.
 */
#ifndef PF_PROTO_H
#define PF_PROTO_H

#include <stdint.h>

#define PF_PROTO_VERSION 1
#define PF_PROTO_MAX (16u << 20)  /* payload bytes */
#define PF_CONTROL_NAME "control" /* in the state directory */

enum pf_msg_type {
	PF_MSG_STATUS = 1,  /* payload: "" or "json" */
	PF_MSG_PS,          /* payload: "" or "json" */
	PF_MSG_KILL,        /* payload: a process id (decimal) or a queue
			       key (16 hex digits) */
	PF_MSG_NEIGHBOURS,  /* payload: "" or "json" */
	PF_MSG_INJECT,      /* payload: a messenger (spec A6) */
	PF_MSG_MINT,        /* payload: an amount (decimal); the reply is a
			       fresh token in hex, sent once it is durable */
	PF_MSG_STOP,        /* payload: ""; the daemon stops once answered */
	PF_MSG_RELOAD,      /* payload: ""; rereads the configuration (as
			       SIGHUP); the reply says what changed */
	PF_MSG_REPLY = 100, /* payload: the answer */
	PF_MSG_ERROR,       /* payload: why not */
};

struct pf_msg_hdr {
	uint32_t type;
	uint32_t len;
	uint32_t version;
	uint32_t flags; /* 0 */
};

#endif
