/* testdb.h — fixtures shared by the unit tests that need a database: a temporary folder
 * for SQLite files, and a throwaway PostgreSQL database when KZ_TEST_PG_URL is set.
 * Header-only (static functions) because CMake builds each test file on its own.
 * Before including, define TESTDB_PREFIX (e.g. "kz_test_store"). */
#ifndef KZ_TESTDB_H
#define KZ_TESTDB_H

#include <dirent.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char pg_url[600];   /* this file's own database, or "" when PostgreSQL is not tested */
static char pg_dbname[64];

/* Remove a flat temporary folder and the files in it. */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[600];
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* "drop cascades to ..." and friends */
}

/* Run one administrative statement (CREATE/DROP DATABASE) on the server at url. */
static int pg_admin(const char *url, const char *sql)
{
	PGconn *pc = PQconnectdb(url);
	PGresult *r;
	int ok;
	if (PQstatus(pc) != CONNECTION_OK) {
		fprintf(stderr, "cannot connect to %s: %s", url, PQerrorMessage(pc));
		PQfinish(pc);
		return -1;
	}
	PQsetNoticeProcessor(pc, quiet, NULL);
	r = PQexec(pc, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(pc);
	return ok ? 0 : -1;
}

/* base (postgres://u@h:p/db?x) with its database replaced by db. */
static void url_with_db(const char *base, const char *db, char *out, size_t n)
{
	const char *host = strstr(base, "://");
	const char *q, *slash;
	size_t head;
	host = host ? host + 3 : base;
	q = strchr(host, '?');
	slash = strchr(host, '/');
	if (slash && q && slash > q)
		slash = NULL;
	head = slash ? (size_t)(slash - base) : q ? (size_t)(q - base) : strlen(base);
	snprintf(out, n, "%.*s/%s%s", (int)head, base, db, q ? q : "");
}

/* cmocka group setup: create this file's database when KZ_TEST_PG_URL is set. */
static int pg_group_setup(void **state)
{
	const char *base = getenv("KZ_TEST_PG_URL");
	char sql[128];
	(void)state;
	pg_url[0] = '\0';
	if (!base || !*base)
		return 0;
	snprintf(pg_dbname, sizeof pg_dbname, "%s_%ld_%ld", TESTDB_PREFIX, (long)getpid(),
		 (long)time(NULL));
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", pg_dbname);
	if (pg_admin(base, sql) < 0)
		return -1;
	url_with_db(base, pg_dbname, pg_url, sizeof pg_url);
	return 0;
}

/* cmocka group teardown: drop it again. */
static int pg_group_teardown(void **state)
{
	char sql[128];
	(void)state;
	if (!pg_url[0])
		return 0;
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", pg_dbname);
	return pg_admin(getenv("KZ_TEST_PG_URL"), sql);
}

#endif
