/*
 * test_kvm.c: contexts and the pool: creation limits, error strings,
 * reuse that leaks nothing from one user to the next, and the pool used
 * from two threads at once.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "kvm_test.h"
#include "kvm_int.h"

static void
test_strerror_all_distinct(void **state)
{
	int i, j;

	(void)state;
	assert_string_equal(kvm_strerror(KVM_OK), "success");
	for (i = 0; i < KVM_ERR_N; i++)
		for (j = i + 1; j < KVM_ERR_N; j++)
			assert_string_not_equal(
			    kvm_strerror(i), kvm_strerror(j));
	assert_string_equal(kvm_strerror(KVM_ERR_N), "unknown kvm error");
}

static void
test_ctx_slab_cap(void **state)
{
	struct kvm_config cfg = {.slab_max = 8u << 20};
	struct kvm_ctx *ctx = (void *)1;

	(void)state;
	assert_int_equal(kvm_ctx_new(&cfg, 9u << 20, &ctx), KVM_ERR_SLAB_CAP);
	assert_null(ctx);
	cfg.slab_max = 4ull << 30;
	assert_int_equal(kvm_ctx_new(&cfg, 1u << 20, &ctx), KVM_ERR_SLAB_CAP);
	cfg.slab_max = 8u << 20;
	assert_int_equal(kvm_ctx_new(&cfg, 8u << 20, &ctx), KVM_OK);
	assert_int_equal(kvm_ctx_mem_used(ctx), 8 * 4096);
	kvm_ctx_free(ctx);
	kvm_ctx_free(NULL);
}

/* The slab size asked for is a hard limit on pages, tables included. */
static void
test_ctx_slab_full(void **state)
{
	struct kvm_ctx *ctx;
	uint64_t a;
	enum kvm_err err = KVM_OK;

	(void)state;
	assert_int_equal(kvm_ctx_new(NULL, 64 * 4096, &ctx), KVM_OK);
	for (a = 0x100000; err == KVM_OK; a += 4096)
		err = kvm_mem_map(ctx, a, 4096, KVM_PROT_USER);
	assert_int_equal(err, KVM_ERR_SLAB_FULL);
	assert_int_equal(kvm_ctx_mem_used(ctx), 64 * 4096);
	/* 8 reserved + 3 tables + 53 data pages; the failing map undid */
	assert_int_equal((a - 0x100000) / 4096 - 1, 64 - 8 - 3);
	kvm_ctx_free(ctx);
}

/* Halt with the dword at T_DATA: mov eax, [T_DATA]; halt. */
/* clang-format off */
static const uint8_t t_read_data[] = {
	0x8b, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00, /* mov eax, [0x600000] */
	T_HALT_EAX,
};
/* clang-format on */

/* Loads (code) at T_CODE, runs it from there to its halt: the status. */
static uint32_t
t_load_run(struct kvm_ctx *ctx, const uint8_t *code, size_t len)
{
	struct kvm_guest_regs r;
	struct kvm_exit ex;

	assert_int_equal(kvm_mem_load(ctx, T_CODE, code, len,
	                     KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_EXEC),
	    KVM_OK);
	memset(&r, 0, sizeof(r));
	r.rip = T_CODE;
	assert_int_equal(kvm_regs_set(ctx, &r), KVM_OK);
	t_run(ctx, &ex, KVM_EXITK_HALT);
	return ex.u.halt.status;
}

static uint32_t
t_guest_reads(struct kvm_ctx *ctx)
{
	return t_load_run(ctx, t_read_data, sizeof(t_read_data));
}

static void
test_pool_reuse_leaks_nothing(void **state)
{
	struct kvm_config cfg = {.slab_max = 32u << 20, .pool_max = 2};
	struct kvm_pool *pool;
	struct kvm_ctx *c1, *c2;
	struct kvm_guest_regs r;
	uint32_t v = 0x11111111, w = 0x22222222, got = 0;
	uint8_t zero[4096], page[4096];

	(void)state;
	memset(zero, 0, sizeof(zero));
	assert_int_equal(kvm_pool_new(&cfg, &pool), KVM_OK);
	assert_int_equal(kvm_pool_acquire(pool, 1u << 20, &c1), KVM_OK);
	assert_int_equal(kvm_mem_map(c1, T_DATA, 4096,
	                     KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_WRITE),
	    KVM_OK);
	assert_int_equal(kvm_mem_write(c1, T_DATA, &v, 4), KVM_OK);
	assert_int_equal(t_guest_reads(c1), v); /* its TLB now holds T_DATA */
	kvm_regs_get(c1, &r);
	r.r12 = 0xdeadbeef, r.fs_base = 0x1000;
	assert_int_equal(kvm_regs_set(c1, &r), KVM_OK);
	kvm_pool_release(pool, c1);
	assert_int_equal(kvm_pool_idle(pool), 1);

	assert_int_equal(kvm_pool_acquire(pool, 1u << 20, &c2), KVM_OK);
	assert_ptr_equal(c1, c2); /* the same VM, reset */
	assert_int_equal(kvm_pool_idle(pool), 0);
	assert_int_equal(kvm_ctx_mem_used(c2), 8 * 4096);
	kvm_regs_get(c2, &r);
	assert_int_equal(r.r12, 0);
	assert_int_equal(r.fs_base, 0);
	assert_int_equal(kvm_mem_read(c2, T_DATA, &got, 4), KVM_ERR_UNMAPPED);
	/* Map something else first so that T_DATA gets another physical
	 * page than user 1 had: a stale translation would then show. */
	assert_int_equal(kvm_mem_map(c2, 0x10000000, 8 * 4096,
	                     KVM_PROT_USER | KVM_PROT_WRITE),
	    KVM_OK);
	assert_int_equal(kvm_mem_map(c2, T_DATA, 4096,
	                     KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_WRITE),
	    KVM_OK);
	assert_int_equal(kvm_mem_read(c2, T_DATA, page, 4096), KVM_OK);
	assert_memory_equal(page, zero, 4096);
	assert_int_equal(kvm_mem_write(c2, T_DATA, &w, 4), KVM_OK);
	assert_int_equal(t_guest_reads(c2), w);
	kvm_pool_release(pool, c2);
	kvm_pool_free(pool);
}

static long
t_minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* Making a context leaves this process's memory as it was: without KVM
 * the guest process is a clone of this one, and a page it inherited
 * would be copy on write here, so writing memory we already hold would
 * fault again (each fault ~10 µs on a virtual machine). */
static void
test_create_leaves_memory_alone(void **state)
{
	size_t len = 4u << 20;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct kvm_ctx *ctx;
	long before;

	(void)state;
	assert_true(p != MAP_FAILED);
	memset(p, 1, len);
	assert_int_equal(kvm_ctx_new(NULL, 1u << 20, &ctx), KVM_OK);
	before = t_minflt();
	memset(p, 2, len);
	/* 1,024 without care; a few for the test's own pages */
	assert_true(t_minflt() - before < 64);
	kvm_ctx_free(ctx);
	munmap(p, len);
}

/* A warmed context (made ahead, its first pages resident) waits idle in
 * the pool for the first user, who gets it as a fresh one: its pages
 * read zero, it runs; a warm-up into a full pool makes nothing to
 * keep. */
static void
test_pool_warm(void **state)
{
	struct kvm_config cfg = {.slab_max = 32u << 20, .pool_max = 1};
	struct kvm_pool *pool;
	struct kvm_ctx *c;
	uint32_t v = 0x33333333, got = 1;

	(void)state;
	assert_int_equal(kvm_pool_new(&cfg, &pool), KVM_OK);
	assert_int_equal(kvm_pool_warm(pool, 1u << 20), KVM_OK);
	assert_int_equal(kvm_pool_idle(pool), 1);
	assert_int_equal(kvm_pool_warm(pool, 1u << 20), KVM_OK);
	assert_int_equal(kvm_pool_idle(pool), 1);
	assert_int_equal(kvm_pool_acquire(pool, 1u << 20, &c), KVM_OK);
	assert_int_equal(kvm_pool_idle(pool), 0);
	assert_int_equal(kvm_mem_map(c, T_DATA, 4096,
	                     KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_WRITE),
	    KVM_OK);
	assert_int_equal(kvm_mem_read(c, T_DATA, &got, 4), KVM_OK);
	assert_int_equal(got, 0);
	assert_int_equal(kvm_mem_write(c, T_DATA, &v, 4), KVM_OK);
	assert_int_equal(t_guest_reads(c), v);
	kvm_pool_release(pool, c);
	assert_int_equal(kvm_pool_idle(pool), 1);
	kvm_pool_free(pool);
}

/* The next user lays out its memory as the last one did (the common
 * case: the same program again). On the ptrace backend the guest process
 * then keeps its mappings across the reset; what it shows must still be
 * only the new user's: the page at the same address reads zero from
 * inside the guest, an address only the last user had faults, and a
 * page now backed by another slab page shows the new bytes. */
static void
test_pool_reuse_same_layout(void **state)
{
	/* clang-format off */
	static const uint8_t code1[] = {
		0x8b, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00, /* mov eax, [0x600000] */
		0x03, 0x04, 0x25, 0x00, 0x00, 0x61, 0x00, /* add eax, [0x610000] */
		T_HALT_EAX,
	};
	static const uint8_t code2[] = {
		0x8b, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00, /* mov eax, [0x600000] */
		T_HALT_EAX,
		0x8b, 0x04, 0x25, 0x00, 0x00, 0x61, 0x00, /* 12: mov eax, [0x610000] */
		T_HALT_EAX,
	};
	/* clang-format on */
	const unsigned rw = KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_WRITE;
	struct kvm_config cfg = {.slab_max = 32u << 20, .pool_max = 1};
	struct kvm_pool *pool;
	struct kvm_ctx *c1, *c2;
	struct kvm_guest_regs r;
	struct kvm_exit ex;
	uint32_t v = 0x1234, u = 0x50000;

	(void)state;
	assert_int_equal(kvm_pool_new(&cfg, &pool), KVM_OK);
	assert_int_equal(kvm_pool_acquire(pool, 1u << 20, &c1), KVM_OK);
	assert_int_equal(kvm_mem_map(c1, T_DATA, 4096, rw), KVM_OK);
	assert_int_equal(kvm_mem_map(c1, T_DATA + 0x10000, 4096, rw), KVM_OK);
	assert_int_equal(kvm_mem_write(c1, T_DATA, &v, 4), KVM_OK);
	assert_int_equal(kvm_mem_write(c1, T_DATA + 0x10000, &u, 4), KVM_OK);
	assert_int_equal(t_load_run(c1, code1, sizeof(code1)), v + u);
	kvm_pool_release(pool, c1);

	assert_int_equal(kvm_pool_acquire(pool, 1u << 20, &c2), KVM_OK);
	assert_ptr_equal(c1, c2);
	assert_int_equal(kvm_mem_map(c2, T_DATA, 4096, rw), KVM_OK);
	assert_int_equal(t_load_run(c2, code2, sizeof(code2)), 0);
	memset(&r, 0, sizeof(r));
	r.rip = T_CODE + 12;
	assert_int_equal(kvm_regs_set(c2, &r), KVM_OK);
	t_run(c2, &ex, KVM_EXITK_PAGE_FAULT);
	assert_int_equal(ex.u.page_fault.addr, T_DATA + 0x10000);
	kvm_pool_release(pool, c2);
	kvm_pool_free(pool);
}

/* A user who never ran gets the cheap reset; the next one must still
 * start clean: no mapping, zero registers, and a guest that works. */
static void
test_pool_reuse_after_no_run(void **state)
{
	struct kvm_config cfg = {.slab_max = 8u << 20, .pool_max = 1};
	struct kvm_pool *pool;
	struct kvm_ctx *c;
	struct kvm_guest_regs r;
	uint32_t v = 0x5a5a;
	kvm_gva_t cur = 0;
	struct kvm_range rg;

	(void)state;
	assert_int_equal(kvm_pool_new(&cfg, &pool), KVM_OK);
	assert_int_equal(kvm_pool_acquire(pool, 1u << 20, &c), KVM_OK);
	assert_int_equal(kvm_mem_map(c, T_DATA, 4096,
	                     KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_WRITE),
	    KVM_OK);
	memset(&r, 0, sizeof(r));
	r.rip = T_CODE, r.rbx = 7, r.fs_base = 0x9000;
	assert_int_equal(kvm_regs_set(c, &r), KVM_OK);
	kvm_pool_release(pool, c); /* never ran */
	assert_int_equal(kvm_pool_acquire(pool, 1u << 20, &c), KVM_OK);
	assert_int_equal(kvm_mem_next(c, &cur, &rg), KVM_ERR_END);
	kvm_regs_get(c, &r);
	assert_int_equal(r.rbx, 0);
	assert_int_equal(r.rip, 0);
	assert_int_equal(r.fs_base, 0);
	assert_int_equal(kvm_ctx_mem_used(c), 8 * 4096);
	assert_int_equal(kvm_mem_map(c, T_DATA, 4096,
	                     KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_WRITE),
	    KVM_OK);
	assert_int_equal(kvm_mem_write(c, T_DATA, &v, 4), KVM_OK);
	assert_int_equal(t_guest_reads(c), v);
	kvm_pool_release(pool, c); /* ran: full reset */
	assert_int_equal(kvm_pool_acquire(pool, 1u << 20, &c), KVM_OK);
	assert_int_equal(kvm_mem_map(c, T_DATA, 4096,
	                     KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_WRITE),
	    KVM_OK);
	assert_int_equal(t_guest_reads(c), 0);
	kvm_pool_release(pool, c);
	kvm_pool_free(pool);
}

static void
test_pool_limit(void **state)
{
	struct kvm_config cfg = {.slab_max = 4u << 20, .ctx_max = 2};
	struct kvm_pool *pool;
	struct kvm_ctx *a, *b, *c;

	(void)state;
	assert_int_equal(kvm_pool_new(&cfg, &pool), KVM_OK);
	assert_int_equal(kvm_pool_acquire(pool, 1u << 20, &a), KVM_OK);
	assert_int_equal(kvm_pool_acquire(pool, 1u << 20, &b), KVM_OK);
	assert_int_equal(kvm_pool_acquire(pool, 1u << 20, &c), KVM_ERR_LIMIT);
	assert_null(c);
	kvm_pool_release(pool, a);
	assert_int_equal(
	    kvm_pool_acquire(pool, 8u << 20, &c), KVM_ERR_SLAB_CAP);
	assert_int_equal(kvm_pool_acquire(pool, 1u << 20, &c), KVM_OK);
	kvm_pool_release(pool, b);
	kvm_pool_release(pool, c);
	kvm_pool_free(pool);
}

/* A context that hit an unexpected exit is freed, not pooled. KVM: the
 * IDT is wiped through the internal header to force a triple fault; the
 * ptrace backend: its guest process is killed. */
static void
test_pool_broken_not_reused(void **state)
{
	static const uint8_t ud2[] = {0x0f, 0x0b};
	struct kvm_config cfg = {.slab_max = 4u << 20};
	struct kvm_guest_regs r;
	struct kvm_pool *pool;
	struct kvm_ctx *c;
	struct kvm_exit ex;

	(void)state;
	assert_int_equal(kvm_pool_new(&cfg, &pool), KVM_OK);
	assert_int_equal(kvm_pool_acquire(pool, 1u << 20, &c), KVM_OK);
	assert_int_equal(
	    kvm_mem_load(c, T_CODE, ud2, 2, KVM_PROT_USER | KVM_PROT_EXEC),
	    KVM_OK);
	memset(&r, 0, sizeof(r));
	r.rip = T_CODE;
	assert_int_equal(kvm_regs_set(c, &r), KVM_OK);
	if (t_is_kvm())
		memset(c->slab + KVM__GPA_IDT, 0, 4096);
	else
		assert_int_equal(kill(kvm__ptrace_pid(c), SIGKILL), 0);
	assert_int_equal(kvm_ctx_run(c, 1000000, &ex), KVM_OK);
	assert_int_equal(ex.kind, KVM_EXITK_ERROR);
	kvm_pool_release(pool, c);
	assert_int_equal(kvm_pool_idle(pool), 0);
	kvm_pool_free(pool);
}

struct t_worker {
	struct kvm_pool *pool;
	int rounds, ok;
};

static void *
t_worker_main(void *arg)
{
	/* clang-format off */
	static const uint8_t code[] = {
		0xb8, 0x2a, 0x00, 0x00, 0x00, /* mov eax, 42 */
		T_HALT_EAX,
	};
	/* clang-format on */
	struct t_worker *w = arg;
	struct kvm_guest_regs r;
	struct kvm_ctx *ctx;
	struct kvm_exit ex;
	int i;

	for (i = 0; i < w->rounds; i++) {
		if (kvm_pool_acquire(w->pool, 1u << 20, &ctx) != KVM_OK)
			return NULL;
		memset(&r, 0, sizeof(r));
		r.rip = T_CODE;
		if (kvm_mem_load(ctx, T_CODE, code, sizeof(code),
		        KVM_PROT_USER | KVM_PROT_EXEC) != KVM_OK ||
		    kvm_regs_set(ctx, &r) != KVM_OK ||
		    kvm_ctx_run(ctx, 100000, &ex) != KVM_OK ||
		    ex.kind != KVM_EXITK_HALT || ex.u.halt.status != 42) {
			kvm_pool_release(w->pool, ctx);
			return NULL;
		}
		kvm_pool_release(w->pool, ctx);
	}
	w->ok = 1;
	return NULL;
}

/* A worker that blocked the preemption signal still gets preempted: the
 * core unblocks it for the thread that runs. */
static void *
t_spin_main(void *arg)
{
	static const uint8_t spin[] = {0xeb, 0xfe}; /* jmp . */
	struct kvm_exit *ex = arg;
	struct kvm_guest_regs r;
	struct kvm_ctx *ctx;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + KVM_SIGNAL_RT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	memset(&r, 0, sizeof(r));
	r.rip = T_CODE;
	if (kvm_ctx_new(NULL, 1u << 20, &ctx) != KVM_OK)
		return NULL;
	if (kvm_mem_load(ctx, T_CODE, spin, 2, KVM_PROT_USER | KVM_PROT_EXEC) ==
	        KVM_OK &&
	    kvm_regs_set(ctx, &r) == KVM_OK)
		(void)kvm_ctx_run(ctx, 10000, ex);
	kvm_ctx_free(ctx);
	return NULL;
}

static void
test_run_worker_budget(void **state)
{
	struct kvm_exit ex;
	pthread_t th;

	(void)state;
	memset(&ex, 0, sizeof(ex));
	ex.kind = KVM_EXITK_ERROR;
	assert_int_equal(pthread_create(&th, NULL, t_spin_main, &ex), 0);
	pthread_join(th, NULL);
	assert_int_equal(ex.kind, KVM_EXITK_BUDGET);
	assert_true(ex.ran_ns >= 10000000ull);
}

/* The loop thread and a worker share the pool; runs happen on both. */
static void
test_pool_two_threads(void **state)
{
	struct kvm_config cfg = {.slab_max = 4u << 20, .pool_max = 4};
	struct t_worker a = {0}, b = {0};
	pthread_t th;

	(void)state;
	assert_int_equal(kvm_pool_new(&cfg, &a.pool), KVM_OK);
	b.pool = a.pool;
	a.rounds = b.rounds = 200;
	assert_int_equal(pthread_create(&th, NULL, t_worker_main, &a), 0);
	t_worker_main(&b);
	pthread_join(th, NULL);
	assert_true(a.ok);
	assert_true(b.ok);
	assert_true(kvm_pool_idle(a.pool) <= 2);
	kvm_pool_free(a.pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strerror_all_distinct),
	    cmocka_unit_test(test_ctx_slab_cap),
	    cmocka_unit_test(test_ctx_slab_full),
	    cmocka_unit_test(test_pool_reuse_leaks_nothing),
	    cmocka_unit_test(test_pool_reuse_same_layout),
	    cmocka_unit_test(test_pool_reuse_after_no_run),
	    cmocka_unit_test(test_pool_warm),
	    cmocka_unit_test(test_create_leaves_memory_alone),
	    cmocka_unit_test(test_pool_limit),
	    cmocka_unit_test(test_pool_broken_not_reused),
	    cmocka_unit_test(test_pool_two_threads),
	    cmocka_unit_test(test_run_worker_budget),
	};

	t_require_kvm();
	return cmocka_run_group_tests_name("kvm", tests, NULL, NULL);
}
