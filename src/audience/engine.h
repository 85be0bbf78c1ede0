/* engine.h — what the audience engine's files share (private to src/audience/). */
#ifndef KZ_AUDIENCE_ENGINE_H
#define KZ_AUDIENCE_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>

#include "audience/audience.h"
#include "audience/filter.h"
#include "audience/index.h"

typedef struct aseg {
	int64_t id;
	char *name;
	int dynamic;
	kz_fnode *f;
	uint64_t *bits;
	int64_t nwords;
	int64_t count;
	int depth; /* longest chain of segments it depends on: evaluation order */
} aseg;

typedef struct arule {
	int64_t id;
	char *name;
	int profile;
	kz_fnode *f; /* profile: the filter; behaviour: an event node holding the where list */
	char *event;
	int64_t points;
	int64_t times; /* 0: no limit */
	int per;       /* 0 ever, 1 day, 2 week */
	char *category;
} arule;

typedef struct astage_rule {
	int to;
	kz_fnode *when;
} astage_rule;

struct qitem;

/* A string member or "" (never NULL). */
static inline const char *kz_jstr_or_empty(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

struct kz_audience {
	kz_store *store;
	kz_conn *conn; /* the engine's own, for its whole life */
	pthread_t thread;
	pthread_mutex_t q_mu; /* the queue */
	pthread_cond_t q_cond, q_done;
	struct qitem *head, *tail;
	uint64_t q_seq, q_done_seq;
	int stopping, started;
	pthread_mutex_t mu; /* everything below; only the engine thread holds it inside a
			     * store transaction, so readers never hold a connection's lock */
	kz_index *ix;
	aseg *segs;
	int nsegs;
	arule *rules;
	int nrules;
	json_t *stages; /* array of names */
	astage_rule *srules;
	int nsrules;
	json_t *scoring; /* settings */
	json_t *field_defs;
	kz_index_hooks hooks;
	int64_t *dirty;
	int ndirty, capdirty;
	int64_t last_full_ms, last_tick_ms;
	kz_err *dirty_err; /* where scan callbacks leave their error */
	int quiet;	    /* recompute: no timeline events for replayed awards */
	int foreign;	    /* applying another node's changes: the index follows, but no
			     * membership rows, awards, stage moves or events (that node writes them) */
	kz_feed_pos feed_pos;			 /* the change feed, read up to here */
	int64_t feed_polled_ms, feed_pruned_ms; /* monotonic */
	int hand_moved;	    /* a stage was just set by hand: rules wait for the next change */
	_Atomic long long events_applied;
	kz_audience_emit_fn emit_fn; /* kz_audience_on_emit */
	void *emit_ctx;
	/* recompute progress */
	_Atomic long long rc_processed, rc_total;
	_Atomic int rc_status; /* 0 idle, 1 running, 2 done */
	int64_t rc_started, rc_finished;
};

/* engine.c */
void kz_aud_dirty(kz_audience *a, int64_t contact);
/* Insert a timeline event on the contact (segment_entered, score_changed, ...). */
int kz_aud_emit(kz_audience *a, int64_t contact, const char *name, json_t *props /* taken */,
		kz_err *err);
int kz_aud_stage_rank(void *ctx, const char *stage);

/* score.c */
void kz_aud_rules_release(kz_audience *a);
int kz_aud_rules_load(kz_audience *a, kz_err *err);
void kz_aud_stages_release(kz_audience *a);
int kz_aud_stages_load(kz_audience *a, kz_err *err);
int kz_aud_scoring_load(kz_audience *a, kz_err *err);
/* Behaviour rules for one stored event. */
int kz_aud_score_event(kz_audience *a, int64_t contact, const char *name, int64_t at,
		       const json_t *props, kz_err *err);
/* Profile rules and stage rules for one contact. */
int kz_aud_profile(kz_audience *a, int64_t contact, kz_err *err);
int kz_aud_stage_rules(kz_audience *a, int64_t contact, kz_err *err);
int kz_aud_decay(kz_audience *a, kz_err *err);
int kz_aud_recompute_run(kz_audience *a, kz_err *err);
/* Points by hand or from a journey step (category "" = the default). */
int kz_aud_award(kz_audience *a, int64_t cid, const char *category, int64_t delta,
		 const char *what, kz_err *err);
int kz_aud_move_stage(kz_audience *a, int64_t contact, const char *stage, const char *reason,
		      kz_err *err);

#endif
