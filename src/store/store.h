/* store.h — the storage interface: a connection pool over SQLite or PostgreSQL, and the
 * record operations. SQL lives only behind this header (src/store/). Records travel as
 * jansson objects with the keys documented in docs/api.md. */
#ifndef KZ_STORE_H
#define KZ_STORE_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"

typedef struct kz_store kz_store;
typedef struct kz_conn kz_conn;

/* ---- lifecycle ---- */

/* Open a store: a file path (SQLite, WAL) or postgres://... (libpq pool). */
int kz_store_open(const char *url, int pool_size, kz_store **out /* OUT */, kz_err *err);
void kz_store_close(kz_store *s);
/* "sqlite" or "postgres". */
const char *kz_store_backend(const kz_store *s);
/* Apply pending migrations; *applied (may be NULL) gets how many ran. */
int kz_store_migrate(kz_store *s, int *applied, kz_err *err);
/* Current schema version, or -1. */
int kz_store_schema_version(kz_store *s);
/* 0 when the database answers a trivial query. */
int kz_store_ping(kz_store *s);
/* Pool stats for /metrics. */
void kz_store_pool_stats(kz_store *s, int *size, int *in_use, uint64_t *waits);

/* Borrow a connection (blocks while all are in use); give it back with release. */
kz_conn *kz_store_acquire(kz_store *s);
void kz_store_release(kz_conn *c);

/* Transactions: write=1 takes the write lock up front on SQLite (BEGIN IMMEDIATE). */
int kz_tx_begin(kz_conn *c, int write, kz_err *err);
int kz_tx_commit(kz_conn *c, kz_err *err);
void kz_tx_rollback(kz_conn *c);
/* Savepoints inside a transaction: one bad row of an import never spoils the others. */
int kz_tx_savepoint(kz_conn *c, kz_err *err);
int kz_tx_savepoint_release(kz_conn *c, kz_err *err);
void kz_tx_savepoint_rollback(kz_conn *c);

/* ---- settings (key/value) ---- */
int kz_store_setting_get(kz_conn *c, const char *key, char **value /* OUT, NULL if unset */,
			 kz_err *err);
int kz_store_setting_set(kz_conn *c, const char *key, const char *value, kz_err *err);

/* ---- contacts ---- */

/* Query for listing contacts; all members optional (NULL/0). */
typedef struct kz_contact_query {
	const char *email;  /* exact, already normalized */
	const char *q;      /* already folded with kz_fold_search */
	const char *tag;
	int64_t company_id;
	int64_t owner_id;
	const char *sort;   /* "id" (default), "created_at", "updated_at", "email", "last_name";
			     * "-" prefix for descending */
	const char *cursor; /* opaque, from a previous page */
	int limit;
} kz_contact_query;

/* The full contact record (tags, company object) or 404 in err. */
int kz_store_contact_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);
/* Find a contact id by normalized email; *id = 0 when none. */
int kz_store_contact_by_email(kz_conn *c, const char *email, int64_t *id, kz_err *err);
/* Write every column of `rec` and replace its tags; *id 0 inserts (and gets the new id).
 * `rec` also carries "search" and "name_fold" computed by the model. */
int kz_store_contact_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err);
/* Delete a contact and everything tied to it; 404 in err when absent. */
int kz_store_contact_delete(kz_conn *c, int64_t id, kz_err *err);
/* A page of contacts; *next_cursor (malloc'd) is NULL on the last page. */
int kz_store_contact_list(kz_conn *c, const kz_contact_query *q, json_t **data,
			  char **next_cursor, kz_err *err);
/* Move everything tied to contact `from` onto `into` (rows of dependent tables). */
int kz_store_contact_move_related(kz_conn *c, int64_t from, int64_t into, kz_err *err);
/* Groups of likely duplicates: [{"reason":..., "ids":[...]}], at most `limit` groups. */
int kz_store_contact_duplicates(kz_conn *c, int limit, json_t **groups, kz_err *err);
/* Number of contacts. */
int kz_store_contact_count(kz_conn *c, int64_t *n, kz_err *err);

/* ---- companies ---- */
int kz_store_company_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);
/* Find by domain (preferred) or folded name; *id 0 when none. */
int kz_store_company_find(kz_conn *c, const char *domain, const char *name_fold, int64_t *id,
			  kz_err *err);
int kz_store_company_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err);
int kz_store_company_delete(kz_conn *c, int64_t id, kz_err *err);
int kz_store_company_list(kz_conn *c, const char *q_fold, const char *cursor, int limit,
			  json_t **data, char **next_cursor, kz_err *err);

/* ---- custom field definitions ---- */
int kz_store_field_list(kz_conn *c, json_t **data, kz_err *err);
int kz_store_field_get(kz_conn *c, const char *key, json_t **out, kz_err *err);
int kz_store_field_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err);
int kz_store_field_delete(kz_conn *c, const char *key, kz_err *err);

/* ---- users ---- */
int kz_store_user_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);
/* Includes "password_hash"; *out NULL when no such user. */
int kz_store_user_by_email(kz_conn *c, const char *email, json_t **out, kz_err *err);
int kz_store_user_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err);
int kz_store_user_delete(kz_conn *c, int64_t id, kz_err *err);
int kz_store_user_list(kz_conn *c, json_t **data, kz_err *err);

/* ---- API keys ---- */
int kz_store_apikey_insert(kz_conn *c, json_t *rec, int64_t *id, kz_err *err);
int kz_store_apikey_list(kz_conn *c, json_t **data, kz_err *err);
int kz_store_apikey_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);
int kz_store_apikey_revoke(kz_conn *c, int64_t id, int64_t now_ms, kz_err *err);
/* Look up an unrevoked key by its SHA-256 hex; *out NULL when none. */
int kz_store_apikey_by_hash(kz_conn *c, const char *hash, json_t **out, kz_err *err);
int kz_store_apikey_touch(kz_conn *c, int64_t id, int64_t now_ms, kz_err *err);

/* ---- browser sessions (token and CSRF hashes/values are made by the model) ---- */
int kz_store_session_insert(kz_conn *c, const char *token_hash, int64_t user_id,
			    const char *csrf, int64_t now_ms, int64_t expires_ms, kz_err *err);
/* {"user_id","csrf","last_seen_at_ms","expires_at_ms","role","active"}; *out NULL if none. */
int kz_store_session_get(kz_conn *c, const char *token_hash, json_t **out, kz_err *err);
int kz_store_session_touch(kz_conn *c, const char *token_hash, int64_t now_ms, kz_err *err);
int kz_store_session_delete(kz_conn *c, const char *token_hash, kz_err *err);
/* Sign a user out everywhere (deactivation, password change). */
int kz_store_session_delete_user(kz_conn *c, int64_t user_id, kz_err *err);

/* ---- tags ---- */
/* [{"tag","count"}], most used first. */
int kz_store_tag_counts(kz_conn *c, int limit, json_t **data, kz_err *err);

#endif
