/* pg.c — the PostgreSQL driver over libpq: text protocol, a per-connection prepared-statement cache. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/db.h"

#include "base/banned.h"

#define STMT_CACHE 128
#define MAX_PARAMS 64

typedef struct pg_conn {
	PGconn *pg;
	char *sqls[STMT_CACHE]; /* cache key: SQL text; statement name is "k<index>" */
	int ncache;
} pg_conn;

extern const char *const kz_pg_migrations[];

static void quiet_notices(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* "relation already exists, skipping" and friends */
}

static int pg_connect(const char *url, void **h, kz_err *err)
{
	pg_conn *c = calloc(1, sizeof *c);
	if (!c)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	c->pg = PQconnectdb(url);
	if (PQstatus(c->pg) != CONNECTION_OK) {
		kz_err_set(err, 500, "database_unavailable", NULL, "cannot connect to PostgreSQL: %s",
			   PQerrorMessage(c->pg));
		PQfinish(c->pg);
		free(c);
		return -1;
	}
	PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
	PQclear(PQexec(c->pg, "SET TIME ZONE 'UTC'"));
	*h = c;
	return 0;
}

static void pg_disconnect(void *h)
{
	pg_conn *c = h;
	for (int i = 0; i < c->ncache; i++)
		free(c->sqls[i]);
	PQfinish(c->pg);
	free(c);
}

static int map_error(pg_conn *c, PGresult *res, const char *sql, kz_err *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg);
	if (PQstatus(c->pg) != CONNECTION_OK) {
		kz_err_set(err, 503, "database_unavailable", NULL, "lost the PostgreSQL connection");
		return KZ_DB_BROKEN;
	}
	if (state && !strcmp(state, "23505")) {
		kz_err_set(err, 409, "conflict", NULL, "%s", msg);
		return KZ_DB_UNIQUE;
	}
	if (state && !strcmp(state, "23503")) {
		kz_err_set(err, 422, "invalid_reference", NULL, "a referenced record does not exist");
		return KZ_DB_FOREIGN;
	}
	if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))) {
		kz_err_set(err, 503, "database_busy", NULL, "the database is busy; try again");
		return KZ_DB_BUSY;
	}
	kz_error("postgres error=\"%s\" sql=\"%.200s\"", msg, sql);
	kz_err_set(err, 500, "database_error", NULL, "database error: %s", msg);
	return KZ_DB_ERROR;
}

/* Prepare once per connection; returns the cache index or -1. */
static int prepared(pg_conn *c, const char *sql, int nparams, kz_err *err, int *rc)
{
	char name[16];
	PGresult *res;
	for (int i = 0; i < c->ncache; i++)
		if (!strcmp(c->sqls[i], sql))
			return i;
	if (c->ncache == STMT_CACHE) {
		*rc = KZ_DB_ERROR;
		return -2; /* caller runs it unprepared */
	}
	snprintf(name, sizeof name, "k%d", c->ncache);
	res = PQprepare(c->pg, name, sql, nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*rc = map_error(c, res, sql, err);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	c->sqls[c->ncache] = strdup(sql);
	if (!c->sqls[c->ncache]) {
		*rc = KZ_DB_ERROR;
		return -1;
	}
	return c->ncache++;
}

static int pg_query(void *h, const char *sql, const kz_val *p, int n, kz_rows *out, kz_err *err)
{
	pg_conn *c = h;
	const char *values[MAX_PARAMS];
	char ints[MAX_PARAMS][24];
	char name[16];
	PGresult *res;
	int rc = KZ_DB_ERROR, idx, st;
	if (out)
		kz_rows_init(out);
	if (n > MAX_PARAMS)
		return kz_err_set(err, 500, "internal", NULL, "too many SQL parameters");
	for (int i = 0; i < n; i++) {
		if (p[i].t == KZ_V_INT) {
			snprintf(ints[i], sizeof ints[i], "%" PRId64, p[i].i);
			values[i] = ints[i];
		} else {
			values[i] = p[i].t == KZ_V_TEXT ? p[i].s : NULL;
		}
	}
	idx = prepared(c, sql, n, err, &rc);
	if (idx == -1)
		return rc;
	if (idx >= 0) {
		snprintf(name, sizeof name, "k%d", idx);
		res = PQexecPrepared(c->pg, name, n, values, NULL, NULL, 0);
	} else {
		res = PQexecParams(c->pg, sql, n, NULL, values, NULL, NULL, 0);
	}
	st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK) {
		int nrows = PQntuples(res), ncols = PQnfields(res);
		rc = nrows;
		if (out && nrows > 0 && ncols > 0) {
			out->cells = calloc((size_t)nrows * (size_t)ncols, sizeof *out->cells);
			if (!out->cells) {
				PQclear(res);
				return kz_err_set(err, 500, "internal", NULL, "out of memory");
			}
			out->nrows = nrows;
			out->ncols = ncols;
			for (int r = 0; r < nrows; r++)
				for (int col = 0; col < ncols; col++)
					if (!PQgetisnull(res, r, col))
						out->cells[r * ncols + col] =
							strdup(PQgetvalue(res, r, col));
		} else if (out) {
			out->ncols = ncols;
		}
	} else if (st == PGRES_COMMAND_OK) {
		const char *t = PQcmdTuples(res);
		rc = t && *t ? (int)strtol(t, NULL, 10) : 0;
	} else {
		rc = map_error(c, res, sql, err);
	}
	PQclear(res);
	return rc;
}

static int pg_exec_script(void *h, const char *sql, kz_err *err)
{
	pg_conn *c = h;
	PGresult *res = PQexec(c->pg, sql);
	int st = PQresultStatus(res);
	int rc = 0;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = map_error(c, res, sql, err) < 0 ? -1 : 0;
	PQclear(res);
	return rc;
}

static int simple(pg_conn *c, const char *sql)
{
	PGresult *res = PQexec(c->pg, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	return ok ? 0 : -1;
}

static int pg_begin(void *h, int write)
{
	(void)write;
	return simple(h, "BEGIN");
}

static int pg_commit(void *h)
{
	pg_conn *c = h;
	PGresult *res = PQexec(c->pg, "COMMIT");
	/* COMMIT of an aborted transaction "succeeds" with the tag ROLLBACK. */
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK && !strcmp(PQcmdStatus(res), "COMMIT");
	PQclear(res);
	return ok ? 0 : -1;
}

static int pg_rollback(void *h)
{
	pg_conn *c = h;
	if (PQtransactionStatus(c->pg) == PQTRANS_IDLE)
		return 0;
	return simple(h, "ROLLBACK");
}

const kz_db_driver kz_pg_driver = {
	.name = "postgres",
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.query = pg_query,
	.exec_script = pg_exec_script,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.migrations = kz_pg_migrations,
};
