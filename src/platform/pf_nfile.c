/*
 * pf_nfile.c: host files, for reads the host kernel serves (the ptrace
 * backend): a messenger may put a read-only file's bytes in a sealed
 * memfd (_nfn) and place it at a guest descriptor (_nfd), whose reads and
 * seeks then run in the host kernel without a stop; the messenger stays
 * the kernel of everything else, and reads the shared offset back
 * (_nfo, _nfs) when it serves that file itself. docs/native.md, "Read
 * passthrough".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pf_native.h"

/* A host file's bytes are memory of the platform's budget, held by the
 * process's origin like its guest memory (the same share rule), but not
 * a context: pf_proc_native_take() would count one. */
static bool
file_take(struct pf_proc *p, uint64_t bytes)
{
	struct pf_orig *o = p->orig;
	uint64_t used, limit;
	pf__budget_now(&used, &limit);
	if ((o &&
	        !pf__share_ok(
	            o->bytes, bytes, used, limit, p->pf->cfg.origin_memory)) ||
	    !m0_budget_take(bytes)) {
		p->pf->st.drops[PF_DROP_NATIVE]++;
		return false;
	}
	if (o)
		o->bytes += bytes;
	return true;
}

static void
file_give(struct pf_proc *p, uint64_t bytes)
{
	if (p->orig)
		p->orig->bytes -= bytes;
	m0_budget_give(bytes);
}

/* The host file named by the int at operand k, owned by this process. */
static int
file_arg(
    struct pf_native *n, struct m0_state *s, uint32_t k, struct pf_nfile **out)
{
	int64_t id;
	int err = m0_get_int(s, k, &id);
	if (err)
		return err;
	for (struct pf_nfile *f = n->files; f; f = f->next)
		if (f->id == id && f->owner == PROC(s)) {
			*out = f;
			return M0_OK;
		}
	return n->e_key;
}

static void
file_drop(struct pf_native *n, struct pf_nfile *f)
{
	struct pf_nfile **pp = &n->files;
	while (*pp != f)
		pp = &(*pp)->next;
	*pp = f->next;
	file_give(f->owner, f->bytes);
	close(f->fd);
	free(f);
}

/* A sealed memfd holding (len) bytes at offset 0, or -1. */
static int
file_make(const uint8_t *p, size_t len)
{
	int fd = memfd_create("mzero-file", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	if (fcntl(fd, F_ADD_SEALS,
	        F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0 ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Another open file description of the file (fd): read-only, offset 0,
 * or -1. */
static int
file_reopen(int fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* string _nfn id: a read-only host file holding the bytes, for _nfd;
 * id _nfn id2: the same file opened again (the bytes are not copied; an
 * offset of its own). Only the ptrace backend can place one: elsewhere
 * native_unavailable. Either counts the bytes. */
static int
op_file_new(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nfile *of = NULL;
	const uint8_t *p = NULL;
	size_t len;
	unsigned held = 0;
	int err = M0_OK;
	if (m0_get_string(s, 0, &p, &len) != M0_OK) {
		if ((err = file_arg(n, s, 0, &of)))
			return err;
		len = of->bytes;
	}
	if (pf__native_ready(n) || strcmp(kvm_backend(), "ptrace") != 0)
		return n->e_unavail;
	for (struct pf_nfile *f = n->files; f; f = f->next)
		held += f->owner == PROC(s);
	if (held >= PF_NATIVE_FILES_MAX)
		return n->e_limit;
	if (!file_take(PROC(s), len))
		return n->e_limit;
	struct pf_nfile *f = calloc(1, sizeof(*f));
	if (!f || (f->fd = of ? file_reopen(of->fd) : file_make(p, len)) < 0) {
		free(f);
		file_give(PROC(s), len);
		return n->e_limit;
	}
	f->id = ++n->file_ids;
	f->bytes = len;
	f->owner = PROC(s);
	if ((err = m0_push_int(s, f->id))) {
		file_give(PROC(s), len);
		close(f->fd);
		free(f);
		return err;
	}
	f->next = n->files;
	n->files = f;
	m0_drop_under(s, 1);
	return M0_OK;
}

/* id _nfx: releases the host file (guests it was placed in keep it) */
static int
op_file_free(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nfile *f = NULL; /* set by file_arg(); gcc cannot tell */
	int err = file_arg(n, s, 0, &f);
	if (err)
		return err;
	file_drop(n, f);
	m0_pop(s, 1);
	return M0_OK;
}

/* The guest descriptor at operand k: a number of the host range, or
 * range_check on every backend (checked here, before it is narrowed to
 * an int; kvm's own check would name it a memory error). */
static int
guest_fd_arg(struct m0_state *s, uint32_t k, int *fd)
{
	int64_t v;
	int err = m0_get_int(s, k, &v);
	if (err)
		return err;
	if (v < KVM_HOSTFD_BASE || v >= KVM_HOSTFD_BASE + KVM_HOSTFD_MAX)
		return M0_ERANGE_CHECK;
	*fd = (int)v;
	return M0_OK;
}

/* key id fd _nfd: places the host file at guest descriptor fd, which
 * must lie in [KVM_HOSTFD_BASE, +KVM_HOSTFD_MAX); the guest's reads and
 * seeks on it are then the host kernel's, sharing the file's offset */
static int
op_file_place(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nctx *c = NULL; /* set by pf__native_ctx(); gcc cannot tell */
	struct pf_nfile *f = NULL;
	int fd;
	int err;
	if ((err = guest_fd_arg(s, 0, &fd)) || (err = file_arg(n, s, 1, &f)) ||
	    (err = pf__native_ctx(n, s, 2, &c)))
		return err;
	enum kvm_err ke = kvm_hostfd_place(c->ctx, f->fd, fd);
	if (ke)
		return pf__native_kerr(n, ke);
	m0_pop(s, 3);
	return M0_OK;
}

/* key fd _nfc: closes a placed guest descriptor */
static int
op_file_close(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nctx *c = NULL; /* set by pf__native_ctx(); gcc cannot tell */
	int fd;
	int err;
	if ((err = guest_fd_arg(s, 0, &fd)) ||
	    (err = pf__native_ctx(n, s, 1, &c)))
		return err;
	enum kvm_err ke = kvm_hostfd_close(c->ctx, fd);
	if (ke)
		return pf__native_kerr(n, ke);
	m0_pop(s, 2);
	return M0_OK;
}

/* id _nfo offset: the file's offset, as the guests' reads left it */
static int
op_file_off(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nfile *f = NULL; /* set by file_arg(); gcc cannot tell */
	int err = file_arg(n, s, 0, &f);
	if (err)
		return err;
	off_t off = lseek(f->fd, 0, SEEK_CUR);
	if (off < 0)
		return n->e_unavail;
	if ((err = m0_push_int(s, (int64_t)off)))
		return err;
	m0_drop_under(s, 1);
	return M0_OK;
}

/* id offset _nfs: sets the file's offset (any offset >= 0) */
static int
op_file_seek(struct m0_state *s, void *ud)
{
	struct pf_native *n = ud;
	struct pf_nfile *f = NULL; /* set by file_arg(); gcc cannot tell */
	int64_t off;
	int err;
	if ((err = m0_get_int(s, 0, &off)) || (err = file_arg(n, s, 1, &f)))
		return err;
	if (off < 0)
		return M0_ERANGE_CHECK;
	if (lseek(f->fd, (off_t)off, SEEK_SET) < 0)
		return M0_ERANGE_CHECK;
	m0_pop(s, 2);
	return M0_OK;
}

/* The process ends: its host files are closed (guests keep theirs). */
void
pf__nfile_proc_end(struct pf_native *n, struct pf_proc *p)
{
	struct pf_nfile *f = n->files, *fnext;
	for (; f; f = fnext) {
		fnext = f->next;
		if (f->owner == p)
			file_drop(n, f);
	}
}

/* The bytes of the host files the process holds (rent). */
uint64_t
pf__nfile_bytes(struct pf_native *n, struct pf_proc *p)
{
	uint64_t b = 0;
	for (struct pf_nfile *f = n->files; f; f = f->next)
		if (f->owner == p)
			b += f->bytes;
	return b;
}

void
pf__nfile_free_all(struct pf_native *n)
{
	while (n->files)
		file_drop(n, n->files);
}

int
pf__nfile_init(struct pf_native *n, struct m0_global *g)
{
	static const struct {
		const char *name, *alias;
		m0_ext_fn fn;
	} ops[] = {{"_nfn", "nativefile", op_file_new},
	    {"_nfx", "nativefilefree", op_file_free},
	    {"_nfd", "nativefd", op_file_place},
	    {"_nfc", "nativefdclose", op_file_close},
	    {"_nfo", "nativefileoffset", op_file_off},
	    {"_nfs", "nativefileseek", op_file_seek}};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (m0_global_add_op(
		        g, ops[i].name, ops[i].alias, ops[i].fn, n))
			return PF_ERR_INTERP;
	return PF_OK;
}
