/* jinternal.h — what the journey engine's files share (private to src/journey/). */
#ifndef KZ_JINTERNAL_H
#define KZ_JINTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "journey/journey.h"

/* The active journeys of one pass and the event names they listen for ("*": any). */
typedef struct jset {
	json_t **j;
	int n;
	json_t *names;
} jset;

/* Work for the audience engine once the step's transaction committed (it takes the store's
 * write lock itself). */
enum { POST_STAGE, POST_POINTS, POST_LIST };
typedef struct post_action {
	int kind;
	int64_t contact, n, list;
	int in;
	char text[128];
} post_action;

struct kz_journeys {
	kz_journeys_config cfg;
	pthread_t thread;
	pthread_mutex_t mu; /* kicked, stopping, pass counters */
	pthread_cond_t cv, done_cv;
	int stopping, kicked;
	uint64_t pass_started, pass_done;
	/* the scheduler thread's own */
	jset set;
	json_t *defs; /* "journey:version" -> definition */
	json_t *settings, *settings_tmp;
	json_t *emails;	    /* this pass: email id -> record (sends) */
	json_t *cands;	    /* this batch: email id -> {contact id -> candidate row} or NULL */
	json_t *date_done;  /* "journey:trigger" -> the local day its date trigger last ran */
	json_t *field_defs; /* this pass: custom field definitions (contact updates) */
	int queued_mail, queued_calls;
	/* PostgreSQL: an id gap in the events read (a transaction still in flight, or rolled
	 * back): since when (monotonic ms), so it is waited for briefly and then passed */
	int64_t gap_id, gap_since;
	/* ids passed over at a gap, looked for again until LATE_MS after they were passed */
	int64_t *late, *late_since;
	int nlate, caplate;
	pthread_mutex_t post_mu;
	post_action *post;
	int npost, cappost;
	/* the call sender */
	pthread_t calls_thread;
	pthread_mutex_t calls_mu;
	pthread_cond_t calls_cv;
	int calls_kicked, calls_running;
	_Atomic long long n_passes, n_executed, n_enrolled, n_calls_sent, n_calls_failed;
};

/* A decision made before the write transaction: what to do with one enrolment. */
enum { JD_STEP, JD_EVENT_YES, JD_GOAL, JD_EXIT };
typedef struct jdecide {
	kz_enrolment e; /* a copy (context not owned) */
	const json_t *def;
	int kind;
	int match;     /* condition: the filter's answer */
	char goal[72]; /* JD_GOAL: the goal step */
	char zone[64]; /* the contact's time zone (or the workspace's) */
	char reason[200];
} jdecide;

/* engine.c */
const json_t *kz_jn_def(kz_journeys *j, kz_conn *c, int64_t journey, int64_t version);
int kz_jn_where(const json_t *where, const char *event, const json_t *props, const json_t *ctx,
		int64_t now);

/* steps.c */
/* 1 when arriving at step needs the contact's zone (send windows, wait_until time). */
int kz_jn_needs_zone(const json_t *step, const json_t *def);
/* The contact's zone, else the workspace's wz, else "UTC". */
void kz_jn_contact_zone(kz_conn *c, int64_t contact, const char *wz, char *out, size_t len);
/* When a contact arriving at `step` now is due; *wait_event (may be NULL) gets the awaited
 * event name or NULL. */
int64_t kz_jn_arrival(const json_t *step, const json_t *def, const char *zone, int64_t now,
		      const char **wait_event);
int kz_jn_decide_event(kz_journeys *j, kz_conn *c, const json_t *ev, jdecide **out, int *n,
		       kz_err *err);
int kz_jn_decide_due(kz_journeys *j, kz_conn *c, const kz_enrolment *e, int n, jdecide **out,
		     int *nout, kz_err *err);
/* Run a decision inside the write transaction. */
int kz_jn_apply_decision(kz_journeys *j, kz_conn *c, const jdecide *d, kz_err *err);
void kz_jn_decisions_free(jdecide *d, int n);
/* Commit, then hand the queued post actions to the audience engine. */
int kz_jn_commit(kz_journeys *j, kz_conn *c, kz_err *err);
/* Read the recipient rows of the batch's sends in one query per email (inside the batch's
 * transaction, before kz_jn_apply_decision); kz_jn_sends_done forgets them. */
int kz_jn_prefetch_sends(kz_journeys *j, kz_conn *c, const jdecide *d, int n, kz_err *err);
void kz_jn_sends_done(kz_journeys *j);
void kz_jn_post_clear(kz_journeys *j);
/* 1 when some enrolment is due now. */
int kz_jn_more_due(kz_journeys *j, kz_conn *c);

/* calls.c */
int kz_jn_calls_start(kz_journeys *j, kz_err *err);
void kz_jn_calls_stop(kz_journeys *j);
void kz_jn_calls_kick(kz_journeys *j);

#endif
