/*
 * pf_svc.h: how services plug into the platform core (src/platform,
 * docs/platform.md "Structure"). The core runs processes, queues,
 * channels and links and knows nothing of money or native code. Three
 * narrow interfaces let the rest in:
 *
 *   - a service (struct pf_service) owns its setup and teardown, is told
 *     when a process ends, and adds counters to the status table;
 *   - a meter (struct pf_meter), at most one, decides how many steps a
 *     process may run in its next turn and charges for what it used; a
 *     charge returns a verdict, and the scheduler alone ends a process
 *     that cannot pay;
 *   - work (pf_work_fn): a process that waits on a service that needs
 *     turns of the scheduler (a native run) is stepped by the scheduler
 *     in place of the interpreter.
 *
 * Registration is like a channel family's (pf_add_family): the platform
 * copies the struct and calls the hooks on the loop thread.
 */
#ifndef PF_SVC_H
#define PF_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf.h"

/* ---- services ---- */

/*
 * A service. (close) begins its shutdown: it stops its timers and lets
 * work in flight finish through libuv callbacks (it must not run the
 * loop); it calls pf_service_closed() once nothing of it is pending. By
 * then every process has ended. (free) releases it after the loop has
 * run every callback. (proc_end) releases what a process held (it is
 * called before the meter closes the process's account). (proc_bytes)
 * tells the memory a process holds through the service (guest memory,
 * for rent). (stats) adds its counters to the status table (m0ctl
 * status, the daemon's log) with pf_status_add(). Any hook may be NULL.
 */
struct pf_service {
	const char *name;
	void *ud;
	void (*proc_end)(void *ud, struct pf_proc *p);
	uint64_t (*proc_bytes)(void *ud, struct pf_proc *p);
	void (*close)(void *ud);
	void (*free)(void *ud);
	void (*stats)(void *ud, struct pf_status *st);
};

/* Registers a service (copied); services close in the reverse order of
 * registration. Returns PF_OK, PF_ERR_LIMIT (too many) or
 * PF_ERR_CLOSED. */
int pf_add_service(struct pf_platform *pf, const struct pf_service *svc);

/* The (ud) of the service called (name), or NULL. */
void *pf_service_find(struct pf_platform *pf, const char *name);

/* Called by a service once its close has finished. */
void pf_service_closed(struct pf_platform *pf, void *ud);

/* ---- the meter ---- */

/* What a charge decided. PF_BROKE: the process cannot pay; the
 * scheduler ends it after its turn (counted as PF_DROP_CREDIT). */
enum pf_verdict { PF_PAID = 0, PF_BROKE = 1 };

/*
 * A meter: the economy's view of the scheduler. (open) gives a process
 * an account (arrival: it came from outside, pf_spawn(); else another
 * process submitted it) and returns PF_OK or PF_ERR_NOMEM; (close) ends
 * it. (turn) returns how many steps the process may run in its next
 * turn, given the normal (slice) (<= 0: it cannot pay for one); (steps)
 * charges the steps it ran. (native_turn) and (native) do the same for
 * µs of guest time. (send) is asked before bytes leave on a family.
 * (busy) hears how long the processor ran processes (ns) and whether
 * others queued meanwhile. (gstore) is the interpreter's store hook
 * (struct m0_host.gstore). NULL hooks cost nothing and always pay.
 */
struct pf_meter {
	void *ud;
	int (*open)(void *ud, struct pf_proc *p, int arrival);
	void (*close)(void *ud, struct pf_proc *p);
	int64_t (*turn)(void *ud, struct pf_proc *p, int64_t slice);
	enum pf_verdict (*steps)(void *ud, struct pf_proc *p, uint64_t steps);
	uint64_t (*native_turn)(void *ud, struct pf_proc *p, uint64_t us);
	enum pf_verdict (*native)(void *ud, struct pf_proc *p, uint64_t ns);
	enum pf_verdict (*send)(
	    void *ud, struct pf_proc *p, const char *family, size_t len);
	void (*busy)(void *ud, uint64_t ns, int queued);
	int64_t (*gstore)(void *ud, struct m0_state *s);
};

/* Sets the platform's meter (copied). Call before any process runs.
 * Returns PF_OK, or PF_ERR_EXISTS when it has one. */
int pf_set_meter(struct pf_platform *pf, const struct pf_meter *m);

/* The data a meter keeps for a process (set by its open hook). */
void *pf_proc_meter(const struct pf_proc *p);
void pf_proc_set_meter(struct pf_proc *p, void *data);

/*
 * Asks the scheduler to end (p) silently (no handler runs), counted as
 * PF_DROP_CREDIT: a meter's epoch uses it for a process that cannot pay
 * its rent while it waits. Ends it now unless it is running; a running
 * process ends after its turn.
 */
void pf_proc_evict(struct pf_proc *p);

/* ---- work ---- */

/*
 * One turn of work for (p), which waits on a service: returns true when
 * the work is over and the process has been resumed (m0_state_resume_*).
 */
typedef bool (*pf_work_fn)(void *ud, struct pf_proc *p);

/* Makes (p) wait on work: the scheduler calls fn(ud, p) on its turns
 * until it returns true. The operator that starts it returns
 * M0_EXT_BLOCK. */
void pf_proc_set_work(struct pf_proc *p, pf_work_fn fn, void *ud);

/* Whether the process waits on work (a service keeps its own data). */
void *pf_proc_work(const struct pf_proc *p);

/* Charges (ns) of guest time to (p) through the meter; the verdict. */
enum pf_verdict pf_proc_charge_native(struct pf_proc *p, uint64_t ns);

/* The µs of guest time (p) may run in its next native turn. */
uint64_t pf_proc_native_turn(struct pf_proc *p, uint64_t us);

/* True when no other process waits to run: a service may then give (p)
 * a longer turn (only the event loop waits the longer). */
bool pf_proc_alone(const struct pf_proc *p);

/* Makes a process that waited on a service runnable again. */
void pf_proc_wake(struct pf_proc *p);

/* Takes a process out of every list while it waits on a service that
 * wakes it later with pf_proc_wake(). */
void pf_proc_park(struct pf_proc *p);

/* The bytes (p) holds through services: the sum of their proc_bytes. */
uint64_t pf_proc_service_bytes(struct pf_proc *p);

/*
 * A native context of (bytes) guest memory for (p): counted against the
 * process (proc_contexts), its origin (origin_contexts, origin_memory)
 * and the daemon's memory budget. Returns false when a cap refuses it
 * (counted as the drop "native"); pf_proc_native_give() returns it.
 */
bool pf_proc_native_take(struct pf_proc *p, uint64_t bytes);
void pf_proc_native_give(struct pf_proc *p, uint64_t bytes);

#endif
