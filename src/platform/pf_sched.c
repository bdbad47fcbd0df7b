/*
 * pf_sched.c: the scheduler of green threads. Runnable processes (heads of
 * queues and processes in no queue) run round-robin, a slice of steps
 * each, in FIFO order of becoming runnable. A uv_idle handle drains the
 * run queue and is active only while something is runnable, so uv_run
 * sleeps when nothing is; each idle callback runs for at most a few
 * milliseconds so network events and timers interleave.
 */
#include <stdlib.h>

#include "pf_money.h"

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

/* Ends a process: its queue place, timer and memory are released. */
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
	pf__native_release(p);
	pf__chan_release(p);
	pf__acct_close(p);
	free(p->acct);
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
 * Demand for the processor, for the step price: time spent running a
 * process counts once, twice while others queue behind it. The price
 * targets half of twice the epoch, so it holds while messengers take the
 * processor one at a time (one that computes for minutes on an idle host
 * pays the same price throughout), rises while they queue for it and
 * falls while it idles (docs/money.md, "Prices").
 */
static void
count_demand(struct pf_platform *pf, uint64_t *mark, bool queued)
{
	if (!pf->money) /* a free platform has no step price */
		return;
	uint64_t now = uv_hrtime();
	pf->money->demand_ns += (now - *mark) * (queued ? 2 : 1);
	*mark = now;
}

static void
idle_cb(uv_idle_t *h)
{
	struct pf_platform *pf = h->data;
	uint64_t start = uv_hrtime(), mark = start;
	bool queued = false;
	while (!pf__list_empty(&pf->runq)) {
		count_demand(pf, &mark, queued);
		struct pf_proc *p =
		    PF_CONTAINER(pf->runq.next, struct pf_proc, run);
		pf__list_del(&p->run);
		queued = !pf__list_empty(&pf->runq);
		p->state = PF_RUNNING;
		if (p->nrun) {
			/* Waiting on native code: one slice of guest time,
			 * then others get their turn. The lifetime limit
			 * holds here too: guest time is lifetime. */
			if (over_limits(p)) {
				m0_state_kill(p->s);
				pf__end_proc(p);
				continue;
			}
			pf__native_step(p);
			if (pf__acct_broke(p)) {
				pf__remove_broke(p);
				continue;
			}
			pf__make_runnable(p);
			if ((uv_hrtime() - start) / 1000 >= SCHED_BUDGET_US)
				break;
			continue;
		}
		int64_t budget = pf__charge_budget(p, pf->cfg.slice);
		if (budget <= 0) {
			pf__remove_broke(p);
			continue;
		}
		uint64_t before = m0_state_steps(p->s);
		if (pf->money)
			pf->money->gmark = m0_global_bytes(pf->g);
		int r = m0_state_run(p->s, budget);
		uint64_t used = m0_state_steps(p->s) - before;
		pf->st.slices++;
		pf->st.steps += used;
		if (p->acct)
			pf__charge_steps(p, used);
		if (r == M0_RUN_YIELD && over_limits(p)) {
			m0_state_kill(p->s);
			r = M0_RUN_DONE;
		}
		if (r != M0_RUN_DONE && pf__acct_broke(p) &&
		    !(r == M0_RUN_BLOCKED && p->acct->wait)) {
			pf__remove_broke(p);
			continue;
		}
		if (r == M0_RUN_DONE)
			pf__end_proc(p);
		else if (r == M0_RUN_YIELD || (r == M0_RUN_BLOCKED && p->nrun))
			pf__make_runnable(p);
		/* M0_RUN_BLOCKED: pf__enter put it among the waiters. */
		if ((uv_hrtime() - start) / 1000 >= SCHED_BUDGET_US)
			break;
	}
	count_demand(pf, &mark, queued);
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
	if (p->nrun) {
		pf__native_step(p);
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
