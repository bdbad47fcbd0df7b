/*
 * test_kvm_elf.c: the ELF loader and initial stack, hostile ELF files,
 * and the musl guest programs run to completion under the C syscall
 * server (serve.c), which uses only the public API.
 */
#include <elf.h>

#include "kvm_test.h"
#include "serve.h"

static void *
t_guest(const char *name, size_t *len)
{
	const char *dir = getenv("KVM_GUEST_DIR");
	char path[4096];
	void *img;

	if (dir == NULL) {
		/* no musl-gcc at configure time: no guest programs */
		skip();
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	img = serve_slurp(path, len);
	if (img == NULL)
		fprintf(stderr, "cannot read %s\n", path);
	assert_non_null(img);
	return img;
}

static struct kvm_ctx *
t_ctx(void)
{
	struct kvm_ctx *ctx;

	assert_int_equal(kvm_ctx_new(NULL, 64u << 20, &ctx), KVM_OK);
	return ctx;
}

static void
t_run_prog(const char *name, kvm_gva_t base, const char *want)
{
	struct serve_proc *p = calloc(1, sizeof(*p));
	struct kvm_ctx *ctx = t_ctx();
	size_t len;
	void *img = t_guest(name, &len);

	assert_non_null(p);
	assert_int_equal(serve_exec(p, ctx, img, len, base, NULL), KVM_OK);
	if (!serve_run(p, 20000000))
		fprintf(stderr, "%s stopped: kind %d\n", name, p->last.kind);
	assert_true(p->exited);
	assert_int_equal(p->status, 0);
	assert_int_equal(p->outlen, strlen(want));
	assert_memory_equal(p->out, want, strlen(want));
	kvm_ctx_free(ctx);
	free(img);
	free(p);
}

static void
test_prog_hello(void **state)
{
	(void)state;
	t_run_prog("hello", 0, "hello from native code\n");
}

static void
test_prog_hello_static_pie(void **state)
{
	struct kvm_elf_info info;
	size_t len;
	void *img = t_guest("hello-pie", &len);

	(void)state;
	assert_int_equal(
	    kvm_elf_check(img, len, 0x555555554000ull, &info), KVM_OK);
	assert_true(info.is_dyn);
	assert_int_equal(info.base, 0x555555554000ull);
	free(img);
	t_run_prog("hello-pie", 0x555555554000ull, "hello from native code\n");
	t_run_prog("hello-pie", 0x10000, "hello from native code\n");
}

static void
test_prog_primes(void **state)
{
	(void)state;
	t_run_prog("primes", 0, "664579\n");
}

static void
test_prog_heap(void **state)
{
	(void)state;
	t_run_prog("heap", 0, "heap ok\n");
}

static void
test_prog_fault(void **state)
{
	struct serve_proc *p = calloc(1, sizeof(*p));
	struct kvm_ctx *ctx = t_ctx();
	struct kvm_guest_regs r;
	size_t len;
	void *img = t_guest("fault", &len);

	(void)state;
	assert_int_equal(serve_exec(p, ctx, img, len, 0, NULL), KVM_OK);
	assert_false(serve_run(p, 5000000));
	assert_int_equal(p->last.kind, KVM_EXITK_PAGE_FAULT);
	assert_int_equal(p->last.u.page_fault.addr, 0xdead0000u);
	assert_int_equal(p->last.u.page_fault.access, KVM_ACCESS_WRITE);
	assert_int_equal(p->last.u.page_fault.user, 1);
	assert_int_equal(p->last.u.page_fault.present, 0);
	/* the caller may map the page and let the program finish */
	kvm_regs_get(ctx, &r);
	assert_true(r.rip >= p->info.lo && r.rip < p->info.hi);
	assert_int_equal(kvm_mem_map(ctx, 0xdead0000u, 4096,
	                     KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_WRITE),
	    KVM_OK);
	assert_true(serve_run(p, 5000000));
	assert_int_equal(p->status, 0);
	kvm_ctx_free(ctx);
	free(img);
	free(p);
}

static void
test_prog_spin_budget(void **state)
{
	struct serve_proc *p = calloc(1, sizeof(*p));
	struct kvm_ctx *ctx = t_ctx();
	struct kvm_exit ex;
	size_t len;
	void *img = t_guest("spin", &len);
	int i;

	(void)state;
	assert_int_equal(serve_exec(p, ctx, img, len, 0, NULL), KVM_OK);
	assert_false(serve_run(p, 300000)); /* 0.3 s of run time, no exit */
	assert_false(p->exited);
	for (i = 0; i < 3; i++) {
		assert_int_equal(kvm_ctx_run(ctx, 10000, &ex), KVM_OK);
		assert_int_equal(ex.kind, KVM_EXITK_BUDGET);
	}
	kvm_ctx_free(ctx);
	free(img);
	free(p);
}

/* The stack as Linux lays it out, checked word by word. */
static void
test_stack_layout(void **state)
{
	static const char *const argv[] = {"a", "bc", NULL};
	static const char *const envp[] = {"X=1", NULL};
	static const uint8_t rnd[16] = {
	    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct kvm_stack_args sa = {argv, envp, 0, 0, rnd};
	struct kvm_ctx *ctx = t_ctx();
	struct kvm_elf_info info;
	struct kvm_guest_regs r;
	uint64_t w[64], aux[64] = {0};
	uint8_t got[16];
	char s[8];
	size_t len, i, n;
	void *img = t_guest("hello", &len);

	(void)state;
	assert_int_equal(kvm_elf_load(ctx, img, len, 0, &info), KVM_OK);
	assert_int_equal(kvm_elf_stack(ctx, &info, &sa), KVM_OK);
	kvm_regs_get(ctx, &r);
	assert_int_equal(r.rip, info.entry);
	assert_int_equal(r.rsp % 16, 0);
	assert_true(r.rsp < KVM_STACK_TOP && r.rsp > KVM_STACK_TOP - 4096);
	n = KVM_STACK_TOP - r.rsp < sizeof(w) ? KVM_STACK_TOP - r.rsp
	                                      : sizeof(w);
	memset(w, 0, sizeof(w));
	assert_int_equal(kvm_mem_read(ctx, r.rsp, w, n), KVM_OK);
	assert_int_equal(w[0], 2);
	assert_int_equal(kvm_mem_read(ctx, w[1], s, 2), KVM_OK);
	assert_memory_equal(s, "a", 2);
	assert_int_equal(kvm_mem_read(ctx, w[2], s, 3), KVM_OK);
	assert_memory_equal(s, "bc", 3);
	assert_int_equal(w[3], 0);
	assert_int_equal(kvm_mem_read(ctx, w[4], s, 4), KVM_OK);
	assert_memory_equal(s, "X=1", 4);
	assert_int_equal(w[5], 0);
	for (i = 6; i + 1 < 64 && w[i] != AT_NULL; i += 2)
		if (w[i] < 64)
			aux[w[i]] = w[i + 1];
	assert_true(i + 1 < 64);
	assert_int_equal(aux[AT_PAGESZ], 4096);
	assert_int_equal(aux[AT_ENTRY], info.entry);
	assert_int_equal(aux[AT_PHNUM], info.phnum);
	assert_int_equal(aux[AT_PHENT], 56);
	assert_int_equal(aux[AT_PHDR], info.phdr);
	assert_true(info.phdr != 0);
	assert_int_equal(kvm_mem_read(ctx, aux[AT_RANDOM], got, 16), KVM_OK);
	assert_memory_equal(got, rnd, 16);
	assert_int_equal(aux[AT_EXECFN], w[1]);
	/* the program headers are where AT_PHDR says */
	assert_int_equal(kvm_mem_read(ctx, aux[AT_PHDR], w, 8), KVM_OK);
	kvm_ctx_free(ctx);
	free(img);
}

/* A minimal valid image: header, one PT_LOAD covering the file. */
static size_t
t_elf_min(uint8_t *buf, size_t cap)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)(void *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(void *)(buf + sizeof(*eh));
	size_t len = sizeof(*eh) + 4 * sizeof(*ph) + 16;

	assert_true(cap >= len);
	memset(buf, 0, len);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0x400000 + len - 16;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_LOAD;
	ph->p_flags = PF_R | PF_X;
	ph->p_offset = 0;
	ph->p_vaddr = 0x400000;
	ph->p_filesz = len;
	ph->p_memsz = len + 8192;
	ph->p_align = 4096;
	buf[len - 16] = 0xeb; /* jmp . */
	buf[len - 15] = 0xfe;
	return len;
}

static void
test_elf_hostile_headers(void **state)
{
	uint8_t b[1024];
	Elf64_Ehdr *eh = (Elf64_Ehdr *)(void *)b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(void *)(b + sizeof(*eh));
	size_t len;

	(void)state;
#define T_BAD(mutate, err)                                                     \
	do {                                                                   \
		len = t_elf_min(b, sizeof(b));                                 \
		mutate;                                                        \
		assert_int_equal(kvm_elf_check(b, len, 0, NULL), err);         \
	} while (0)
	T_BAD((void)0, KVM_OK);
	T_BAD(len = 63, KVM_ERR_ELF_SHORT);
	T_BAD(len = 0, KVM_ERR_ELF_SHORT);
	T_BAD(b[1] = 'X', KVM_ERR_ELF_MAGIC);
	T_BAD(eh->e_ident[EI_CLASS] = ELFCLASS32, KVM_ERR_ELF_CLASS);
	T_BAD(eh->e_ident[EI_DATA] = ELFDATA2MSB, KVM_ERR_ELF_CLASS);
	T_BAD(eh->e_version = 2, KVM_ERR_ELF_CLASS);
	T_BAD(eh->e_machine = EM_386, KVM_ERR_ELF_MACHINE);
	T_BAD(eh->e_type = ET_REL, KVM_ERR_ELF_TYPE);
	T_BAD(eh->e_type = ET_CORE, KVM_ERR_ELF_TYPE);
	T_BAD(eh->e_phentsize = 55, KVM_ERR_ELF_PHDR);
	T_BAD(eh->e_phnum = 0, KVM_ERR_ELF_PHDR);
	T_BAD(eh->e_phnum = 0xffff, KVM_ERR_ELF_PHDR);
	T_BAD(eh->e_phnum = 5, KVM_ERR_ELF_PHDR); /* runs past the file */
	T_BAD(eh->e_phoff = ~0ull, KVM_ERR_ELF_PHDR);
	T_BAD(eh->e_phoff = ~0ull - 40, KVM_ERR_ELF_PHDR);
	T_BAD(ph->p_type = PT_INTERP, KVM_ERR_ELF_INTERP);
	T_BAD(ph->p_type = PT_NOTE, KVM_ERR_ELF_NOLOAD);
	T_BAD(ph->p_memsz = 0, KVM_ERR_ELF_NOLOAD);
	T_BAD(ph->p_offset = len, KVM_ERR_ELF_SEGMENT);
	T_BAD(ph->p_offset = ~0ull - 4095, KVM_ERR_ELF_SEGMENT);
	T_BAD(ph->p_filesz = len + 1, KVM_ERR_ELF_SEGMENT);
	T_BAD(ph->p_filesz = ~0ull, KVM_ERR_ELF_SEGMENT);
	T_BAD(ph->p_memsz = 16, KVM_ERR_ELF_MEMSZ);
	T_BAD(ph->p_vaddr = 0, KVM_ERR_ELF_ADDR);
	T_BAD(ph->p_vaddr = 0xffffffffffe00000ull, KVM_ERR_ELF_ADDR);
	T_BAD(ph->p_vaddr = KVM_USER_END - 4096, KVM_ERR_ELF_ADDR);
	T_BAD(ph->p_memsz = ~0ull, KVM_ERR_ELF_ADDR);
	T_BAD(ph->p_vaddr = 0x400010, KVM_ERR_ELF_ALIGN);
	T_BAD(eh->e_entry = 0x300000, KVM_ERR_ELF_ENTRY);
	T_BAD(eh->e_entry = ~0ull, KVM_ERR_ELF_ENTRY);
	/* two loads out of order, overlapping */
	T_BAD((eh->e_phnum = 2, ph[1] = ph[0], ph[1].p_vaddr = 0x3ff000),
	    KVM_ERR_ELF_OVERLAP);
	T_BAD((eh->e_phnum = 2, ph[1] = ph[0]), KVM_ERR_ELF_OVERLAP);
	/* many loads: len holds 4 phdrs only, so make each tiny */
	T_BAD((eh->e_phnum = 4, ph[1] = ph[2] = ph[3] = ph[0],
	          ph[1].p_vaddr = 0x500000, ph[2].p_vaddr = 0x600000,
	          ph[3].p_vaddr = 0x700000),
	    KVM_OK);
	/* ET_DYN: base must be page aligned and in the user half */
	len = t_elf_min(b, sizeof(b));
	eh->e_type = ET_DYN;
	assert_int_equal(kvm_elf_check(b, len, 0x1001, NULL), KVM_ERR_ELF_BASE);
	assert_int_equal(
	    kvm_elf_check(b, len, KVM_USER_END, NULL), KVM_ERR_ELF_BASE);
	assert_int_equal(kvm_elf_check(b, len, KVM_USER_END - 0x400000, NULL),
	    KVM_ERR_ELF_ADDR);
	assert_int_equal(kvm_elf_check(b, len, 0x10000, NULL), KVM_OK);
	assert_int_equal(kvm_elf_check(NULL, 0, 0, NULL), KVM_ERR_INVAL);
#undef T_BAD
}

/* Two segments sharing a page (code, then data + bss across two more
 * pages): the shared page gets both rights, bytes land where the headers
 * say, the bss is zero, and the entry runs. */
static void
test_elf_load_shared_page_and_bss(void **state)
{
	uint8_t b[1024], got[16];
	Elf64_Ehdr *eh = (Elf64_Ehdr *)(void *)b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(void *)(b + sizeof(*eh));
	struct kvm_elf_info info;
	struct kvm_range r;
	struct kvm_exit ex;
	kvm_gva_t cur = 0;
	struct kvm_ctx *ctx;
	size_t len;

	(void)state;
	len = t_elf_min(b, sizeof(b));
	eh->e_phnum = 2;
	ph[0].p_filesz = ph[0].p_memsz = 0x100;
	ph[1] = ph[0];
	ph[1].p_flags = PF_R | PF_W;
	ph[1].p_offset = 0x100;
	ph[1].p_vaddr = 0x400100;
	ph[1].p_filesz = 0x10;
	ph[1].p_memsz = 0x2000;
	assert_true(len <= 0x180);
	len = 0x180;
	b[0xf0] = 0xeb; /* jmp . at the entry, inside the code segment */
	b[0xf1] = 0xfe;
	eh->e_entry = 0x4000f0;
	memset(b + 0x100, 0xab, 0x10);
	memset(b + 0x110, 0xcd, 0x70); /* file bytes past filesz: not bss */
	assert_int_equal(kvm_ctx_new(NULL, 4u << 20, &ctx), KVM_OK);
	assert_int_equal(kvm_elf_load(ctx, b, len, 0, &info), KVM_OK);
	assert_int_equal(info.lo, 0x400000);
	assert_int_equal(info.hi, 0x403000);
	assert_int_equal(kvm_mem_next(ctx, &cur, &r), KVM_OK);
	assert_int_equal(r.start, 0x400000);
	assert_int_equal(r.len, 4096);
	assert_int_equal(r.prot,
	    KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_WRITE | KVM_PROT_EXEC);
	assert_int_equal(kvm_mem_next(ctx, &cur, &r), KVM_OK);
	assert_int_equal(r.start, 0x401000);
	assert_int_equal(r.len, 2 * 4096);
	assert_int_equal(
	    r.prot, KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_WRITE);
	assert_int_equal(kvm_mem_read(ctx, 0x400100, got, 16), KVM_OK);
	assert_memory_equal(got, b + 0x100, 16);
	assert_int_equal(kvm_mem_read(ctx, 0x400110, got, 16), KVM_OK);
	memset(b, 0, 16);
	assert_memory_equal(got, b, 16); /* bss, not the file's 0xcd */
	assert_int_equal(kvm_ctx_run(ctx, 2000, &ex), KVM_OK);
	assert_int_equal(ex.kind, KVM_EXITK_BUDGET); /* the jmp . runs */
	kvm_ctx_free(ctx);
}

static void
test_elf_too_many_loads(void **state)
{
	uint8_t b[4096];
	Elf64_Ehdr *eh = (Elf64_Ehdr *)(void *)b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(void *)(b + sizeof(*eh));
	size_t len;
	int i;

	(void)state;
	t_elf_min(b, sizeof(b));
	eh->e_phnum = 17;
	for (i = 1; i < 17; i++) {
		ph[i] = ph[0];
		ph[i].p_offset = 0;
		ph[i].p_filesz = 16;
		ph[i].p_memsz = 16;
		ph[i].p_vaddr = 0x1000000ull + (uint64_t)i * 0x10000;
	}
	len = sizeof(*eh) + 17 * sizeof(*ph);
	assert_int_equal(kvm_elf_check(b, len, 0, NULL), KVM_ERR_ELF_TOOMANY);
}

/* Every byte of a real program's headers flipped, and random garbage:
 * the checker answers, the loader never crashes, a loaded image runs. */
static void
test_elf_mutations_never_crash(void **state)
{
	struct kvm_ctx *ctx;
	struct kvm_exit ex;
	uint8_t *m;
	size_t len, i;
	void *img = t_guest("hello", &len);
	unsigned seed = 12345, loaded = 0;
	enum kvm_err err;

	(void)state;
	m = malloc(len);
	assert_non_null(m);
	assert_int_equal(kvm_ctx_new(NULL, 64u << 20, &ctx), KVM_OK);
	for (i = 0; i < 64 + 9 * 56; i++) {
		memcpy(m, img, len);
		m[i] ^= (uint8_t)(1u << (i % 8));
		err = kvm_elf_check(m, len, 0x10000, NULL);
		assert_true(err >= KVM_OK && err < KVM_ERR_N);
		if (i % 8 != 0)
			continue;
		/* load a sample into a real context; whatever loads runs */
		kvm_ctx_free(ctx);
		assert_int_equal(kvm_ctx_new(NULL, 64u << 20, &ctx), KVM_OK);
		if (kvm_elf_load(ctx, m, len, 0x10000, NULL) == KVM_OK) {
			loaded++;
			assert_int_equal(kvm_ctx_run(ctx, 20000, &ex), KVM_OK);
			assert_true(ex.kind != KVM_EXITK_ERROR);
		}
	}
	for (i = 0; i < 20000; i++) {
		size_t n = (size_t)rand_r(&seed) % 600, j;

		for (j = 0; j < n; j++)
			m[j] = (uint8_t)rand_r(&seed);
		if (n >= 4)
			memcpy(m, ELFMAG, 4);
		err = kvm_elf_check(m, n, 0, NULL);
		assert_true(err >= KVM_OK && err < KVM_ERR_N);
	}
	assert_true(loaded > 0);
	kvm_ctx_free(ctx);
	free(m);
	free(img);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_elf_hostile_headers),
	    cmocka_unit_test(test_elf_too_many_loads),
	    cmocka_unit_test(test_elf_load_shared_page_and_bss),
	    cmocka_unit_test(test_elf_mutations_never_crash),
	    cmocka_unit_test(test_stack_layout),
	    cmocka_unit_test(test_prog_hello),
	    cmocka_unit_test(test_prog_hello_static_pie),
	    cmocka_unit_test(test_prog_primes),
	    cmocka_unit_test(test_prog_heap),
	    cmocka_unit_test(test_prog_fault),
	    cmocka_unit_test(test_prog_spin_budget),
	};

	t_require_kvm();
	return cmocka_run_group_tests_name("kvm_elf", tests, NULL, NULL);
}
