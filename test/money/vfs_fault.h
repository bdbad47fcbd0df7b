/*
 * vfs_fault.h: a SQLite VFS for tests that wraps the default one and
 * injects faults at durable I/O boundaries: every xWrite, xSync and
 * xTruncate of a named file (database, WAL, journal) is one boundary.
 * The armed boundary either fails (VF_ERROR: SQLITE_IOERR, nothing
 * happens; later calls succeed) or "crashes" the process (VF_CRASH,
 * VF_TORN): every write not yet made durable by a sync of its file is
 * undone on disk, as a power loss would, and every later call fails until
 * vf_restart(), so the code under test can only close its handles.
 * VF_TORN keeps the older half of the unsynced writes, and half of the
 * bytes of a write that is the crashing boundary, as a disk that wrote
 * some of its queue would.
 *
 * Code that acknowledges before its sync loses the acknowledged change at
 * some crash point of a sweep over every boundary, so a test that checks
 * acknowledgements after each point fails. Install it before the code
 * under test opens a database; it becomes the default VFS of the process.
 * Single-threaded use only (the sweeps drive one connection).
 */
#ifndef VFS_FAULT_H
#define VFS_FAULT_H

enum vf_mode {
	VF_ERROR = 0,
	VF_CRASH = 1,
	VF_TORN = 2,
};

/* Registers the VFS as the default (idempotent). Returns 0, or -1. */
int vf_install(void);

/* Arms a fault at the (n)-th boundary from now (n >= 1; 0 disarms). */
void vf_arm(long n, enum vf_mode mode);

/* Boundaries passed since the last vf_count_reset(). */
long vf_count(void);
void vf_count_reset(void);

/* Whether the armed fault fired (and the fault is spent). */
int vf_fired(void);

/* Whether the simulated process is dead (after a crash). */
int vf_crashed(void);

/* Disarms, forgets the unsynced writes, and lets I/O work again: the
 * process "restarts" (close every handle of the crashed run first). */
void vf_restart(void);

#endif /* VFS_FAULT_H */
