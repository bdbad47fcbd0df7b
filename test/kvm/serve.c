/*
 * serve.c: the syscall server of the tests (see serve.h). Numbers are the
 * x86-64 Linux ones; answers follow the Linux ABI (negative errno in rax).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve.h"

#define SYS_READ 0
#define SYS_WRITE 1
#define SYS_MMAP 9
#define SYS_MPROTECT 10
#define SYS_MUNMAP 11
#define SYS_BRK 12
#define SYS_IOCTL 16
#define SYS_WRITEV 20
#define SYS_GETPID 39
#define SYS_EXIT 60
#define SYS_ARCH_PRCTL 158
#define SYS_SET_TID_ADDRESS 218
#define SYS_CLOCK_GETTIME 228
#define SYS_EXIT_GROUP 231

#define PAGE 4096ull
#define UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))
#define BRK_MAX (256ull << 20)
#define MMAP_TOP 0x7f0000000000ull
#define ARCH_SET_FS 0x1002
#define MAP_FIXED_ 0x10
#define MAP_ANON_ 0x20

void *
serve_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) != NULL &&
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf != NULL)
		*len = (size_t)n;
	fclose(f);
	return buf;
}

enum kvm_err
serve_exec(struct serve_proc *p, struct kvm_ctx *ctx, const void *img,
    size_t len, kvm_gva_t base, const char *const *argv)
{
	struct kvm_stack_args sa;
	enum kvm_err err;

	memset(p, 0, sizeof(*p));
	p->ctx = ctx;
	if ((err = kvm_elf_load(ctx, img, len, base, &p->info)) != KVM_OK)
		return err;
	memset(&sa, 0, sizeof(sa));
	sa.argv = argv;
	if ((err = kvm_elf_stack(ctx, &p->info, &sa)) != KVM_OK)
		return err;
	p->brk_start = p->brk_cur = p->info.hi;
	p->mmap_next = MMAP_TOP;
	return KVM_OK;
}

static unsigned
serve_prot(uint64_t prot)
{
	unsigned k = 0;

	if (prot == 0)
		return KVM_PROT_READ; /* PROT_NONE: supervisor-only */
	k = KVM_PROT_USER | KVM_PROT_READ;
	if (prot & 2)
		k |= KVM_PROT_WRITE;
	if (prot & 4)
		k |= KVM_PROT_EXEC;
	return k;
}

static int64_t
serve_write(struct serve_proc *p, uint64_t fd, uint64_t buf, uint64_t n)
{
	uint64_t room = SERVE_OUT_MAX - p->outlen;

	if (fd != 1 && fd != 2)
		return -EBADF;
	if (n > room)
		n = room;
	if (kvm_mem_read(p->ctx, buf, p->out + p->outlen, n) != KVM_OK)
		return -EFAULT;
	p->outlen += n;
	return (int64_t)n;
}

static int64_t
serve_writev(struct serve_proc *p, uint64_t fd, uint64_t iov, uint64_t cnt)
{
	uint64_t v[2];
	int64_t r, sum = 0;
	uint64_t i;

	if (cnt > 1024)
		return -EINVAL;
	for (i = 0; i < cnt; i++) {
		if (kvm_mem_read(p->ctx, iov + 16 * i, v, 16) != KVM_OK)
			return -EFAULT;
		if ((r = serve_write(p, fd, v[0], v[1])) < 0)
			return r;
		sum += r;
	}
	return sum;
}

static int64_t
serve_brk(struct serve_proc *p, uint64_t want)
{
	uint64_t cur = UP(p->brk_cur), next = UP(want);

	if (want < p->brk_start || want - p->brk_start > BRK_MAX)
		return (int64_t)p->brk_cur;
	if (next > cur &&
	    kvm_mem_map(p->ctx, cur, next - cur,
	        KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_WRITE) != KVM_OK)
		return (int64_t)p->brk_cur;
	if (next < cur)
		(void)kvm_mem_unmap(p->ctx, next, cur - next);
	p->brk_cur = want;
	return (int64_t)want;
}

static int64_t
serve_mmap(struct serve_proc *p, const uint64_t *a)
{
	uint64_t len = UP(a[1]), at;

	if (!(a[3] & MAP_ANON_))
		return -ENODEV;
	if (len == 0 || a[1] > (1ull << 40))
		return -EINVAL;
	if (a[3] & MAP_FIXED_) {
		at = a[0];
		if (at % PAGE != 0)
			return -EINVAL;
		(void)kvm_mem_unmap(p->ctx, at, len);
	} else {
		if (p->mmap_next - len < p->brk_start + BRK_MAX)
			return -ENOMEM;
		at = p->mmap_next - len;
	}
	if (kvm_mem_map(p->ctx, at, len, serve_prot(a[2])) != KVM_OK)
		return -ENOMEM;
	if (!(a[3] & MAP_FIXED_))
		p->mmap_next = at;
	return (int64_t)at;
}

static int64_t
serve_clock(struct serve_proc *p, uint64_t clk, uint64_t ts)
{
	struct timespec t;
	int64_t v[2];

	if (clk > 7 || clock_gettime((clockid_t)clk, &t) != 0)
		return -EINVAL;
	v[0] = t.tv_sec, v[1] = t.tv_nsec;
	return kvm_mem_write(p->ctx, ts, v, 16) == KVM_OK ? 0 : -EFAULT;
}

static int64_t
serve_syscall(struct serve_proc *p, const struct kvm_exit *ex)
{
	const uint64_t *a = ex->u.syscall.arg;
	struct kvm_guest_regs r;

	switch (ex->u.syscall.nr) {
	case SYS_READ:
		return a[0] == 0 ? 0 : -EBADF;
	case SYS_WRITE:
		return serve_write(p, a[0], a[1], a[2]);
	case SYS_WRITEV:
		return serve_writev(p, a[0], a[1], a[2]);
	case SYS_BRK:
		return serve_brk(p, a[0]);
	case SYS_MMAP:
		return serve_mmap(p, a);
	case SYS_MUNMAP:
		if (a[0] % PAGE != 0 || a[1] == 0)
			return -EINVAL;
		return kvm_mem_unmap(p->ctx, a[0], UP(a[1])) == KVM_OK
		    ? 0
		    : -EINVAL;
	case SYS_MPROTECT:
		return kvm_mem_protect(
		           p->ctx, a[0], UP(a[1]), serve_prot(a[2])) == KVM_OK
		    ? 0
		    : -ENOMEM;
	case SYS_ARCH_PRCTL:
		if (a[0] != ARCH_SET_FS)
			return -EINVAL;
		kvm_regs_get(p->ctx, &r);
		r.fs_base = a[1];
		return kvm_regs_set(p->ctx, &r) == KVM_OK ? 0 : -EPERM;
	case SYS_SET_TID_ADDRESS:
	case SYS_GETPID:
		return 1;
	case SYS_IOCTL:
		return -ENOTTY;
	case SYS_CLOCK_GETTIME:
		return serve_clock(p, a[0], a[1]);
	case SYS_EXIT:
	case SYS_EXIT_GROUP:
		p->exited = 1;
		p->status = (int)(a[0] & 0xff);
		return 0;
	default:
		return -ENOSYS;
	}
}

int
serve_run(struct serve_proc *p, uint64_t limit_us)
{
	uint64_t spent = 0;
	int64_t rv;

	while (spent < limit_us * 1000ull) {
		if (kvm_ctx_run(p->ctx, 100000, &p->last) != KVM_OK)
			return 0;
		spent += p->last.ran_ns;
		if (p->last.kind == KVM_EXITK_BUDGET)
			continue;
		if (p->last.kind != KVM_EXITK_SYSCALL)
			return 0;
		p->nsyscalls++;
		rv = serve_syscall(p, &p->last);
		if (p->exited)
			return 1;
		kvm_syscall_return(p->ctx, (uint64_t)rv);
	}
	return 0;
}
