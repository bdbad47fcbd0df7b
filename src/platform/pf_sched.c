/*
 * pf_sched.c: the scheduler of green threads. Runnable processes (heads of
 * queues and processes in no queue) run round-robin, a slice of steps
 * each, in FIFO order of becoming runnable. A uv_idle handle drains the
 * run queue and is active only while something is runnable, so uv_run
 * sleeps when nothing is; each idle callback runs for at most a few
 * milliseconds so network events and timers interleave.
 *
 * A meter (include/pf_svc.h) may set how many steps a turn has and charge
 * for them; its verdict comes back here, and only the scheduler ends a
 * process that cannot pay.
 */
#include <stdlib.h>

#include "pf_int.h"

#define SCHED_BUDGET_US 2000

static void idle_cb(uv_idle_t *h);

void
pf__make_runnable(struct pf_proc *p)
{
	struct pf_platform *pf = p->pf;
	p->state = PF_RUNNABLE;
	if (p->manual)
		return;
	pf__list_add_tail(&pf->runq, &p->run);
	if (!pf->idle_on) {
		uv_idle_start(&pf->idle, idle_cb);
		pf->idle_on = true;
	}
}

void
pf__sched_init(struct pf_platform *pf)
{
	pf__list_init(&pf->runq);
	uv_idle_init(pf->loop, &pf->idle);
	pf->idle.data = pf;
}

/* Ends a process: its queue place, timer, services' holdings and
 * account are released. */
void
pf__end_proc(struct pf_proc *p)
{
	struct pf_platform *pf = p->pf;
	int end = m0_state_end(p->s);
	const char *err = NULL;
	if (end == M0_END_ERROR || end == M0_END_FATAL) {
		err = m0_state_error_text(p->s);
		pf->st.errors++;
	}
	pf__leave(p);
	pf__timer_del(p);
	for (int i = 0; i < pf->nsvc; i++)
		if (pf->svc[i].proc_end)
			pf->svc[i].proc_end(pf->svc[i].ud, p);
	pf__chan_release(p); /* its keys' bytes go back to its origin */
	pf__proc_detach(p);  /* after the services gave back what it held */
	p->work = NULL;
	if (pf->meter.close)
		pf->meter.close(pf->meter.ud, p);
	if (p->state == PF_RUNNABLE && !p->manual)
		pf__list_del(&p->run);
	pf__list_del(&p->all);
	pf->nprocs--;
	pf->st.ended++;
	if (pf->on_end)
		pf->on_end(pf->end_ud, p, p->id, end, err);
	m0_state_free(p->s);
	free(p);
}

/* Removal for want of credit: silent for the messenger (no error, no
 * handler), counted and logged for the operator. */
static void
end_broke(struct pf_proc *p)
{
	p->pf->st.drops[PF_DROP_CREDIT]++;
	log_debug("process %llu removed: credit exhausted after %llu steps",
	    (unsigned long long)p->id,
	    (unsigned long long)m0_state_steps(p->s));
	m0_state_kill(p->s);
	pf__end_proc(p);
}

void
pf_proc_evict(struct pf_proc *p)
{
	p->broke = true;
	if (p->state != PF_RUNNING)
		end_broke(p);
}

void
pf_proc_set_work(struct pf_proc *p, pf_work_fn fn, void *ud)
{
	p->work = fn;
	p->work_ud = ud;
}

void *
pf_proc_work(const struct pf_proc *p)
{
	return p->work ? p->work_ud : NULL;
}

enum pf_verdict
pf_proc_charge_native(struct pf_proc *p, uint64_t ns)
{
	struct pf_meter *m = &p->pf->meter;
	if (!m->native)
		return PF_PAID;
	if (m->native(m->ud, p, ns) == PF_BROKE)
		p->broke = true;
	return p->broke ? PF_BROKE : PF_PAID;
}

uint64_t
pf_proc_native_turn(struct pf_proc *p, uint64_t us)
{
	struct pf_meter *m = &p->pf->meter;
	return m->native_turn ? m->native_turn(m->ud, p, us) : us;
}

bool
pf_proc_alone(const struct pf_proc *p)
{
	return pf__list_empty(&p->pf->runq);
}

void
pf_proc_wake(struct pf_proc *p)
{
	pf__make_runnable(p);
}

void
pf_proc_park(struct pf_proc *p)
{
	p->state = PF_IDLE; /* in no list until pf_proc_wake() */
}

static bool
over_limits(struct pf_proc *p)
{
	struct pf_platform *pf = p->pf;
	if (pf->cfg.max_steps && m0_state_steps(p->s) >= pf->cfg.max_steps) {
		pf->st.drops[PF_DROP_STEP_LIMIT]++;
		return true;
	}
	if (pf->cfg.max_life_us &&
	    pf_now_us() - p->born >= pf->cfg.max_life_us) {
		pf->st.drops[PF_DROP_LIFE_LIMIT]++;
		return true;
	}
	return false;
}

/*
 * Demand for the processor, for the meter's step price: time spent
 * running processes, and whether others queued behind the one that ran
 * (docs/money.md, "Prices").
 */
static void
count_busy(struct pf_platform *pf, uint64_t *mark, bool queued)
{
	if (!pf->meter.busy) /* nobody prices the processor */
		return;
	uint64_t now = uv_hrtime();
	pf->meter.busy(pf->meter.ud, now - *mark, queued);
	*mark = now;
}

/* One turn of a process that waits on work (a native run). Returns
 * false when the process has ended. */
static bool
work_turn(struct pf_platform *pf, struct pf_proc *p)
{
	/* The lifetime limit holds here too: work time is lifetime. */
	if (over_limits(p)) {
		m0_state_kill(p->s);
		pf__end_proc(p);
		return false;
	}
	if (p->work(p->work_ud, p))
		p->work = NULL;
	if (p->broke) {
		end_broke(p);
		return false;
	}
	return true;
}

/* The steps of its next turn, as the meter allows. */
static int64_t
turn_budget(struct pf_platform *pf, struct pf_proc *p)
{
	if (!pf->meter.turn)
		return pf->cfg.slice;
	return pf->meter.turn(pf->meter.ud, p, pf->cfg.slice);
}

static void
charge_steps(struct pf_platform *pf, struct pf_proc *p, uint64_t used)
{
	if (pf->meter.steps &&
	    pf->meter.steps(pf->meter.ud, p, used) == PF_BROKE)
		p->broke = true;
}

static void
idle_cb(uv_idle_t *h)
{
	struct pf_platform *pf = h->data;
	uint64_t start = uv_hrtime(), mark = start;
	bool queued = false;
	while (!pf__list_empty(&pf->runq)) {
		count_busy(pf, &mark, queued);
		struct pf_proc *p =
		    PF_CONTAINER(pf->runq.next, struct pf_proc, run);
		pf__list_del(&p->run);
		queued = !pf__list_empty(&pf->runq);
		p->state = PF_RUNNING;
		if (p->work) {
			/* Waiting on work: one slice of it, then others get
			 * their turn. */
			if (work_turn(pf, p))
				pf__make_runnable(p);
			if ((uv_hrtime() - start) / 1000 >= SCHED_BUDGET_US)
				break;
			continue;
		}
		int64_t budget = turn_budget(pf, p);
		if (budget <= 0) {
			end_broke(p);
			continue;
		}
		uint64_t before = m0_state_steps(p->s);
		int r = m0_state_run(p->s, budget);
		uint64_t used = m0_state_steps(p->s) - before;
		pf->st.slices++;
		pf->st.steps += used;
		charge_steps(pf, p, used);
		if (r == M0_RUN_YIELD && over_limits(p)) {
			m0_state_kill(p->s);
			r = M0_RUN_DONE;
		}
		/* A process that blocked on a service (a deposit) is not
		 * removed: the meter said PAID while it waits. */
		if (r != M0_RUN_DONE && p->broke) {
			end_broke(p);
			continue;
		}
		if (r == M0_RUN_DONE)
			pf__end_proc(p);
		else if (r == M0_RUN_YIELD || (r == M0_RUN_BLOCKED && p->work))
			pf__make_runnable(p);
		/* M0_RUN_BLOCKED: pf__enter put it among the waiters, or a
		 * service parked it. */
		if ((uv_hrtime() - start) / 1000 >= SCHED_BUDGET_US)
			break;
	}
	count_busy(pf, &mark, queued);
	if (pf__list_empty(&pf->runq)) {
		uv_idle_stop(&pf->idle);
		pf->idle_on = false;
	}
}

void
pf_proc_set_manual(struct pf_proc *p)
{
	if (p->state == PF_RUNNABLE && !p->manual)
		pf__list_del(&p->run);
	p->manual = true;
}

int
pf_run_manual(struct pf_proc *p, int64_t budget)
{
	if (p->state == PF_WAITING)
		return M0_RUN_BLOCKED;
	if (p->work) {
		if (p->work(p->work_ud, p))
			p->work = NULL;
		return M0_RUN_YIELD;
	}
	p->state = PF_RUNNING;
	int r = m0_state_run(p->s, budget);
	if (r != M0_RUN_BLOCKED)
		p->state = PF_RUNNABLE;
	return r;
}

void
pf_proc_interrupt(struct pf_proc *p)
{
	if (p->state == PF_WAITING) {
		pf__leave(p);
		pf__timer_del(p);
		p->state = PF_RUNNABLE;
	}
	m0_state_interrupt(p->s);
}

/*
 * The lifetime limit is checked after each slice, but a process that
 * waits in a queue runs no slices: a timer sweeps the waiting ones, so a
 * messenger cannot outlive max_life by never running again.
 */
static void
life_cb(uv_timer_t *t)
{
	struct pf_platform *pf = t->data;
	int64_t now = pf_now_us();
	struct pf_link *l = pf->all.next, *next;
	for (; l != &pf->all; l = next) {
		next = l->next;
		struct pf_proc *p = PF_CONTAINER(l, struct pf_proc, all);
		if (p->state != PF_WAITING || p->manual ||
		    now - p->born < pf->cfg.max_life_us)
			continue;
		pf->st.drops[PF_DROP_LIFE_LIMIT]++;
		m0_state_kill(p->s);
		pf__end_proc(p);
	}
}

void
pf__life_init(struct pf_platform *pf)
{
	uv_timer_init(pf->loop, &pf->life);
	pf->life.data = pf;
	if (pf->cfg.max_life_us <= 0)
		return;
	uint64_t every = (uint64_t)pf->cfg.max_life_us / 4000;
	if (every < 10)
		every = 10;
	if (every > 1000)
		every = 1000;
	uv_timer_start(&pf->life, life_cb, every, every);
	uv_unref((uv_handle_t *)&pf->life); /* never keeps the loop alive */
}

/* The scheduler's handles close; pf__handle_closed counts them down. */
void
pf__sched_close(struct pf_platform *pf)
{
	uv_handle_t *hs[] = {(uv_handle_t *)&pf->idle,
	    (uv_handle_t *)&pf->timer, (uv_handle_t *)&pf->life};
	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
		hs[i]->data = pf;
		pf->pending++;
		uv_close(hs[i], pf__handle_closed);
	}
	pf->idle_on = false;
}

/* Ends the process (id) and every living process of its family (what it
 * submitted, and so on down, also through ended members); here because
 * only the scheduler ends processes. */
int
pf_kill_family(struct pf_platform *pf, uint64_t id)
{
	struct pf_proc **w;
	size_t n = pf__fam_collect(pf, id, &w);
	int killed = 0;
	/* The youngest first: ending one frees only itself (and nodes). */
	for (size_t i = n; i-- > 0;) {
		struct pf_proc *p = w[i];
		if (p->state == PF_RUNNING)
			continue; /* never free a process inside its own run */
		m0_state_kill(p->s);
		pf__end_proc(p);
		killed++;
	}
	free(w);
	return killed;
}
