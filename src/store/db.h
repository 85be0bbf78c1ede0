/* db.h — the driver ops table that sqlite.c and pg.c implement (private to src/store/). */
#ifndef KZ_DB_H
#define KZ_DB_H

#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* A bound parameter. SQL text everywhere uses $1, $2 ... (sqlite.c rewrites to ?1). */
typedef enum { KZ_V_NULL, KZ_V_INT, KZ_V_TEXT } kz_vtype;
typedef struct kz_val {
	kz_vtype t;
	int64_t i;
	const char *s;
} kz_val;

#define KZ_NULLV ((kz_val){KZ_V_NULL, 0, NULL})
#define KZ_INT(x) ((kz_val){KZ_V_INT, (int64_t)(x), NULL})
#define KZ_TEXT(x) ((kz_val){(x) ? KZ_V_TEXT : KZ_V_NULL, 0, (x)})

/* A result set: every cell as text (NULL for SQL NULL), row-major. */
typedef struct kz_rows {
	int nrows, ncols;
	char **cells;
} kz_rows;

/* Result codes of query(): >= 0 is the count of rows changed or returned. */
#define KZ_DB_ERROR (-1)
#define KZ_DB_UNIQUE (-2)  /* a unique constraint refused the write */
#define KZ_DB_FOREIGN (-3) /* a foreign key refused the write */
#define KZ_DB_BUSY (-4)    /* locked past the timeout */
#define KZ_DB_BROKEN (-5)  /* the connection is lost; the pool reconnects it */

typedef struct kz_db_driver {
	const char *name;
	int (*connect)(const char *url, void **h /* OUT */, kz_err *err);
	void (*disconnect)(void *h);
	/* Run one statement; fill `out` (may be NULL) with its rows. */
	int (*query)(void *h, const char *sql, const kz_val *params, int nparams, kz_rows *out,
		     kz_err *err);
	/* Run a script of several statements (migrations). */
	int (*exec_script)(void *h, const char *sql, kz_err *err);
	int (*begin)(void *h, int write);
	int (*commit)(void *h);
	int (*rollback)(void *h);
	/* Migrations, NULL-terminated: index i is schema version i+1. */
	const char *const *migrations;
} kz_db_driver;

extern const kz_db_driver kz_sqlite_driver;
extern const kz_db_driver kz_pg_driver;

/* Feed rows already written in the open transaction (kz_store_feed_note writes one per change
 * and transaction, however many statements touch the same contact). */
#define KZ_FEED_NOTED 32
struct kz_feed_noted {
	int kind;
	int64_t ref;
};

struct kz_conn {
	kz_store *store;
	const kz_db_driver *drv;
	void *h;
	int in_tx;
	int holds_write; /* SQLite: this connection holds the store's writer lock */
	int broken; /* the connection failed; the pool reconnects it */
	/* kz_tx_after_commit: calls waiting for the transaction's COMMIT */
	struct kz_after_commit *after;
	int nafter, capafter, after_mark; /* mark: count when the savepoint began */
	struct kz_feed_noted feed[KZ_FEED_NOTED];
	int nfeed;
};

/* Convenience wrappers used by the store's record files. */
int kz_db_query(kz_conn *c, const char *sql, const kz_val *p, int n, kz_rows *out, kz_err *err);
int kz_db_exec(kz_conn *c, const char *sql, const kz_val *p, int n, kz_err *err);
/* First column of the first row as an integer; `*found` (may be NULL) 0 when no row. */
int kz_db_scalar_int(kz_conn *c, const char *sql, const kz_val *p, int n, int64_t *out,
		     int *found, kz_err *err);
const char *kz_rows_get(const kz_rows *r, int row, int col);
int64_t kz_rows_int(const kz_rows *r, int row, int col);
void kz_rows_free(kz_rows *r);
/* Build a kz_rows from a flat array of cells (takes ownership of cells and strings). */
void kz_rows_init(kz_rows *r);

#endif
