/*
 * kvm_elf.c: static x86-64 ELF executables. The parser (kvm__elf_parse)
 * is pure: it reads only [img, img+len), checks every field with
 * overflow-safe arithmetic and describes the segments; the fuzz target
 * drives it without /dev/kvm. The mapper then only acts on checked data.
 * The initial stack follows the Linux x86-64 process entry layout.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "kvm_int.h"

#define KVM__ELF_MAXPH 128
#define KVM__ELF_MAXLOAD 16
#define KVM__ARGS_MAX 4096 /* argv + envp entries */

struct kvm__seg {
	uint64_t vaddr, memsz, off, filesz; /* vaddr includes the base */
	unsigned prot;
};

struct kvm__elf {
	struct kvm_elf_info info;
	struct kvm__seg seg[KVM__ELF_MAXLOAD];
	unsigned nseg;
};

static enum kvm_err
kvm__elf_ehdr(const uint8_t *img, size_t len, Elf64_Ehdr *eh)
{
	if (len < sizeof(*eh))
		return KVM_ERR_ELF_SHORT;
	memcpy(eh, img, sizeof(*eh));
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return KVM_ERR_ELF_MAGIC;
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_ident[EI_VERSION] != EV_CURRENT ||
	    eh->e_version != EV_CURRENT)
		return KVM_ERR_ELF_CLASS;
	if (eh->e_machine != EM_X86_64)
		return KVM_ERR_ELF_MACHINE;
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return KVM_ERR_ELF_TYPE;
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    eh->e_phnum > KVM__ELF_MAXPH || eh->e_phoff > len ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
		return KVM_ERR_ELF_PHDR;
	return KVM_OK;
}

/* One PT_LOAD: file range inside the image, memsz >= filesz, address range
 * inside the user half (with room to round up), page-congruent offset. */
static enum kvm_err
kvm__elf_load_check(
    const Elf64_Phdr *ph, size_t len, uint64_t base, struct kvm__seg *s)
{
	uint64_t v;

	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
		return KVM_ERR_ELF_SEGMENT;
	if (ph->p_filesz > ph->p_memsz)
		return KVM_ERR_ELF_MEMSZ;
	if (ph->p_vaddr > KVM_USER_END || base > KVM_USER_END - ph->p_vaddr)
		return KVM_ERR_ELF_ADDR;
	v = ph->p_vaddr + base;
	if (v < KVM__PAGE || v > KVM_USER_END - KVM__PAGE ||
	    ph->p_memsz > KVM_USER_END - KVM__PAGE - v)
		return KVM_ERR_ELF_ADDR;
	if ((ph->p_vaddr - ph->p_offset) % KVM__PAGE != 0)
		return KVM_ERR_ELF_ALIGN;
	s->vaddr = v;
	s->memsz = ph->p_memsz;
	s->off = ph->p_offset;
	s->filesz = ph->p_filesz;
	s->prot = KVM_PROT_USER | KVM_PROT_READ;
	if (ph->p_flags & PF_W)
		s->prot |= KVM_PROT_WRITE;
	if (ph->p_flags & PF_X)
		s->prot |= KVM_PROT_EXEC;
	return KVM_OK;
}

static enum kvm_err
kvm__elf_parse(
    const uint8_t *img, size_t len, kvm_gva_t base, struct kvm__elf *e)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	uint64_t phdr_vaddr = 0, tab = 0, entry;
	struct kvm__seg *s, *last;
	enum kvm_err err;
	unsigned i;
	int have_phdr = 0;

	memset(e, 0, sizeof(*e));
	if ((err = kvm__elf_ehdr(img, len, &eh)) != KVM_OK)
		return err;
	if (eh.e_type == ET_EXEC)
		base = 0;
	else if (base % KVM__PAGE != 0 || base >= KVM_USER_END)
		return KVM_ERR_ELF_BASE;
	for (i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, img + eh.e_phoff + (uint64_t)i * sizeof(ph),
		    sizeof(ph));
		if (ph.p_type == PT_INTERP)
			return KVM_ERR_ELF_INTERP;
		if (ph.p_type == PT_PHDR) {
			have_phdr = 1;
			phdr_vaddr = ph.p_vaddr;
		}
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (e->nseg == KVM__ELF_MAXLOAD)
			return KVM_ERR_ELF_TOOMANY;
		s = &e->seg[e->nseg];
		if ((err = kvm__elf_load_check(&ph, len, base, s)) != KVM_OK)
			return err;
		/* ascending and disjoint, as the ELF spec requires */
		if (e->nseg > 0) {
			last = &e->seg[e->nseg - 1];
			if (s->vaddr < last->vaddr + last->memsz)
				return KVM_ERR_ELF_OVERLAP;
		}
		/* the program headers, when a segment carries them */
		if (eh.e_phoff >= s->off && eh.e_phoff - s->off <= s->filesz &&
		    (uint64_t)eh.e_phnum * sizeof(ph) <=
		        s->filesz - (eh.e_phoff - s->off) &&
		    tab == 0)
			tab = s->vaddr + (eh.e_phoff - s->off);
		e->nseg++;
	}
	if (e->nseg == 0)
		return KVM_ERR_ELF_NOLOAD;
	s = &e->seg[0];
	last = &e->seg[e->nseg - 1];
	e->info.lo = s->vaddr & ~(KVM__PAGE - 1);
	e->info.hi =
	    (last->vaddr + last->memsz + KVM__PAGE - 1) & ~(KVM__PAGE - 1);
	if (eh.e_entry > KVM_USER_END || base > KVM_USER_END - eh.e_entry)
		return KVM_ERR_ELF_ENTRY;
	entry = eh.e_entry + base;
	if (entry < e->info.lo || entry >= e->info.hi)
		return KVM_ERR_ELF_ENTRY;
	if (have_phdr && phdr_vaddr <= KVM_USER_END &&
	    base <= KVM_USER_END - phdr_vaddr)
		tab = phdr_vaddr + base;
	e->info.entry = entry;
	e->info.base = base;
	e->info.phdr = tab;
	e->info.phnum = eh.e_phnum;
	e->info.phent = eh.e_phentsize;
	e->info.is_dyn = eh.e_type == ET_DYN;
	return KVM_OK;
}

enum kvm_err
kvm_elf_check(
    const void *img, size_t len, kvm_gva_t base, struct kvm_elf_info *info)
{
	struct kvm__elf *e;
	enum kvm_err err;

	if (img == NULL)
		return KVM_ERR_INVAL;
	if ((e = malloc(sizeof(*e))) == NULL)
		return KVM_ERR_NOMEM;
	err = kvm__elf_parse(img, len, base, e);
	if (err == KVM_OK && info != NULL)
		*info = e->info;
	free(e);
	return err;
}

enum kvm_err
kvm_elf_load(struct kvm_ctx *ctx, const void *img, size_t len, kvm_gva_t base,
    struct kvm_elf_info *info)
{
	struct kvm_guest_regs regs;
	struct kvm__elf *e;
	struct kvm__seg *s;
	enum kvm_err err;
	uint64_t p, end;
	unsigned i;

	if (img == NULL)
		return KVM_ERR_INVAL;
	if ((e = malloc(sizeof(*e))) == NULL)
		return KVM_ERR_NOMEM;
	if ((err = kvm__elf_parse(img, len, base, e)) != KVM_OK)
		goto out;
	for (i = 0; i < e->nseg; i++) {
		s = &e->seg[i];
		end = (s->vaddr + s->memsz + KVM__PAGE - 1) & ~(KVM__PAGE - 1);
		/* a page shared with the previous segment gets both rights */
		for (p = s->vaddr & ~(KVM__PAGE - 1); p < end; p += KVM__PAGE)
			if ((err = kvm__map_union(ctx, p, s->prot)) != KVM_OK)
				goto out;
		err = kvm_mem_write(
		    ctx, s->vaddr, (const uint8_t *)img + s->off, s->filesz);
		if (err != KVM_OK)
			goto out;
		/* bss: fresh pages are zero and segments are disjoint */
	}
	kvm_regs_get(ctx, &regs);
	regs.rip = e->info.entry;
	err = kvm_regs_set(ctx, &regs);
	if (err == KVM_OK && info != NULL)
		*info = e->info;
out:
	free(e);
	return err;
}

static uint32_t
kvm__hwcap(void)
{
	uint32_t i, a, b, c, d;

	if (kvm__cpuid == NULL) {
		/* the ptrace backend runs on the host CPU itself */
		__asm__("cpuid"
		        : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
		        : "a"(1), "c"(0));
		(void)a, (void)b, (void)c;
		return d;
	}
	for (i = 0; i < kvm__cpuid->nent; i++)
		if (kvm__cpuid->entries[i].function == 1)
			return kvm__cpuid->entries[i].edx;
	return 0;
}

#define KVM__NAUX 17

enum kvm_err
kvm_elf_stack(struct kvm_ctx *ctx, const struct kvm_elf_info *info,
    const struct kvm_stack_args *a)
{
	static const char *const argv0[] = {"prog", NULL};
	static const char *const envp0[] = {NULL};
	const char *const *argv =
	    a != NULL && a->argv != NULL ? a->argv : argv0;
	const char *const *envp =
	    a != NULL && a->envp != NULL ? a->envp : envp0;
	uint64_t top = a != NULL && a->top != 0 ? a->top : KVM_STACK_TOP;
	uint64_t size = a != NULL && a->size != 0 ? a->size : KVM_STACK_SIZE;
	uint64_t strbytes = 0, words, str, p, sp, randp, *vec,
	         aux[KVM__NAUX * 2];
	size_t argc, envc, i, n;
	struct kvm_guest_regs regs;
	uint8_t rnd[16], *buf;
	enum kvm_err err;

	if (info == NULL)
		return KVM_ERR_INVAL;
	if ((top | size) % KVM__PAGE != 0 || top > KVM_USER_END || size > top)
		return KVM_ERR_RANGE;
	for (argc = 0; argv[argc] != NULL; argc++) {
		n = strlen(argv[argc]) + 1;
		if (argc >= KVM__ARGS_MAX || n > size || strbytes > size - n)
			return KVM_ERR_STACK;
		strbytes += n;
	}
	for (envc = 0; envp[envc] != NULL; envc++) {
		n = strlen(envp[envc]) + 1;
		if (argc + envc >= KVM__ARGS_MAX || n > size ||
		    strbytes > size - n)
			return KVM_ERR_STACK;
		strbytes += n;
	}
	words = 1 + argc + 1 + envc + 1 + KVM__NAUX * 2;
	/* end marker, AT_RANDOM bytes, strings, then the vectors, aligned */
	if (strbytes + 24 + 16 + words * 8 + 16 > size)
		return KVM_ERR_STACK;
	randp = top - 8 - 16;
	str = randp - strbytes;
	p = str & ~15ull;
	sp = (p - words * 8) & ~15ull; /* rsp % 16 == 0 at argc, as Linux */
	if (a != NULL && a->random != NULL)
		memcpy(rnd, a->random, 16);
	else if (getrandom(rnd, 16, 0) != 16)
		return KVM_ERR_SYS;
	if ((buf = calloc(1, top - sp)) == NULL)
		return KVM_ERR_NOMEM;
	memcpy(buf + (randp - sp), rnd, 16);
	vec = (uint64_t *)(void *)(buf);
	*vec++ = argc;
	p = str;
	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]) + 1;
		memcpy(buf + (p - sp), argv[i], n);
		*vec++ = p;
		p += n;
	}
	*vec++ = 0;
	for (i = 0; i < envc; i++) {
		n = strlen(envp[i]) + 1;
		memcpy(buf + (p - sp), envp[i], n);
		*vec++ = p;
		p += n;
	}
	*vec++ = 0;
	n = 0;
	aux[n++] = AT_PHDR, aux[n++] = info->phdr;
	aux[n++] = AT_PHENT, aux[n++] = info->phent;
	aux[n++] = AT_PHNUM, aux[n++] = info->phnum;
	aux[n++] = AT_PAGESZ, aux[n++] = KVM__PAGE;
	aux[n++] = AT_BASE, aux[n++] = 0; /* no interpreter */
	aux[n++] = AT_FLAGS, aux[n++] = 0;
	aux[n++] = AT_ENTRY, aux[n++] = info->entry;
	aux[n++] = AT_UID, aux[n++] = 0;
	aux[n++] = AT_EUID, aux[n++] = 0;
	aux[n++] = AT_GID, aux[n++] = 0;
	aux[n++] = AT_EGID, aux[n++] = 0;
	aux[n++] = AT_SECURE, aux[n++] = 0;
	aux[n++] = AT_RANDOM, aux[n++] = randp;
	aux[n++] = AT_HWCAP, aux[n++] = kvm__hwcap();
	aux[n++] = AT_CLKTCK, aux[n++] = 100;
	aux[n++] = AT_EXECFN, aux[n++] = argc > 0 ? str : 0;
	aux[n++] = AT_NULL, aux[n++] = 0;
	memcpy(vec, aux, sizeof(aux));
	err = kvm_mem_map(ctx, top - size, size,
	    KVM_PROT_USER | KVM_PROT_READ | KVM_PROT_WRITE);
	if (err == KVM_OK)
		err = kvm_mem_write(ctx, sp, buf, top - sp);
	free(buf);
	if (err != KVM_OK)
		return err;
	memset(&regs, 0, sizeof(regs));
	regs.rsp = sp;
	regs.rip = info->entry;
	regs.rflags = 0x202;
	return kvm_regs_set(ctx, &regs);
}
