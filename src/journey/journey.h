/* journey.h — journeys: the definition (a JSON graph of steps) and its validation, send
 * windows in a contact's zone, and the engine that runs enrolments durably (scheduler,
 * triggers, step executors, outbound calls). Documented in docs/journeys.md. */
#ifndef KZ_JOURNEY_H
#define KZ_JOURNEY_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"
#include "track/event.h"

struct kz_audience;
struct kz_outbox;

/* ---- definition (def.c) ---- */

/* What validation asks the outside world; any member may be NULL (not checked). */
typedef struct kz_journey_env {
	int (*email_exists)(void *ctx, int64_t id);
	/* -1 no such segment, 0 a dynamic segment, 1 a static list */
	int (*segment_kind)(void *ctx, int64_t id);
	int (*user_exists)(void *ctx, int64_t id);
	/* 0 when the filter is valid; else -1 and a message in msg */
	int (*check_filter)(void *ctx, const json_t *filter, char *msg, size_t msglen);
	/* 0 unknown, 1 a custom field, 2 a date custom field */
	int (*field_kind)(void *ctx, const char *key);
	void *ctx;
} kz_journey_env;

/* Every problem of a definition: [{"step": id|null, "field": "steps.c1.next", "message"}]
 * (new reference, empty when the definition is valid). env may be NULL. */
json_t *kz_journey_check(const json_t *def, const kz_journey_env *env);

/* The ids a step goes on to, in order (next; yes, no; branches): up to max, returns count. */
int kz_journey_step_exits(const json_t *step, const char **out, int max);

/* 1 when the step type waits for time or an event (what breaks an instant loop). */
int kz_journey_step_waits(const char *type);

/* ---- send windows (window.c) ---- */

/* The first moment at or after t_ms (UTC ms) outside settings.quiet_hours and inside
 * settings.send_window, both read in `zone` (IANA name or "+09:00"; NULL/unknown: UTC). */
int64_t kz_journey_next_window(const json_t *settings, const char *zone, int64_t t_ms);
/* The first moment after t_ms that is on one of `days` (["mon",...]; empty: any) at local
 * time hh:mm in zone. */
int64_t kz_journey_next_local(const json_t *days, int hh, int mm, const char *zone, int64_t t_ms);
/* "HH:MM" into minutes of the day; -1 when malformed. */
int kz_journey_hhmm(const char *s);

/* ---- the engine (engine.c) ---- */

typedef struct kz_journeys kz_journeys;

typedef struct kz_journeys_config {
	kz_store *store;
	struct kz_audience *audience; /* filters (conditions, goals); may be NULL */
	struct kz_outbox *outbox;     /* kicked after a send is queued; may be NULL */
	const char *base_url;
	int batch; /* enrolments claimed per transaction (500) */
	const char *smtp_url, *smtp_tls; /* owner alerts by SMTP; NULL: into the maildir */
	const char *maildir;
} kz_journeys_config;

/* Start the scheduler and call threads. NULL with err on failure. */
kz_journeys *kz_journeys_start(const kz_journeys_config *cfg, kz_err *err);
/* Finish the batch in hand and stop. NULL is fine. */
void kz_journeys_stop(kz_journeys *j);
/* The tracking writer's commit listener: triggers, wait_for_event and goals. */
void kz_journeys_on_commit(void *ctx, kz_track_event *const *evs, int n);
/* The audience engine's emit listener: segment, list, score and stage triggers; exits. */
void kz_journeys_on_audience(void *ctx, int64_t contact, const char *name, const json_t *props);
/* Something changed (clock moved, journey activated, contacts enrolled): run now. */
void kz_journeys_kick(kz_journeys *j);
/* Kick and wait (at most timeout_ms) until a full pass that started after this call ended:
 * everything due by now has run. 0, or -1 on timeout. */
int kz_journeys_settle(kz_journeys *j, int timeout_ms);
/* {"passes","executed","enrolled","calls_sent","calls_failed"} */
json_t *kz_journeys_describe(kz_journeys *j);

/* The workspace's webhook signing secret (made and kept on first use). */
int kz_journey_webhook_secret(kz_conn *c, char *out, size_t len, kz_err *err);

/* Enrol contacts ids[0..n) into journey `journey` (active) now, each by the journey's
 * re-entry rule; *enrolled gets how many entered. Inside the caller's write transaction. */
int kz_journey_enrol_ids(kz_conn *c, const json_t *journey, const int64_t *ids, int n,
			 const char *entry_key, const char *context, int64_t *enrolled,
			 kz_err *err);
/* A journey became active: enrol the current members of include_existing segment triggers. */
int kz_journey_activated(kz_conn *c, const json_t *journey, int64_t *enrolled, kz_err *err);
/* The entry key for the journey's re-entry rule ("once", "after:" or trigger_id). */
const char *kz_journey_entry_key(const json_t *journey, const char *trigger_id);

#endif
