/*
 * pf_util.c: small things every part of the platform uses: the error
 * map, the names of the drop reasons, the clock, and the growth of the
 * chained hash tables (queues, origins).
 */
#include <stdlib.h>
#include <time.h>

#include "pf_int.h"

static const char *const err_text[] = {"ok",
#define PF__ES(id, s) s,
    PF_ERRMAP(PF__ES)
#undef PF__ES
};

const char *
pf_strerror(int err)
{
	return err >= 0 && err < PF_ERR_N ? err_text[err] : "unknown error";
}

/* An operator that fails for a platform reason answers with the MØ
 * error nearest to it: a full table is a limit; memory and the rest
 * also end up there, since MØ has no error for them (spec A5). */
int
pf_err_m0(int err)
{
	return err == PF_OK ? M0_OK : M0_EIMPLEMENTATION_LIMIT;
}

static const char *const drop_reasons[] = {
#define PF__DS(id, s) s,
    PF_DROPMAP(PF__DS)
#undef PF__DS
};

const char *
pf_drop_reason(int reason)
{
	return reason >= 0 && reason < PF_DROP_N ? drop_reasons[reason] : "?";
}

void
pf__lower(char *dst, const char *src, size_t len)
{
	size_t i = 0;
	for (; src[i] && i + 1 < len; i++)
		dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] + 32
		                                               : src[i]);
	dst[i] = 0;
}

const char *
pf_drop_id(int reason)
{
	static const char *const ids[] = {
#define PF__DI(id, s) #id,
	    PF_DROPMAP(PF__DI)
#undef PF__DI
	};
	static char low[PF_DROP_N][32];
	if (reason < 0 || reason >= PF_DROP_N)
		return "?";
	if (!low[reason][0])
		pf__lower(low[reason], ids[reason], sizeof(low[reason]));
	return low[reason];
}

int64_t
pf_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * PF_US_PER_S + ts.tv_nsec / 1000;
}

/* Doubles a chained hash table of entries whose first field is their
 * uint64_t key and whose chain pointer is at (next_off). Returns false
 * when out of memory (the table stays, with longer chains). */
bool
pf__rehash(
    void ***tab, uint32_t *mask, size_t next_off, uint32_t (*hash)(uint64_t))
{
	uint32_t ncap = (*mask + 1) * 2;
	void **nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return false;
	for (uint32_t i = 0; i <= *mask; i++) {
		for (char *e = (*tab)[i], *next; e; e = next) {
			void **link = (void **)(e + next_off);
			next = *link;
			uint32_t j = hash(*(uint64_t *)e) & (ncap - 1);
			*link = nt[j];
			nt[j] = e;
		}
	}
	free(*tab);
	*tab = nt;
	*mask = ncap - 1;
	return true;
}
