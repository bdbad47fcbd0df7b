/*
 * m0run: runs a static x86-64 Linux program under the Linux personality
 * messenger (messengers/linux.m0, docs/native.md).
 *
 *   m0run [-t HOST[:PORT]] [--tcp] [-C DIR] [-e NAME=VALUE]... [--trace]
 *         [--stats] [--fund N [-s STATEDIR | -S SOCKET]] PROGRAM [ARG...]
 *
 * --fund N mints N units and deposits them before the personality runs:
 * with -t at the target (through its control socket), without -t on the
 * embedded platform, which then has the bank in -s STATEDIR and charges.
 *
 * The program, its arguments, environment, standard input and file tree
 * travel in the data field of one messenger (the "bundle", below). The
 * messenger runs on an embedded platform, as m0 runs one, or with -t on
 * the platform at HOST. Whatever the program writes comes back as
 * messengers whose code names the stream ("o" stdout, "e" stderr, "x"
 * the exit status) and whose data is the bytes; locally they arrive on
 * the console channel, remotely on our socket. m0run's exit status is
 * the program's (killed by signal S: 128 + S); 125 when the messenger
 * ended without saying how the program ended, 2 for usage errors.
 *
 * Bundle: "m0run1\n", then records, each
 *   tag(1) mode(4) uid(4) gid(4) mtime(8) namelen(4) datalen(4) name data
 * with big-endian integers. Tags: p program (name: its path), a argument,
 * v environment entry, i standard input, d directory, f file, l symlink
 * (data: target), t trace on, s count served calls. All of it must fit one MØ string.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fund_local.h"
#include "money.h"
#include "pf.h"
#include "pf_proto.h"

#define RUN_BUNDLE_MAX ((16u << 20) - 1) /* one MØ string (M0_MAX_LEN) */
#define RUN_STDIN_MAX (8u << 20)
#define RUN_TREE_DEPTH 32
#define RUN_TREE_ENTRIES 20000
#define RUN_EXIT_UNKNOWN 125
#define RUN_HOLE_MIN (64u << 10) /* files read at the end, in place */
#define RUN_HOLES_MAX 64         /* each holds a descriptor until then */

struct buf {
	uint8_t *p;
	size_t len, cap;
	bool over; /* a record did not fit: the bundle is refused */
};

/* A large file's bytes, not read yet: b->p[off, off + len) (record_file). */
struct hole {
	size_t off, len;
	int fd;
	char *name;
};

struct run {
	uv_loop_t loop;
	uv_udp_t udp;
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_write_t wreq;
	uv_timer_t wait;
	bool use_tcp;
	int status; /* -1 until an "x" record came */
	bool failed;
	uint8_t *msg;
	size_t msglen;
	struct buf rx; /* stream bytes not yet decoded */
	uint8_t dgram[65536];
	size_t entries;
	struct buf *bundle;
	struct hole holes[RUN_HOLES_MAX];
	size_t nholes;
	bool fill_failed;
	struct pf_host host; /* the embedded platform (local_open) */
	bool host_open;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: m0run [-t HOST[:PORT]] [--tcp] [-C DIR] [-e "
	    "NAME=VALUE]...\n"
	    "             [--trace] [--stats] [--fund N [-s STATEDIR | -S "
	    "SOCKET]]\n"
	    "             PROGRAM [ARG...]\n"
	    "  -t HOST[:PORT]  run on that platform (default: embedded)\n"
	    "  --tcp           send over TCP (also when the messenger is too\n"
	    "                  large for a datagram)\n"
	    "  -C DIR          DIR is the program's read-only root; /tmp is\n"
	    "                  writable and in memory\n"
	    "  -e NAME=VALUE   environment entry (the environment is empty\n"
	    "                  otherwise)\n"
	    "  --trace         print every system call to stderr (read\n"
	    "                  passthrough off)\n"
	    "  --stats         say how many system calls were served\n"
	    "  -w SECONDS      with -t: give up after that long (default "
	    "600)\n"
	    "  --fund N        mint N units and deposit them first: with -t "
	    "at the\n"
	    "                  target (same host), else on the embedded "
	    "platform,\n"
	    "                  which then charges (needs -s STATEDIR)\n"
	    "  -s STATEDIR, -S SOCKET  --fund: the target's control socket; "
	    "without\n"
	    "                  -t STATEDIR holds the embedded platform's "
	    "bank\n"
	    "  --help, --version\n"
	    "standard input is read up to 8 MiB unless it is a terminal\n");
}

/* Room for (n) more bytes; false (and b->over) when there is none. */
static bool
reserve(struct buf *b, size_t n)
{
	if (b->over || n > RUN_BUNDLE_MAX - b->len) {
		b->over = true;
		return false;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *np = realloc(b->p, cap);
		if (!np) {
			b->over = true;
			return false;
		}
		b->p = np;
		b->cap = cap;
	}
	return true;
}

static void
put(struct buf *b, const void *p, size_t n)
{
	if (n == 0 || !reserve(b, n))
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
put_be(struct buf *b, uint64_t v, int bytes)
{
	uint8_t x[8];
	for (int i = 0; i < bytes; i++)
		x[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	put(b, x, (size_t)bytes);
}

static void
record(struct buf *b, char tag, const struct stat *st, const char *name,
    const void *data, size_t dlen)
{
	size_t nlen = strlen(name);
	put(b, &tag, 1);
	put_be(b, st ? st->st_mode : 0, 4);
	put_be(b, st ? st->st_uid : 0, 4);
	put_be(b, st ? st->st_gid : 0, 4);
	put_be(b, st ? (uint64_t)st->st_mtime : 0, 8);
	put_be(b, nlen, 4);
	put_be(b, dlen, 4);
	put(b, name, nlen);
	put(b, data, dlen);
}

/*
 * A file record. A large file's bytes are left for later (a "hole" of the
 * bundle, its pages never touched here): fill() reads them straight into
 * their final place, the messenger's own string on the embedded platform,
 * so they are copied once (on this VM each fresh 4 KiB page costs ~10 µs:
 * 10 MiB read into the bundle and then copied into the messenger was 30-45
 * ms of m0run's start-up). The record holds the size fstat gave; a file
 * that shrinks before it is read is an error. Smaller files, and large
 * ones past RUN_HOLES_MAX, are read now. Returns 0, or -1 with errno.
 */
static int
record_file(struct run *r, struct buf *b, char tag, const struct stat *st,
    const char *name, int fd)
{
	size_t want = (size_t)st->st_size, got = 0, at;
	if (st->st_size < 0 || want > RUN_BUNDLE_MAX) {
		errno = EFBIG;
		return -1;
	}
	record(b, tag, st, name, NULL, 0);
	at = b->len - 4 - strlen(name); /* the data length field */
	if (want >= RUN_HOLE_MIN && r->nholes < RUN_HOLES_MAX) {
		struct hole *h = &r->holes[r->nholes];
		if (!reserve(b, want)) {
			errno = EFBIG;
			return -1;
		}
		if ((h->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
			return -1;
		if (!(h->name = strdup(name))) {
			close(h->fd);
			errno = ENOMEM;
			return -1;
		}
		h->off = b->len;
		h->len = want;
		r->nholes++;
		got = want;
	} else {
		for (;;) {
			if (b->len + got == b->cap &&
			    !reserve(b, got + 65536)) {
				errno = EFBIG; /* it grew while read */
				return -1;
			}
			ssize_t n = read(
			    fd, b->p + b->len + got, b->cap - b->len - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -1;
			if (n == 0)
				break;
			got += (size_t)n;
		}
	}
	for (int i = 0; i < 4; i++)
		b->p[at + (size_t)i] = (uint8_t)(got >> (8 * (3 - i)));
	b->len += got;
	return 0;
}

/* Hints for a large range about to be written (where they fail, pages
 * fault in as usual): huge pages, then all of them at once. In a virtual
 * machine each 4 KiB first touch can cost ~10 µs (here: 25 ms for 8 MiB,
 * 0.7 ms in huge pages). */
static void
hint_huge(uint8_t *p, size_t n)
{
	uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
	uintptr_t hi = (uintptr_t)(p + n) & ~(uintptr_t)4095;
	uintptr_t hlo = (lo + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1);
	if (hi > hlo)
		(void)madvise((void *)hlo, hi - hlo, MADV_HUGEPAGE);
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
}

/* Reads hole h into dst, its place in the messenger. Returns 0, or -1
 * after saying why. */
static int
fill_hole(struct hole *h, uint8_t *dst)
{
	size_t got = 0;
	while (got < h->len) {
		ssize_t n = pread(h->fd, dst + got, h->len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "m0run: %s: %s\n", h->name,
			    n ? strerror(errno) : "shrank while read");
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/*
 * Writes the bundle b, holes filled, at dst (len bytes: b->len): the
 * data field of the messenger. Closes the holes' files. Returns 0, or -1
 * after saying why (r->fill_failed).
 */
static int
fill(struct run *r, const struct buf *b, uint8_t *dst, size_t len)
{
	size_t at = 0;
	int err = 0;
	if (len != b->len) { /* cannot be: the messenger was sized by it */
		fprintf(stderr, "m0run: the bundle changed size\n");
		err = -1;
	}
	for (size_t i = 0; i < r->nholes; i++) {
		struct hole *h = &r->holes[i];
		if (!err) {
			memcpy(dst + at, b->p + at, h->off - at);
			hint_huge(dst + h->off, h->len);
			err = fill_hole(h, dst + h->off);
		}
		at = h->off + h->len;
		close(h->fd);
		free(h->name);
	}
	r->nholes = 0;
	if (!err)
		memcpy(dst + at, b->p + at, b->len - at);
	r->fill_failed = err != 0;
	return err;
}

/* For m0_state_new_msg_fill(): the embedded platform's messenger. */
static int
fill_msg(void *ud, uint8_t *dst, size_t len)
{
	struct run *r = ud;
	return fill(r, r->bundle, dst, len);
}

/* Reads a whole file into a malloc'd buffer, at most RUN_BUNDLE_MAX. */
static int
slurp(int fd, uint8_t **out, size_t *len, size_t max)
{
	size_t cap = 65536, n = 0;
	uint8_t *p = malloc(cap);
	if (!p)
		return -1;
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				free(p);
				errno = EFBIG;
				return -1;
			}
			uint8_t *np = realloc(p, cap * 2);
			if (!np) {
				free(p);
				return -1;
			}
			p = np;
			cap *= 2;
		}
		ssize_t r = read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(p);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(p);
		errno = EFBIG;
		return -1;
	}
	*out = p;
	*len = n;
	return 0;
}

/* Adds the tree under host directory (dir), named (name) in the guest. */
static int
pack_tree(
    struct run *r, struct buf *b, const char *dir, const char *name, int depth)
{
	if (depth > RUN_TREE_DEPTH) {
		fprintf(stderr, "m0run: %s: deeper than %d levels\n", dir,
		    RUN_TREE_DEPTH);
		return -1;
	}
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "m0run: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	struct dirent *de;
	int err = 0;
	while (!err && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (++r->entries > RUN_TREE_ENTRIES) {
			fprintf(stderr, "m0run: -C: more than %d entries\n",
			    RUN_TREE_ENTRIES);
			err = -1;
			break;
		}
		char host[4096], guest[4096];
		struct stat st;
		if ((size_t)snprintf(host, sizeof(host), "%s/%s", dir,
		        de->d_name) >= sizeof(host) ||
		    (size_t)snprintf(guest, sizeof(guest), "%s/%s", name,
		        de->d_name) >= sizeof(guest)) {
			fprintf(stderr, "m0run: %s: name too long\n", dir);
			err = -1;
			break;
		}
		if (lstat(host, &st)) {
			fprintf(
			    stderr, "m0run: %s: %s\n", host, strerror(errno));
			err = -1;
		} else if (S_ISDIR(st.st_mode)) {
			record(b, 'd', &st, guest, NULL, 0);
			err = pack_tree(r, b, host, guest, depth + 1);
		} else if (S_ISLNK(st.st_mode)) {
			char t[4096];
			ssize_t n = readlink(host, t, sizeof(t));
			if (n > 0 && (size_t)n < sizeof(t))
				record(b, 'l', &st, guest, t, (size_t)n);
		} else if (S_ISREG(st.st_mode)) {
			int fd = open(host, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || record_file(r, b, 'f', &st, guest, fd)) {
				fprintf(stderr, "m0run: %s: %s\n", host,
				    strerror(errno));
				err = -1;
			}
			if (fd >= 0)
				close(fd);
		} /* devices, sockets and fifos are left out */
	}
	closedir(d);
	return err;
}

/* The bundle: the data field of the messenger. */
static int
pack(struct run *r, struct buf *b, const char *prog, char **argv, int argc,
    char **env, int nenv, const char *root, bool trace, bool stats)
{
	static const char magic[] = "m0run1\n";
	put(b, magic, sizeof(magic) - 1);
	struct stat st;
	int fd = open(prog, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || record_file(r, b, 'p', &st, prog, fd)) {
		fprintf(stderr, "m0run: %s: %s\n", prog, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	for (int i = 0; i < argc; i++)
		record(b, 'a', NULL, argv[i], NULL, 0);
	for (int i = 0; i < nenv; i++)
		record(b, 'v', NULL, env[i], NULL, 0);
	if (trace)
		record(b, 't', NULL, "", NULL, 0);
	if (stats)
		record(b, 's', NULL, "", NULL, 0);
	if (root) {
		if (stat(root, &st) || !S_ISDIR(st.st_mode)) {
			fprintf(
			    stderr, "m0run: -C %s: not a directory\n", root);
			return -1;
		}
		record(b, 'd', &st, "/", NULL, 0);
		if (pack_tree(r, b, root, "", 0))
			return -1;
	}
	if (!isatty(0)) {
		uint8_t *img;
		size_t len;
		if (slurp(0, &img, &len, RUN_STDIN_MAX)) {
			fprintf(stderr, "m0run: standard input: %s%s\n",
			    strerror(errno),
			    errno == EFBIG ? " (at most 8 MiB)" : "");
			return -1;
		}
		record(b, 'i', NULL, "", img, len);
		free(img);
	}
	if (b->over) {
		fprintf(stderr,
		    "m0run: program, files and input exceed %u "
		    "bytes\n",
		    RUN_BUNDLE_MAX);
		return -1;
	}
	return 0;
}

/* One reply: code "o", "e" or "x", data the bytes. */
static void
reply(struct run *r, const struct m0_msg *m)
{
	const uint8_t *d = m->data ? m->data : (const uint8_t *)"";
	size_t n = m->data ? m->data_len : 0;
	if (m->code_len != 1)
		return;
	switch (m->code[0]) {
	case 'o':
		fwrite(d, 1, n, stdout);
		break;
	case 'e':
		fflush(stdout);
		fwrite(d, 1, n, stderr);
		break;
	case 'x': {
		char num[16] = {0};
		memcpy(num, d, n < 15 ? n : 15);
		r->status = atoi(num) & 255;
		uv_stop(&r->loop);
		break;
	}
	default:
		break;
	}
}

/* Decodes whole messengers from r->rx; anything else is dropped. */
static void
drain(struct run *r)
{
	size_t off = 0;
	while (off < r->rx.len) {
		const uint8_t *p = r->rx.p + off;
		size_t have = r->rx.len - off, need = m0_wire_need(p, have);
		if (need == 0 || need > have)
			break;
		struct m0_msg m;
		size_t used;
		if (m0_wire_decode(p, need, UINT32_MAX, &m, &used) ==
		    M0_WIRE_OK)
			reply(r, &m);
		off += need;
	}
	memmove(r->rx.p, r->rx.p + off, r->rx.len - off);
	r->rx.len -= off;
}

static void
console_out(void *ud, struct pf_proc *p, const void *buf, size_t len)
{
	struct run *r = ud;
	put(&r->rx, buf, len);
	drain(r);
}

static void
on_end(void *ud, struct pf_proc *p, uint64_t id, int end, const char *err)
{
	struct run *r = ud;
	if (r->status >= 0 || (!err && end != M0_END_KILLED))
		return;
	fflush(stdout);
	fprintf(stderr, "m0run: the personality ended: %s\n",
	    err ? err : "removed by the platform (a limit, or out of money)");
}

/*
 * The embedded platform, as m0 makes one. With (state) (--fund without
 * -t) it has money: the bank in that directory, a charged economy (native
 * time, guest memory and steps cost units), and (fund) units minted there
 * are deposited before the personality starts, as `m0 --state DIR
 * --economy charged --fund N` does; a program then ends when its money
 * does (status 125). It is opened before the files are read: its native
 * backend is probed and a context made meanwhile, in a thread (the
 * address space the probe's process is cloned from is still small).
 */
static int
local_open(struct run *r, size_t srclen, const char *state)
{
	struct pf_host_config hc = {
	    .state_dir = state, .native = 1, .native_warm = 1};
	struct pf_config *cfg = &hc.pf;
	char err[400];
	cfg->slice = 1000;
	getrandom(&cfg->hid, sizeof(cfg->hid), 0);
	getrandom(&cfg->pid, sizeof(cfg->pid), 0);
	/* The bundle is the process's; its copies (fork, reads) too. */
	cfg->lim.max_msg =
	    (uint32_t)(srclen + RUN_BUNDLE_MAX + 4 * MONEY_TOKEN_LEN + 80);
	cfg->lim.heap_quota = 256u << 20;
	hc.money.charged = state != NULL;
	if (pf_host_open(&r->host, &r->loop, &hc, err, sizeof(err))) {
		fprintf(stderr, "m0run: %s\n", err);
		return 1;
	}
	r->host_open = true;
	pf_set_console(r->host.pf, console_out, r);
	pf_set_end(r->host.pf, on_end, r);
	return 0;
}

static void
local_close(struct run *r)
{
	if (!r->host_open)
		return;
	pf_host_close(&r->host);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	pf_host_free(&r->host);
	r->host_open = false;
}

/* Runs the personality with bundle b on the platform local_open() made;
 * with (fund), that many units minted and deposited first. */
static int
run_local(struct run *r, const char *src, size_t srclen, struct buf *b,
    long long fund)
{
	struct pf_platform *pf = r->host.pf;
	char *funded = NULL;
	int rc = 1;
	if (fund &&
	    !(src = funded =
	            fund_local(&r->loop, pf, fund, src, &srclen, "m0run")))
		goto out;
	struct m0_msg msg = {.code = (const uint8_t *)src,
	    .code_len = (uint32_t)srclen,
	    .data = b->p,
	    .data_len = (uint32_t)b->len};
	getrandom(&msg.queue, sizeof(msg.queue), 0);
	r->bundle = b;
	int e = pf_spawn_fill(pf, &msg, fill_msg, r, NULL);
	if (e) {
		if (!r->fill_failed) /* else fill() said why */
			fprintf(stderr,
			    "m0run: cannot start the personality: %s\n",
			    e > 0 ? m0_strerror(e) : "dropped");
		goto out;
	}
	uv_run(&r->loop, UV_RUN_DEFAULT);
	fflush(stdout);
	rc = 0;
out:
	local_close(r);
	free(funded);
	return rc;
}

static void
on_timer(uv_timer_t *t)
{
	struct run *r = t->data;
	fprintf(stderr, "m0run: no exit status came back in time\n");
	uv_stop(&r->loop);
}

static void
rx_alloc(uv_handle_t *h, size_t hint, uv_buf_t *out)
{
	struct run *r = h->data;
	if (!r->use_tcp) {
		*out = uv_buf_init((char *)r->dgram, sizeof(r->dgram));
		return;
	}
	if (r->rx.cap - r->rx.len < 65536) {
		size_t ncap = r->rx.cap ? r->rx.cap * 2 : 262144;
		uint8_t *np =
		    ncap <= (64u << 20) ? realloc(r->rx.p, ncap) : NULL;
		if (!np) {
			*out = uv_buf_init(NULL, 0);
			return;
		}
		r->rx.p = np;
		r->rx.cap = ncap;
	}
	*out = uv_buf_init(
	    (char *)r->rx.p + r->rx.len, (unsigned)(r->rx.cap - r->rx.len));
}

static void
udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
    const struct sockaddr *from, unsigned flags)
{
	struct m0_msg m;
	size_t used;
	if (n > 0 && from &&
	    m0_wire_decode((uint8_t *)buf->base, (size_t)n, UINT32_MAX, &m,
	        &used) == M0_WIRE_OK)
		reply(h->data, &m);
}

static void
tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct run *r = s->data;
	if (n < 0) {
		if (r->status < 0)
			fprintf(stderr,
			    "m0run: the platform closed the "
			    "connection\n");
		uv_stop(&r->loop);
		return;
	}
	r->rx.len += (size_t)n;
	drain(r);
}

static void
tcp_written(uv_write_t *req, int status)
{
	struct run *r = req->data;
	if (status < 0) {
		fprintf(stderr, "m0run: send: %s\n", uv_strerror(status));
		r->failed = true;
		uv_stop(&r->loop);
	}
}

static void
tcp_connected(uv_connect_t *req, int status)
{
	struct run *r = req->data;
	uv_buf_t b = uv_buf_init((char *)r->msg, (unsigned)r->msglen);
	r->wreq.data = r;
	if (status < 0 ||
	    uv_read_start((uv_stream_t *)&r->tcp, rx_alloc, tcp_read) ||
	    uv_write(&r->wreq, (uv_stream_t *)&r->tcp, &b, 1, tcp_written)) {
		fprintf(stderr, "m0run: connect: %s\n",
		    uv_strerror(status < 0 ? status : UV_EIO));
		r->failed = true;
		uv_stop(&r->loop);
	}
}

static void
close_cb(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static int
run_remote(struct run *r, const char *target, uint64_t wait_ms, const char *src,
    size_t srclen, struct buf *b)
{
	struct sockaddr_storage to;
	if (pf_parse_hostport(target, &to)) {
		fprintf(stderr, "m0run: -t: not HOST[:PORT]: %s\n", target);
		return 2;
	}
	struct m0_msg m = {.code = (const uint8_t *)src,
	    .code_len = (uint32_t)srclen,
	    .data = b->p,
	    .data_len = (uint32_t)b->len};
	getrandom(&m.queue, sizeof(m.queue), 0);
	r->msglen = m0_wire_size(&m);
	if (!(r->msg = malloc(r->msglen)))
		return 1;
	m0_wire_encode_head(&m, r->msg, r->msglen);
	if (fill(r, b, r->msg + r->msglen - b->len, b->len))
		return 1;
	if (r->msglen > 65000)
		r->use_tcp = true;
	uv_timer_init(&r->loop, &r->wait);
	r->wait.data = r;
	int e;
	if (r->use_tcp) {
		uv_tcp_init(&r->loop, &r->tcp);
		r->tcp.data = r->creq.data = r;
		e = uv_tcp_connect(
		    &r->creq, &r->tcp, (struct sockaddr *)&to, tcp_connected);
	} else {
		struct sockaddr_storage any;
		pf_parse_hostport(
		    to.ss_family == AF_INET6 ? "[::]:1" : "0.0.0.0:1", &any);
		((struct sockaddr_in *)&any)->sin_port = 0; /* same in v6 */
		uv_udp_init(&r->loop, &r->udp);
		r->udp.data = r;
		uv_buf_t ub = uv_buf_init((char *)r->msg, (unsigned)r->msglen);
		e = uv_udp_bind(&r->udp, (struct sockaddr *)&any, 0);
		if (!e)
			e = uv_udp_recv_start(&r->udp, rx_alloc, udp_recv);
		if (!e) {
			e = uv_udp_try_send(
			    &r->udp, &ub, 1, (struct sockaddr *)&to);
			e = e == (int)r->msglen ? 0 : (e < 0 ? e : UV_EMSGSIZE);
		}
	}
	if (e) {
		fprintf(
		    stderr, "m0run: send to %s: %s\n", target, uv_strerror(e));
		r->failed = true;
	} else {
		uv_timer_start(&r->wait, on_timer, wait_ms, 0);
		uv_run(&r->loop, UV_RUN_DEFAULT);
	}
	fflush(stdout);
	uv_walk(&r->loop, close_cb, NULL);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	return r->failed ? 1 : 0;
}

/* The personality: $M0RUN_LINUX, the installed one, or the source
 * tree's (a build that was not installed). */
static int
load_personality(char **src, size_t *len)
{
	const char *env = getenv("M0RUN_LINUX");
	const char *cand[] = {env, M0RUN_LINUX_INSTALLED, M0RUN_LINUX_SOURCE};
	char err[512];
	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
		if (!cand[i] || access(cand[i], R_OK))
			continue;
		if (pf_load_source(
		        cand[i], NULL, 0, src, len, err, sizeof(err))) {
			fprintf(stderr, "m0run: %s\n", err);
			return -1;
		}
		return 0;
	}
	fprintf(stderr, "m0run: linux.m0 not found (set M0RUN_LINUX)\n");
	return -1;
}

int
main(int argc, char **argv)
{
	static struct run r;
	static const struct option opts[] = {{"tcp", no_argument, 0, 'T'},
	    {"trace", no_argument, 0, 'r'}, {"stats", no_argument, 0, 'c'},
	    {"fund", required_argument, 0, 'F'}, {"help", no_argument, 0, 'h'},
	    {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
	const char *target = NULL, *root = NULL, *state = ".", *sock = NULL;
	/* Static: held until exit, also on the early returns. */
	static char **env;
	env = calloc((size_t)argc, sizeof(*env));
	int nenv = 0;
	bool trace = false, stats = false, state_set = false;
	long long fund = 0;
	uint64_t wait_ms = 600000;
	int c;
	if (!env)
		return 1;
	/* "+": options end at PROGRAM; its own options are its arguments. */
	while ((c = getopt_long(argc, argv, "+t:C:e:w:s:S:hV", opts, NULL)) !=
	    -1) {
		char *end;
		switch (c) {
		case 't':
			target = optarg;
			break;
		case 'T':
			r.use_tcp = true;
			break;
		case 'C':
			root = optarg;
			break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				goto bad;
			env[nenv++] = optarg;
			break;
		case 'r':
			trace = true;
			break;
		case 'c':
			stats = true;
			break;
		case 'w': {
			double v = strtod(optarg, &end);
			if (*end || !(v > 0) || v > 86400)
				goto bad;
			wait_ms = (uint64_t)(v * 1000);
			break;
		}
		case 'F':
			fund = strtoll(optarg, &end, 10);
			if (*end || fund < 1)
				goto bad;
			break;
		case 's':
			state = optarg;
			state_set = true;
			break;
		case 'S':
			sock = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("m0run (mzero) %s\n", MZERO_VERSION);
			return 0;
		default:
			goto bad;
		}
	}
	/* --fund pays on a platform with money: the target's (its control
	 * socket in STATEDIR or at SOCKET), or without -t the embedded one,
	 * whose bank is then STATEDIR, which must be named */
	if (optind >= argc || (fund && !target && !state_set))
		goto bad;
	char *src = NULL;
	size_t srclen;
	struct buf b = {0};
	int err = 2;
	r.status = -1;
	uv_loop_init(&r.loop);
	if (load_personality(&src, &srclen))
		goto out;
	if (!target && local_open(&r, srclen, fund ? state : NULL)) {
		err = 1;
		goto out;
	}
	if (pack(&r, &b, argv[optind], argv + optind, argc - optind, env, nenv,
	        root, trace, stats))
		goto out;
	if (fund && target) {
		char ctl[1100];
		size_t pl;
		snprintf(ctl, sizeof(ctl), "%s/%s", state, PF_CONTROL_NAME);
		char ferr[1200];
		char *pre = pf_ctl_fund(
		    sock ? sock : ctl, fund, &pl, ferr, sizeof(ferr));
		if (!pre)
			fprintf(stderr, "m0run: --fund: %s\n", ferr);
		char *both = pre ? malloc(pl + srclen + 1) : NULL;
		if (!both) {
			free(pre);
			err = 1;
			goto out;
		}
		memcpy(both, pre, pl);
		memcpy(both + pl, src, srclen + 1);
		free(pre);
		free(src);
		src = both;
		srclen += pl;
	}
	err = target ? run_remote(&r, target, wait_ms, src, srclen, &b)
	             : run_local(&r, src, srclen, &b, fund);
	if (!err && r.status < 0) {
		fprintf(stderr,
		    "m0run: the program's exit status did not "
		    "come back\n");
		err = RUN_EXIT_UNKNOWN;
	} else if (!err)
		err = r.status;
out:
	local_close(&r);
	uv_loop_close(&r.loop);
	free(src);
	free(b.p);
	free(r.msg);
	free(r.rx.p);
	free(env);
	return err;
bad:
	free(env);
	usage(stderr);
	return 2;
}
