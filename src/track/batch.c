/* batch.c — validating a body of events, writing the valid ones, and reporting per index. */
#include "track/batch.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/timeutil.h"

#include "base/banned.h"

static json_t *error_body(const kz_err *e)
{
	json_t *err = json_pack("{s:s, s:s}", "code", e->code[0] ? e->code : "internal", "message",
				e->message[0] ? e->message : "internal error");
	if (!err) /* a message that is not valid UTF-8 (it quotes the input): say less */
		err = json_pack("{s:s, s:s}", "code", e->code[0] ? e->code : "internal", "message",
				"the event is not valid");
	json_object_set_new(err, "field", e->field[0] ? json_string(e->field) : json_null());
	return json_pack("{s:o}", "error", err);
}

static json_t *error_entry(size_t index, const kz_err *e)
{
	json_t *o = json_pack("{s:I, s:s, s:s}", "index", (json_int_t)index, "code",
			      e->code[0] ? e->code : "internal", "message",
			      e->message[0] ? e->message : "the event could not be written");
	if (!o) /* a message that is not valid UTF-8 (it quotes the input): say less */
		o = json_pack("{s:I, s:s, s:s}", "index", (json_int_t)index, "code",
			      e->code[0] ? e->code : "internal", "message",
			      "the event is not valid");
	json_object_set_new(o, "field", e->field[0] ? json_string(e->field) : json_null());
	return o;
}

/* Merge two error lists, each in index order, into one in index order (taking both). */
static json_t *merge_errors(json_t *a, json_t *b)
{
	json_t *out = json_array();
	size_t i = 0, k = 0;
	while (i < json_array_size(a) || k < json_array_size(b)) {
		json_t *x = json_array_get(a, i), *y = json_array_get(b, k);
		int take_a = x && (!y || json_integer_value(json_object_get(x, "index")) <
						 json_integer_value(json_object_get(y, "index")));
		json_array_append(out, take_a ? x : y);
		if (take_a)
			i++;
		else
			k++;
	}
	json_decref(a);
	json_decref(b);
	return out;
}

static int fail(json_t **answer, int status, const char *code, const char *field,
		const char *message)
{
	kz_err e;
	kz_err_set(&e, status, code, field, "%s", message);
	*answer = error_body(&e);
	return status;
}

void kz_track_batch_release(kz_track_batch *b)
{
	size_t i;
	for (i = 0; i < b->nvalid; i++)
		kz_track_event_release(&b->evs[i]);
	free(b->evs);
	free(b->index);
	json_decref(b->errors);
	memset(b, 0, sizeof *b);
}

int kz_track_batch_parse(const json_t *body, const kz_track_src *src_in,
			 const kz_track_policy *policy, kz_track_batch *b, json_t **answer)
{
	const json_t *batch = json_object_get(body, "batch");
	const json_t *sent = json_object_get(body, "sentAt");
	kz_track_src src = *src_in;
	kz_err err;
	int64_t sent_ms;
	size_t i;
	memset(b, 0, sizeof *b);
	*answer = NULL;
	b->single = !batch;
	b->errors = json_array();
	if (batch && !json_is_array(batch))
		return fail(answer, 422, "invalid_field", "batch",
			    "batch must be an array of events");
	b->n = b->single ? 1 : json_array_size(batch);
	if (b->n > KZ_TRACK_MAX_BATCH)
		return fail(answer, 413, "batch_too_large", "batch",
			    "a batch holds at most 1000 events; split it");
	/* The sender's clock may be off: shift its timestamps by (received - sentAt). */
	if (json_is_string(sent) && kz_time_parse_iso(json_string_value(sent), &sent_ms) == 0)
		src.skew_ms = src.received_at - sent_ms;
	b->evs = calloc(b->n ? b->n : 1, sizeof *b->evs);
	b->index = calloc(b->n ? b->n : 1, sizeof *b->index);
	if (!b->evs || !b->index || !b->errors)
		return fail(answer, 500, "internal", NULL, "out of memory");
	for (i = 0; i < b->n; i++) {
		const json_t *in = b->single ? body : json_array_get(batch, i);
		kz_track_event *ev = &b->evs[b->nvalid];
		kz_err_clear(&err);
		if (kz_track_event_parse(in, &src, ev, &err) < 0) {
			if (b->single) {
				*answer = error_body(&err);
				return err.status ? err.status : 422;
			}
			json_array_append_new(b->errors, error_entry(i, &err));
			continue;
		}
		if (policy && policy->drop_headless && ev->headless) {
			kz_track_event_release(ev);
			b->dropped++;
			continue;
		}
		b->index[b->nvalid++] = i;
	}
	return 0;
}

/* *answer = v as JSON text (taking v); returns status. */
static int answer_json(json_t *v, int status, char **answer)
{
	*answer = v ? kz_json_dumps(v) : NULL;
	json_decref(v);
	return status;
}

/* The answer for a batch whose events have their final states. The usual one, every event
 * taken with no error to report, is written as text at once: it is what a busy collector
 * sends thousands of times a second. */
static int answer_of(kz_track_batch *b, char **answer)
{
	json_t *errors, *write_errors = NULL, *out;
	int accepted = 0, dups = 0, failed5 = 0;
	for (size_t i = 0; i < b->nvalid; i++) {
		kz_track_event *ev = &b->evs[i];
		if (ev->state == KZ_EV_STORED) {
			accepted++;
		} else if (ev->state == KZ_EV_DUPLICATE) {
			dups++;
		} else {
			if (ev->err.status >= 500 || !ev->err.status)
				failed5++;
			if (b->single) {
				json_decref(write_errors);
				return answer_json(error_body(&ev->err),
						   ev->err.status ? ev->err.status : 500, answer);
			}
			if (!write_errors)
				write_errors = json_array();
			json_array_append_new(write_errors, error_entry(b->index[i], &ev->err));
		}
	}
	if (failed5 && (size_t)failed5 == b->nvalid) {
		/* Nothing could be written: a retry (same messageIds) is safe and may succeed. */
		json_decref(write_errors);
		return answer_json(json_pack("{s:{s:s, s:s, s:n}}", "error", "code",
					     "database_unavailable", "message",
					     "the events could not be written; send them again",
					     "field"),
				   503, answer);
	}
	if (!write_errors && !json_array_size(b->errors)) {
		char text[96];
		int n = b->dropped ? snprintf(text, sizeof text,
					      "{\"accepted\":%d,\"duplicates\":%d,\"errors\":[],"
					      "\"dropped\":%d}",
					      accepted, dups, b->dropped)
				   : snprintf(text, sizeof text,
					      "{\"accepted\":%d,\"duplicates\":%d,\"errors\":[]}",
					      accepted, dups);
		*answer = n > 0 ? strdup(text) : NULL;
		return 200;
	}
	errors = merge_errors(b->errors, write_errors ? write_errors : json_array());
	b->errors = NULL;
	out = json_pack("{s:i, s:i, s:o}", "accepted", accepted, "duplicates", dups, "errors",
			errors);
	if (b->dropped)
		json_object_set_new(out, "dropped", json_integer(b->dropped));
	return answer_json(out, 200, answer);
}

struct kz_track_pending {
	kz_track_batch b;
};

int kz_track_submit(kz_track_writer *w, const json_t *body, const kz_track_src *src,
		    const kz_track_policy *policy, void (*done)(void *cls), void *cls,
		    kz_track_pending **pending, char **answer)
{
	kz_track_pending *p = calloc(1, sizeof *p);
	json_t *refused = NULL;
	kz_err err;
	int status, r;
	*pending = NULL;
	*answer = NULL;
	if (!p)
		return 500; /* out of memory: no answer text either */
	status = kz_track_batch_parse(body, src, policy, &p->b, &refused);
	if (status) {
		answer_json(refused, status, answer);
		goto out;
	}
	kz_track_count_drop(KZ_DROP_BOT, p->b.dropped);
	kz_err_clear(&err);
	r = p->b.nvalid ? kz_track_write_async(w, p->b.evs, (int)p->b.nvalid, done, cls, &err) : 0;
	if (r < 0) {
		status = answer_json(error_body(&err), err.status ? err.status : 503, answer);
		goto out;
	}
	if (r == 1) { /* the writer calls done(cls) when the answer can be made */
		*pending = p;
		return 0;
	}
	status = answer_of(&p->b, answer);
out:
	kz_track_batch_release(&p->b);
	free(p);
	return status;
}

int kz_track_pending_answer(kz_track_pending *p, char **answer)
{
	int status = answer_of(&p->b, answer);
	kz_track_batch_release(&p->b);
	free(p);
	return status;
}

int kz_track_handle(kz_track_writer *w, const json_t *body, const kz_track_src *src,
		    const kz_track_policy *policy, char **answer)
{
	kz_track_pending *pending = NULL;
	/* Without a callback the writer answers in place, so nothing is ever left pending. */
	return kz_track_submit(w, body, src, policy, NULL, NULL, &pending, answer);
}
