/* sqlite.c — the SQLite driver: WAL, a per-connection statement cache, $N placeholders. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "store/db.h"

#include "base/banned.h"

#define STMT_CACHE 96

typedef struct cached_stmt {
	char *sql; /* the caller's SQL (with $N), the cache key */
	sqlite3_stmt *stmt;
} cached_stmt;

typedef struct sq_conn {
	sqlite3 *db;
	cached_stmt cache[STMT_CACHE];
	int ncache;
	int next_evict;
} sq_conn;

extern const char *const kz_sqlite_migrations[];

/* Make the parent folder of a database file if needed (./data/kizuna.db). */
static void ensure_parent_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path || (size_t)(slash - path) >= sizeof dir)
		return;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	mkdir(dir, 0755);
}

/* SQLite counts every allocation under one global mutex (SQLITE_CONFIG_MEMSTATUS) unless told
 * not to; nothing here reads those counters, and the event writer and the request threads
 * would queue on that mutex for every malloc. Must run before the library initializes. */
static void sq_global_config(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sq_connect(const char *url, void **h, kz_err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	sq_conn *c = calloc(1, sizeof *c);
	const char *path = url;
	char *msg = NULL;
	pthread_once(&once, sq_global_config);
	if (!c)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	if (!strncmp(path, "sqlite://", 9))
		path += 9;
	else if (!strncmp(path, "file:", 5))
		path += 5;
	ensure_parent_dir(path);
	if (sqlite3_open_v2(path, &c->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		kz_err_set(err, 500, "database_unavailable", NULL, "cannot open SQLite database %s: %s",
			   path, c->db ? sqlite3_errmsg(c->db) : "out of memory");
		sqlite3_close(c->db);
		free(c);
		return -1;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, 15000);
	/* WAL + synchronous=NORMAL: a committed transaction survives a process crash
	 * (kill -9); only an OS crash may lose the last few commits. */
	if (sqlite3_exec(c->db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			 "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
			 "PRAGMA cache_size=-32000; PRAGMA mmap_size=1073741824;",
			 NULL, NULL, &msg) != SQLITE_OK) {
		kz_err_set(err, 500, "database_unavailable", NULL, "cannot set up SQLite %s: %s", path,
			   msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(c->db);
		free(c);
		return -1;
	}
	*h = c;
	return 0;
}

static void sq_disconnect(void *h)
{
	sq_conn *c = h;
	for (int i = 0; i < c->ncache; i++) {
		sqlite3_finalize(c->cache[i].stmt);
		free(c->cache[i].sql);
	}
	sqlite3_close(c->db);
	free(c);
}

/* $1 → ?1: our SQL is written once for both backends in PostgreSQL's style. */
static char *rewrite_placeholders(const char *sql)
{
	size_t n = strlen(sql);
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		out[i] = (sql[i] == '$' && i + 1 < n && sql[i + 1] >= '0' && sql[i + 1] <= '9')
				 ? '?'
				 : sql[i];
	return out;
}

static int map_error(sq_conn *c, int rc, const char *sql, kz_err *err)
{
	int ext = sqlite3_extended_errcode(c->db);
	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
		kz_err_set(err, 409, "conflict", NULL, "%s", sqlite3_errmsg(c->db));
		return KZ_DB_UNIQUE;
	}
	if (ext == SQLITE_CONSTRAINT_FOREIGNKEY) {
		kz_err_set(err, 422, "invalid_reference", NULL, "a referenced record does not exist");
		return KZ_DB_FOREIGN;
	}
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
		kz_err_set(err, 503, "database_busy", NULL, "the database is busy; try again");
		return KZ_DB_BUSY;
	}
	kz_error("sqlite error=\"%s\" sql=\"%.200s\"", sqlite3_errmsg(c->db), sql);
	kz_err_set(err, 500, "database_error", NULL, "database error: %s", sqlite3_errmsg(c->db));
	return KZ_DB_ERROR;
}

static sqlite3_stmt *get_stmt(sq_conn *c, const char *sql, kz_err *err, int *rc_out)
{
	sqlite3_stmt *st = NULL;
	char *rw;
	int rc, slot;
	for (int i = 0; i < c->ncache; i++)
		if (!strcmp(c->cache[i].sql, sql))
			return c->cache[i].stmt;
	rw = rewrite_placeholders(sql);
	if (!rw) {
		*rc_out = KZ_DB_ERROR;
		kz_err_set(err, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	rc = sqlite3_prepare_v3(c->db, rw, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	free(rw);
	if (rc != SQLITE_OK) {
		*rc_out = map_error(c, rc, sql, err);
		return NULL;
	}
	if (c->ncache < STMT_CACHE) {
		slot = c->ncache++;
	} else {
		slot = c->next_evict;
		c->next_evict = (c->next_evict + 1) % STMT_CACHE;
		sqlite3_finalize(c->cache[slot].stmt);
		free(c->cache[slot].sql);
	}
	c->cache[slot].sql = strdup(sql);
	c->cache[slot].stmt = st;
	if (!c->cache[slot].sql) {
		sqlite3_finalize(st);
		c->ncache--;
		*rc_out = KZ_DB_ERROR;
		return NULL;
	}
	return st;
}

static int sq_query(void *h, const char *sql, const kz_val *p, int n, kz_rows *out, kz_err *err)
{
	sq_conn *c = h;
	sqlite3_stmt *st;
	int rc = KZ_DB_ERROR, step, ncols, cap = 0, nrows = 0, filled = 0;
	char **cells = NULL;
	if (out)
		kz_rows_init(out);
	st = get_stmt(c, sql, err, &rc);
	if (!st)
		return rc;
	for (int i = 0; i < n; i++) {
		if (p[i].t == KZ_V_INT)
			sqlite3_bind_int64(st, i + 1, p[i].i);
		else if (p[i].t == KZ_V_TEXT)
			sqlite3_bind_text(st, i + 1, p[i].s, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, i + 1);
	}
	ncols = sqlite3_column_count(st);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (!out) {
			nrows++;
			continue;
		}
		if ((nrows + 1) * ncols > cap) {
			int ncap = cap ? cap * 2 : ncols * 16;
			char **nc = realloc(cells, (size_t)ncap * sizeof *cells);
			if (!nc) {
				rc = kz_err_set(err, 500, "internal", NULL, "out of memory");
				goto fail;
			}
			cells = nc;
			cap = ncap;
		}
		for (int col = 0; col < ncols; col++) {
			const unsigned char *v = sqlite3_column_text(st, col);
			cells[filled++] = v ? strdup((const char *)v) : NULL;
		}
		nrows++;
	}
	if (step != SQLITE_DONE) {
		rc = map_error(c, step, sql, err);
		goto fail;
	}
	if (out) {
		out->cells = cells;
		out->nrows = nrows;
		out->ncols = ncols;
	}
	rc = ncols > 0 ? nrows : sqlite3_changes(c->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
fail:
	for (int i = 0; i < filled; i++)
		free(cells[i]);
	free(cells);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static int sq_exec_script(void *h, const char *sql, kz_err *err)
{
	sq_conn *c = h;
	char *msg = NULL;
	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		kz_err_set(err, 500, "database_error", NULL, "%s", msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int sq_begin(void *h, int write)
{
	sq_conn *c = h;
	return sqlite3_exec(c->db, write ? "BEGIN IMMEDIATE" : "BEGIN", NULL, NULL, NULL) == SQLITE_OK
		       ? 0
		       : -1;
}

static int sq_commit(void *h)
{
	sq_conn *c = h;
	return sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int sq_rollback(void *h)
{
	sq_conn *c = h;
	if (sqlite3_get_autocommit(c->db))
		return 0;
	return sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

const kz_db_driver kz_sqlite_driver = {
	.name = "sqlite",
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.query = sq_query,
	.exec_script = sq_exec_script,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.migrations = kz_sqlite_migrations,
};
