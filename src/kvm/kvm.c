/*
 * kvm.c: the process-wide /dev/kvm handle, the choice of backend (KVM, or
 * a traced host process where /dev/kvm is missing: kvm_ptrace.c), context
 * creation and destruction, and the slab: a guest-physical memory area
 * with a page allocator that backs both user pages and page tables.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_int.h"

#define KVM__SLAB_DEFAULT (1ull << 30)
#define KVM__SLAB_HARDMAX (3ull << 30) /* stays below KVM_SET_TSS_ADDR */
#define KVM__CPUID_MAX 256

int kvm__devfd = -1;
struct kvm_cpuid2 *kvm__cpuid;
int kvm__run_size;
static enum kvm_err kvm__init_err = KVM_ERR_NODEV;
static pthread_once_t kvm__once = PTHREAD_ONCE_INIT;
static const struct kvm__ops *kvm__ops_active;

static const char *const kvm__msgs[] = {"success",
#define KVM__S(id, s) s,
    KVM_ERRMAP(KVM__S)
#undef KVM__S
};

const char *
kvm_strerror(enum kvm_err err)
{
	if ((unsigned)err >= KVM_ERR_N)
		return "unknown kvm error";
	return kvm__msgs[err];
}

/* Opened once per process and kept: contexts are created often and the
 * supported-CPUID query costs more than a VM. */
static void
kvm__global_once(void)
{
	int fd, sync;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		kvm__init_err = KVM_ERR_NODEV;
		return;
	}
	kvm__init_err = KVM_ERR_API;
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		goto err_close;
	sync = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	if (sync < 0 || !(sync & KVM_SYNC_X86_REGS))
		goto err_close;
	if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
		goto err_close;
	kvm__run_size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm__run_size < (int)sizeof(struct kvm_run))
		goto err_close;
	kvm__cpuid = calloc(1,
	    sizeof(*kvm__cpuid) +
	        KVM__CPUID_MAX * sizeof(struct kvm_cpuid_entry2));
	if (kvm__cpuid == NULL) {
		kvm__init_err = KVM_ERR_NOMEM;
		goto err_close;
	}
	kvm__cpuid->nent = KVM__CPUID_MAX;
	if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, kvm__cpuid) < 0)
		goto err_free;
	kvm__devfd = fd;
	kvm__init_err = KVM_OK;
	return;
err_free:
	free(kvm__cpuid);
	kvm__cpuid = NULL;
err_close:
	close(fd);
}

/* The backend: MZERO_NATIVE=kvm or =ptrace forces one; otherwise KVM
 * when /dev/kvm works, else the ptrace backend when this host lets a
 * process trace its children. */
static void
kvm__select_once(void)
{
	const char *want = getenv("MZERO_NATIVE");
	enum kvm_err err;

	if (want == NULL || *want == 0 || strcmp(want, "auto") == 0)
		want = NULL;
	else if (strcmp(want, "kvm") != 0 && strcmp(want, "ptrace") != 0) {
		kvm__init_err = KVM_ERR_INVAL;
		return;
	}
	if (want == NULL || strcmp(want, "kvm") == 0) {
		kvm__global_once();
		if (kvm__init_err == KVM_OK) {
			kvm__ops_active = &kvm__ops_kvm;
			return;
		}
		if (want != NULL)
			return;
	}
	err = kvm__ptrace_probe();
	if (err == KVM_OK)
		kvm__ops_active = &kvm__ops_ptrace;
	else if (want != NULL)
		kvm__init_err = err;
	/* auto: keep KVM's reason when neither works */
	if (err == KVM_OK)
		kvm__init_err = KVM_OK;
}

enum kvm_err
kvm__global_init(void)
{
	pthread_once(&kvm__once, kvm__select_once);
	return kvm__init_err;
}

enum kvm_err
kvm_probe(void)
{
	return kvm__global_init();
}

const char *
kvm_backend(void)
{
	if (kvm__global_init() != KVM_OK || kvm__ops_active == NULL)
		return "none";
	return kvm__ops_active->name;
}

/* The checked accessor: a host pointer to [gpa, gpa+len) or NULL when any
 * byte lies outside the slab. Every guest-memory access goes through it. */
uint8_t *
kvm__gpa(struct kvm_ctx *ctx, uint64_t gpa, uint64_t len)
{
	uint64_t size = ctx->slab_pages * KVM__PAGE;

	if (gpa > size || len > size - gpa)
		return NULL;
	return ctx->slab + gpa;
}

enum kvm_err
kvm__page_alloc(struct kvm_ctx *ctx, uint64_t *gpa)
{
	uint64_t i, w;

	if (ctx->used >= ctx->limit)
		return KVM_ERR_SLAB_FULL;
	for (i = ctx->hint; i < ctx->limit; i++) {
		w = ctx->bitmap[i / 64];
		if (w == ~0ull) {
			i |= 63;
			continue;
		}
		if (!(w & (1ull << (i % 64))))
			break;
	}
	if (i >= ctx->limit) {
		/* hint may have skipped freed pages below it */
		for (i = KVM__RESV_PAGES; i < ctx->limit; i++)
			if (!(ctx->bitmap[i / 64] & (1ull << (i % 64))))
				break;
		if (i >= ctx->limit)
			return KVM_ERR_SLAB_FULL;
	}
	ctx->bitmap[i / 64] |= 1ull << (i % 64);
	ctx->used++;
	ctx->hint = i + 1;
	if (i + 1 > ctx->hiwater)
		ctx->hiwater = i + 1;
	/* Zeroing at allocation is the whole reset rule for memory: no page
	 * reaches a user (or a page table) with earlier contents. Pages
	 * above dirty_hi were never handed out since the slab was last
	 * emptied (or punched) and are zero already. */
	if (i < ctx->dirty_hi)
		memset(ctx->slab + i * KVM__PAGE, 0, KVM__PAGE);
	else
		ctx->dirty_hi = i + 1;
	*gpa = i * KVM__PAGE;
	return KVM_OK;
}

void
kvm__page_free(struct kvm_ctx *ctx, uint64_t gpa)
{
	uint64_t i = gpa / KVM__PAGE;

	if (i < KVM__RESV_PAGES || i >= ctx->slab_pages)
		return;
	if (!(ctx->bitmap[i / 64] & (1ull << (i % 64))))
		return;
	ctx->bitmap[i / 64] &= ~(1ull << (i % 64));
	ctx->used--;
	if (i < ctx->hint)
		ctx->hint = i;
}

void
kvm__slab_reset(struct kvm_ctx *ctx)
{
	uint64_t words = (ctx->hiwater + 63) / 64, i;

	memset(ctx->bitmap, 0, words * sizeof(uint64_t));
	for (i = 0; i < KVM__RESV_PAGES; i++)
		ctx->bitmap[i / 64] |= 1ull << (i % 64);
	ctx->used = KVM__RESV_PAGES;
	ctx->hint = KVM__RESV_PAGES;
	ctx->hiwater = KVM__RESV_PAGES;
}

enum kvm_err
kvm__slot_set(struct kvm_ctx *ctx, int present)
{
	struct kvm_userspace_memory_region mr;

	memset(&mr, 0, sizeof(mr));
	mr.slot = 0;
	mr.guest_phys_addr = 0;
	/* The slot spans the user's limit rounded up to 2 MiB, not the whole
	 * reservation: re-adding a slot costs in proportion to its size
	 * (per-page metadata), and the allocator never hands out a page
	 * beyond the limit anyway. */
	ctx->slot_pages = (ctx->limit + 511) & ~511ull;
	if (ctx->slot_pages > ctx->slab_pages)
		ctx->slot_pages = ctx->slab_pages;
	mr.memory_size = present ? ctx->slot_pages * KVM__PAGE : 0;
	mr.userspace_addr = (uint64_t)(uintptr_t)ctx->slab;
	if (ioctl(ctx->vmfd, KVM_SET_USER_MEMORY_REGION, &mr) < 0)
		return KVM_ERR_SYS;
	return KVM_OK;
}

/* Makes KVM forget every translation it derived from our page tables.
 * The host edits the guest's page tables behind KVM's back; with EPT the
 * vCPU's TLB may hold stale entries, and with shadow paging (PVM, or KVM
 * without EPT) KVM's shadow tables do, and a CR3 reload does not rebuild
 * those. Deleting and re-adding the memory slot zaps everything derived
 * from it, on either kind of MMU. Needed only after an entry was removed
 * or narrowed (unmap, protect, pool reset). */
enum kvm_err
kvm__slot_reset(struct kvm_ctx *ctx)
{
	enum kvm_err err;

	/* nothing derived yet if the guest has not run since the last one */
	if (!ctx->ran)
		return KVM_OK;
	if ((err = kvm__slot_set(ctx, 0)) != KVM_OK)
		return err;
	if ((err = kvm__slot_set(ctx, 1)) != KVM_OK)
		return err;
	ctx->ran = 0;
	return KVM_OK;
}

uint64_t
kvm__pages_for(uint64_t bytes)
{
	return (bytes + KVM__PAGE - 1) / KVM__PAGE;
}

/* KVM: an anonymous slab, a VM with one memory slot, one vCPU. */
static enum kvm_err
kvm__kvm_create(struct kvm_ctx *ctx)
{
	enum kvm_err err = KVM_ERR_NOMEM;

	/* Reserve the cap once; only touched pages cost host memory, so a
	 * pooled context can serve any requested size up to the cap. */
	ctx->slab =
	    mmap(NULL, ctx->slab_pages * KVM__PAGE, PROT_READ | PROT_WRITE,
	        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ctx->slab == MAP_FAILED) {
		ctx->slab = NULL;
		return err;
	}
	err = KVM_ERR_SYS;
	ctx->vmfd = ioctl(kvm__devfd, KVM_CREATE_VM, 0);
	if (ctx->vmfd < 0)
		goto err_slab;
	/* Only needed by Intel without unrestricted guest; harmless else.
	 * Lies above the hard slab cap. */
	(void)ioctl(ctx->vmfd, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	if (kvm__slot_set(ctx, 1) != KVM_OK)
		goto err_vm;
	ctx->vcpufd = ioctl(ctx->vmfd, KVM_CREATE_VCPU, 0);
	if (ctx->vcpufd < 0)
		goto err_vm;
	ctx->run_size = (size_t)kvm__run_size;
	ctx->run = mmap(NULL, ctx->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    ctx->vcpufd, 0);
	if (ctx->run == MAP_FAILED) {
		ctx->run = NULL;
		goto err_vcpu;
	}
	ctx->kick.run = ctx->run;
	kvm__slab_reset(ctx);
	if ((err = kvm__arch_init(ctx)) != KVM_OK)
		goto err_run;
	return KVM_OK;
err_run:
	munmap(ctx->run, ctx->run_size);
	free(ctx->xsave0);
err_vcpu:
	close(ctx->vcpufd);
err_vm:
	close(ctx->vmfd);
err_slab:
	munmap(ctx->slab, ctx->slab_pages * KVM__PAGE);
	return err;
}

static void
kvm__kvm_destroy(struct kvm_ctx *ctx)
{
	if (ctx->timer_tid != 0)
		timer_delete(ctx->timer);
	munmap(ctx->run, ctx->run_size);
	close(ctx->vcpufd);
	close(ctx->vmfd);
	munmap(ctx->slab, ctx->slab_pages * KVM__PAGE);
	free(ctx->xsave0);
}

/* A user of another size needs the slot resized. */
static enum kvm_err
kvm__kvm_resize(struct kvm_ctx *ctx)
{
	if (((ctx->limit + 511) & ~511ull) == ctx->slot_pages)
		return KVM_OK;
	if (kvm__slot_set(ctx, 0) != KVM_OK || kvm__slot_set(ctx, 1) != KVM_OK)
		return KVM_ERR_SYS;
	return KVM_OK;
}

static void
kvm__kvm_map_changed(
    struct kvm_ctx *ctx, kvm_gva_t gva, uint64_t len, int narrowed)
{
	(void)gva, (void)len;
	if (narrowed)
		ctx->tlb_dirty = 1;
}

static enum kvm_err
kvm__kvm_reset(struct kvm_ctx *ctx)
{
	ctx->tlb_dirty = 0;
	/* kvm__arch_reset re-adds the memory slot: no stale translation */
	return kvm__arch_reset(ctx);
}

const struct kvm__ops kvm__ops_kvm = {
    .name = "kvm",
    .create = kvm__kvm_create,
    .destroy = kvm__kvm_destroy,
    .reset = kvm__kvm_reset,
    .resize = kvm__kvm_resize,
    .run = kvm__kvm_run,
    .regs_get = kvm__kvm_regs_get,
    .regs_set = kvm__kvm_regs_set,
    .syscall_return = kvm__kvm_syscall_return,
    .io_in_set = kvm__kvm_io_in_set,
    .map_changed = kvm__kvm_map_changed,
    .range_ok = NULL,
};

enum kvm_err
kvm_ctx_new(
    const struct kvm_config *cfg, uint64_t slab_size, struct kvm_ctx **out)
{
	struct kvm_ctx *ctx;
	enum kvm_err err;

	*out = NULL;
	if ((err = kvm__global_init()) != KVM_OK)
		return err;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return KVM_ERR_NOMEM;
	ctx->ops = kvm__ops_active;
	ctx->vmfd = ctx->vcpufd = -1;
	if (cfg != NULL)
		ctx->cfg = *cfg;
	if (ctx->cfg.slab_max == 0)
		ctx->cfg.slab_max = KVM__SLAB_DEFAULT;
	err = KVM_ERR_SLAB_CAP;
	if (ctx->cfg.slab_max > KVM__SLAB_HARDMAX ||
	    ctx->cfg.slab_max < (KVM__RESV_PAGES + 1) * KVM__PAGE ||
	    slab_size > ctx->cfg.slab_max)
		goto err_ctx;
	ctx->slab_pages = kvm__pages_for(ctx->cfg.slab_max);
	ctx->limit = kvm__pages_for(slab_size);
	if (ctx->limit < KVM__RESV_PAGES + 1)
		ctx->limit = KVM__RESV_PAGES + 1;
	err = KVM_ERR_NOMEM;
	ctx->bitmap = calloc((ctx->slab_pages + 63) / 64, sizeof(uint64_t));
	if (ctx->bitmap == NULL)
		goto err_ctx;
	/* a fresh slab is zero: nothing to clear at allocation */
	ctx->dirty_hi = KVM__RESV_PAGES;
	if ((err = ctx->ops->create(ctx)) != KVM_OK)
		goto err_bitmap;
	*out = ctx;
	return KVM_OK;
err_bitmap:
	free(ctx->bitmap);
err_ctx:
	free(ctx);
	return err;
}

void
kvm_ctx_free(struct kvm_ctx *ctx)
{
	if (ctx == NULL)
		return;
	ctx->ops->destroy(ctx);
	free(ctx->bitmap);
	free(ctx);
}

uint64_t
kvm_ctx_mem_used(const struct kvm_ctx *ctx)
{
	return ctx->used * KVM__PAGE;
}

/* place (hostfd >= 0) or close (hostfd -1) */
static enum kvm_err
kvm__hostfd(struct kvm_ctx *ctx, int hostfd, int guestfd)
{
	if (ctx->ops->hostfd == NULL)
		return KVM_ERR_NODEV;
	if (guestfd < KVM_HOSTFD_BASE ||
	    guestfd >= KVM_HOSTFD_BASE + KVM_HOSTFD_MAX)
		return KVM_ERR_RANGE;
	if (ctx->state == KVM__ST_BROKEN)
		return KVM_ERR_SYS;
	return ctx->ops->hostfd(ctx, hostfd, guestfd);
}

enum kvm_err
kvm_hostfd_place(struct kvm_ctx *ctx, int hostfd, int guestfd)
{
	return hostfd < 0 ? KVM_ERR_INVAL : kvm__hostfd(ctx, hostfd, guestfd);
}

enum kvm_err
kvm_hostfd_close(struct kvm_ctx *ctx, int guestfd)
{
	return kvm__hostfd(ctx, -1, guestfd);
}
