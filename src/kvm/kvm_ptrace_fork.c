/*
 * kvm_ptrace_fork.c: what a guest process inherits from us. The guest
 * process is a clone of this one (kvm_ptrace_stub.c), which unmaps all it
 * inherited as it boots. Without care the clone still costs us: the
 * kernel copies the page tables of every private mapping, and each page
 * we write afterwards takes a write fault (measured on a PVM guest: a
 * process holding 512 MiB rewrote it in 1.76 s after one context was
 * made, 22 ms otherwise; 8 MiB: 28 ms against 1.1). So for the clone,
 * every private anonymous writable mapping but the cloning thread's stack
 * (the child's stack, TLS and boot parameters; under ASan the parameters
 * may sit on a fake stack elsewhere, kept too) is marked MADV_DONTFORK,
 * and unmarked after. The child touches nothing else that is private and
 * anonymous: it runs on raw system calls and reads only its parameters,
 * read-only data and the slab (shared). One clone at a time in the
 * process: another context's tracer thread spawning meanwhile would have
 * its own stack marked.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_ptrace.h"

static pthread_mutex_t pt__fork_mu = PTHREAD_MUTEX_INITIALIZER;

/* /proc/self/maps, whole, NUL-terminated (malloc'd), or NULL. */
static char *
pt__maps(void)
{
	size_t cap = 16384, n = 0;
	char *buf = malloc(cap), *nb;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (buf == NULL || fd < 0)
		goto fail;
	for (;;) {
		if (cap - n < 4096) {
			if (cap > (64u << 20) ||
			    (nb = realloc(buf, cap * 2)) == NULL)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

void
kvm__pt_dontfork(struct pt_marks *m, const void *keep, const void *stack)
{
	uintptr_t k = (uintptr_t)keep, sp = (uintptr_t)stack;
	unsigned long lo, hi, ino;
	char perm[5], *maps, *line, *next, *path;
	int at;

	pthread_mutex_lock(&pt__fork_mu);
	memset(m, 0, sizeof(*m));
	maps = pt__maps();
	for (line = maps; line != NULL && *line; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = 0;
		if (sscanf(line, "%lx-%lx %4s %*x %*x:%*x %lu %n", &lo, &hi,
		        perm, &ino, &at) != 4)
			continue;
		path = line + at;
		if (perm[1] != 'w' || perm[3] != 'p' || ino != 0 ||
		    (*path && strcmp(path, "[heap]") &&
		        strcmp(path, "[stack]")) ||
		    (k >= lo && k < hi) || (sp >= lo && sp < hi))
			continue;
		if (m->n == m->cap) {
			size_t cap = m->cap ? m->cap * 2 : 64;
			void *nr = realloc(m->r, cap * sizeof(*m->r));
			if (nr == NULL)
				break; /* the rest is inherited, as before */
			m->r = nr;
			m->cap = cap;
		}
		if (madvise((void *)lo, hi - lo, MADV_DONTFORK) == 0) {
			m->r[m->n].lo = lo;
			m->r[m->n].hi = hi;
			m->n++;
		}
	}
	free(maps);
}

void
kvm__pt_dofork(struct pt_marks *m)
{
	for (size_t i = 0; i < m->n; i++)
		(void)madvise(
		    (void *)m->r[i].lo, m->r[i].hi - m->r[i].lo, MADV_DOFORK);
	free(m->r);
	memset(m, 0, sizeof(*m));
	pthread_mutex_unlock(&pt__fork_mu);
}
