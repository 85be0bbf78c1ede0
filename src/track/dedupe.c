/* dedupe.c — two generations of open-addressed 64-bit hashes: when the young one is full it
 * becomes the old one and the old one is dropped, so memory stays bounded and the newest
 * `window` ids are always remembered. */
#include "track/dedupe.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

typedef struct gen {
	uint64_t *slots; /* 0: empty */
	size_t mask, used;
} gen;

struct kz_dedupe {
	pthread_mutex_t mu;
	gen young, old;
	size_t window;
};

/* FNV-1a, then a final mix; 0 is reserved for empty slots. */
static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h ? h : 1;
}

static int gen_init(gen *g, size_t window)
{
	size_t n = 16;
	while (n < window * 2) /* at most half full */
		n <<= 1;
	g->slots = calloc(n, sizeof *g->slots);
	g->mask = n - 1;
	g->used = 0;
	return g->slots ? 0 : -1;
}

static int gen_has(const gen *g, uint64_t h)
{
	size_t i = (size_t)h & g->mask;
	if (!g->slots)
		return 0;
	while (g->slots[i]) {
		if (g->slots[i] == h)
			return 1;
		i = (i + 1) & g->mask;
	}
	return 0;
}

static void gen_put(gen *g, uint64_t h)
{
	size_t i = (size_t)h & g->mask;
	while (g->slots[i])
		i = (i + 1) & g->mask;
	g->slots[i] = h;
	g->used++;
}

kz_dedupe *kz_dedupe_new(size_t window)
{
	kz_dedupe *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->window = window ? window : 1;
	if (gen_init(&d->young, d->window) < 0) {
		free(d);
		return NULL;
	}
	pthread_mutex_init(&d->mu, NULL);
	return d;
}

void kz_dedupe_free(kz_dedupe *d)
{
	if (!d)
		return;
	free(d->young.slots);
	free(d->old.slots);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

int kz_dedupe_add(kz_dedupe *d, const char *id)
{
	uint64_t h = hash(id);
	int seen;
	pthread_mutex_lock(&d->mu);
	seen = gen_has(&d->young, h) || gen_has(&d->old, h);
	if (!seen) {
		if (d->young.used >= d->window) {
			gen fresh;
			if (gen_init(&fresh, d->window) == 0) {
				free(d->old.slots);
				d->old = d->young;
				d->young = fresh;
			} else { /* out of memory: forget the old ones instead */
				memset(d->young.slots, 0, (d->young.mask + 1) * sizeof *d->young.slots);
				d->young.used = 0;
			}
		}
		gen_put(&d->young, h);
	}
	pthread_mutex_unlock(&d->mu);
	return seen;
}

int kz_dedupe_has(kz_dedupe *d, const char *id)
{
	uint64_t h = hash(id);
	int seen;
	pthread_mutex_lock(&d->mu);
	seen = gen_has(&d->young, h) || gen_has(&d->old, h);
	pthread_mutex_unlock(&d->mu);
	return seen;
}

size_t kz_dedupe_size(kz_dedupe *d)
{
	size_t n;
	pthread_mutex_lock(&d->mu);
	n = d->young.used + d->old.used;
	pthread_mutex_unlock(&d->mu);
	return n;
}
