/*
 * money_ledger.c: the issued/spent serial ledger, written ahead. An
 * append-only file of fixed 64-byte checksummed records, grouped in
 * batches that each end with a COMMIT record; a batch counts only when its
 * COMMIT is on disk, and every batch is fdatasync()ed before the next is
 * written. Replay at open applies complete batches, cuts a torn tail (what
 * a crash during the last, unsynced batch leaves) and calls anything else
 * corruption. An in-memory open-addressing hash set makes lookups O(1).
 * Group commit: many threads stage, one commit writes and syncs them all.
 * docs/money.md has the byte layout and the crash-safety argument.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "money_int.h"

#define REC_LEN 64
#define REC_HEADER 1
#define REC_ISSUE 2
#define REC_SPEND 3
#define REC_COMMIT 4
#define LEDGER_MAGIC "mzeroldg"
#define LEDGER_VERSION 1
/* The file is kept extended with written zeros ahead of the last record:
 * overwriting allocated blocks lets fdatasync() skip the inode (size)
 * update, which costs about three times the data flush on ext4. */
#define PREALLOC ((uint64_t)1 << 20)

/* Record layout (big-endian):
 *  0 type, 1 flags (issue kind), 2..4 zero, 4 count (COMMIT: records in
 *  the batch before it, u32), 8 seq (record index in the file),
 *  16..56 payload, 56 checksum (keyed BLAKE2b of bytes 0..56, 8 bytes).
 *  ISSUE/SPEND payload: serial 16, amount 8, expiry 8, zero 8.
 *  COMMIT payload: batch 8, minted 8, burned 8, lost 8, batch hash 8.
 *  HEADER payload: magic 8, version 8, zero 24. */
#define R_COUNT 4
#define R_SEQ 8
#define R_SERIAL 16
#define R_AMOUNT 32
#define R_EXPIRY 40
#define R_BATCH 16
#define R_MINTED 24
#define R_BURNED 32
#define R_LOST 40
#define R_BHASH 48
#define R_SUM 56

/* Entry states in the index. */
#define E_USED 1
#define E_ISSUED 2
#define E_SPENT 4
#define E_PEND_ISSUE 8
#define E_PEND_SPEND 16

struct entry {
	uint8_t serial[MONEY_SERIAL_LEN];
	int64_t amount;
	uint64_t expiry;
	unsigned state;
};

struct money_ledger {
	char *path;
	int fd;
	pthread_mutex_t mu;        /* everything below */
	pthread_mutex_t commit_mu; /* one commit or compaction at a time */
	struct entry *tab;
	size_t cap, used; /* power of two; used entries */
	uint8_t *stage;   /* staged records, REC_LEN each */
	size_t nstage, stage_cap;
	uint64_t nrec;    /* records in the file */
	uint64_t fsize;   /* file size: nrec * REC_LEN plus zeros */
	uint64_t batch;   /* last batch cut */
	uint64_t durable; /* last batch synced */
	uint64_t commits, truncated;
	int64_t outstanding;
	struct money_totals totals;
	int broken;
};

static const uint8_t sum_key[crypto_generichash_KEYBYTES_MIN] =
    "mzero/ledger/v1";

static void
hash8(const uint8_t *p, size_t len, uint8_t out[8])
{
	uint8_t h[crypto_generichash_BYTES_MIN];

	crypto_generichash(h, sizeof(h), p, len, sum_key, sizeof(sum_key));
	memcpy(out, h, 8);
}

static void
rec_seal(uint8_t *r, uint64_t seq)
{
	money__put64(r + R_SEQ, seq);
	hash8(r, R_SUM, r + R_SUM);
}

static int
rec_ok(const uint8_t *r, uint64_t seq)
{
	uint8_t h[8];

	hash8(r, R_SUM, h);
	return memcmp(h, r + R_SUM, 8) == 0 && money__get64(r + R_SEQ) == seq &&
	    r[0] >= REC_HEADER && r[0] <= REC_COMMIT;
}

static void
rec_serial(uint8_t *r, int type, int flags, const struct entry *e)
{
	memset(r, 0, REC_LEN);
	r[0] = (uint8_t)type;
	r[1] = (uint8_t)flags;
	memcpy(r + R_SERIAL, e->serial, MONEY_SERIAL_LEN);
	money__put64(r + R_AMOUNT, (uint64_t)e->amount);
	money__put64(r + R_EXPIRY, e->expiry);
}

/* Fills a COMMIT record at (r) closing the (count) records before it. */
static void
rec_commit(uint8_t *r, uint64_t batch, const struct money_totals *t,
    uint32_t count, uint64_t seq)
{
	memset(r, 0, REC_LEN);
	r[0] = REC_COMMIT;
	r[R_COUNT] = (uint8_t)(count >> 24);
	r[R_COUNT + 1] = (uint8_t)(count >> 16);
	r[R_COUNT + 2] = (uint8_t)(count >> 8);
	r[R_COUNT + 3] = (uint8_t)count;
	money__put64(r + R_BATCH, batch);
	money__put64(r + R_MINTED, (uint64_t)t->minted);
	money__put64(r + R_BURNED, (uint64_t)t->burned);
	money__put64(r + R_LOST, (uint64_t)t->lost);
	hash8(r - (size_t)count * REC_LEN, (size_t)count * REC_LEN,
	    r + R_BHASH);
	rec_seal(r, seq);
}

static uint32_t
rec_count(const uint8_t *r)
{
	return (uint32_t)r[R_COUNT] << 24 | (uint32_t)r[R_COUNT + 1] << 16 |
	    (uint32_t)r[R_COUNT + 2] << 8 | r[R_COUNT + 3];
}

/* ---- index ---- */

static size_t
slot_of(const struct money_ledger *l, const uint8_t *serial)
{
	/* Serials are random: their first bytes are a good hash. */
	return (size_t)money__get64(serial) & (l->cap - 1);
}

static struct entry *
find(struct money_ledger *l, const uint8_t *serial)
{
	size_t i = slot_of(l, serial);

	while (l->tab[i].state & E_USED) {
		if (memcmp(l->tab[i].serial, serial, MONEY_SERIAL_LEN) == 0)
			return &l->tab[i];
		i = (i + 1) & (l->cap - 1);
	}
	return NULL;
}

static int
grow(struct money_ledger *l)
{
	size_t ocap = l->cap, ncap = ocap ? ocap * 2 : 1024, i;
	struct entry *old = l->tab, *nt = calloc(ncap, sizeof(*nt));

	if (nt == NULL)
		return -1;
	l->tab = nt;
	l->cap = ncap; /* slot_of() reads it */
	for (i = 0; i < ocap; i++) {
		if (old[i].state & E_USED) {
			size_t j = slot_of(l, old[i].serial);
			while (nt[j].state & E_USED)
				j = (j + 1) & (ncap - 1);
			nt[j] = old[i];
		}
	}
	free(old);
	return 0;
}

/* Inserts a new entry for (serial); NULL when out of memory. */
static struct entry *
insert(struct money_ledger *l, const uint8_t *serial)
{
	size_t i;

	if ((l->used + 1) * 2 > l->cap && grow(l) < 0)
		return NULL;
	i = slot_of(l, serial);
	while (l->tab[i].state & E_USED)
		i = (i + 1) & (l->cap - 1);
	memcpy(l->tab[i].serial, serial, MONEY_SERIAL_LEN);
	l->tab[i].state = E_USED;
	l->used++;
	return &l->tab[i];
}

/* ---- replay ---- */

/* Applies one committed ISSUE or SPEND record; -1 if it contradicts the
 * ledger (which only corruption can cause). */
static int
apply(struct money_ledger *l, const uint8_t *r)
{
	const uint8_t *serial = r + R_SERIAL;
	struct entry *e = find(l, serial);
	int64_t amount = (int64_t)money__get64(r + R_AMOUNT);

	if (r[0] == REC_ISSUE) {
		if (e != NULL || amount <= 0)
			return -1;
		if ((e = insert(l, serial)) == NULL)
			return -2;
		e->amount = amount;
		e->expiry = money__get64(r + R_EXPIRY);
		e->state |= E_ISSUED;
		if (__builtin_add_overflow(l->outstanding, amount,
		        &l->outstanding))
			return -1;
		return 0;
	}
	if (r[0] != REC_SPEND || e == NULL || !(e->state & E_ISSUED) ||
	    (e->state & E_SPENT))
		return -1;
	e->state |= E_SPENT;
	l->outstanding -= e->amount;
	return 0;
}

/* A COMMIT record at index (j) of (n) whose batch checks out. */
static int
batch_ok(const uint8_t *buf, uint64_t j)
{
	const uint8_t *r = buf + j * REC_LEN;
	uint32_t c = rec_count(r);
	uint8_t h[8];

	if (!rec_ok(r, j) || r[0] != REC_COMMIT || c >= j)
		return 0;
	for (uint64_t k = j - c; k < j; k++)
		if (!rec_ok(buf + k * REC_LEN, k))
			return 0;
	hash8(r - (size_t)c * REC_LEN, (size_t)c * REC_LEN, h);
	return memcmp(h, r + R_BHASH, 8) == 0;
}

static enum money_err
replay(struct money_ledger *l, const uint8_t *buf, uint64_t size,
    uint64_t *keep)
{
	uint64_t n = size / REC_LEN, i, start = 1;
	const uint8_t *r = buf;

	*keep = 0;
	if (n < 2 || !rec_ok(r, 0) || r[0] != REC_HEADER ||
	    memcmp(r + 16, LEDGER_MAGIC, 8) != 0 ||
	    money__get64(r + 24) != LEDGER_VERSION)
		return MONEY_ERR_CORRUPT;
	for (i = 1; i < n; i++) {
		r = buf + i * REC_LEN;
		if (!rec_ok(r, i) || r[0] == REC_HEADER)
			break;
		if (r[0] != REC_COMMIT)
			continue;
		if (!batch_ok(buf, i) || rec_count(r) != i - start)
			break;
		for (uint64_t k = start; k < i; k++) {
			int a = apply(l, buf + k * REC_LEN);
			if (a == -2)
				return MONEY_ERR_NOMEM;
			if (a < 0)
				return MONEY_ERR_CORRUPT;
		}
		l->batch = money__get64(r + R_BATCH);
		l->totals.minted = (int64_t)money__get64(r + R_MINTED);
		l->totals.burned = (int64_t)money__get64(r + R_BURNED);
		l->totals.lost = (int64_t)money__get64(r + R_LOST);
		start = i + 1;
	}
	/* Records start..end belong to a batch whose COMMIT never became
	 * durable. Only the last batch can be in that state, because each
	 * batch is synced before the next is written; so a complete batch
	 * further on means damage, not a crash. */
	for (uint64_t j = i + 1; j < n; j++)
		if (batch_ok(buf, j))
			return MONEY_ERR_CORRUPT;
	if (start == 1)
		return MONEY_ERR_CORRUPT; /* the first batch is written atomically */
	*keep = start;
	return MONEY_OK;
}

static enum money_err
create_file(const char *path)
{
	uint8_t buf[2 * REC_LEN] = {0};
	struct money_totals zero = {0};

	buf[0] = REC_HEADER;
	memcpy(buf + 16, LEDGER_MAGIC, 8);
	money__put64(buf + 24, LEDGER_VERSION);
	rec_seal(buf, 0);
	rec_commit(buf + REC_LEN, 0, &zero, 0, 1);
	return money__file_replace(path, buf, sizeof(buf), 0600);
}

/* Writes zeros over [from, to) of (fd). */
static enum money_err
zero_fill(int fd, uint64_t from, uint64_t to)
{
	static const uint8_t zeros[65536];

	while (from < to) {
		size_t n = to - from < sizeof(zeros) ? (size_t)(to - from) :
		    sizeof(zeros);
		if (money__write_all(fd, zeros, n, (off_t)from) < 0)
			return money__io_err();
		from += n;
	}
	return MONEY_OK;
}

static enum money_err
read_file(int fd, uint8_t **out, uint64_t *size)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;

	if (fstat(fd, &st) < 0)
		return MONEY_ERR_SYS;
	*size = (uint64_t)st.st_size;
	if ((buf = malloc(*size ? *size : 1)) == NULL)
		return MONEY_ERR_NOMEM;
	while (got < *size) {
		ssize_t n = pread(fd, buf + got, *size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return n < 0 ? MONEY_ERR_SYS : MONEY_ERR_CORRUPT;
		}
		got += (size_t)n;
	}
	*out = buf;
	return MONEY_OK;
}

enum money_err
money_ledger_open(const char *path, struct money_ledger **out)
{
	struct money_ledger *l;
	uint8_t *buf = NULL;
	uint64_t size, keep;
	enum money_err err;

	*out = NULL;
	if (path == NULL)
		return MONEY_ERR_INVAL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return MONEY_ERR_NOMEM;
	l->fd = -1;
	if ((l->path = strdup(path)) == NULL || grow(l) < 0) {
		err = MONEY_ERR_NOMEM;
		goto err_l;
	}
	l->fd = open(path, O_RDWR | O_CLOEXEC);
	if (l->fd < 0 && errno == ENOENT) {
		if ((err = create_file(path)) != MONEY_OK)
			goto err_l;
		l->fd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (l->fd < 0) {
		err = MONEY_ERR_SYS;
		goto err_l;
	}
	if ((err = read_file(l->fd, &buf, &size)) != MONEY_OK)
		goto err_l;
	if ((err = replay(l, buf, size, &keep)) != MONEY_OK)
		goto err_buf;
	l->nrec = keep;
	l->fsize = size;
	{
		/* A torn tail is overwritten with zeros (and synced) before
		 * anything is appended; zeros are preallocated space. */
		uint64_t end = size;
		while (end > keep * REC_LEN && buf[end - 1] == 0)
			end--;
		if (end > keep * REC_LEN) {
			l->truncated = end - keep * REC_LEN;
			if ((err = zero_fill(l->fd, keep * REC_LEN, end)) !=
			        MONEY_OK ||
			    money__io_fsync(l->fd) < 0) {
				if (err == MONEY_OK)
					err = money__io_err();
				goto err_buf;
			}
		}
	}
	free(buf);
	l->durable = l->batch;
	pthread_mutex_init(&l->mu, NULL);
	pthread_mutex_init(&l->commit_mu, NULL);
	*out = l;
	return MONEY_OK;

err_buf:
	free(buf);
err_l:
	if (l->fd >= 0)
		close(l->fd);
	free(l->tab);
	free(l->path);
	free(l);
	return err;
}

void
money_ledger_close(struct money_ledger *l)
{
	if (l == NULL)
		return;
	close(l->fd);
	pthread_mutex_destroy(&l->mu);
	pthread_mutex_destroy(&l->commit_mu);
	free(l->stage);
	free(l->tab);
	free(l->path);
	free(l);
}

/* ---- staging and commit ---- */

/* Room for one more staged record plus the COMMIT record. */
static uint8_t *
stage_slot(struct money_ledger *l)
{
	if (l->nstage + 2 > l->stage_cap) {
		size_t nc = l->stage_cap ? l->stage_cap * 2 : 128;
		uint8_t *ns = realloc(l->stage, nc * REC_LEN);
		if (ns == NULL)
			return NULL;
		l->stage = ns;
		l->stage_cap = nc;
	}
	return l->stage + l->nstage * REC_LEN;
}

enum money_err
money_ledger_stage_issue(struct money_ledger *l,
    const uint8_t serial[MONEY_SERIAL_LEN], enum money_issue_kind kind,
    int64_t amount, uint64_t expiry, uint64_t *ticket)
{
	enum money_err err = MONEY_OK;
	struct entry *e;
	uint8_t *r;

	if (amount <= 0 || (kind != MONEY_ISSUE_MINT &&
	                       kind != MONEY_ISSUE_WITHDRAW))
		return MONEY_ERR_INVAL;
	pthread_mutex_lock(&l->mu);
	if (l->broken)
		err = MONEY_ERR_BROKEN;
	else if (find(l, serial) != NULL)
		err = MONEY_ERR_DUP;
	else if ((r = stage_slot(l)) == NULL || (e = insert(l, serial)) == NULL)
		err = MONEY_ERR_NOMEM;
	if (err == MONEY_OK) {
		e->amount = amount;
		e->expiry = expiry;
		e->state |= E_PEND_ISSUE;
		rec_serial(r, REC_ISSUE, kind, e);
		l->nstage++;
		*ticket = l->batch + 1;
	}
	pthread_mutex_unlock(&l->mu);
	return err;
}

enum money_err
money_ledger_stage_spend(struct money_ledger *l,
    const uint8_t serial[MONEY_SERIAL_LEN], uint64_t *ticket)
{
	enum money_err err = MONEY_OK;
	struct entry *e;
	uint8_t *r;

	pthread_mutex_lock(&l->mu);
	e = find(l, serial);
	if (l->broken)
		err = MONEY_ERR_BROKEN;
	else if (e == NULL || !(e->state & E_ISSUED))
		err = MONEY_ERR_FORGED;
	else if (e->state & (E_SPENT | E_PEND_SPEND))
		err = MONEY_ERR_SPENT;
	else if ((r = stage_slot(l)) == NULL)
		err = MONEY_ERR_NOMEM;
	if (err == MONEY_OK) {
		e->state |= E_PEND_SPEND;
		rec_serial(r, REC_SPEND, 0, e);
		l->nstage++;
		*ticket = l->batch + 1;
	}
	pthread_mutex_unlock(&l->mu);
	return err;
}

enum money_err
money_ledger_commit(struct money_ledger *l, const struct money_totals *totals)
{
	uint8_t *batch;
	size_t n;
	uint64_t first, bno;
	off_t off;
	enum money_err err = MONEY_OK;

	pthread_mutex_lock(&l->commit_mu);
	pthread_mutex_lock(&l->mu);
	if (l->broken) {
		pthread_mutex_unlock(&l->mu);
		pthread_mutex_unlock(&l->commit_mu);
		return MONEY_ERR_BROKEN;
	}
	/* Cut the batch: later stagers fill a fresh buffer meanwhile. */
	if (stage_slot(l) == NULL) {
		pthread_mutex_unlock(&l->mu);
		pthread_mutex_unlock(&l->commit_mu);
		return MONEY_ERR_NOMEM;
	}
	batch = l->stage;
	n = l->nstage;
	l->stage = NULL;
	l->nstage = l->stage_cap = 0;
	bno = ++l->batch;
	first = l->nrec;
	pthread_mutex_unlock(&l->mu);

	for (size_t k = 0; k < n; k++)
		rec_seal(batch + k * REC_LEN, first + k);
	rec_commit(batch + n * REC_LEN, bno, totals, (uint32_t)n, first + n);
	off = (off_t)(first * REC_LEN);
	if ((uint64_t)off + (n + 1) * REC_LEN > l->fsize) {
		/* Extend by whole zeroed chunks; the same fdatasync below
		 * makes the new size durable. */
		uint64_t to = ((uint64_t)off + (n + 1) * REC_LEN + PREALLOC) /
		    PREALLOC * PREALLOC;
		err = zero_fill(l->fd, l->fsize, to);
		if (err == MONEY_OK)
			l->fsize = to;
	}
	if (err == MONEY_OK &&
	    (money__write_all(l->fd, batch, (n + 1) * REC_LEN, off) < 0 ||
	        money__io_datasync(l->fd) < 0))
		err = money__io_err();

	pthread_mutex_lock(&l->mu);
	if (err != MONEY_OK) {
		/* After a failed write or fsync the file's state is unknown
		 * (the kernel may drop dirty pages): only a reopen knows. */
		l->broken = 1;
	} else {
		for (size_t k = 0; k < n; k++) {
			const uint8_t *r = batch + k * REC_LEN;
			struct entry *e = find(l, r + R_SERIAL);
			if (r[0] == REC_ISSUE) {
				e->state = (e->state & ~E_PEND_ISSUE) | E_ISSUED;
				l->outstanding += e->amount;
			} else {
				e->state = (e->state & ~E_PEND_SPEND) | E_SPENT;
				l->outstanding -= e->amount;
			}
		}
		l->nrec = first + n + 1;
		l->durable = bno;
		l->totals = *totals;
		l->commits++;
	}
	pthread_mutex_unlock(&l->mu);
	pthread_mutex_unlock(&l->commit_mu);
	free(batch);
	return err;
}

uint64_t
money_ledger_durable(struct money_ledger *l)
{
	uint64_t d;

	pthread_mutex_lock(&l->mu);
	d = l->durable;
	pthread_mutex_unlock(&l->mu);
	return d;
}

int
money_ledger_lookup(struct money_ledger *l,
    const uint8_t serial[MONEY_SERIAL_LEN], struct money_serial_info *info)
{
	struct entry *e;

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&l->mu);
	if ((e = find(l, serial)) != NULL) {
		info->issued = (e->state & E_ISSUED) != 0;
		info->spent = (e->state & (E_SPENT | E_PEND_SPEND)) != 0;
		info->amount = e->amount;
		info->expiry = e->expiry;
	}
	pthread_mutex_unlock(&l->mu);
	return e != NULL;
}

void
money_ledger_totals(struct money_ledger *l, struct money_totals *t)
{
	pthread_mutex_lock(&l->mu);
	*t = l->totals;
	pthread_mutex_unlock(&l->mu);
}

void
money_ledger_stats(struct money_ledger *l, struct money_ledger_stats *st)
{
	pthread_mutex_lock(&l->mu);
	st->records = l->nrec;
	st->bytes = l->nrec * REC_LEN;
	st->serials = l->used;
	st->commits = l->commits;
	st->truncated = l->truncated;
	st->outstanding = l->outstanding;
	pthread_mutex_unlock(&l->mu);
}

/* ---- pruning ---- */

int64_t
money_ledger_expired(struct money_ledger *l, uint64_t now)
{
	int64_t sum = 0;

	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->cap; i++) {
		const struct entry *e = &l->tab[i];
		if ((e->state & E_ISSUED) && !(e->state & E_SPENT) &&
		    e->expiry <= now)
			sum += e->amount;
	}
	pthread_mutex_unlock(&l->mu);
	return sum;
}

/*
 * Why forgetting is safe: a token is refused as expired from its expiry
 * on (money_token_classify() checks expiry before the ledger), so after
 * that second its serial can never be redeemed again whatever the ledger
 * says. If the clock steps back, a pruned token would be "not expired"
 * but its serial is unknown, and redemption needs an issued serial: it is
 * refused as forged, never accepted twice.
 */
enum money_err
money_ledger_compact(struct money_ledger *l, uint64_t now,
    const struct money_totals *totals)
{
	uint8_t *buf = NULL, *r;
	size_t n = 1, keep = 0, i;
	struct entry *nt = NULL;
	enum money_err err = MONEY_OK;
	int fd;

	pthread_mutex_lock(&l->commit_mu);
	pthread_mutex_lock(&l->mu);
	if (l->broken) {
		err = MONEY_ERR_BROKEN;
		goto out;
	}
	if (l->nstage > 0) {
		err = MONEY_ERR_BUSY;
		goto out;
	}
	for (i = 0; i < l->cap; i++)
		if ((l->tab[i].state & E_ISSUED) && l->tab[i].expiry > now)
			keep++;
	/* header + issue and maybe spend per serial + commit */
	buf = calloc(2 + 2 * keep, REC_LEN);
	nt = calloc(l->cap, sizeof(*nt));
	if (buf == NULL || nt == NULL) {
		err = MONEY_ERR_NOMEM;
		goto out;
	}
	buf[0] = REC_HEADER;
	memcpy(buf + 16, LEDGER_MAGIC, 8);
	money__put64(buf + 24, LEDGER_VERSION);
	rec_seal(buf, 0);
	for (i = 0; i < l->cap; i++) {
		const struct entry *e = &l->tab[i];
		if (!(e->state & E_ISSUED) || e->expiry <= now)
			continue;
		r = buf + n * REC_LEN;
		rec_serial(r, REC_ISSUE, MONEY_ISSUE_MINT, e);
		rec_seal(r, n++);
		if (e->state & E_SPENT) {
			r = buf + n * REC_LEN;
			rec_serial(r, REC_SPEND, 0, e);
			rec_seal(r, n++);
		}
	}
	rec_commit(buf + n * REC_LEN, l->batch + 1, totals, (uint32_t)(n - 1),
	    n);
	n++;
	if ((err = money__file_replace(l->path, buf, n * REC_LEN, 0600)) !=
	    MONEY_OK) {
		l->broken = 1;
		goto out;
	}
	if ((fd = open(l->path, O_RDWR | O_CLOEXEC)) < 0) {
		l->broken = 1;
		err = MONEY_ERR_SYS;
		goto out;
	}
	close(l->fd);
	l->fd = fd;
	l->fsize = n * REC_LEN;
	/* Rebuild the index without the pruned serials. */
	{
		struct entry *old = l->tab;
		size_t cap = l->cap;
		l->tab = nt;
		l->used = 0;
		nt = old;
		for (i = 0; i < cap; i++) {
			struct entry *e;
			if (!(old[i].state & E_ISSUED) || old[i].expiry <= now)
				continue;
			e = insert(l, old[i].serial);
			e->amount = old[i].amount;
			e->expiry = old[i].expiry;
			e->state = old[i].state;
		}
	}
	l->outstanding = 0;
	for (i = 0; i < l->cap; i++)
		if ((l->tab[i].state & E_ISSUED) && !(l->tab[i].state & E_SPENT))
			l->outstanding += l->tab[i].amount;
	l->batch++;
	l->durable = l->batch;
	l->nrec = n;
	l->totals = *totals;
	l->commits++;
out:
	pthread_mutex_unlock(&l->mu);
	pthread_mutex_unlock(&l->commit_mu);
	free(nt);
	free(buf);
	return err;
}
