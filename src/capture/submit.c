/* submit.c — a visitor's submission becomes a lead, all in one transaction: nothing is stored
 * when validation fails, and spam never reaches this point. */
#include "capture/submit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audience/audience.h"
#include "base/log.h"
#include "capture/body.h"
#include "capture/doi.h"
#include "capture/form.h"
#include "capture/token.h"
#include "journey/journey.h"
#include "model/contact.h"
#include "track/bot.h"
#include "track/event.h"
#include "track/ingest.h"
#include "track/writer.h"

#include "base/banned.h"

#define DEFAULT_MIN_FILL_MS 3000
#define DEFAULT_RATE_PER_MINUTE 10

static json_int_t setting_int(const json_t *form, const char *key, json_int_t dflt)
{
	const json_t *v = json_object_get(json_object_get(form, "settings"), key);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

const char *kz_capture_spam_reason(const json_t *form, const json_t *values, int64_t now_ms)
{
	const char *hp = kz_body_str(values, "_kz_url");
	int64_t at = 0, id = json_integer_value(json_object_get(form, "id"));
	json_int_t min_ms = setting_int(form, "min_fill_seconds", DEFAULT_MIN_FILL_MS / 1000) * 1000;
	if (hp && *hp)
		return "honeypot";
	if (kz_token_form_check(id, kz_body_str(values, "_kz_t"), &at) < 0)
		return "invalid_token";
	if (now_ms - at < min_ms)
		return "too_fast";
	return NULL;
}

int kz_capture_rate_limited(const json_t *form, const char *ip, int64_t now_ms)
{
	char key[64];
	snprintf(key, sizeof key, "f%lld:%s",
		 (long long)json_integer_value(json_object_get(form, "id")), ip ? ip : "");
	return kz_track_flood(key, now_ms,
			      (int)setting_int(form, "rate_limit_per_minute", DEFAULT_RATE_PER_MINUTE));
}

json_t *kz_capture_visitor_contact(kz_conn *c, const char *anon_id)
{
	kz_visitor_ref v;
	json_t *contact = NULL;
	kz_err err;
	if (!anon_id || !*anon_id || strlen(anon_id) > 128)
		return NULL;
	if (kz_store_visitor_find(c, KZ_SITE_ANY, anon_id, &v, &err) < 0 || !v.id || !v.contact_id)
		return NULL;
	if (kz_store_contact_get(c, v.contact_id, &contact, &err) < 0)
		return NULL;
	return contact;
}

/* The form's add_tag tags, and its first deliver_asset asset. */
static json_t *action_tags(const json_t *form, int64_t *asset_id)
{
	json_t *tags = json_array(), *a;
	size_t i;
	*asset_id = 0;
	json_array_foreach(json_object_get(form, "actions"), i, a) {
		const char *type = json_string_value(json_object_get(a, "type"));
		if (!strcmp(type, "add_tag"))
			json_array_append(tags, json_object_get(a, "tag"));
		else if (!strcmp(type, "deliver_asset") && !*asset_id)
			*asset_id = json_integer_value(json_object_get(a, "asset_id"));
	}
	return tags;
}

/* A send row of the outbox for this submission: kind "form" (the autoresponse to the
 * contact: the usual suppression and consent rules apply at send time) or "notify" (an alert
 * to a team address, rendered with the lead's variables, never on the lead's timeline). */
static int queue_mail(kz_conn *c, const kz_submit *s, kz_submit_result *r, const char *kind,
		      int64_t email_id, const char *to, size_t action, size_t n, kz_err *err)
{
	char dedupe[64];
	int64_t sid = 0;
	kz_send_row row;
	snprintf(dedupe, sizeof dedupe, "f%" PRId64 "%c%zu.%zu", r->submission_id,
		 kind[0] == 'f' ? 'r' : 'n', action, n);
	memset(&row, 0, sizeof row);
	row.contact_id = r->contact_id;
	row.email_id = email_id;
	row.kind = kind;
	row.dedupe = dedupe;
	row.to_email = to;
	row.status = "queued";
	row.next_at = s->now_ms;
	row.created_at = s->now_ms;
	if (kz_store_send_insert(c, &row, &sid, err) < 0)
		return -1;
	r->mails++;
	return 0;
}

/* enroll_journey: the contact enters the journey in the submission's transaction, by the
 * journey's re-entry rule (the entry is keyed by the submission). A journey that is not
 * active (paused, archived, a draft) or has gone takes nobody; the submission stands. */
static int enroll(kz_conn *c, const kz_submit *s, kz_submit_result *r, int64_t journey_id,
		  kz_err *err)
{
	json_t *j = NULL;
	const char *status;
	int64_t n = 0;
	char key[48];
	int rc = 0;
	(void)s;
	if (kz_store_journey_get(c, journey_id, &j, err) < 0)
		return err->status == 404 ? 0 : -1;
	status = json_string_value(json_object_get(j, "status"));
	if (status && !strcmp(status, "active")) {
		snprintf(key, sizeof key, "form:%" PRId64, r->submission_id);
		rc = kz_journey_enrol_ids(c, j, &r->contact_id, 1, kz_journey_entry_key(j, key),
					  NULL, &n, err);
		r->enrolled += (int)n;
	}
	json_decref(j);
	return rc;
}

/* The body a webhook alert posts: Slack's "text" plus the lead and what they sent. */
static char *alert_payload(const kz_submit *s, const kz_submit_result *r, const json_t *contact,
			   const json_t *clean, const char *page)
{
	const char *email = json_string_value(json_object_get(contact, "email"));
	const char *fname = json_string_value(json_object_get(s->form, "name"));
	char text[600];
	json_t *o;
	char *out;
	snprintf(text, sizeof text, "New submission of \"%s\" from %s", fname ? fname : "",
		 email ? email : "a visitor");
	o = json_pack("{s:s, s:s, s:{s:I, s:s?}, s:I, s:{s:I, s:O?, s:O?, s:O?, s:O?}, s:O, s:s?}",
		      "text", text, "event", "form_submitted", "form", "id",
		      json_integer_value(json_object_get(s->form, "id")), "name", fname,
		      "submission_id", (json_int_t)r->submission_id, "contact", "id",
		      (json_int_t)r->contact_id, "email", json_object_get(contact, "email"),
		      "first_name", json_object_get(contact, "first_name"), "last_name",
		      json_object_get(contact, "last_name"), "company",
		      json_object_get(contact, "company"), "data", clean, "page_url", page);
	out = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return out;
}

/* An alert address: "owner" is the contact's owner (none: skipped). */
static const char *notify_address(kz_conn *c, const json_t *contact, const char *to,
				  json_t **owner)
{
	const json_t *oid = json_object_get(contact, "owner");
	kz_err err;
	if (strcmp(to, "owner"))
		return to;
	if (!json_is_integer(oid) || kz_store_user_get(c, json_integer_value(oid), owner, &err) < 0)
		return NULL;
	return json_string_value(json_object_get(*owner, "email"));
}

/* The actions that write with the submission (so none is lost once it is accepted):
 * autoresponse and alert emails into the outbox, webhook alerts into their queue; the ones
 * the audience engine does wait in r->later. */
static int queue_actions(kz_conn *c, const kz_submit *s, kz_submit_result *r, const json_t *clean,
			 const char *page, kz_err *err)
{
	json_t *contact = NULL, *a;
	size_t i;
	int rc = -1;
	r->later = json_array();
	if (kz_store_contact_get(c, r->contact_id, &contact, err) < 0)
		return -1;
	json_array_foreach(json_object_get(s->form, "actions"), i, a) {
		const char *type = json_string_value(json_object_get(a, "type"));
		int64_t email_id = json_integer_value(json_object_get(a, "email_id"));
		if (!strcmp(type, "add_to_list") || !strcmp(type, "add_points")) {
			json_array_append(r->later, a);
		} else if (!strcmp(type, "enroll_journey")) {
			if (enroll(c, s, r, json_integer_value(json_object_get(a, "journey_id")), err) <
			    0)
				goto out;
		} else if (!strcmp(type, "send_autoresponse")) {
			const char *to = json_string_value(json_object_get(contact, "email"));
			if (to && queue_mail(c, s, r, "form", email_id, to, i, 0, err) < 0)
				goto out;
		} else if (!strcmp(type, "notify")) {
			const char *hook = json_string_value(json_object_get(a, "webhook_url"));
			json_t *t;
			size_t j;
			json_array_foreach(json_object_get(a, "to"), j, t) {
				json_t *owner = NULL;
				const char *to =
					notify_address(c, contact, json_string_value(t), &owner);
				int q = to ? queue_mail(c, s, r, "notify", email_id, to, i, j, err)
					   : 0;
				json_decref(owner);
				if (q < 0)
					goto out;
			}
			if (hook) {
				char *body = alert_payload(s, r, contact, clean, page);
				int64_t aid;
				kz_alert_row ar = {r->contact_id,
						   json_integer_value(json_object_get(s->form, "id")),
						   r->submission_id, s->now_ms, hook, body};
				int q = body ? kz_store_alert_insert(c, &ar, &aid, err) : 0;
				free(body);
				if (q < 0)
					goto out;
				r->alerts++;
			}
		}
	}
	rc = 0;
out:
	json_decref(contact);
	return rc;
}

/* settings.double_opt_in: the email module's confirmation mail, in this transaction (the
 * consent stays pending until the link is followed). A contact it cannot mail (no address,
 * suppressed) keeps the submission; the refusal is logged. */
static int double_optin(kz_conn *c, const kz_submit *s, kz_submit_result *r, kz_err *err)
{
#if KZ_HAVE_DOUBLE_OPTIN
	char source[48];
	int64_t sid = 0;
	kz_err e;
	if (!json_is_true(json_object_get(json_object_get(s->form, "settings"), "double_opt_in")))
		return 0;
	snprintf(source, sizeof source, "form:%lld",
		 (long long)json_integer_value(json_object_get(s->form, "id")));
	memset(&e, 0, sizeof e);
	if (kz_email_double_optin_send(c, r->contact_id, source, s->ip, s->now_ms, &sid, &e) < 0) {
		if (e.status != 422) {
			*err = e;
			return -1;
		}
		kz_warn("form %s: no double opt-in mail for contact %lld: %s", source + 5,
			(long long)r->contact_id, e.message);
	}
	if (sid)
		r->mails++;
#else
	(void)c;
	(void)s;
	(void)r;
	(void)err;
#endif
	return 0;
}

int kz_capture_after(struct kz_audience *a, const kz_submit *s, const kz_submit_result *r,
		     kz_err *err)
{
	size_t i;
	json_t *act;
	int rc = 0;
	char reason[300];
	kz_err e;
	if (!json_array_size(r->later))
		return 0;
	if (kz_audience_sync(a, err) < 0) /* the contact and its events are in the index */
		return -1;
	snprintf(reason, sizeof reason, "submitted form %s",
		 json_string_value(json_object_get(s->form, "name")));
	json_array_foreach(r->later, i, act) {
		const char *type = json_string_value(json_object_get(act, "type"));
		int one;
		if (!strcmp(type, "add_to_list")) {
			int changed = 0;
			int64_t id = r->contact_id;
			one = kz_audience_list_update(
				a, json_integer_value(json_object_get(act, "list_id")), &id, 1,
				KZ_LIST_APPEND, &changed, &e);
		} else {
			one = kz_audience_add_points(
				a, r->contact_id, json_string_value(json_object_get(act, "category")),
				json_integer_value(json_object_get(act, "points")), reason, &e);
		}
		if (one < 0 && rc == 0) {
			*err = e;
			rc = -1;
		}
	}
	return rc;
}

/* A contact rule refused a value (a phone number, a custom field's type): say so on the form
 * field that carried it. */
static void contact_error_to_field(const json_t *fields, const kz_err *err, const char *lang,
				   kz_submit_result *r)
{
	const char *name = err->field[0] ? kz_form_field_for(fields, err->field) : NULL;
	const char *ja = "入力内容を確認してください。", *en = "Check this value.";
	if (!strcmp(err->field, "phone")) {
		ja = "正しい電話番号を入力してください。";
		en = "Enter a valid phone number.";
	}
	r->errors = json_array();
	json_array_append_new(r->errors,
			      json_pack("{s:s?, s:s, s:s}", "field", name, "code", "invalid_value",
					"message", strcmp(lang, "ja") ? en : ja));
}

/* The UTM parameters of the page the form was on, and any hidden utm_* fields. */
static json_t *utm_of(const char *page_url, const json_t *clean)
{
	static const char *const keys[] = {"utm_source", "utm_medium", "utm_campaign", "utm_term",
					   "utm_content", NULL};
	json_t *utm = json_object();
	for (int i = 0; keys[i]; i++) {
		const char *v = json_string_value(json_object_get(clean, keys[i]));
		char *q = page_url ? kz_track_url_param(page_url, keys[i]) : NULL;
		if (v && *v)
			json_object_set_new(utm, keys[i], json_string(v));
		else if (q && *q)
			json_object_set_new(utm, keys[i], json_string(q));
		free(q);
	}
	return utm;
}

/* The submission's events — an identify (the visitor says who they are: its earlier
 * anonymous pages become the contact's) and form_submitted — into r->events, for
 * kz_capture_emit once the submission is committed. */
static void build_events(const kz_submit *s, const char *anon, const char *page,
			 const char *ref, const json_t *utm, kz_submit_result *r)
{
	json_t *ctx = json_object(), *ev;
	r->events = json_array();
	if (page)
		json_object_set_new(ctx, "url", json_string(page));
	if (ref && *ref)
		json_object_set_new(ctx, "referrer", json_string(ref));
	json_object_update(ctx, (json_t *)utm);
	if (anon)
		json_array_append_new(r->events,
				      json_pack("{s:s, s:s, s:I, s:{}}", "type", "identify",
						"anonymousId", anon, "contactId",
						(json_int_t)r->contact_id, "traits"));
	ev = json_pack("{s:s, s:s, s:I, s:{s:I, s:s, s:I}, s:O}", "type", "track", "event",
		       "form_submitted", "contactId", (json_int_t)r->contact_id, "properties",
		       "form_id", json_integer_value(json_object_get(s->form, "id")), "form_name",
		       json_string_value(json_object_get(s->form, "name")), "submission_id",
		       (json_int_t)r->submission_id, "context", ctx);
	if (anon)
		json_object_set_new(ev, "anonymousId", json_string(anon));
	json_array_append_new(r->events, ev);
	json_decref(ctx);
}

/* Write r->events through the tracking pipeline (identity, stitching, sessions, the
 * audience engine): the running server's event writer, else (a CLI run) straight into the
 * store on c. */
int kz_capture_emit(kz_conn *c, const kz_submit *s, const kz_submit_result *r, kz_err *err)
{
	kz_track_src src;
	size_t i;
	json_t *in;
	memset(&src, 0, sizeof src);
	src.received_at = s->now_ms;
	src.ip = s->ip;
	src.ua = s->ua;
	json_array_foreach(r->events, i, in) {
		int rc = kz_track_emit_wait(in, &src, 0, err);
		if (rc < 0)
			return -1;
		if (rc == 1) { /* no writer in this process */
			kz_ingest_ctx x;
			kz_track_event ev;
			kz_ingest_ctx_init(&x, s->country);
			rc = kz_track_event_parse(in, &src, &ev, err);
			if (rc == 0) {
				rc = kz_ingest(c, &x, &ev, err);
				kz_track_event_release(&ev);
			}
			kz_ingest_ctx_release(&x);
			if (rc < 0)
				return -1;
		}
	}
	return 0;
}

int kz_capture_submit(kz_conn *c, const kz_submit *s, kz_submit_result *r, kz_err *err)
{
	const char *anon = kz_body_str(s->values, "_kz_vid");
	const char *page = kz_body_str(s->values, "_kz_page");
	const char *ref = kz_body_str(s->values, "_kz_ref");
	json_t *contact, *fields, *clean = NULL, *tags, *input = NULL, *rec = NULL, *utm = NULL;
	int created = 0, rc = -1;
	memset(r, 0, sizeof *r);
	if (anon && (!*anon || strlen(anon) > 128))
		anon = NULL;
	if (!page || !*page)
		page = s->referer;
	if (page && strlen(page) > 2000)
		page = NULL;
	if (ref && strlen(ref) > 2000)
		ref = NULL;
	contact = kz_capture_visitor_contact(c, anon);
	fields = kz_form_visible_fields(s->form, contact);
	json_decref(contact);
	tags = action_tags(s->form, &r->asset_id);
	if (kz_form_check(fields, s->values, s->lang, &clean, &r->errors) < 0) {
		kz_err_set(err, 422, "invalid_submission", json_string_value(json_object_get(
								   json_array_get(r->errors, 0), "field")),
			   "some fields need fixing; see errors");
		goto out;
	}
	input = kz_form_contact_input(fields, clean, tags);
	{
		json_t *defs = NULL;
		kz_contact_opts o;
		memset(&o, 0, sizeof o);
		o.default_country = s->country;
		if (kz_store_field_list(c, &defs, err) < 0)
			goto out;
		o.field_defs = defs;
		rc = kz_contact_upsert(c, input, &o, &created, &r->contact_id, err);
		json_decref(defs);
		if (rc < 0) {
			if (err->status == 422 || err->status == 400) {
				contact_error_to_field(fields, err, s->lang, r);
				err->status = 422;
			}
			goto out;
		}
		rc = -1;
	}
	utm = utm_of(page, clean);
	rec = json_pack("{s:I, s:s?, s:O, s:s?, s:s?, s:O, s:s?, s:s?, s:o?}", "contact_id",
			(json_int_t)r->contact_id, "anonymous_id", anon, "data", clean, "page_url",
			page, "referrer", ref, "utm", utm, "ip", s->ip, "user_agent", s->ua, "consent",
			kz_form_consent(fields, clean, s->lang));
	if (rec && json_object_get(rec, "consent"))
		json_object_set_new(json_object_get(rec, "consent"), "ip",
				    s->ip ? json_string(s->ip) : json_null());
	if (!rec || kz_store_submission_insert(c, json_integer_value(json_object_get(s->form, "id")),
					       rec, &r->submission_id, err) < 0)
		goto out;
	if (queue_actions(c, s, r, clean, page, err) < 0 || double_optin(c, s, r, err) < 0)
		goto out;
	build_events(s, anon, page, ref, utm, r);
	rc = 0;
out:
	json_decref(fields);
	json_decref(clean);
	json_decref(tags);
	json_decref(input);
	json_decref(rec);
	json_decref(utm);
	return rc;
}

void kz_submit_result_release(kz_submit_result *r)
{
	json_decref(r->errors);
	json_decref(r->events);
	json_decref(r->later);
	r->errors = NULL;
	r->events = NULL;
	r->later = NULL;
}
