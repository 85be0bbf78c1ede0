/* store.c — the connection pool, transactions, migrations and result-set helpers. */
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/timeutil.h"
#include "store/db.h"

#include "base/banned.h"

struct kz_store {
	const kz_db_driver *drv;
	char *url;
	int size;
	kz_conn *conns;
	int *free_stack;
	int nfree;
	uint64_t waits;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* SQLite allows one writer at a time; writers queue here instead of in SQLite's
	 * sleep-and-retry busy handler, which wastes whole milliseconds per retry. */
	pthread_mutex_t write_mu;
	char node_id[33]; /* this process, as the origin of its change feed rows */
};

static int is_pg_url(const char *url)
{
	return !strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13);
}

int kz_store_open(const char *url, int pool_size, kz_store **out, kz_err *err)
{
	kz_store *s;
	int i;
	*out = NULL;
	if (pool_size < 1)
		pool_size = 1;
	s = calloc(1, sizeof *s);
	if (!s)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	s->drv = is_pg_url(url) ? &kz_pg_driver : &kz_sqlite_driver;
	kz_random_hex(s->node_id, 16);
	s->url = strdup(url);
	s->size = pool_size;
	s->conns = calloc((size_t)pool_size, sizeof *s->conns);
	s->free_stack = calloc((size_t)pool_size, sizeof *s->free_stack);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_mutex_init(&s->write_mu, NULL);
	if (!s->url || !s->conns || !s->free_stack) {
		kz_store_close(s);
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	}
	for (i = 0; i < pool_size; i++) {
		kz_conn *c = &s->conns[i];
		c->store = s;
		c->drv = s->drv;
		if (s->drv->connect(url, &c->h, err) < 0) {
			kz_store_close(s);
			return -1;
		}
		s->free_stack[s->nfree++] = i;
	}
	*out = s;
	return 0;
}

void kz_store_close(kz_store *s)
{
	if (!s)
		return;
	for (int i = 0; s->conns && i < s->size; i++) {
		if (s->conns[i].h)
			s->drv->disconnect(s->conns[i].h);
		free(s->conns[i].after);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->write_mu);
	free(s->conns);
	free(s->free_stack);
	free(s->url);
	free(s);
}

const char *kz_store_backend(const kz_store *s)
{
	return s->drv->name;
}

const char *kz_store_node_id(const kz_store *s)
{
	return s->node_id;
}

kz_conn *kz_store_acquire(kz_store *s)
{
	kz_conn *c;
	pthread_mutex_lock(&s->mu);
	if (s->nfree == 0)
		s->waits++;
	while (s->nfree == 0)
		pthread_cond_wait(&s->cv, &s->mu);
	c = &s->conns[s->free_stack[--s->nfree]];
	pthread_mutex_unlock(&s->mu);
	if (c->broken) {
		/* The server went away (PostgreSQL restart): try a fresh connection. */
		void *h = NULL;
		kz_err e;
		if (s->drv->connect(s->url, &h, &e) == 0) {
			s->drv->disconnect(c->h);
			c->h = h;
			c->broken = 0;
		}
	}
	return c;
}

void kz_store_release(kz_conn *c)
{
	kz_store *s;
	if (!c)
		return;
	s = c->store;
	if (c->in_tx)
		kz_tx_rollback(c);
	pthread_mutex_lock(&s->mu);
	s->free_stack[s->nfree++] = (int)(c - s->conns);
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void kz_store_pool_stats(kz_store *s, int *size, int *in_use, uint64_t *waits)
{
	pthread_mutex_lock(&s->mu);
	*size = s->size;
	*in_use = s->size - s->nfree;
	*waits = s->waits;
	pthread_mutex_unlock(&s->mu);
}

static void write_unlock(kz_conn *c)
{
	if (c->holds_write) {
		c->holds_write = 0;
		pthread_mutex_unlock(&c->store->write_mu);
	}
}

int kz_tx_begin(kz_conn *c, int write, kz_err *err)
{
	if (write && c->drv == &kz_sqlite_driver) {
		pthread_mutex_lock(&c->store->write_mu);
		c->holds_write = 1;
	}
	if (c->drv->begin(c->h, write) < 0) {
		write_unlock(c);
		c->broken = 1;
		return kz_err_set(err, 503, "database_unavailable", NULL,
				  "the database could not start a transaction; try again");
	}
	c->in_tx = 1;
	c->nfeed = 0;
	return 0;
}

struct kz_after_commit {
	kz_after_commit_fn fn;
	void *ctx;
	int64_t id;
	int flag;
};

int kz_tx_after_commit(kz_conn *c, kz_after_commit_fn fn, void *ctx, int64_t id, int flag)
{
	if (!c->in_tx) {
		fn(ctx, id, flag);
		return 0;
	}
	if (c->nafter == c->capafter) {
		int n = c->capafter ? c->capafter * 2 : 8;
		struct kz_after_commit *g = realloc(c->after, (size_t)n * sizeof *g);
		if (!g)
			return -1;
		c->after = g;
		c->capafter = n;
	}
	c->after[c->nafter++] = (struct kz_after_commit){fn, ctx, id, flag};
	return 0;
}

/* Run (ok) or drop the calls waiting for this transaction. */
static void after_commit(kz_conn *c, int ok)
{
	int n = c->nafter;
	c->nafter = c->after_mark = 0;
	for (int i = 0; ok && i < n; i++)
		c->after[i].fn(c->after[i].ctx, c->after[i].id, c->after[i].flag);
}

int kz_tx_commit(kz_conn *c, kz_err *err)
{
	int r = c->drv->commit(c->h);
	c->in_tx = 0;
	c->nfeed = 0;
	if (r < 0)
		c->drv->rollback(c->h);
	write_unlock(c);
	after_commit(c, r == 0);
	if (r < 0) {
		return kz_err_set(err, 503, "database_unavailable", NULL,
				  "the database could not commit; nothing was changed");
	}
	return 0;
}

void kz_tx_rollback(kz_conn *c)
{
	c->drv->rollback(c->h);
	c->in_tx = 0;
	c->nfeed = 0;
	write_unlock(c);
	after_commit(c, 0);
}

/* SQLite can prepare savepoint statements once (cached); PostgreSQL cannot prepare them. */
static int run_simple(kz_conn *c, const char *sql, kz_err *err)
{
	if (c->drv == &kz_sqlite_driver)
		return kz_db_exec(c, sql, NULL, 0, err) < 0 ? -1 : 0;
	return c->drv->exec_script(c->h, sql, err) < 0 ? -1 : 0;
}

int kz_tx_savepoint(kz_conn *c, kz_err *err)
{
	c->after_mark = c->nafter;
	return run_simple(c, "SAVEPOINT kz_row", err);
}

int kz_tx_savepoint_release(kz_conn *c, kz_err *err)
{
	return run_simple(c, "RELEASE SAVEPOINT kz_row", err);
}

void kz_tx_savepoint_rollback(kz_conn *c)
{
	kz_err e;
	c->nafter = c->after_mark;
	c->nfeed = 0; /* the rows noted inside the savepoint are gone */
	run_simple(c, "ROLLBACK TO SAVEPOINT kz_row", &e);
	run_simple(c, "RELEASE SAVEPOINT kz_row", &e);
}

int kz_store_ping(kz_store *s)
{
	kz_conn *c = kz_store_acquire(s);
	int64_t v = 0;
	int found = 0, r;
	r = kz_db_scalar_int(c, "SELECT 1", NULL, 0, &v, &found, NULL);
	kz_store_release(c);
	return r < 0 || v != 1 ? -1 : 0;
}

/* ---- query helpers ---- */

int kz_db_query(kz_conn *c, const char *sql, const kz_val *p, int n, kz_rows *out, kz_err *err)
{
	int r = c->drv->query(c->h, sql, p, n, out, err);
	if (r == KZ_DB_BROKEN) {
		c->broken = 1;
		r = KZ_DB_ERROR;
	}
	return r;
}

int kz_db_exec(kz_conn *c, const char *sql, const kz_val *p, int n, kz_err *err)
{
	return kz_db_query(c, sql, p, n, NULL, err);
}

int kz_db_scalar_int(kz_conn *c, const char *sql, const kz_val *p, int n, int64_t *out,
		     int *found, kz_err *err)
{
	kz_rows rows;
	int r = kz_db_query(c, sql, p, n, &rows, err);
	if (r < 0)
		return r;
	int has = rows.nrows > 0 && kz_rows_get(&rows, 0, 0) != NULL;
	if (found)
		*found = has;
	*out = has ? kz_rows_int(&rows, 0, 0) : 0;
	kz_rows_free(&rows);
	return 0;
}

void kz_rows_init(kz_rows *r)
{
	r->nrows = r->ncols = 0;
	r->cells = NULL;
}

const char *kz_rows_get(const kz_rows *r, int row, int col)
{
	if (row < 0 || row >= r->nrows || col < 0 || col >= r->ncols)
		return NULL;
	return r->cells[row * r->ncols + col];
}

int64_t kz_rows_int(const kz_rows *r, int row, int col)
{
	const char *v = kz_rows_get(r, row, col);
	return v ? strtoll(v, NULL, 10) : 0;
}

void kz_rows_free(kz_rows *r)
{
	if (r->cells) {
		for (int i = 0; i < r->nrows * r->ncols; i++)
			free(r->cells[i]);
		free(r->cells);
	}
	kz_rows_init(r);
}

/* ---- migrations ---- */

int kz_store_schema_version(kz_store *s)
{
	kz_conn *c = kz_store_acquire(s);
	int64_t v = -1;
	int found = 0;
	if (kz_db_scalar_int(c, "SELECT MAX(version) FROM schema_migrations", NULL, 0, &v, &found,
			     NULL) < 0 || !found)
		v = -1;
	kz_store_release(c);
	return (int)v;
}

int kz_store_migrate(kz_store *s, int *applied, kz_err *err)
{
	kz_conn *c = kz_store_acquire(s);
	const kz_db_driver *d = s->drv;
	int64_t cur = 0;
	int found = 0, n = 0, rc = -1;
	if (applied)
		*applied = 0;
	if (d->exec_script(c->h,
			   "CREATE TABLE IF NOT EXISTS schema_migrations ("
			   " version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
			   err) < 0)
		goto out;
	if (kz_tx_begin(c, 1, err) < 0)
		goto out;
	/* PostgreSQL: serialize concurrent migrators (several nodes starting at once). */
	if (!strcmp(d->name, "postgres") &&
	    kz_db_exec(c, "SELECT pg_advisory_xact_lock(7412001)", NULL, 0, err) < 0)
		goto fail;
	if (kz_db_scalar_int(c, "SELECT MAX(version) FROM schema_migrations", NULL, 0, &cur, &found,
			     err) < 0)
		goto fail;
	int nm = 0;
	while (d->migrations[nm])
		nm++;
	if (cur > nm) {
		kz_err_set(err, 500, "schema_too_new", NULL,
			   "the database has schema version %lld but this kizuna knows only %d; "
			   "upgrade kizuna",
			   (long long)cur, nm);
		goto fail;
	}
	for (int v = (int)cur + 1; v <= nm; v++) {
		kz_val p[2] = {KZ_INT(v), KZ_INT(kz_now_ms())};
		if (d->exec_script(c->h, d->migrations[v - 1], err) < 0) {
			snprintf(err->message + strlen(err->message),
				 sizeof err->message - strlen(err->message), " (migration %d)", v);
			goto fail;
		}
		if (kz_db_exec(c, "INSERT INTO schema_migrations(version, applied_at) VALUES ($1, $2)",
			       p, 2, err) < 0)
			goto fail;
		n++;
	}
	if (kz_tx_commit(c, err) < 0)
		goto out;
	if (applied)
		*applied = n;
	rc = 0;
	goto out;
fail:
	kz_tx_rollback(c);
out:
	kz_store_release(c);
	return rc;
}

/* ---- settings ---- */

int kz_store_setting_get(kz_conn *c, const char *key, char **value, kz_err *err)
{
	kz_rows rows;
	kz_val p[1] = {KZ_TEXT(key)};
	*value = NULL;
	if (kz_db_query(c, "SELECT value FROM settings WHERE key = $1", p, 1, &rows, err) < 0)
		return -1;
	if (rows.nrows > 0 && kz_rows_get(&rows, 0, 0))
		*value = strdup(kz_rows_get(&rows, 0, 0));
	kz_rows_free(&rows);
	return 0;
}

int kz_store_setting_set(kz_conn *c, const char *key, const char *value, kz_err *err)
{
	kz_val p[2] = {KZ_TEXT(key), KZ_TEXT(value)};
	return kz_db_exec(c,
			  "INSERT INTO settings(key, value) VALUES ($1, $2) "
			  "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			  p, 2, err) < 0
		       ? -1
		       : 0;
}
