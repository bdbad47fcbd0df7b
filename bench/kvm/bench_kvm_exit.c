/*
 * bench_kvm_exit: the raw cost of one trip guest -> host -> guest, for an
 * `out` hypercall (handled by KVM without the trampoline) and for a
 * `syscall` (through the ring-0 trampoline), plus the accuracy of the time
 * budget. Plain figures on stdout.
 *   bench_kvm_exit [TRIPS [syscall]]   (syscall: only the syscall trip
 *                                       with a 2 ms budget)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_kvm.h"
#include "kvm.h"

static void
trips(const char *what, const uint8_t *code, size_t len,
    enum kvm_exit_kind kind, uint64_t budget_us, int n)
{
	struct kvm_ctx *ctx = bk_code_ctx(code, len, 4u << 20);

	if (ctx == NULL)
		exit(1);
	struct kvm_exit ex;
	uint64_t t0, dt;
	int i, budgets = 0;

	for (i = 0; i < 1000; i++) /* warm up */
		kvm_ctx_run(ctx, budget_us, &ex);
	t0 = bk_now_ns();
	for (i = 0; i < n; i++) {
		if (kvm_ctx_run(ctx, budget_us, &ex) != KVM_OK)
			exit(2);
		if (ex.kind == KVM_EXITK_BUDGET) { /* host preempted us */
			budgets++;
			continue;
		}
		if (ex.kind != kind)
			exit(2);
		if (kind == KVM_EXITK_SYSCALL)
			kvm_syscall_return(ctx, 0);
	}
	dt = bk_now_ns() - t0;
	printf("%-34s %8d trips  %8.0f ns/trip  %10.0f exits/s", what, n,
	    (double)dt / n, n * 1e9 / (double)dt);
	if (budgets > 0)
		printf("  (%d budget exits)", budgets);
	printf("\n");
	kvm_ctx_free(ctx);
}

static void
budget_accuracy(uint64_t budget_us, int n)
{
	static const uint8_t spin[] = {0xeb, 0xfe}; /* jmp . */
	struct kvm_ctx *ctx = bk_code_ctx(spin, sizeof(spin), 4u << 20);
	struct kvm_exit ex;
	double over, sum = 0, max = 0;
	int i;

	if (ctx == NULL)
		exit(1);
	for (i = 0; i < n; i++) {
		if (kvm_ctx_run(ctx, budget_us, &ex) != KVM_OK ||
		    ex.kind != KVM_EXITK_BUDGET)
			exit(3);
		over = (double)ex.ran_ns / 1000.0 - (double)budget_us;
		sum += over;
		if (over > max)
			max = over;
	}
	printf("budget %6llu us: %4d runs  overshoot mean %7.1f us  max %7.1f "
	       "us\n",
	    (unsigned long long)budget_us, n, sum / n, max);
	kvm_ctx_free(ctx);
}

int
main(int argc, char **argv)
{
	/* mov dx, 0x501 ; l: out dx, eax ; jmp l */
	static const uint8_t out_loop[] = {
	    0x66, 0xba, 0x01, 0x05, 0xef, 0xeb, 0xfd};
	/* l: syscall ; jmp l */
	static const uint8_t sys_loop[] = {0x0f, 0x05, 0xeb, 0xfc};
	int n = argc > 1 ? atoi(argv[1]) : 200000;
	enum kvm_err err = kvm_probe();

	if (err != KVM_OK) {
		printf("skip: %s\n", kvm_strerror(err));
		return 77;
	}
	if (argc > 2 && strcmp(argv[2], "syscall") == 0) {
		/* bench/native/run.sh: the peer of a served system call, with
		 * the budget of a messenger's slice */
		trips("syscall (trampoline), 2 ms budget", sys_loop,
		    sizeof(sys_loop), KVM_EXITK_SYSCALL, 2000, n);
		return 0;
	}
	trips("out (hypercall), no budget", out_loop, sizeof(out_loop),
	    KVM_EXITK_IO, 0, n);
	trips("out (hypercall), 10 ms budget", out_loop, sizeof(out_loop),
	    KVM_EXITK_IO, 10000, n);
	trips("syscall (trampoline), no budget", sys_loop, sizeof(sys_loop),
	    KVM_EXITK_SYSCALL, 0, n);
	trips("syscall (trampoline), 10 ms budget", sys_loop, sizeof(sys_loop),
	    KVM_EXITK_SYSCALL, 10000, n);
	budget_accuracy(100, 200);
	budget_accuracy(1000, 100);
	budget_accuracy(10000, 30);
	return 0;
}
