/* audience.h — the audience engine: the in-memory index built from the store and kept
 * current by one thread, real-time segment membership, lead scoring and lifecycle stages. */
#ifndef KZ_AUDIENCE_H
#define KZ_AUDIENCE_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"
#include "track/event.h"

typedef struct kz_audience kz_audience;

/* Build the index from the store and start the engine's thread. It listens to contact
 * changes of the model layer (kz_contact_on_change). */
kz_audience *kz_audience_start(kz_store *store, kz_err *err);
/* Finish what is queued and stop. NULL is fine. */
void kz_audience_stop(kz_audience *a);
/* The tracking writer's commit hook (kz_track_writer_on_commit): queue stored events. */
void kz_audience_on_commit(void *ctx, kz_track_event *const *evs, int n);
/* Wait until everything queued so far is reflected (index, membership, scores, stages). */
int kz_audience_sync(kz_audience *a, kz_err *err);

/* Validate a filter for segment `self` (0: a new or unsaved one): types, known segments and
 * no membership cycles. err->field is a JSON pointer under `base`. */
int kz_audience_check_filter(kz_audience *a, int64_t self, const json_t *filter,
			     const json_t *field_defs, const char *base, kz_err *err);
/* Segments were created, changed or deleted in the store: reload them, evaluate, record
 * entered/exited. Returns when done. */
int kz_audience_segments_changed(kz_audience *a, kz_err *err);
/* Members of a segment (from memory): count, and a page of ids after `after`. */
int kz_audience_segment_count(kz_audience *a, int64_t segment, int64_t *n, kz_err *err);
int kz_audience_segment_page(kz_audience *a, int64_t segment, int64_t after, int limit,
			     int64_t *ids /* OUT: limit slots */, int *n, int *more, kz_err *err);
/* An unsaved filter: how many match and the first `limit` ids. */
int kz_audience_preview(kz_audience *a, const json_t *filter, const json_t *field_defs, int limit,
			int64_t *count, int64_t *ids, int *n, kz_err *err);
/* Static lists: add (KZ_LIST_APPEND), set exactly (KZ_LIST_REPLACE) or remove contacts.
 * Unknown contact ids are a 422 naming the first; nothing changes then. */
enum { KZ_LIST_APPEND, KZ_LIST_REPLACE, KZ_LIST_REMOVE };
int kz_audience_list_update(kz_audience *a, int64_t segment, const int64_t *ids, int n, int mode,
			    int *changed, kz_err *err);

/* Does each of contacts ids[0..n) match `filter` now (from memory)? out[i] gets 0 or 1.
 * The filter is parsed once for the batch; 422 with a pointer under /filter when invalid. */
int kz_audience_match_many(kz_audience *a, const json_t *filter, const int64_t *ids, int n,
			   unsigned char *out, kz_err *err);
/* Listen to what the engine writes on timelines (segment_entered/segment_exited,
 * score_changed, score_threshold_crossed, stage_changed): fn runs on the engine's thread
 * right after the event is stored (props are the engine's: copy what you keep). One
 * listener; journeys use it for their triggers and segment exits. */
typedef void (*kz_audience_emit_fn)(void *ctx, int64_t contact, const char *name,
				    const json_t *props);
void kz_audience_on_emit(kz_audience *a, kz_audience_emit_fn fn, void *ctx);

/* 1 when contact is (now, in memory) a member of segment or static list `segment`. */
int kz_audience_is_member(kz_audience *a, int64_t segment, int64_t contact);

/* Add "score", "scores" and "stage" to a contact record from memory. */
void kz_audience_decorate(kz_audience *a, json_t *contact);

/* Scoring rules or settings changed: reload; profile rules are re-applied to everyone. */
int kz_audience_scoring_changed(kz_audience *a, kz_err *err);
/* Rebuild every score from the rules and the stored events, in the background. */
int kz_audience_recompute(kz_audience *a, kz_err *err);
/* {"status":"idle"|"running"|"done","processed","total","started_at","finished_at"}. */
json_t *kz_audience_recompute_status(kz_audience *a);
/* A company's score: the sum or max (scoring settings) of its contacts' totals. */
int64_t kz_audience_company_score(kz_audience *a, int64_t company);

/* Stage settings changed: reload them and apply the rules to everyone. */
int kz_audience_stages_changed(kz_audience *a, kz_err *err);
/* Move a contact to a stage by hand (any direction). 422 for an unknown stage. */
int kz_audience_set_stage(kz_audience *a, int64_t contact, const char *stage, kz_err *err);

/* Points from outside the rules (a journey step): logged with `why`, thresholds and stage
 * rules follow. category NULL or "" is the default category. */
int kz_audience_add_points(kz_audience *a, int64_t contact, const char *category,
			   int64_t points, const char *why, kz_err *err);
/* Move a contact to a stage for a reason (a journey step); stage rules apply afterwards. */
int kz_audience_move_stage(kz_audience *a, int64_t contact, const char *stage, const char *why,
			   kz_err *err);

/* The clock moved (or a day passed): re-evaluate sliding windows, apply score decay. */
int kz_audience_tick(kz_audience *a, kz_err *err);
/* {"contacts","segments","memory_bytes","events_applied","last_full_ms"}. */
json_t *kz_audience_stats(kz_audience *a);

/* The default stages and an empty rule list, and the default scoring settings. */
json_t *kz_audience_default_stages(void);
json_t *kz_audience_default_scoring(void);
/* Validate stage settings {"stages":[...],"rules":[{"to","when"}]} (422 with a pointer). */
int kz_audience_check_stages(kz_audience *a, const json_t *in, const json_t *field_defs,
			     kz_err *err);
/* Validate a scoring rule (behaviour or profile) into a normalized record (new). */
json_t *kz_audience_check_rule(kz_audience *a, const json_t *in, const json_t *field_defs,
			       kz_err *err);
/* Validate scoring settings {"decay":{"percent","days"}|null,"company":"sum"|"max",
 * "thresholds":[...]}. */
int kz_audience_check_scoring(const json_t *in, kz_err *err);

#define KZ_SETTING_STAGES "audience.stages"
#define KZ_SETTING_SCORING "audience.scoring"

#endif
