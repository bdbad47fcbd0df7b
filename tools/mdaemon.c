/*
 * mdaemon: the messenger platform of one host. It listens for messengers
 * on UDP and TCP, runs each arrival as a process, and lets messengers send
 * to neighbours, to whoever sent them, and to the console.
 *
 *   mdaemon [-c FILE] [-l ADDR:PORT]... [-N NAME=ADDR:PORT]... [-s STATEDIR]
 *           [--economy free|charged] [-f] [-n] [-v]
 *
 * With no configuration it listens on 127.0.0.1:19760 and keeps its state
 * in the working directory. Flags override the file. SIGTERM and SIGINT
 * stop it cleanly, SIGHUP reloads the neighbours, SIGUSR1 logs the
 * counters (they are logged at shutdown too). m0ctl talks to it through
 * STATEDIR/control.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "money.h"
#include "pf.h"
#include "pf_proto.h"

struct daemon {
	uv_loop_t loop;
	struct pf_platform *pf;
	struct pf_net *net;
	struct pf_ctl *ctl;
	struct pf_conf conf;
	const char *conf_path;
	char **nbr_flags; /* -N, applied again on reload */
	int nnbr_flags;
	uv_signal_t sig[4];
	int64_t started_us;
	int lock_fd;
	struct pf_host host;  /* platform, bank, money, exchange */
	char pubkey[65];      /* hex, for m0ctl status */
	char state_abs[4096]; /* the state directory, absolute */
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mdaemon [-c FILE] [-l ADDR:PORT]... [-N "
	    "NAME=ADDR:PORT]...\n"
	    "               [-s STATEDIR] [--economy free|charged] [--log "
	    "FILE]\n"
	    "               [-f] [-n] [-p] [-v]\n"
	    "  -c FILE     configuration (INI; see docs/platform.md; the unit\n"
	    "              passes " PF_CONF_PATH ")\n"
	    "  -l ADDR:PORT  listen for UDP and TCP (repeatable; IPv6 as\n"
	    "              [ADDR]:PORT; default 127.0.0.1:19760; broadcast\n"
	    "              reaches only 0.0.0.0:PORT)\n"
	    "  -N NAME=ADDR:PORT[,KEY]  add a neighbour (repeatable); KEY, "
	    "its\n"
	    "              public key in hex, pins it: authenticated links "
	    "only\n"
	    "  -s STATEDIR state directory (default: the working directory)\n"
	    "  --economy free|charged  whether services are paid for\n"
	    "              (default free; docs/money.md)\n"
	    "  -f          stay in the foreground\n"
	    "  -n          check the configuration and exit\n"
	    "  -p          print this platform's public key and exit\n"
	    "  --log FILE  log to FILE (default: stderr, the journal under\n"
	    "              systemd, syslog once daemonised)\n"
	    "  -v          log debug messages\n"
	    "  -h, --help  this text\n"
	    "  -V, --version  the version\n");
}

/* ---- the console family and the end of processes ---- */

static void
console_out(void *ud, struct pf_proc *p, const void *buf, size_t len)
{
	fwrite(buf, 1, len, stdout);
	fflush(stdout);
}

static void
on_end(void *ud, struct pf_proc *p, uint64_t id, int end, const char *err)
{
	if (err)
		log_info("process %llu: %s", (unsigned long long)id, err);
	else
		log_debug(
		    "process %llu ended (%d)", (unsigned long long)id, end);
}

static int
proc_setup(struct m0_state *s)
{
	return m0_state_add_console_words(s);
}

/* ---- counters ---- */

/* The status table, as m0ctl status shows it (pf_status.c). */
static void
log_stats(struct daemon *d)
{
	struct pf_status st = {0};
	pf_status_collect(d->pf, d->net, &st);
	pf_status_log(&st);
	pf_status_free(&st);
}

/* ---- configuration ---- */

static int
apply_nbr_flags(struct daemon *d, struct pf_conf *c)
{
	char err[300];
	for (int i = 0; i < d->nnbr_flags; i++) {
		char name[80];
		const char *eq = strchr(d->nbr_flags[i], '=');
		size_t nl = eq ? (size_t)(eq - d->nbr_flags[i]) : 0;
		if (!eq || nl >= sizeof(name)) {
			log_warnx(
			    "-N %s: want NAME=ADDR:PORT", d->nbr_flags[i]);
			return -1;
		}
		memcpy(name, d->nbr_flags[i], nl);
		name[nl] = 0;
		if (pf_conf_add_neighbour(c, name, eq + 1, err, sizeof(err))) {
			log_warnx("-N: %s", err);
			return -1;
		}
	}
	return 0;
}

static bool
loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
		    &((struct sockaddr_in6 *)ss)->sin6_addr);
	return (ntohl(((struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) ==
	    127;
}

/* SIGHUP and m0ctl reload; (msg) says what happened. */
static int
reload_msg(void *ud, char *msg, size_t len)
{
	struct daemon *d = ud;
	struct pf_conf c;
	char err[400];
	pf_conf_init(&c);
	if (d->conf_path && pf_conf_load(&c, d->conf_path, err, sizeof(err))) {
		snprintf(msg, len, "reload: %s; neighbours unchanged", err);
		log_warnx("%s", msg);
		return -1;
	}
	if (apply_nbr_flags(d, &c)) {
		snprintf(msg, len, "reload: bad -N; neighbours unchanged");
		return -1;
	}
	int e = pf_net_set_neighbours(d->net, c.nbr, c.nnbr);
	if (e)
		snprintf(msg, len, "reload: %s", pf_strerror(e));
	else
		snprintf(msg, len, "reload: %zu neighbours", c.nnbr);
	if (e)
		log_warnx("%s", msg);
	else
		log_info("%s", msg);
	return e ? -1 : 0;
}

static void
reload(struct daemon *d)
{
	char msg[400];
	reload_msg(d, msg, sizeof(msg));
}

/* m0ctl stop, once its answer is written. */
static void
stop_daemon(void *ud)
{
	struct daemon *d = ud;
	log_info("m0ctl stop: shutting down");
	uv_stop(&d->loop);
}

/* ---- state directory: lock and identity ---- */

/* The lock file names the daemon's pid (after daemon(3) forked). */
static void
write_pid(struct daemon *d)
{
	char pidbuf[32];
	int n = snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)getpid());
	if (ftruncate(d->lock_fd, 0) ||
	    pwrite(d->lock_fd, pidbuf, (size_t)n, 0) < 0)
		log_warn("%s/mdaemon.lock", d->conf.state_dir);
}

/* The lock of the state directory: one daemon at a time. */
static int
state_lock(struct daemon *d)
{
	const char *dir = d->conf.state_dir;
	char path[1100];
	if (mkdir(dir, 0700) && errno != EEXIST)
		fatal("state directory %s", dir);
	snprintf(path, sizeof(path), "%s/mdaemon.lock", dir);
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0)
		fatal("%s", path);
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB)) {
		log_warnx(
		    "state directory %s is in use by another mdaemon", dir);
		return -1;
	}
	return 0;
}

/* The host: platform, bank (identity made on first use, ledger, book),
 * money and exchange, as m0 assembles it too (pf_host.c). */
static int
host_open(struct daemon *d)
{
	struct pf_host_config hc = {.pf = d->conf.pf,
	    .state_dir = d->conf.state_dir,
	    .money = d->conf.money,
	    .xchg = &d->conf.xchg,
	    .native = 1};
	char err[400];
	int e = pf_host_open(&d->host, &d->loop, &hc, err, sizeof(err));
	if (e) {
		log_warnx("%s", err);
		return -1;
	}
	d->pf = d->host.pf;
	struct money_bank *b = d->host.bank;
	sodium_bin2hex(
	    d->pubkey, sizeof(d->pubkey), money_ident_pk(b->ident), 32);
	log_info("identity %s", d->pubkey);
	if (b->lost_at_open)
		log_warnx("money: %lld units held by processes were lost when "
		          "the platform last stopped (crash)",
		    (long long)b->lost_at_open);
	return 0;
}

/* ---- systemd readiness, without libsystemd ---- */

static void
notify_ready(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	if (!s || (*s != '/' && *s != '@') || strlen(s) >= 108)
		return;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	memcpy(sun.sun_path, s, strlen(s));
	if (*s == '@')
		sun.sun_path[0] = 0;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	const char msg[] = "READY=1";
	sendto(fd, msg, sizeof(msg) - 1, 0, (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(s)));
	close(fd);
}

/* ---- signals ---- */

static void
on_signal(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;
	switch (signum) {
	case SIGHUP:
		reload(d);
		break;
	case SIGUSR1:
		log_stats(d);
		break;
	default:
		log_info("signal %d: shutting down", signum);
		uv_stop(&d->loop);
		break;
	}
}

int
main(int argc, char **argv)
{
	static struct daemon d;
	static const struct option opts[] = {{"help", no_argument, 0, 'h'},
	    {"economy", required_argument, 0, 'E'},
	    {"log", required_argument, 0, 'L'},
	    {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
	const char *economy = NULL, *logpath = NULL;
	const char *state = NULL;
	/* Static, like d: held until exit, also on the early returns. */
	static char **listens;
	listens = calloc((size_t)argc, sizeof(char *));
	int nl = 0, foreground = 0, check = 0, verbose = 0, pubkey = 0, c;
	d.nbr_flags = calloc((size_t)argc, sizeof(char *));
	if (!listens || !d.nbr_flags)
		return 1;
	while (
	    (c = getopt_long(argc, argv, "c:l:N:s:fnpvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.conf_path = optarg;
			break;
		case 'l':
			listens[nl++] = optarg;
			break;
		case 'N':
			d.nbr_flags[d.nnbr_flags++] = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'p':
			pubkey = 1;
			break;
		case 'E':
			economy = optarg;
			break;
		case 'L':
			logpath = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mdaemon (mzero) %s\n", MZERO_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	log_init("mdaemon", verbose ? PF_LOG_DEBUG : PF_LOG_INFO);
	if (logpath && log_open_file(logpath)) {
		log_warn("--log %s", logpath);
		return 1;
	}
	char err[400];
	pf_conf_init(&d.conf);
	if (d.conf_path &&
	    pf_conf_load(&d.conf, d.conf_path, err, sizeof(err))) {
		log_warnx("%s", err);
		return 1;
	}
	if (nl)
		d.conf.nlisten = 0; /* flags override the file */
	for (int i = 0; i < nl; i++)
		if (pf_conf_add_listen(&d.conf, listens[i], err, sizeof(err))) {
			log_warnx("-l: %s", err);
			return 1;
		}
	free(listens);
	if (apply_nbr_flags(&d, &d.conf))
		return 1;
	if (state)
		snprintf(
		    d.conf.state_dir, sizeof(d.conf.state_dir), "%s", state);
	if (economy &&
	    pf_conf_set_economy(&d.conf, economy, err, sizeof(err))) {
		log_warnx("--%s", err);
		return 2;
	}
	pf_conf_settle_limits(&d.conf);
	if (!d.conf.nlisten)
		pf_parse_hostport(
		    "127.0.0.1", &d.conf.listen[d.conf.nlisten++]);
	if (d.conf.accept < 0) {
		d.conf.accept = 1; /* any, while only loopback listens */
		for (int i = 0; i < d.conf.nlisten; i++)
			if (!loopback(&d.conf.listen[i]))
				d.conf.accept = 0;
	}
	d.conf.net.accept_any = d.conf.accept;
	if (!verbose)
		log_set_level(d.conf.log_level);
	if (check) {
		printf(
		    "configuration OK: %d listen, %zu neighbours, accept %s\n",
		    d.conf.nlisten, d.conf.nnbr,
		    d.conf.accept ? "any" : "neighbours");
		printf("limits per process: %llu steps, %lld s (0: none), "
		       "economy %s\n",
		    (unsigned long long)d.conf.pf.max_steps,
		    (long long)(d.conf.pf.max_life_us / 1000000),
		    d.conf.money.charged ? "charged" : "free");
		pf_conf_print_limits(&d.conf, stdout);
		return 0;
	}

	if (money_init())
		fatalx("libsodium");
	if (pubkey) {
		struct money_ident *id;
		char hex[65];
		if (mkdir(d.conf.state_dir, 0700) && errno != EEXIST)
			fatal("state directory %s", d.conf.state_dir);
		enum money_err me = money_ident_open(d.conf.state_dir, &id);
		if (me)
			fatalx("%s/identity: %s", d.conf.state_dir,
			    money_strerror(me));
		sodium_bin2hex(hex, sizeof(hex), money_ident_pk(id), 32);
		money_ident_free(id);
		printf("%s\n", hex);
		return 0;
	}
	if (state_lock(&d))
		return 1;
	if (!foreground && daemon(1, 1))
		fatal("daemon");
	if (!foreground)
		log_use_syslog(); /* stderr is no one's now (unless --log) */
	write_pid(&d);
	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&d.loop);
	d.started_us = pf_now_us();
	if (host_open(&d)) {
		uv_run(&d.loop, UV_RUN_DEFAULT);
		return 1;
	}
	pf_set_end(d.pf, on_end, &d);
	pf_set_console(d.pf, console_out, &d);
	log_info("economy %s", d.conf.money.charged ? "charged" : "free");
	if (!d.conf.net.max_msg)
		d.conf.net.max_msg = d.conf.pf.lim.max_msg;
	unsigned char *box = sodium_malloc(32);
	struct money_ident *ident = d.host.bank->ident;
	char replay[sizeof(d.conf.state_dir) + 8];
	snprintf(replay, sizeof(replay), "%s/replay", d.conf.state_dir);
	if (!box || money_ident_box_sk(ident, box) ||
	    !(d.net = pf_net_new(d.pf, &d.conf.net, proc_setup)) ||
	    pf_net_set_replay_file(d.net, replay) ||
	    pf_net_set_identity(d.net, box, money_ident_pk(ident)))
		fatalx("out of memory");
	sodium_free(box);
	int rc = 0;
	for (int i = 0; i < d.conf.nlisten; i++) {
		char a[64];
		pf_format_sa(
		    (struct sockaddr *)&d.conf.listen[i], a, sizeof(a));
		if (pf_net_listen(d.net, (struct sockaddr *)&d.conf.listen[i],
		        err, sizeof(err))) {
			log_warnx("listen: %s", err);
			rc = 1;
			goto out;
		}
		log_info("listening on %s (udp, tcp)", a);
	}
	if (pf_net_start(d.net, err, sizeof(err))) {
		log_warnx("%s", err);
		rc = 1;
		goto out;
	}
	int e = pf_net_set_neighbours(d.net, d.conf.nbr, d.conf.nnbr);
	if (e) {
		log_warnx("neighbours: %s", pf_strerror(e));
		rc = 1;
		goto out;
	}
	char ctlpath[1100];
	snprintf(ctlpath, sizeof(ctlpath), "%s/%s", d.conf.state_dir,
	    PF_CONTROL_NAME);
	if (!(d.ctl = pf_ctl_new(
	          d.pf, d.net, ctlpath, proc_setup, err, sizeof(err)))) {
		log_warnx("control socket: %s", err);
		rc = 1;
		goto out;
	}
	pf_ctl_set_daemon(d.ctl,
	    &(struct pf_ctl_daemon){.version = MZERO_VERSION,
	        .pubkey = d.pubkey,
	        .state_dir = d.conf.state_dir,
	        .stop = stop_daemon,
	        .reload = reload_msg,
	        .ud = &d});
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
	for (int i = 0; i < 4; i++) {
		uv_signal_init(&d.loop, &d.sig[i]);
		d.sig[i].data = &d;
		uv_signal_start(&d.sig[i], on_signal, sigs[i]);
	}
	log_info("ready: %zu neighbours, accept %s, state %s", d.conf.nnbr,
	    d.conf.accept ? "any" : "neighbours", d.conf.state_dir);
	notify_ready();
	uv_run(&d.loop, UV_RUN_DEFAULT);
	log_stats(&d);
	for (int i = 0; i < 4; i++)
		uv_close((uv_handle_t *)&d.sig[i], NULL);
out:
	/* Everything closes through callbacks in one run of the loop; the
	 * bank commits its book after the platform is gone. */
	pf_ctl_close(d.ctl);
	pf_net_close(d.net);
	pf_host_close(&d.host);
	uv_run(&d.loop, UV_RUN_DEFAULT);
	pf_host_free(&d.host);
	pf_net_free(d.net);
	pf_ctl_free(d.ctl);
	if (uv_loop_close(&d.loop))
		log_warnx("handles left open at exit");
	free(d.nbr_flags);
	close(d.lock_fd);
	log_info("stopped");
	return rc;
}
