/* submit.h — one form submission from a visitor's values to a stored lead: spam checks,
 * validation, the contact (same cleansing and dedupe as the API), the visitor stitched to it,
 * the stored submission with its consent record, and the form_submitted event. */
#ifndef KZ_CAPTURE_SUBMIT_H
#define KZ_CAPTURE_SUBMIT_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

typedef struct kz_submit {
	const json_t *form;   /* the stored form */
	const json_t *values; /* kz_body_parse's output */
	const char *lang;
	const char *ip, *ua, *referer; /* the request's address, User-Agent, Referer */
	const char *country;           /* default phone country */
	int64_t now_ms;
} kz_submit;

typedef struct kz_submit_result {
	json_t *errors; /* per-field errors on 422, else NULL */
	int64_t contact_id, submission_id;
	int64_t asset_id; /* a deliver_asset action's asset, 0 when none */
	json_t *events;   /* identify and form_submitted, for kz_capture_emit after the commit */
	json_t *later;    /* add_to_list and add_points actions, for kz_capture_after */
	int mails;        /* autoresponses and alert emails queued in the outbox */
	int alerts;       /* webhook alerts queued */
	int enrolled;     /* journeys the contact entered (enroll_journey; kick the scheduler) */
} kz_submit_result;

/* Why these values look like spam, or NULL: "honeypot" (the hidden field was filled),
 * "invalid_token" (no or a forged render token), "too_fast" (sent sooner than the form's
 * min_fill_seconds after it was shown). The per-IP rate is kz_capture_rate_limited. */
const char *kz_capture_spam_reason(const json_t *form, const json_t *values, int64_t now_ms);
/* 1 when `ip` has sent more than the form's rate_limit_per_minute submissions this minute. */
int kz_capture_rate_limited(const json_t *form, const char *ip, int64_t now_ms);

/* The known contact behind a visitor id (for progressive profiling), or NULL. */
json_t *kz_capture_visitor_contact(kz_conn *c, const char *anon_id);

/* Validate and store a submission inside the caller's write transaction. Returns 0, or -1
 * with err; err->status 422 with r->errors set means the visitor must fix fields (nothing
 * was written). */
int kz_capture_submit(kz_conn *c, const kz_submit *s, kz_submit_result *r, kz_err *err);
/* After the submission committed: its events through the event writer (or, with no writer
 * in this process, into the store on c). */
int kz_capture_emit(kz_conn *c, const kz_submit *s, const kz_submit_result *r, kz_err *err);
/* After the events: the actions the audience engine carries out (add_to_list, add_points).
 * Each is tried; the first failure is in err (-1). */
struct kz_audience;
int kz_capture_after(struct kz_audience *a, const kz_submit *s, const kz_submit_result *r,
		     kz_err *err);
void kz_submit_result_release(kz_submit_result *r);

#endif
