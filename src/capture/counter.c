/* counter.c — variant counters held in memory and added to the store in batches, so the
 * public pages never wait on a write per view. */
#include "capture/counter.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

#include "base/banned.h"

#define FLUSH_EVERY_MS 500
#define MAX_PENDING 4096

typedef struct pending {
	int kind;
	int64_t id, n;
	char variant[48];
} pending;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pending *items;
static int nitems, capitems;
static int64_t last_flush_ms;
static int flushing;

static void add(int kind, int64_t id, const char *variant, int64_t n)
{
	pending *p;
	for (int i = 0; i < nitems; i++)
		if (items[i].kind == kind && items[i].id == id &&
		    !strcmp(items[i].variant, variant)) {
			items[i].n += n;
			return;
		}
	if (nitems == capitems) {
		int cap = capitems ? capitems * 2 : 64;
		if (cap > MAX_PENDING || !(p = realloc(items, (size_t)cap * sizeof *p))) {
			kz_warn("variant counters: too many pending; a count was dropped");
			return;
		}
		items = p;
		capitems = cap;
	}
	p = &items[nitems++];
	memset(p, 0, sizeof *p);
	p->kind = kind;
	p->id = id;
	p->n = n;
	snprintf(p->variant, sizeof p->variant, "%s", variant);
}

void kz_counter_hit(int kind, int64_t id, const char *variant)
{
	if (!variant || !*variant || strlen(variant) >= sizeof items[0].variant)
		return;
	pthread_mutex_lock(&mu);
	add(kind, id, variant, 1);
	pthread_mutex_unlock(&mu);
}

/* Real elapsed time, even when the server's clock is moved by hand in tests. */
static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kz_counter_flush(kz_store *store, int force)
{
	pending *batch;
	int n;
	int64_t now = mono_ms();
	kz_conn *c;
	kz_err err;
	pthread_mutex_lock(&mu);
	if (flushing || nitems == 0 || (!force && now - last_flush_ms < FLUSH_EVERY_MS)) {
		pthread_mutex_unlock(&mu);
		return;
	}
	batch = items;
	n = nitems;
	items = NULL;
	nitems = capitems = 0;
	last_flush_ms = now;
	flushing = 1;
	pthread_mutex_unlock(&mu);
	c = kz_store_acquire(store);
	if (c && kz_tx_begin(c, 1, &err) == 0) {
		int i;
		for (i = 0; i < n; i++)
			if (kz_store_counter_add(c, batch[i].kind, batch[i].id, batch[i].variant,
						 batch[i].n, &err) < 0)
				break;
		if (i == n && kz_tx_commit(c, &err) == 0)
			n = 0;
		else
			kz_tx_rollback(c);
	}
	if (c)
		kz_store_release(c);
	pthread_mutex_lock(&mu);
	if (n)
		kz_warn("variant counters: not written (%s); kept for the next try", err.message);
	for (int i = 0; i < n; i++) /* put back what was not written */
		add(batch[i].kind, batch[i].id, batch[i].variant, batch[i].n);
	flushing = 0;
	pthread_mutex_unlock(&mu);
	free(batch);
}
