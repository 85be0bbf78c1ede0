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
/* This process's random id: the origin of the change feed rows it writes. */
const char *kz_store_node_id(const kz_store *s);
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

/* Call fn(ctx, id, flag) once the current transaction commits (at once outside one); dropped
 * when it (or the savepoint it was added in) rolls back. Listeners that read what the
 * transaction wrote use this, so they never see it half-done. */
typedef void (*kz_after_commit_fn)(void *ctx, int64_t id, int flag);
int kz_tx_after_commit(kz_conn *c, kz_after_commit_fn fn, void *ctx, int64_t id, int flag);

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
	int64_t segment_id; /* members of a segment or list */
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
/* The same for an existing contact whose record `before` was read (kz_store_contact_get) in
 * this transaction: the changed columns and tags are found against it, not read again.
 * "search"/"name_fold" in before (the model's, when their sources did not change) count as
 * stored; absent, they are written. */
int kz_store_contact_save_over(kz_conn *c, json_t *rec, const json_t *before, int64_t id,
			       kz_err *err);
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

/* ---- totals ---- */
/* {"contacts","companies","users" (active),"tags" (distinct)}. */
int kz_store_stats(kz_conn *c, json_t **out, kz_err *err);

/* ---- tags ---- */
/* [{"tag","count"}], most used first. */
int kz_store_tag_counts(kz_conn *c, int limit, json_t **data, kz_err *err);

/* ---- tracking: sites ---- */
/* {"id","name","site_key","allowed_origins":[...],"bot_filter","anonymize_ip","respect_dnt"
 * (booleans),"retention_days","created_at","updated_at"}; 404 in err when absent. */
int kz_store_site_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);
/* Write every column of `rec`; *id 0 inserts (and gets the new id). 409 on a taken key. */
int kz_store_site_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err);
/* Delete a site; its visitors and events stay (history). 404 when absent. */
int kz_store_site_delete(kz_conn *c, int64_t id, kz_err *err);
/* Every site, by id. */
int kz_store_site_list(kz_conn *c, json_t **data, kz_err *err);

/* ---- tracking: visitors (anonymous identities) ---- */
/* visitors.site_id: a site, 0 for anonymousIds seen only through the server API, or
 * KZ_SITE_USERID for server-side userIds (the userId is kept as the anon_id). */
#define KZ_SITE_USERID (-1)
#define KZ_SITE_ANY (-2) /* kz_store_visitor_find: any site or the server API, not userIds */

typedef struct kz_visitor_ref {
	int64_t id; /* 0 when none */
	int64_t site_id;
	int64_t contact_id; /* 0 when anonymous */
} kz_visitor_ref;

/* Insert the visitor (site_id, anon_id) or refresh its last_seen, ip and user agent
 * (ip/ua may be NULL: kept as they are). */
int kz_store_visitor_upsert(kz_conn *c, int64_t site_id, const char *anon_id, int64_t at,
			    const char *ip, const char *ua, kz_visitor_ref *out /* OUT */,
			    kz_err *err);
/* Find a visitor by anon_id in site_id (or KZ_SITE_ANY: the oldest match); out->id 0 if none. */
int kz_store_visitor_find(kz_conn *c, int64_t site_id, const char *anon_id,
			  kz_visitor_ref *out /* OUT */, kz_err *err);
/* Tie a visitor to a contact. The visitor's events and sessions that have no contact yet
 * become the contact's (the path before the inquiry). */
int kz_store_visitor_link(kz_conn *c, int64_t visitor_id, int64_t contact_id, kz_err *err);
/* Hand the events and sessions of visitor `from` to visitor `into` (alias). */
int kz_store_visitor_move(kz_conn *c, int64_t from, int64_t into, kz_err *err);
/* Note a session's touch on a visitor: first_touch when it has none; last_touch unless the
 * touch is direct and a non-direct one is already kept. */
int kz_store_visitor_touch(kz_conn *c, int64_t visitor_id, const json_t *touch, int direct,
			   kz_err *err);
/* {"id","site_id","anonymous_id","user_id","contact_id","first_seen","last_seen","ip",
 * "user_agent","first_touch","last_touch"}; 404 in err when absent. */
int kz_store_visitor_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);

typedef struct kz_visitor_query {
	int64_t contact_id; /* 0: any */
	int64_t site_id;    /* 0: any */
	int anonymous;      /* 1: only visitors not tied to a contact */
	const char *cursor;
	int limit;
} kz_visitor_query;
/* A page of visitors, most recently seen first; *next_cursor NULL on the last page. */
int kz_store_visitor_list(kz_conn *c, const kz_visitor_query *q, json_t **data,
			  char **next_cursor, kz_err *err);

/* ---- tracking: web sessions of a visitor ---- */
typedef struct kz_wsession {
	int64_t id; /* 0 when none */
	int64_t started_at, last_at;
} kz_wsession;
/* The visitor's most recent session. */
int kz_store_wsession_last(kz_conn *c, int64_t visitor_id, kz_wsession *out /* OUT */,
			   kz_err *err);
/* Start a session; `touch` holds landing_url, source, medium, campaign, referrer_domain. */
int kz_store_wsession_start(kz_conn *c, int64_t visitor_id, int64_t contact_id, int64_t at,
			    const json_t *touch, int pages, int64_t *id /* OUT */, kz_err *err);
/* Extend a session to `at` and add `pages` page views. */
int kz_store_wsession_extend(kz_conn *c, int64_t id, int64_t at, int pages, kz_err *err);
/* The visitor's sessions, newest first (at most limit). */
int kz_store_wsession_list(kz_conn *c, int64_t visitor_id, int limit, json_t **data,
			   kz_err *err);
/* The visitor's first session and its latest non-direct one (else the latest) as touches;
 * both NULL when it has none. */
int kz_store_wsession_touches(kz_conn *c, int64_t visitor_id, json_t **first, int64_t *first_at,
			      json_t **last, int64_t *last_at, int *last_direct, kz_err *err);

/* ---- tracking: first/last-touch attribution of contacts ---- */
/* Fold a touch into the contact's attribution: the earliest is first touch; the latest
 * non-direct (else latest direct) is last touch. */
int kz_store_attribution_touch(kz_conn *c, int64_t contact_id, const json_t *touch, int64_t at,
			       int direct, kz_err *err);
/* {"first_touch","last_touch"} (null when unknown); never 404. */
int kz_store_attribution_get(kz_conn *c, int64_t contact_id, json_t **out, kz_err *err);
/* Merge: hand the events, visitors, sessions and attribution of contact `from` to `into`
 * (called by kz_store_contact_move_related). */
int kz_store_track_move_contact(kz_conn *c, int64_t from, int64_t into, kz_err *err);

/* ---- tracking: events ---- */
typedef struct kz_event_row {
	int64_t contact_id, visitor_id, site_id, session_id; /* 0 = none */
	const char *type;       /* "track", "page", "identify", "alias" */
	const char *name;       /* "page_view" for pages */
	const char *properties; /* JSON text */
	const char *context;    /* JSON text */
	const char *message_id; /* may be NULL */
	int64_t occurred_at, received_at;
} kz_event_row;
/* Insert one event; *inserted 0 when its message_id was stored before (ignored). */
int kz_store_event_insert(kz_conn *c, const kz_event_row *e, int *inserted, kz_err *err);
/* The event log's applied position for log_id (*found 0: the database never saw it). */
int kz_store_evlog_pos_get(kz_conn *c, const char *log_id, int64_t *seq, int *found,
			   kz_err *err);
int kz_store_evlog_pos_set(kz_conn *c, const char *log_id, int64_t seq, kz_err *err);
/* fn(ctx, message_id) for the newest `limit` stored events that carry one. */
int kz_store_event_recent_ids(kz_conn *c, int limit, void (*fn)(void *ctx, const char *id),
			      void *ctx, kz_err *err);
/* *seen 1 when an event with this message_id is stored. */
int kz_store_event_seen(kz_conn *c, const char *message_id, int *seen, kz_err *err);
/* Events named `name` (NULL: any), of contact_id (0: any), occurred at or after since_ms. */
int kz_store_event_count(kz_conn *c, const char *name, int64_t contact_id, int64_t since_ms,
			 int64_t *n, kz_err *err);

typedef struct kz_event_query {
	int64_t contact_id; /* one of contact_id, visitor_id */
	int64_t visitor_id;
	const char *type; /* NULL: all */
	const char *cursor;
	int limit;
} kz_event_query;
#define KZ_SITE_GONE (-1) /* kz_store_event_prune: events of sites deleted since */
/* Retention: fold the events of site_id (0: events without a site) that occurred before
 * before_ms into daily per-contact rollups and delete them, oldest first, at most about
 * `limit` per call; *deleted says how many went (fewer than limit: done for now). On
 * PostgreSQL one node prunes at a time (others get *deleted 0). */
int kz_store_event_prune(kz_conn *c, int64_t site_id, int64_t before_ms, int limit,
			 int64_t *deleted, kz_err *err);
/* Daily counts kept for a contact: [{"day":"2026-11-24","name","count"}], oldest first. */
int kz_store_event_rollups(kz_conn *c, int64_t contact_id, json_t **data, kz_err *err);

/* A page of events, newest first: {"id","type","name","properties","context","contact_id",
 * "visitor_id","site_id","session_id","message_id","occurred_at","received_at"}. */
int kz_store_event_list(kz_conn *c, const kz_event_query *q, json_t **data, char **next_cursor,
			kz_err *err);

/* ---- tracking: the dashboard's live view ---- */
/* {"per_minute":[{"minute","count"}] (the 60 minutes up to now_ms, oldest first),
 * "top_pages":[{"path","title","count"}] (page views of the last 24 hours),
 * "top_sources":[{"source","count"}] (sessions started in the last 24 hours)}, `top` each. */
int kz_store_live(kz_conn *c, int64_t now_ms, int top, json_t **out, kz_err *err);

/* ---- email: messages (templated subject, HTML, text) ---- */
/* {"id","name","subject","preheader","from_name","from_email","reply_to","html","text",
 * "topic","blocks","created_at","updated_at"}; 404 in err when absent. */
int kz_store_email_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);
/* Write every column of `rec`; *id 0 inserts (and gets the new id). */
int kz_store_email_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err);
/* Delete an email; 409 while broadcasts use it, 404 when absent. */
int kz_store_email_delete(kz_conn *c, int64_t id, kz_err *err);
/* Every email, newest first, without html/text bodies. */
int kz_store_email_list(kz_conn *c, json_t **data, kz_err *err);
/* Distinct non-empty topics of the emails (the preference page's choices). */
int kz_store_email_topics(kz_conn *c, json_t **data, kz_err *err);

/* ---- email: saved templates (src/store/email_template.c) ---- */
/* {"id","name","description","subject","preheader","html","text","blocks","created_at",
 * "updated_at"} (the list leaves out html, text and blocks); 404 if absent. */
int kz_store_template_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);
/* Write every column of rec; *id 0 inserts (and gets the new id). */
int kz_store_template_save(kz_conn *c, const json_t *rec, int64_t *id, kz_err *err);
int kz_store_template_delete(kz_conn *c, int64_t id, kz_err *err);
/* Every template by name. */
int kz_store_template_list(kz_conn *c, json_t **data, kz_err *err);

/* ---- email: broadcasts (newsletters) ---- */
/* {"id","email_id","segment_id","tag","all_contacts","status","send_at","started_at",
 * "finished_at","recipients","created_at","updated_at"}; 404 when absent. */
int kz_store_broadcast_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);
int kz_store_broadcast_insert(kz_conn *c, const json_t *rec, int64_t *id, kz_err *err);
int kz_store_broadcast_list(kz_conn *c, json_t **data, kz_err *err);
/* Move a broadcast to `status` when it is in one of `from` (NULL-terminated); *changed 0
 * when it was not. finished_at is set for sent/cancelled. */
int kz_store_broadcast_set_status(kz_conn *c, int64_t id, const char *status,
				  const char *const *from, int64_t now, int *changed, kz_err *err);
/* Ids of scheduled broadcasts whose send_at has come, oldest first. */
int kz_store_broadcast_due(kz_conn *c, int64_t now, int limit, json_t **ids, kz_err *err);
/* Note that recipients were resolved: status sending, started_at, recipients. */
int kz_store_broadcast_started(kz_conn *c, int64_t id, int64_t recipients, int64_t now,
			       kz_err *err);
/* Broadcasts in "sending" with no queued or in-flight rows left become "sent". */
int kz_store_broadcast_finish(kz_conn *c, int64_t now, kz_err *err);
/* Cancel the queued rows of a broadcast (status cancelled). */
int kz_store_broadcast_cancel_rows(kz_conn *c, int64_t id, kz_err *err);
/* A/B tests. The test rows of a broadcast have kind "ab_test" (one variant's email each); the
 * rest wait as status "held" until the winner is chosen. */
int kz_store_broadcast_ab_start(kz_conn *c, int64_t id, int64_t decide_at, kz_err *err);
/* Broadcasts whose test ran long enough and have no winner yet: [id, ...]. */
int kz_store_broadcast_ab_due(kz_conn *c, int64_t now, json_t **ids, kz_err *err);
/* Per variant: [{"email_id","recipients","sent","opened","clicked","open_rate","click_rate"}]. */
int kz_store_broadcast_ab_stats(kz_conn *c, int64_t id, json_t **out, kz_err *err);
/* The winner: held rows get its email and are queued; the broadcast records it. */
int kz_store_broadcast_ab_release(kz_conn *c, int64_t id, int64_t winner, int64_t now,
				  int64_t *released, kz_err *err);

/* Who a send may go to: the audience of a broadcast (segment, tag or everyone). */
typedef struct kz_recipients {
	int64_t segment_id; /* not 0: members of this segment */
	const char *tag;    /* not NULL: contacts with this tag */
	int all;            /* 1: every contact */
	int64_t contact_id; /* not 0: this one contact (tests, journeys) */
	const char *ids;    /* not NULL: these contacts, a JSON array of ids (a journey batch) */
} kz_recipients;
/* Recipient resolution: one row per contact of the audience, in id order:
 * [contact_id, email|null, unsubscribed (0/1, globally or from `topic`), suppression reason
 * |null, consent status|null, marketing mails sent since day_since, since week_since]; a
 * since of 0 skips that count (no frequency cap to check) and reads 0. */
int kz_store_email_candidates(kz_conn *c, const kz_recipients *a, const char *topic,
			      int64_t day_since, int64_t week_since, json_t **rows, kz_err *err);

/* ---- email: the durable outbox (one row per message and recipient) ---- */
typedef struct kz_send_row {
	int64_t contact_id, email_id, broadcast_id, journey_id; /* 0 = none */
	const char *kind;   /* "broadcast", "test", "journey", "form" (an autoresponse), "notify"
			     * (a form alert to a team address) */
	const char *dedupe; /* unique per contact: "b12" for broadcast 12 */
	const char *to_email;
	const char *status; /* "queued" or "skipped" */
	const char *reason; /* skip reason, or NULL */
	int64_t next_at, created_at;
} kz_send_row;
/* Insert unless (contact, dedupe) exists; *id 0 when it did. */
int kz_store_send_insert(kz_conn *c, const kz_send_row *r, int64_t *id, kz_err *err);
/* Claim up to `limit` due rows (queued and due, or in flight past their lease) of running
 * broadcasts and other sends: status sending until lease_until. Rows: {"id","contact_id",
 * "email_id","broadcast_id","journey_id","kind","to_email","attempts"}. */
int kz_store_send_claim(kz_conn *c, int64_t now, int64_t lease_until, int limit,
			json_t **rows, kz_err *err);
/* Record the outcome of a claimed row: status sent/failed/skipped/queued (retry at next_at). */
int kz_store_send_finish(kz_conn *c, int64_t id, const char *status, const char *reason,
			 const char *error, const char *message_id, int64_t at, int64_t next_at,
			 kz_err *err);
/* One send row with every column; 404 when absent. */
int kz_store_send_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);
/* A page of sends of an email / broadcast / contact (0: any), newest first. */
int kz_store_send_list(kz_conn *c, int64_t email_id, int64_t broadcast_id, int64_t contact_id,
		       const char *status, int limit, json_t **data, kz_err *err);
/* Count an engagement on a send: "open", "machine_open", "click", "unsubscribe",
 * "complaint", "hard", "soft". *first 1 when it is the first open/click of the send. */
int kz_store_send_mark(kz_conn *c, int64_t id, const char *what, int64_t at, int *first,
		       kz_err *err);
int kz_store_click_insert(kz_conn *c, int64_t contact_id, int64_t send_id, const char *url,
			  int machine, int64_t at, kz_err *err);
/* Stats of the sends whose `by` ("email" or "broadcast") id is `id`: sent, delivered,
 * bounced{hard,soft}, opened{unique,total,machine}, clicked{unique,total,links[]},
 * unsubscribed, complained, skipped{reason:n}, queued, failed. */
int kz_store_email_stats(kz_conn *c, const char *by, int64_t id, json_t **out, kz_err *err);

/* ---- email: unsubscribes, suppressions, bounces, consent ---- */
/* topic "" = everything. */
int kz_store_unsubscribe(kz_conn *c, int64_t contact_id, const char *topic, const char *source,
			 int64_t send_id, int64_t now, kz_err *err);
/* topic NULL: every unsubscribe of the contact. */
int kz_store_resubscribe(kz_conn *c, int64_t contact_id, const char *topic, kz_err *err);
/* The contact's unsubscribed topics as a JSON array of strings ("" = everything). */
int kz_store_unsubscribes(kz_conn *c, int64_t contact_id, json_t **topics, kz_err *err);
int kz_store_suppress(kz_conn *c, const char *email, int64_t contact_id, const char *reason,
		      const char *detail, int64_t now, kz_err *err);
int kz_store_unsuppress(kz_conn *c, const char *email, kz_err *err);
/* [{"email","contact_id","reason","detail","created_at"}], newest first. */
int kz_store_suppression_list(kz_conn *c, int limit, json_t **data, kz_err *err);
int kz_store_bounce_insert(kz_conn *c, int64_t contact_id, int64_t send_id, const char *email,
			   const char *kind, const char *status, const char *detail, int64_t now,
			   int64_t *id, kz_err *err);
/* Bounces of `kind` for email since `since`. */
int kz_store_bounce_count(kz_conn *c, const char *email, const char *kind, int64_t since,
			  int64_t *n, kz_err *err);
/* {"status","source","ip","at"} or *out NULL when none recorded. */
int kz_store_consent_get(kz_conn *c, int64_t contact_id, const char *channel, json_t **out,
			 kz_err *err);
int kz_store_consent_set(kz_conn *c, int64_t contact_id, const char *channel,
			 const char *status, const char *source, const char *ip, int64_t at,
			 kz_err *err);
/* Double opt-in: a pending consent becomes granted, confirmed at `at` from `ip`. 1 when it
 * was pending, 0 when there was nothing to confirm (none, already granted, or revoked). */
int kz_store_consent_confirm(kz_conn *c, int64_t contact_id, const char *channel, const char *ip,
			     int64_t at, kz_err *err);
/* Merge: hand the email rows of contact `from` to `into`. */
int kz_store_email_move_contact(kz_conn *c, int64_t from, int64_t into, kz_err *err);
/* ---- lead capture: forms (src/store/capture.c) ---- */
/* {"id","name", the definition's members ("fields","actions","success","settings"),
 * "views","submissions","spam","conversion_rate","created_at","updated_at"}; 404 if absent. */
int kz_store_form_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);
/* Write name and definition; *id 0 inserts (and gets the new id). */
int kz_store_form_save(kz_conn *c, const char *name, const json_t *definition, int64_t *id,
		       kz_err *err);
int kz_store_form_delete(kz_conn *c, int64_t id, kz_err *err);
int kz_store_form_list(kz_conn *c, json_t **data, kz_err *err);
/* Count one view of the form (a render of the hosted page, the script or a page block). */
int kz_store_form_viewed(kz_conn *c, int64_t id, kz_err *err);
/* Store a submission: rec {"contact_id","anonymous_id","data","page_url","referrer","utm",
 * "ip","user_agent","consent"}. */
int kz_store_submission_insert(kz_conn *c, int64_t form_id, const json_t *rec, int64_t *id,
			       kz_err *err);
/* Submissions of form_id (0: any) and/or contact_id (0: any), newest first. */
int kz_store_submission_list(kz_conn *c, int64_t form_id, int64_t contact_id, const char *cursor,
			     int limit, json_t **data, char **next, kz_err *err);
/* The spam log: what was refused and why ("honeypot", "too_fast", "rate_limit", ...). */
int kz_store_spam_insert(kz_conn *c, int64_t form_id, const char *reason, const char *ip,
			 const char *ua, const json_t *data, kz_err *err);
int kz_store_spam_list(kz_conn *c, int64_t form_id, const char *cursor, int limit, json_t **data,
		       char **next, kz_err *err);

/* ---- lead capture: alerts of submissions to webhooks (src/store/capture_alert.c) ---- */
typedef struct kz_alert_row {
	int64_t contact_id, form_id, submission_id, now;
	const char *url, *payload; /* payload: the JSON body to POST */
} kz_alert_row;
int kz_store_alert_insert(kz_conn *c, const kz_alert_row *a, int64_t *id, kz_err *err);
/* Claim due alerts (queued and due, or sending past their lease): rows {"id","url",
 * "payload","attempts","form_id"}. */
int kz_store_alert_claim(kz_conn *c, int64_t now, int64_t lease_until, int limit, json_t **out,
			 kz_err *err);
/* status "sent", "failed" (given up) or "queued" (retry at next_at). */
int kz_store_alert_finish(kz_conn *c, int64_t id, const char *status, const char *error,
			  int64_t at, int64_t next_at, kz_err *err);
/* The newest alerts of a form: [{"id","submission_id","url","status","attempts",
 * "last_error","created_at","sent_at"}]. */
int kz_store_alert_list(kz_conn *c, int64_t form_id, int limit, json_t **out, kz_err *err);

/* ---- lead capture: assets ---- */
/* {"id","name","filename","content_type","size","sha256","gated","downloads","created_at",
 * "updated_at"} (+ "content", base64, when with_content); 404 if absent. */
int kz_store_asset_get(kz_conn *c, int64_t id, int with_content, json_t **out, kz_err *err);
int kz_store_asset_insert(kz_conn *c, const json_t *rec, const char *content_b64, int64_t *id,
			  kz_err *err);
int kz_store_asset_update(kz_conn *c, int64_t id, const char *name, int gated, kz_err *err);
int kz_store_asset_delete(kz_conn *c, int64_t id, kz_err *err);
int kz_store_asset_list(kz_conn *c, json_t **data, kz_err *err);
int kz_store_asset_downloaded(kz_conn *c, int64_t id, kz_err *err);

/* ---- lead capture: landing pages ---- */
/* {"id","slug","title", the definition's members, "published","created_at",
 * "updated_at","updated_at_ms"}. */
int kz_store_page_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);
/* *out NULL when no page has the slug. */
int kz_store_page_by_slug(kz_conn *c, const char *slug, json_t **out, kz_err *err);
/* Write rec's slug, title, published and the definition; 409 on a taken slug. */
int kz_store_page_save(kz_conn *c, const json_t *rec, const json_t *definition, int64_t *id,
		       kz_err *err);
int kz_store_page_delete(kz_conn *c, int64_t id, kz_err *err);
int kz_store_page_list(kz_conn *c, int published_only, json_t **data, kz_err *err);
/* ---- personalization slots and variant counters (src/store/slot.c) ---- */
/* The slot's definition members plus "id","name","created_at","updated_at"; 404 if absent. */
int kz_store_slot_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);
/* Write def (name and the rest as the definition); *id 0 inserts. 409 on a taken name. */
int kz_store_slot_save(kz_conn *c, const json_t *def, int64_t *id, kz_err *err);
int kz_store_slot_delete(kz_conn *c, int64_t id, kz_err *err);
/* Every slot, by name. */
int kz_store_slot_list(kz_conn *c, json_t **data, kz_err *err);
/* What personalization needs of a visitor (any site): ids, when last seen, the number of
 * visits (web sessions) and the last touch ({"source","campaign",...}, taken). visitor_id 0
 * when the id is unknown. */
typedef struct kz_visit_row {
	int64_t visitor_id, contact_id, last_seen, sessions;
	json_t *last_touch;
} kz_visit_row;
int kz_store_visit_facts(kz_conn *c, const char *anon_id, kz_visit_row *out, kz_err *err);
enum { KZ_COUNT_SLOT_VIEW, KZ_COUNT_SLOT_CLICK, KZ_COUNT_PAGE_VISIT, KZ_COUNT_PAGE_CONVERSION };
/* Add n to a counter of slot or page `id` and its variant. */
int kz_store_counter_add(kz_conn *c, int kind, int64_t id, const char *variant, int64_t n,
			 kz_err *err);
/* slot 1: {variant: {"impressions","clicks"}} of slot id; 0: {variant: {"visits",
 * "conversions"}} of page id. */
int kz_store_counter_get(kz_conn *c, int slot, int64_t id, json_t **out, kz_err *err);
/* ---- audience (segments, scores, stages; see src/audience/) ---- */
/* A row of a bulk scan: the cells of one result row as text (NULL for SQL NULL). Return
 * -1 to stop. */
typedef int (*kz_scan_fn)(void *ctx, const char *const *cells);

/* {"id","name","type" ("dynamic"|"static"),"filter","description","created_at","updated_at"}. */
int kz_store_segment_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);
int kz_store_segment_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err);
int kz_store_segment_delete(kz_conn *c, int64_t id, kz_err *err);
int kz_store_segment_list(kz_conn *c, json_t **data, kz_err *err);
/* Every membership row: cells contact_id, segment_id. */
int kz_store_segment_member_scan(kz_conn *c, kz_scan_fn fn, void *ctx, kz_err *err);
/* Add (in=1) or remove a member; adding twice is a no-op. *changed (may be NULL) is 1 when
 * the row was written or deleted, 0 when it already was so (another node got there first). */
int kz_store_segment_member_set(kz_conn *c, int64_t segment, int64_t contact, int in, int64_t at,
				int *changed, kz_err *err);
/* The static lists (segments of type "static") a contact is in: cells segment_id. */
int kz_store_contact_lists(kz_conn *c, int64_t contact, kz_scan_fn fn, void *ctx, kz_err *err);
/* Events tied to a contact (contact_id 0: every contact), by id: cells id, contact_id, name,
 * occurred_at, properties, context. */
int kz_store_event_scan(kz_conn *c, int64_t contact_id, kz_scan_fn fn, void *ctx, kz_err *err);
/* Daily rollups (contact_id 0: all): cells contact_id, day, name, count. */
int kz_store_rollup_scan(kz_conn *c, int64_t contact_id, kz_scan_fn fn, void *ctx, kz_err *err);
/* Attribution rows: cells contact_id, first_touch, last_touch (JSON text). */
int kz_store_attribution_scan(kz_conn *c, kz_scan_fn fn, void *ctx, kz_err *err);
/* Inside a write transaction: wait for other writers of the contact (PostgreSQL row lock). */
int kz_store_contact_lock(kz_conn *c, int64_t id, kz_err *err);

/* Scoring rules: the rule's own members plus "id","name","kind","created_at","updated_at". */
int kz_store_score_rule_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);
int kz_store_score_rule_save(kz_conn *c, json_t *rec, int64_t *id, kz_err *err);
int kz_store_score_rule_delete(kz_conn *c, int64_t id, kz_err *err);
int kz_store_score_rule_list(kz_conn *c, json_t **data, kz_err *err);
/* Add delta to a contact's category score (activity now at `at`); *points gets the new value. */
int kz_store_score_add(kz_conn *c, int64_t contact, const char *category, int64_t delta,
		       int64_t at, int64_t *points, kz_err *err);
/* Set a decayed score and the number of idle periods applied. */
int kz_store_score_decay(kz_conn *c, int64_t contact, const char *category, int64_t points,
			 int64_t steps, kz_err *err);
/* Log one score change (rule 0: none, e.g. decay). */
int kz_store_score_log(kz_conn *c, int64_t contact, int64_t rule, const char *category,
		       int64_t points, const char *reason, int64_t at, kz_err *err);
/* Changes by `rule` for the contact with since <= at < until. */
int kz_store_score_log_count(kz_conn *c, int64_t contact, int64_t rule, int64_t since,
			     int64_t until, int64_t *n, kz_err *err);
/* Net points the rule gave the contact. */
int kz_store_score_log_sum(kz_conn *c, int64_t contact, int64_t rule, int64_t *sum, kz_err *err);
/* The newest changes: [{"rule_id","category","points","reason","at"}]. */
int kz_store_score_history(kz_conn *c, int64_t contact, int limit, json_t **data, kz_err *err);
/* Scores whose last activity is before `before` (use INT64_MAX for all): cells contact_id,
 * category, points, last_activity_at, decay_steps. */
int kz_store_score_scan(kz_conn *c, int64_t before, kz_scan_fn fn, void *ctx, kz_err *err);
/* Forget every score and the log (a full recompute follows). */
int kz_store_score_clear(kz_conn *c, kz_err *err);
/* Move a contact to `stage` and note it in the history. */
int kz_store_stage_set(kz_conn *c, int64_t contact, const char *stage, const char *previous,
		       const char *reason, int64_t at, kz_err *err);
/* Every contact's stage: cells contact_id, stage. */
int kz_store_stage_scan(kz_conn *c, kz_scan_fn fn, void *ctx, kz_err *err);
/* Set "score", "scores" and "stage" of a contact record from the tables (for tools that run
 * without the audience engine, such as `kizuna export`). */
int kz_store_contact_audience(kz_conn *c, json_t *contact, kz_err *err);
/* A merge: contact `from`'s scores are added to `into`'s per category (the later activity
 * and its decay steps win), its score log and stage history move to `into`, and its stage
 * is kept when `into` has none. Inside the merge's transaction, before `from` is deleted. */
int kz_store_audience_move_contact(kz_conn *c, int64_t from, int64_t into, kz_err *err);
/* [{"stage","previous","reason","at"}], oldest first. */
int kz_store_stage_history(kz_conn *c, int64_t contact, json_t **data, kz_err *err);

/* ---- change feed (src/store/feed.c): what one node changed, for the others' indexes ---- */
/* What a feed row's ref names. */
enum {
	KZ_FEED_CONTACT = 1, /* a contact was saved or deleted */
	KZ_FEED_EVENTS,      /* a contact got events */
	KZ_FEED_MERGED,      /* a contact absorbed another (events, scores, stage moved in) */
	KZ_FEED_AUDIENCE,    /* a contact's scores or stage changed */
	KZ_FEED_COMPANY,     /* a company was saved or deleted */
	KZ_FEED_CONFIG,      /* segments, scoring rules or settings, stages or fields (ref 0) */
	KZ_FEED_LISTS,       /* a contact's static-list memberships changed */
};
/* Record a change inside the caller's transaction (once per kind and ref a transaction). */
int kz_store_feed_note(kz_conn *c, int kind, int64_t ref, kz_err *err);
/* A read position: on PostgreSQL a transaction id and a seq, on SQLite a seq. */
typedef struct kz_feed_pos {
	int64_t xid, seq;
} kz_feed_pos;
/* The position to read from for a reader that loads everything from the store next. */
int kz_store_feed_start(kz_conn *c, kz_feed_pos *pos /* OUT */, kz_err *err);
/* fn(ctx, kind, ref) for up to `limit` rows after *pos that other processes wrote and whose
 * transactions are surely committed; *pos moves past them. *more 1 when the limit cut it. */
typedef void (*kz_feed_fn)(void *ctx, int kind, int64_t ref);
int kz_store_feed_read(kz_conn *c, kz_feed_pos *pos, int limit, kz_feed_fn fn, void *ctx,
		       int *more, kz_err *err);
/* Delete feed rows older than max_age_ms (wall clock); *deleted says how many. */
int kz_store_feed_prune(kz_conn *c, int64_t max_age_ms, int64_t *deleted, kz_err *err);

/* ---- journeys (src/store/journey.c) ---- */
/* {"id","name","description","status","version","definition","created_at","updated_at",
 * "activated_at"}; 404 in err when absent. */
int kz_store_journey_get(kz_conn *c, int64_t id, json_t **out, kz_err *err);
/* Write name, description, status, version, definition (object) and activated_at (ms or
 * null) of `rec`; *id 0 inserts (and gets the new id). */
int kz_store_journey_save(kz_conn *c, const json_t *rec, int64_t *id, kz_err *err);
int kz_store_journey_delete(kz_conn *c, int64_t id, kz_err *err);
/* A page of journeys (newest first), of one status when status is not NULL. */
int kz_store_journey_list(kz_conn *c, const char *status, const char *cursor, int limit,
			  json_t **data, char **next_cursor, kz_err *err);
/* Keep version `version` of a journey's definition (replaces one of the same number). */
int kz_store_journey_version_put(kz_conn *c, int64_t id, int64_t version, const json_t *def,
				 kz_err *err);
/* The definition of a version (new reference); 404 when absent. */
int kz_store_journey_version_get(kz_conn *c, int64_t id, int64_t version, json_t **def,
				 kz_err *err);
/* [{"version","definition","created_at","enrolled","active"}], newest first. */
int kz_store_journey_versions(kz_conn *c, int64_t id, json_t **data, kz_err *err);
/* Ids of the active journeys. */
int kz_store_journey_active_ids(kz_conn *c, json_t **ids, kz_err *err);
/* Take the next round-robin slot of a journey (0, 1, 2, ...). */
int kz_store_journey_rr_next(kz_conn *c, int64_t id, int64_t *slot, kz_err *err);

/* An enrolment as the scheduler sees it. */
typedef struct kz_enrolment {
	int64_t id, contact_id, journey_id, version, seq, due_at, entered_at, sends;
	char step[72];
	char wait_event[136]; /* "" when not waiting for an event */
	char *context;	      /* the triggering event as JSON text, or NULL (malloc'd) */
} kz_enrolment;
void kz_enrolments_free(kz_enrolment *e, int n);

typedef struct kz_enrol_req {
	int64_t journey_id, version, contact_id;
	const char *step;      /* the start step */
	const char *entry_key; /* "once", "after:" (the store appends the count) or a trigger id */
	const char *context;   /* the triggering event (JSON text) or NULL */
	const char *wait_event; /* the start step waits for this event, or NULL */
	int64_t due_at, now;
} kz_enrol_req;
/* Enrol one contact. With entry_key "after:" nobody already active in the journey enters
 * again. *id is 0 when the entry was refused by the re-entry rule (or the contact is gone). */
int kz_store_enrol(kz_conn *c, const kz_enrol_req *r, int64_t *id, kz_err *err);
/* Enrol every member of a segment or list at once (entry_key "once"); *n gets how many. */
int kz_store_enrol_segment(kz_conn *c, const kz_enrol_req *r, int64_t segment_id, int64_t *n,
			   kz_err *err);
/* Claim up to `limit` active enrolments of active journeys that are due at `now`, in due
 * order, inside the caller's write transaction (PostgreSQL: FOR UPDATE SKIP LOCKED, so
 * another node's scheduler skips them). *out is malloc'd. */
int kz_store_enrol_due(kz_conn *c, int64_t now, int limit, kz_enrolment **out, int *n,
		       kz_err *err);
/* The active enrolments of a contact (for events, goals, segment exits). */
int kz_store_enrol_of_contact(kz_conn *c, int64_t contact_id, kz_enrolment **out, int *n,
			      kz_err *err);
/* The earliest due time of any active enrolment of an active journey; 0 when none. */
int kz_store_enrol_next_due(kz_conn *c, int64_t *due, kz_err *err);

/* One step execution: the log row (enrolment, seq) is the idempotency key; the enrolment
 * moves on only if it is still at seq. */
typedef struct kz_step_done {
	const kz_enrolment *e;
	const char *outcome;  /* "sent", "yes", "no", "0", "waited", "exited", ... */
	const char *next;     /* the step it moves to (NULL: stays on e->step) */
	const char *state;    /* "active", "completed", "exited", "goal" */
	int64_t due_at;       /* 0: not due (waiting for an event only) */
	const char *wait_event; /* NULL when none */
	const char *reason;   /* human text for the contact's journeys, or NULL */
	int sent;             /* 1 when the step sent a message (the per-journey cap) */
	int64_t at;
} kz_step_done;
/* 0 and *applied 1 when recorded; *applied 0 when this execution was already recorded
 * (another node or an earlier run did it): the caller must roll back its effects. */
int kz_store_step_done(kz_conn *c, const kz_step_done *d, int *applied, kz_err *err);
/* Move every active enrolment of a journey in version `from` at step old_step onto
 * (to, new_step); *n how many. */
int kz_store_enrol_migrate(kz_conn *c, int64_t journey_id, int64_t from, const char *old_step,
			   int64_t to, const char *new_step, int64_t now, int64_t *n, kz_err *err);
/* Exit every active enrolment of a journey (archive). */
int kz_store_enrol_exit_all(kz_conn *c, int64_t journey_id, const char *reason, int64_t now,
			    kz_err *err);
/* Mail sends of a journey to a contact that were not skipped (the per-contact cap). */
int kz_store_journey_sends(kz_conn *c, int64_t journey_id, int64_t contact_id, int64_t *n,
			   kz_err *err);
/* {"enrolled","active","completed","exited","goal_reached","steps":{id:{"waiting","exited",
 * "executed", "outcomes":{outcome:n}}}} of one version (0: all versions). */
int kz_store_journey_stats(kz_conn *c, int64_t journey_id, int64_t version, json_t **out,
			   kz_err *err);
/* A contact's enrolments, newest first: {"journey_id","journey_name","version","state","step",
 * "due_at","entered_at","finished_at","reason","wait_event","history":[{"step","at","outcome"}]}. */
int kz_store_contact_journeys(kz_conn *c, int64_t contact_id, json_t **data, kz_err *err);

/* The journeys' read position in the events table: locks it for this transaction on
 * PostgreSQL (one node reads a stretch of events at a time). *found 0 when never set. */
int kz_store_journey_pos_get(kz_conn *c, int64_t *pos, int *found, kz_err *err);
int kz_store_journey_pos_set(kz_conn *c, int64_t pos, kz_err *err);
/* The highest event id (0 when none). */
int kz_store_event_max_id(kz_conn *c, int64_t *id, kz_err *err);
/* Events after id `after`, oldest first (contact_id 0 for anonymous ones):
 * {"id","contact_id","name","properties" (JSON text),"context" (JSON text),"occurred_at"}. */
int kz_store_journey_events(kz_conn *c, int64_t after, int limit, json_t **rows, kz_err *err);

/* A page of contacts by id after `after`: [[id, fields (JSON text), timezone|null], ...]
 * (date triggers read their fields). */
int kz_store_contact_fields_page(kz_conn *c, int64_t after, int limit, json_t **rows,
				 kz_err *err);
/* The events with these ids that exist now (the same shape; at most n). */
int kz_store_journey_events_in(kz_conn *c, const int64_t *ids, int n, json_t **rows,
			       kz_err *err);

/* ---- journeys: outbound calls (webhooks, Slack-style alerts, owner alerts) ---- */
/* Queue a call unless one with `dedupe` exists. kind: "webhook", "slack", "mail". */
int kz_store_jcall_insert(kz_conn *c, const char *dedupe, int64_t journey_id, int64_t contact_id,
			  const char *kind, const char *target, const char *body, int64_t now,
			  kz_err *err);
/* Claim due calls: [{"id","dedupe","journey_id","contact_id","kind","target","body",
 * "attempts"}], leased until lease_until. */
int kz_store_jcall_claim(kz_conn *c, int64_t now, int64_t lease_until, int limit, json_t **rows,
			 kz_err *err);
/* status "done", "failed" or "queued" (retry at next_at). */
int kz_store_jcall_finish(kz_conn *c, int64_t id, const char *status, const char *error,
			  int64_t next_at, int64_t now, kz_err *err);
/* [{"id","kind","target","status","attempts","last_error","created_at"}] of a journey. */
int kz_store_jcall_list(kz_conn *c, int64_t journey_id, int limit, json_t **data, kz_err *err);

#endif
