/* sites.c — an in-memory copy of the sites table for the collector, refreshed every few seconds. */
#include "track/sites.h"

#include <pthread.h>
#include <string.h>

#include "base/timeutil.h"
#include "model/site.h"

#include "base/banned.h"

#define SITES_TTL_MS 5000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *cached;    /* array of site records, or NULL */
static int64_t cached_at; /* ms */

/* A reference to the current list of sites, reloaded when stale. */
static json_t *sites(kz_store *s)
{
	int64_t now = kz_now_ms();
	json_t *list = NULL;
	kz_conn *c;
	kz_err err;
	int rc;
	pthread_mutex_lock(&mu);
	if (cached && now - cached_at < SITES_TTL_MS) {
		list = json_incref(cached);
		pthread_mutex_unlock(&mu);
		return list;
	}
	pthread_mutex_unlock(&mu);
	c = kz_store_acquire(s);
	rc = kz_store_site_list(c, &list, &err);
	kz_store_release(c);
	if (rc < 0)
		return NULL;
	pthread_mutex_lock(&mu);
	json_decref(cached);
	cached = json_incref(list);
	cached_at = now;
	pthread_mutex_unlock(&mu);
	return list;
}

void kz_track_sites_flush(void)
{
	pthread_mutex_lock(&mu);
	json_decref(cached);
	cached = NULL;
	pthread_mutex_unlock(&mu);
}

int kz_track_site_find(kz_store *s, const char *key, kz_track_site *out)
{
	json_t *list, *site;
	size_t i;
	memset(out, 0, sizeof *out);
	if (!key || !*key)
		return 0;
	list = sites(s);
	if (!list)
		return -1;
	json_array_foreach(list, i, site) {
		const char *k = json_string_value(json_object_get(site, "site_key"));
		if (k && !strcmp(k, key)) {
			out->id = json_integer_value(json_object_get(site, "id"));
			out->bot_filter = json_is_true(json_object_get(site, "bot_filter"));
			out->anonymize_ip = json_is_true(json_object_get(site, "anonymize_ip"));
			out->respect_dnt = json_is_true(json_object_get(site, "respect_dnt"));
			out->origins = json_incref(json_object_get(site, "allowed_origins"));
			json_decref(list);
			return 1;
		}
	}
	json_decref(list);
	return 0;
}

void kz_track_site_release(kz_track_site *site)
{
	json_decref(site->origins);
	site->origins = NULL;
}

int kz_track_origin_known(kz_store *s, const char *origin)
{
	json_t *list = sites(s), *site;
	size_t i;
	int ok = 0;
	json_array_foreach(list, i, site) {
		if (kz_site_origin_allowed(json_object_get(site, "allowed_origins"), origin)) {
			ok = 1;
			break;
		}
	}
	json_decref(list);
	return ok;
}
