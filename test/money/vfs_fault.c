/*
 * vfs_fault.c: the fault-injecting VFS of vfs_fault.h. Each write or
 * truncate of a named file first saves what it overwrites (an undo
 * record: the old bytes and the old size); a sync of the file forgets the
 * records of that file, because its data is then durable. A crash plays
 * the remaining records backwards with plain POSIX calls, which leaves
 * every file as its last sync left it.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "vfs_fault.h"

struct undo {
	char *path;
	int64_t off, oldsize;
	uint8_t *old; /* bytes at off before the change, up to oldsize */
	size_t len;
};

struct vf_file {
	sqlite3_file base;
	sqlite3_file *real;
	char *path; /* NULL for temp files: not durable, not tracked */
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs vf_vfs;
static long arm_at, calls;
static enum vf_mode arm_mode;
static int fired, crashed;
static struct undo *undos;
static size_t nundo, capundo;

static void
undo_free(struct undo *u)
{
	free(u->path);
	free(u->old);
}

/* Plays the undo records backwards, keeping the first (keep). */
static void
undo_apply(size_t keep)
{
	while (nundo > keep) {
		struct undo *u = &undos[--nundo];
		int fd = open(u->path, O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			if (u->len > 0 &&
			    pwrite(fd, u->old, u->len, (off_t)u->off) < 0)
				abort();
			if (ftruncate(fd, (off_t)u->oldsize) < 0)
				abort();
			close(fd);
		}
		undo_free(u);
	}
}

static void
undo_forget(const char *path)
{
	size_t j = 0;

	for (size_t i = 0; i < nundo; i++) {
		if (strcmp(undos[i].path, path) == 0)
			undo_free(&undos[i]);
		else
			undos[j++] = undos[i];
	}
	nundo = j;
}

/* Saves [off, off + len) of (f) and its size as they are before a
 * change; -1 when out of memory. */
static int
undo_save(struct vf_file *f, int64_t off, int64_t len)
{
	sqlite3_int64 size;
	struct undo *u;

	if (f->path == NULL)
		return 0;
	if (f->real->pMethods->xFileSize(f->real, &size) != SQLITE_OK)
		return -1;
	if (nundo == capundo) {
		size_t n = capundo ? capundo * 2 : 64;
		struct undo *p = realloc(undos, n * sizeof(*p));
		if (p == NULL)
			return -1;
		undos = p;
		capundo = n;
	}
	u = &undos[nundo];
	memset(u, 0, sizeof(*u));
	u->off = off;
	u->oldsize = size;
	if (off < size) {
		u->len = (size_t)(off + len <= size ? len : size - off);
		if ((u->old = malloc(u->len)) == NULL)
			return -1;
		if (f->real->pMethods->xRead(
		        f->real, u->old, (int)u->len, off) != SQLITE_OK) {
			free(u->old);
			return -1;
		}
	}
	if ((u->path = strdup(f->path)) == NULL) {
		free(u->old);
		return -1;
	}
	nundo++;
	return 0;
}

/* Counts a boundary; returns 1 when this one is armed. */
static int
boundary(void)
{
	calls++;
	if (arm_at <= 0 || --arm_at > 0)
		return 0;
	fired = 1;
	return 1;
}

static void
crash(void)
{
	crashed = 1;
	undo_apply(arm_mode == VF_TORN ? nundo / 2 : 0);
}

/* ---- io methods ---- */

#define REAL(f) (((struct vf_file *)(f))->real)

static int
vf_close(sqlite3_file *file)
{
	struct vf_file *f = (struct vf_file *)file;
	int rc =
	    f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;

	free(f->path);
	f->path = NULL;
	return rc;
}

static int
vf_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	if (crashed)
		return SQLITE_IOERR_READ;
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int
vf_write(sqlite3_file *file, const void *buf, int n, sqlite3_int64 off)
{
	struct vf_file *f = (struct vf_file *)file;

	if (crashed)
		return SQLITE_IOERR_WRITE;
	if (f->path != NULL && boundary()) {
		if (arm_mode == VF_ERROR)
			return SQLITE_IOERR_WRITE;
		crash();
		/* after the undo: the half that reached the disk stays */
		if (arm_mode == VF_TORN && n > 1)
			f->real->pMethods->xWrite(f->real, buf, n / 2, off);
		return SQLITE_IOERR_WRITE;
	}
	if (undo_save(f, off, n) < 0)
		return SQLITE_IOERR_NOMEM;
	return f->real->pMethods->xWrite(f->real, buf, n, off);
}

static int
vf_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct vf_file *f = (struct vf_file *)file;
	sqlite3_int64 cur;

	if (crashed)
		return SQLITE_IOERR_TRUNCATE;
	if (f->path != NULL && boundary()) {
		if (arm_mode != VF_ERROR)
			crash();
		return SQLITE_IOERR_TRUNCATE;
	}
	if (f->real->pMethods->xFileSize(f->real, &cur) != SQLITE_OK)
		return SQLITE_IOERR_TRUNCATE;
	if (size < cur && undo_save(f, size, cur - size) < 0)
		return SQLITE_IOERR_NOMEM;
	return f->real->pMethods->xTruncate(f->real, size);
}

static int
vf_sync(sqlite3_file *file, int flags)
{
	struct vf_file *f = (struct vf_file *)file;
	int rc;

	if (crashed)
		return SQLITE_IOERR_FSYNC;
	if (f->path != NULL && boundary()) {
		if (arm_mode != VF_ERROR)
			crash();
		return SQLITE_IOERR_FSYNC;
	}
	rc = f->real->pMethods->xSync(f->real, flags);
	if (rc == SQLITE_OK && f->path != NULL)
		undo_forget(f->path);
	return rc;
}

static int
vf_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	if (crashed)
		return SQLITE_IOERR_FSTAT;
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
vf_lock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int
vf_unlock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int
vf_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int
vf_file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
vf_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
vf_device_chars(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
vf_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp)
{
	if (crashed)
		return SQLITE_IOERR_SHMMAP;
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, pp);
}

static int
vf_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void
vf_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
vf_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int
vf_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	/* No memory-mapped reads: every byte goes through vf_read. */
	*pp = NULL;
	return SQLITE_OK;
}

static int
vf_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return SQLITE_OK;
}

static const sqlite3_io_methods vf_io = {
    .iVersion = 3,
    .xClose = vf_close,
    .xRead = vf_read,
    .xWrite = vf_write,
    .xTruncate = vf_truncate,
    .xSync = vf_sync,
    .xFileSize = vf_file_size,
    .xLock = vf_lock,
    .xUnlock = vf_unlock,
    .xCheckReservedLock = vf_check_reserved,
    .xFileControl = vf_file_control,
    .xSectorSize = vf_sector_size,
    .xDeviceCharacteristics = vf_device_chars,
    .xShmMap = vf_shm_map,
    .xShmLock = vf_shm_lock,
    .xShmBarrier = vf_shm_barrier,
    .xShmUnmap = vf_shm_unmap,
    .xFetch = vf_fetch,
    .xUnfetch = vf_unfetch,
};

/* ---- vfs methods ---- */

static int
vf_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
    int *out_flags)
{
	struct vf_file *f = (struct vf_file *)file;
	int rc;

	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	if (crashed)
		return SQLITE_CANTOPEN;
	rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
	if (f->real->pMethods == NULL)
		return rc;
	f->base.pMethods = &vf_io;
	if (name != NULL && (f->path = strdup(name)) == NULL) {
		f->real->pMethods->xClose(f->real);
		f->base.pMethods = NULL;
		return SQLITE_NOMEM;
	}
	return rc;
}

static int
vf_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	/* A dead process deletes nothing. */
	if (crashed)
		return SQLITE_IOERR_DELETE;
	undo_forget(name);
	return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int
vf_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int
vf_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *
vf_dlopen(sqlite3_vfs *vfs, const char *name)
{
	return real_vfs->xDlOpen(real_vfs, name);
}

static void
vf_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	real_vfs->xDlError(real_vfs, n, msg);
}

static void (*vf_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	return real_vfs->xDlSym(real_vfs, h, sym);
}

static void
vf_dlclose(sqlite3_vfs *vfs, void *h)
{
	real_vfs->xDlClose(real_vfs, h);
}

static int
vf_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return real_vfs->xRandomness(real_vfs, n, out);
}

static int
vf_sleep(sqlite3_vfs *vfs, int us)
{
	return real_vfs->xSleep(real_vfs, us);
}

static int
vf_current_time(sqlite3_vfs *vfs, double *t)
{
	return real_vfs->xCurrentTime(real_vfs, t);
}

static int
vf_last_error(sqlite3_vfs *vfs, int n, char *msg)
{
	return real_vfs->xGetLastError(real_vfs, n, msg);
}

static int
vf_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *t)
{
	return real_vfs->xCurrentTimeInt64(real_vfs, t);
}

int
vf_install(void)
{
	if (real_vfs != NULL)
		return 0;
	if ((real_vfs = sqlite3_vfs_find(NULL)) == NULL)
		return -1;
	vf_vfs = (sqlite3_vfs){
	    .iVersion = 2,
	    .szOsFile = (int)sizeof(struct vf_file) + real_vfs->szOsFile,
	    .mxPathname = real_vfs->mxPathname,
	    .zName = "vfs_fault",
	    .xOpen = vf_open,
	    .xDelete = vf_delete,
	    .xAccess = vf_access,
	    .xFullPathname = vf_full_pathname,
	    .xDlOpen = vf_dlopen,
	    .xDlError = vf_dlerror,
	    .xDlSym = vf_dlsym,
	    .xDlClose = vf_dlclose,
	    .xRandomness = vf_randomness,
	    .xSleep = vf_sleep,
	    .xCurrentTime = vf_current_time,
	    .xGetLastError = vf_last_error,
	    .xCurrentTimeInt64 = vf_current_time64,
	};
	return sqlite3_vfs_register(&vf_vfs, 1) == SQLITE_OK ? 0 : -1;
}

void
vf_arm(long n, enum vf_mode mode)
{
	arm_at = n;
	arm_mode = mode;
	fired = 0;
}

long
vf_count(void)
{
	return calls;
}

void
vf_count_reset(void)
{
	calls = 0;
}

int
vf_fired(void)
{
	return fired;
}

int
vf_crashed(void)
{
	return crashed;
}

void
vf_restart(void)
{
	arm_at = 0;
	fired = 0;
	crashed = 0;
	while (nundo > 0)
		undo_free(&undos[--nundo]);
}
