/* outbox.c — the durable outbox's workers. A row is claimed (status sending, with a lease),
 * delivered, then marked sent in the same transaction as its email_sent event; a crash
 * between the two leaves the lease to expire and the row is delivered again with the same
 * Message-ID. Recipients of a broadcast are resolved in one transaction at send time. */
#include "channel/outbox.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "base/crypto.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "channel/delivery.h"
#include "channel/dkim.h"
#include "channel/message.h"
#include "channel/mime.h"
#include "channel/transport.h"
#include "model/records.h"

#include "base/banned.h"

#define CLAIM_BATCH 16
#define MAX_SENDERS 32

struct kz_outbox {
	kz_store *store;
	kz_outbox_config cfg;
	char *smtp_url, *smtp_tls, *maildir, *base_url, *bounce_domain;
	kz_transport *maildir_t; /* shared (thread-safe) when there is no SMTP */
	kz_dkim *dkim;
	char secret[65];
	pthread_t senders[MAX_SENDERS], scheduler;
	int nsenders, scheduler_started;
	pthread_mutex_t mu;
	pthread_mutex_t reconf_mu; /* one reconfiguration (or settings test send) at a time */
	pthread_cond_t cv;
	int stop, kicks;
	double next_slot; /* the rate limiter: earliest time (s) for the next message */
	uint64_t sent, failed, retried, skipped;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* ------------------------------------------------------------------ skip rules */

typedef struct rules {
	int require_consent;
	int double_optin; /* a pending consent waits for its confirmation */
	int64_t cap_day, cap_week;
} rules;

static int64_t setting_int(const json_t *s, const char *k)
{
	const char *v = json_string_value(json_object_get(s, k));
	return v ? strtoll(v, NULL, 10) : 0;
}

static void rules_from(const json_t *settings, rules *r)
{
	const char *rc = json_string_value(json_object_get(settings, "email_require_consent"));
	const char *doi = json_string_value(json_object_get(settings, "email_double_optin"));
	r->require_consent = rc && !strcmp(rc, "true");
	r->double_optin = doi && !strcmp(doi, "true");
	r->cap_day = setting_int(settings, "email_frequency_cap_day");
	r->cap_week = setting_int(settings, "email_frequency_cap_week");
}

/* The mailbox an address lands in: "+tag" sub-addresses and Gmail's dots removed. */
static void canonical(const char *email, char *out, size_t len)
{
	const char *at = strrchr(email, '@');
	size_t n = 0;
	int gmail;
	if (!at) {
		snprintf(out, len, "%s", email);
		return;
	}
	gmail = !strcmp(at, "@gmail.com") || !strcmp(at, "@googlemail.com");
	for (const char *p = email; p < at && n + 1 < len; p++) {
		if (*p == '+')
			break;
		if (gmail && *p == '.')
			continue;
		out[n++] = *p;
	}
	snprintf(out + n, len - n, "%s", gmail ? "@gmail.com" : at);
}

/* Why a candidate row ([id, email, unsub, suppression, consent, day_n, week_n]) is not sent,
 * or NULL. `seen` collects canonical addresses (duplicates within one send). */
static const char *skip_reason(const json_t *row, const rules *r, json_t *seen)
{
	const char *email = json_string_value(json_array_get(row, 1));
	const char *supp = json_string_value(json_array_get(row, 3));
	const char *consent = json_string_value(json_array_get(row, 4));
	char canon[400];
	if (!email || !*email)
		return "no_email";
	if (json_integer_value(json_array_get(row, 2)))
		return "unsubscribed";
	if (supp && !strcmp(supp, "complaint"))
		return "complained";
	if (supp)
		return "bounced";
	if (consent && (!strcmp(consent, "revoked") || !strcmp(consent, "denied")))
		return "no_consent";
	if (r->double_optin && consent && !strcmp(consent, "pending"))
		return "unconfirmed";
	if (r->require_consent && (!consent || strcmp(consent, "granted")))
		return "no_consent";
	if ((r->cap_day && json_integer_value(json_array_get(row, 5)) >= r->cap_day) ||
	    (r->cap_week && json_integer_value(json_array_get(row, 6)) >= r->cap_week))
		return "frequency_cap";
	canonical(email, canon, sizeof canon);
	if (seen) {
		if (json_object_get(seen, canon))
			return "duplicate";
		json_object_set_new(seen, canon, json_true());
	}
	return NULL;
}

/* The recipient rows of `email` for audience a, counting past sends only for the
 * frequency caps that are set. */
static int candidates_by(kz_conn *c, const json_t *email, const kz_recipients *a,
			 const rules *r, int64_t now, json_t **rows, kz_err *err)
{
	return kz_store_email_candidates(c, a, json_string_value(json_object_get(email, "topic")),
					 r->cap_day ? now - 86400000LL : 0,
					 r->cap_week ? now - 7 * 86400000LL : 0, rows, err);
}

static int load_candidates(kz_conn *c, const json_t *email, const kz_recipients *a, int64_t now,
			   json_t **rows, rules *r, kz_err *err)
{
	json_t *settings = NULL;
	if (kz_settings_load(c, NULL, &settings, err) < 0)
		return -1;
	rules_from(settings, r);
	json_decref(settings);
	return candidates_by(c, email, a, r, now, rows, err);
}

static void audience_of(const json_t *bc, kz_recipients *a)
{
	memset(a, 0, sizeof *a);
	a->segment_id = json_integer_value(json_object_get(bc, "segment_id"));
	a->tag = json_string_value(json_object_get(bc, "tag"));
	a->all = json_is_true(json_object_get(bc, "all_contacts"));
}

int kz_outbox_estimate(kz_conn *c, const json_t *email, const kz_recipients *a, int64_t now,
		       json_t **out, kz_err *err)
{
	json_t *rows = NULL, *seen = json_object(), *skipped = json_object(), *row;
	rules r;
	size_t i;
	int64_t n = 0;
	*out = NULL;
	if (load_candidates(c, email, a, now, &rows, &r, err) < 0) {
		json_decref(seen);
		json_decref(skipped);
		return -1;
	}
	json_array_foreach(rows, i, row) {
		const char *why = skip_reason(row, &r, seen);
		if (why)
			json_object_set_new(skipped, why,
					    json_integer(json_integer_value(json_object_get(skipped, why)) + 1));
		else
			n++;
	}
	*out = json_pack("{sIsIso}", "recipients", (json_int_t)n, "total",
			 (json_int_t)json_array_size(rows), "skipped", skipped);
	json_decref(rows);
	json_decref(seen);
	return 0;
}

/* The outbox row of one candidate ([id, email, ...]) of a broadcast or a journey step:
 * queued, or skipped for `why`. */
static int insert_send(kz_conn *c, const json_t *email, int64_t broadcast_id, int64_t journey_id,
		       const json_t *row, const char *dedupe, const char *why, int64_t now,
		       int64_t *id, kz_err *err)
{
	const char *to = json_string_value(json_array_get(row, 1));
	kz_send_row s = {
		.contact_id = json_integer_value(json_array_get(row, 0)),
		.email_id = json_integer_value(json_object_get(email, "id")),
		.broadcast_id = broadcast_id,
		.journey_id = journey_id,
		.kind = broadcast_id ? "broadcast" : "journey",
		.dedupe = dedupe,
		.to_email = to ? to : "",
		.status = why ? "skipped" : "queued",
		.reason = why,
		.next_at = now,
		.created_at = now,
	};
	return kz_store_send_insert(c, &s, id, err);
}

/* ------------------------------------------------------------------ A/B tests */

#define AB_NONE (-1) /* not an A/B broadcast, or skipped */
#define AB_HELD (-2) /* waits for the winner */

typedef struct ab_pick {
	uint64_t key;
	size_t row;
} ab_pick;

static int by_key(const void *a, const void *b)
{
	const ab_pick *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key ? 1 : x->row < y->row ? -1 : 1;
}

/* A stable shuffle: the same broadcast always splits its recipients the same way. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* The test share (test_percent of those who will get the broadcast, at least one per
 * variant) in shuffled order goes round the variants; everyone else is held. */
static void ab_split(const json_t *ab, int64_t broadcast_id, const json_t *rows,
		     const char **why, int *variant)
{
	size_t n = json_array_size(rows), m = 0, nvar, ntest;
	ab_pick *p = calloc(n ? n : 1, sizeof *p);
	if (!p)
		return;
	for (size_t i = 0; i < n; i++) {
		if (why[i])
			continue;
		p[m].key = mix((uint64_t)json_integer_value(json_array_get(json_array_get(rows, i), 0)) ^
			       mix((uint64_t)broadcast_id));
		p[m++].row = i;
	}
	qsort(p, m, sizeof *p, by_key);
	nvar = json_array_size(json_object_get(ab, "variants"));
	ntest = (size_t)ceil((double)m * (double)json_integer_value(json_object_get(ab, "test_percent")) /
			     100.0);
	if (ntest < nvar)
		ntest = nvar;
	for (size_t k = 0; k < m; k++)
		variant[p[k].row] = k < ntest ? (int)(k % nvar) : AB_HELD;
	free(p);
}

/* The winner by the test's metric (ties: the earlier variant); held rows get its email. */
static void ab_decide(kz_outbox *o, kz_conn *c, int64_t id, int64_t now)
{
	json_t *bc = NULL, *stats = NULL, *v;
	const char *metric;
	kz_err err;
	size_t i;
	int64_t winner = 0, released = 0;
	double best = -1;
	if (kz_tx_begin(c, 1, &err) < 0)
		return;
	if (kz_store_broadcast_get(c, id, &bc, &err) < 0 ||
	    kz_store_broadcast_ab_stats(c, id, &stats, &err) < 0)
		goto fail;
	metric = json_string_value(json_object_get(json_object_get(bc, "ab"), "metric"));
	/* variants in the order they were given, so a tie goes to the first */
	json_array_foreach(json_object_get(json_object_get(bc, "ab"), "variants"), i, v) {
		size_t j;
		json_t *st;
		json_array_foreach(stats, j, st) {
			double rate;
			if (json_integer_value(json_object_get(st, "email_id")) != json_integer_value(v))
				continue;
			rate = json_number_value(json_object_get(
				st, metric && !strcmp(metric, "click") ? "click_rate" : "open_rate"));
			if (rate > best) {
				best = rate;
				winner = json_integer_value(v);
			}
		}
	}
	if (!winner)
		winner = json_integer_value(json_object_get(bc, "email_id"));
	if (kz_store_broadcast_ab_release(c, id, winner, now, &released, &err) < 0 ||
	    kz_tx_commit(c, &err) < 0)
		goto fail;
	kz_info("email: broadcast %" PRId64 ": A/B winner email %" PRId64 " (%s rate %.3f), %" PRId64
		" more recipients queued",
		id, winner, metric ? metric : "open", best < 0 ? 0 : best, released);
	kz_outbox_kick(o);
	json_decref(bc);
	json_decref(stats);
	return;
fail:
	kz_tx_rollback(c);
	kz_error("email: broadcast %" PRId64 ": the A/B winner could not be chosen: %s", id,
		 err.message);
	json_decref(bc);
	json_decref(stats);
}

int kz_outbox_expand(kz_conn *c, int64_t broadcast_id, int64_t now, kz_err *err)
{
	json_t *bc = NULL, *email = NULL, *rows = NULL, *seen = NULL, *row, *ab;
	kz_recipients a;
	rules r;
	char dedupe[32];
	int64_t queued = 0;
	size_t i, n;
	const char **why = NULL;
	int *variant = NULL;
	int rc = -1;
	if (kz_store_broadcast_get(c, broadcast_id, &bc, err) < 0 ||
	    kz_store_email_get(c, json_integer_value(json_object_get(bc, "email_id")), &email,
			       err) < 0)
		goto out;
	if (strcmp(json_string_value(json_object_get(bc, "status")), "scheduled")) {
		rc = 0;
		goto out;
	}
	audience_of(bc, &a);
	if (load_candidates(c, email, &a, now, &rows, &r, err) < 0)
		goto out;
	seen = json_object();
	snprintf(dedupe, sizeof dedupe, "b%" PRId64, broadcast_id);
	ab = json_object_get(bc, "ab");
	n = json_array_size(rows);
	why = calloc(n ? n : 1, sizeof *why);
	variant = calloc(n ? n : 1, sizeof *variant);
	if (!why || !variant)
		goto out;
	json_array_foreach(rows, i, row) {
		why[i] = skip_reason(row, &r, seen);
		variant[i] = AB_NONE;
	}
	if (json_is_object(ab))
		ab_split(ab, broadcast_id, rows, why, variant);
	json_array_foreach(rows, i, row) {
		const char *to = json_string_value(json_array_get(row, 1));
		json_t *vars = json_object_get(ab, "variants");
		kz_send_row s = {
			.contact_id = json_integer_value(json_array_get(row, 0)),
			.email_id = json_integer_value(json_object_get(email, "id")),
			.broadcast_id = broadcast_id,
			.kind = "broadcast",
			.dedupe = dedupe,
			.to_email = to ? to : "",
			.status = why[i] ? "skipped" : "queued",
			.reason = why[i],
			.next_at = now,
			.created_at = now,
		};
		int64_t id;
		if (variant[i] == AB_HELD) {
			s.status = "held"; /* until the winner is known */
		} else if (variant[i] >= 0) {
			s.kind = "ab_test";
			s.email_id = json_integer_value(json_array_get(vars, (size_t)variant[i]));
		}
		if (kz_store_send_insert(c, &s, &id, err) < 0)
			goto out;
		queued += !why[i];
	}
	if (kz_store_broadcast_started(c, broadcast_id, queued, now, err) < 0)
		goto out;
	if (json_is_object(ab) && kz_store_broadcast_ab_start(c, broadcast_id,
						now + (int64_t)(json_number_value(json_object_get(
								       ab, "wait_minutes")) *
							       60000.0),
						err) < 0)
		goto out;
	rc = 0;
out:
	free(why);
	free(variant);
	json_decref(bc);
	json_decref(email);
	json_decref(rows);
	json_decref(seen);
	return rc;
}

int kz_outbox_candidates(kz_conn *c, const json_t *email, const json_t *settings,
			 const int64_t *ids, int n, int64_t now, json_t **by_id, kz_err *err)
{
	kz_recipients a = {0};
	json_t *list = json_array(), *rows = NULL, *row;
	rules r;
	char *text;
	size_t i;
	int rc;
	*by_id = NULL;
	for (int k = 0; k < n; k++)
		json_array_append_new(list, json_integer(ids[k]));
	text = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	if (!text)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	a.ids = text;
	rules_from(settings, &r);
	rc = candidates_by(c, email, &a, &r, now, &rows, err);
	free(text);
	if (rc < 0)
		return -1;
	*by_id = json_object();
	json_array_foreach(rows, i, row)
	{
		char key[24];
		snprintf(key, sizeof key, "%" PRId64, (int64_t)json_integer_value(json_array_get(row, 0)));
		json_object_set(*by_id, key, row);
	}
	json_decref(rows);
	return 0;
}

int kz_outbox_queue_row(kz_conn *c, const json_t *email, const json_t *settings,
			const json_t *row, int64_t journey_id, const char *dedupe, int64_t now,
			int64_t *send_id, const char **reason, kz_err *err)
{
	rules r;
	const char *why;
	*send_id = 0;
	*reason = NULL;
	if (!row) {
		*reason = "no_contact";
		return 0;
	}
	rules_from(settings, &r);
	why = skip_reason(row, &r, NULL);
	if (insert_send(c, email, 0, journey_id, row, dedupe, why, now, send_id, err) < 0)
		return -1;
	*reason = why;
	return 0;
}

int kz_outbox_queue_contact(kz_conn *c, const json_t *email, const json_t *settings,
			    int64_t contact_id, int64_t journey_id, const char *dedupe, int64_t now,
			    int64_t *send_id, const char **reason, kz_err *err)
{
	json_t *rows = NULL, *loaded = NULL;
	kz_recipients a = {0, NULL, 0, contact_id, NULL};
	rules r;
	int rc = -1;
	*send_id = 0;
	*reason = NULL;
	if (!settings) {
		if (kz_settings_load(c, NULL, &loaded, err) < 0)
			return -1;
		settings = loaded;
	}
	rules_from(settings, &r);
	if (candidates_by(c, email, &a, &r, now, &rows, err) == 0)
		rc = kz_outbox_queue_row(c, email, settings, json_array_get(rows, 0), journey_id,
					 dedupe, now, send_id, reason, err);
	json_decref(rows);
	json_decref(loaded);
	return rc;
}

/* ------------------------------------------------------------------ building a message */

static const char *domain_of(const char *email)
{
	const char *at = email ? strrchr(email, '@') : NULL;
	return at && at[1] ? at + 1 : "localhost";
}

int kz_outbox_build(kz_outbox *o, kz_conn *c, const json_t *email, const json_t *settings,
		    int64_t contact_id, int64_t send_id, const char *to, json_t *vars,
		    char **msg, size_t *len, char env_from[400], kz_err *err)
{
	kz_render_opts ro = {o->base_url, o->secret, contact_id, send_id, 1, settings, NULL};
	kz_rendered r;
	const char *from = json_string_value(json_object_get(email, "from_email"));
	const char *from_name = json_string_value(json_object_get(email, "from_name"));
	const char *reply = json_string_value(json_object_get(email, "reply_to"));
	const char *dom;
	char tok[96], msgid[200], mailto[300], ref[160];
	kz_mail m;
	kz_buf body, signed_msg;
	int rc = -1;
	(void)c;
	if (!from || !*from)
		from = json_string_value(json_object_get(settings, "sender_email"));
	if (!from || !*from)
		return kz_err_set(err, 422, "missing_field", "from_email",
				  "the email has no from_email and no sender_email is set in "
				  "Settings");
	if (!from_name || !*from_name)
		from_name = json_string_value(json_object_get(settings, "sender_name"));
	if (!reply || !*reply)
		reply = json_string_value(json_object_get(settings, "reply_to"));
	if (kz_email_render(email, vars, &ro, &r, err) < 0)
		return -1;
	dom = o->bounce_domain ? o->bounce_domain : domain_of(from);
	kz_email_token(o->secret, contact_id, send_id, tok);
	snprintf(msgid, sizeof msgid, "kz.%" PRId64 ".%.12s@%s", send_id, strrchr(tok, '-') + 1,
		 domain_of(from));
	snprintf(env_from, 400, "bounce+%s@%s", tok, dom);
	snprintf(mailto, sizeof mailto, "unsubscribe+%s@%s", tok, dom);
	snprintf(ref, sizeof ref, "%s", tok);
	memset(&m, 0, sizeof m);
	m.from_name = from_name;
	m.from_email = from;
	m.to_email = to;
	m.reply_to = reply;
	m.subject = r.subject;
	m.html = r.html;
	m.text = r.text;
	m.message_id = msgid;
	m.date_ms = kz_now_ms();
	m.unsub_url = r.unsub_url;
	m.unsub_mailto = mailto;
	m.send_ref = ref;
	if (!strcmp(kz_transport_name_of(o), "maildir"))
		m.return_path = env_from;
	kz_buf_init(&body, 0);
	kz_buf_init(&signed_msg, 0);
	if (kz_mime_build(&m, &body, err) < 0)
		goto out;
	if (o->dkim) {
		if (kz_dkim_sign(o->dkim, body.data, body.len, m.date_ms / 1000, &signed_msg, err) < 0)
			goto out;
		kz_buf_add(&signed_msg, body.data, body.len);
		*msg = kz_buf_detach(&signed_msg, len);
	} else {
		*msg = kz_buf_detach(&body, len);
	}
	rc = 0;
out:
	kz_buf_release(&body);
	kz_buf_release(&signed_msg);
	kz_rendered_release(&r);
	return rc;
}

/* ------------------------------------------------------------------ sending */

/* Re-check at send time what may have changed since the row was queued. */
static const char *late_skip(kz_conn *c, const json_t *row, const json_t *email, kz_err *err)
{
	int64_t cid = json_integer_value(json_object_get(row, "contact_id"));
	const char *kind = json_string_value(json_object_get(row, "kind"));
	json_t *cands = NULL;
	kz_recipients a = {0, NULL, 0, cid, NULL};
	rules r;
	const char *why = NULL;
	if (!cid || !strcmp(kind, "test") || !strcmp(kind, "notify"))
		return NULL; /* to the address given, not to the contact */
	if (load_candidates(c, email, &a, kz_now_ms(), &cands, &r, err) < 0)
		return NULL;
	r.cap_day = r.cap_week = 0; /* counted when queued */
	if (!strcmp(kind, "optin")) /* the confirmation asks for the consent (and resubscribes) */
		r.require_consent = r.double_optin = 0;
	if (json_array_size(cands)) {
		why = skip_reason(json_array_get(cands, 0), &r, NULL);
		if (why && (!strcmp(why, "no_email") ||
			    (!strcmp(kind, "optin") && !strcmp(why, "unsubscribed"))))
			why = NULL; /* the row carries its address */
	}
	json_decref(cands);
	return why;
}

static void rate_wait(kz_outbox *o)
{
	double wait = 0;
	if (o->cfg.rate <= 0)
		return;
	pthread_mutex_lock(&o->mu);
	{
		double t = now_s();
		if (o->next_slot < t)
			o->next_slot = t;
		wait = o->next_slot - t;
		o->next_slot += 1.0 / o->cfg.rate;
	}
	pthread_mutex_unlock(&o->mu);
	if (wait > 0) {
		struct timespec ts = {(time_t)wait, (long)((wait - floor(wait)) * 1e9)};
		nanosleep(&ts, NULL);
	}
}

/* Record an outcome in one transaction. */
static void finish(kz_outbox *o, const json_t *row, const char *status, const char *reason,
		   const char *error, const char *msgid, int64_t next_at, const char *event,
		   const char *mark)
{
	int64_t id = json_integer_value(json_object_get(row, "id"));
	int64_t cid = json_integer_value(json_object_get(row, "contact_id"));
	int64_t now = kz_now_ms();
	kz_conn *c = kz_store_acquire(o->store);
	kz_err err;
	int first;
	if (kz_tx_begin(c, 1, &err) < 0)
		goto fail;
	if (kz_store_send_finish(c, id, status, reason, error, msgid, now, next_at, &err) < 0)
		goto fail_tx;
	if (mark && kz_store_send_mark(c, id, mark, now, &first, &err) < 0)
		goto fail_tx;
	if (mark && !strcmp(mark, "hard")) {
		const char *to = json_string_value(json_object_get(row, "to_email"));
		int64_t bid;
		if (kz_store_bounce_insert(c, cid, id, to, "hard", "5.0.0", error, now, &bid, &err) <
			    0 ||
		    kz_store_suppress(c, to, cid, "hard_bounce", error, now, &err) < 0)
			goto fail_tx;
	}
	if (event && strcmp(json_string_value(json_object_get(row, "kind")), "test") &&
	    strcmp(json_string_value(json_object_get(row, "kind")), "notify"))
		kz_email_event(c, row, event, NULL, now);
	if (kz_tx_commit(c, &err) < 0)
		goto fail;
	kz_store_release(c);
	return;
fail_tx:
	kz_tx_rollback(c);
fail:
	kz_store_release(c);
	kz_error("email: cannot record the outcome of send %" PRId64 ": %s (the lease will "
		 "expire and it is tried again)",
		 id, err.message);
}

static void deliver(kz_outbox *o, kz_transport *t, const json_t *row)
{
	int64_t id = json_integer_value(json_object_get(row, "id"));
	int64_t cid = json_integer_value(json_object_get(row, "contact_id"));
	int64_t attempts = json_integer_value(json_object_get(row, "attempts"));
	const char *to = json_string_value(json_object_get(row, "to_email"));
	json_t *email = NULL, *settings = NULL, *vars = NULL;
	char *msg = NULL, env_from[400], msgid[200] = "";
	size_t len = 0;
	const char *why;
	kz_conn *c = kz_store_acquire(o->store);
	kz_err err;
	int rc;
	kz_err_clear(&err);
	if (kz_store_email_get(c, json_integer_value(json_object_get(row, "email_id")), &email,
			       &err) < 0 ||
	    kz_settings_load(c, NULL, &settings, &err) < 0) {
		kz_store_release(c);
		finish(o, row, "failed", NULL, err.message, NULL, 0, NULL, NULL);
		goto out;
	}
	why = late_skip(c, row, email, &err);
	if (why) {
		kz_store_release(c);
		finish(o, row, "skipped", why, NULL, NULL, 0, NULL, NULL);
		__atomic_add_fetch(&o->skipped, 1, __ATOMIC_RELAXED);
		goto out;
	}
	vars = kz_email_vars(c, email, cid, &err);
	if (vars && !strcmp(json_string_value(json_object_get(row, "kind")), "optin")) {
		char tok[96], url[700];
		kz_email_token(o->secret, cid, id, tok);
		snprintf(url, sizeof url, "%s/u/%s/confirm", o->base_url ? o->base_url : "", tok);
		json_object_set_new(vars, "confirm_url", json_string(url));
	}
	rc = vars ? kz_outbox_build(o, c, email, settings, cid, id, to, vars, &msg, &len, env_from,
				    &err)
		  : -1;
	kz_store_release(c);
	if (rc < 0) {
		finish(o, row, "failed", NULL, err.message, NULL, 0, NULL, NULL);
		__atomic_add_fetch(&o->failed, 1, __ATOMIC_RELAXED);
		goto out;
	}
	{
		const char *mid = strstr(msg, "Message-ID: <");
		const char *e = mid ? strchr(mid + 13, '>') : NULL;
		if (e && e - mid - 13 < (long)sizeof msgid)
			snprintf(msgid, sizeof msgid, "%.*s", (int)(e - mid - 13), mid + 13);
	}
	rate_wait(o);
	rc = kz_transport_send(t, env_from, to, msg, len, &err);
	if (rc == 0) {
		finish(o, row, "sent", NULL, NULL, msgid, 0, "email_sent", NULL);
		__atomic_add_fetch(&o->sent, 1, __ATOMIC_RELAXED);
	} else if (rc == KZ_SEND_PERM) {
		finish(o, row, "bounced", NULL, err.message, msgid, 0, "email_bounced", "hard");
		__atomic_add_fetch(&o->failed, 1, __ATOMIC_RELAXED);
	} else if (attempts >= o->cfg.max_attempts) {
		finish(o, row, "failed", NULL, err.message, msgid, 0, NULL, NULL);
		__atomic_add_fetch(&o->failed, 1, __ATOMIC_RELAXED);
	} else {
		double delay = o->cfg.retry_seconds * pow(2, (double)(attempts - 1));
		if (delay > 3600)
			delay = 3600;
		kz_warn("email: send %" PRId64 " to %s failed for now (%s); retry %d in %.0f s", id,
			to, err.message, (int)attempts, delay);
		finish(o, row, "queued", NULL, err.message, NULL,
		       kz_now_ms() + (int64_t)(delay * 1000), NULL, NULL);
		__atomic_add_fetch(&o->retried, 1, __ATOMIC_RELAXED);
	}
out:
	free(msg);
	json_decref(email);
	json_decref(settings);
	json_decref(vars);
}

/* Sleep until kicked or `ms` passed; returns 1 when stopping. */
static int idle(kz_outbox *o, int ms)
{
	struct timespec ts;
	int stop;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&o->mu);
	if (!o->stop && !o->kicks)
		pthread_cond_timedwait(&o->cv, &o->mu, &ts);
	if (o->kicks)
		o->kicks--;
	stop = o->stop;
	pthread_mutex_unlock(&o->mu);
	return stop;
}

static int stopping(kz_outbox *o)
{
	int s;
	pthread_mutex_lock(&o->mu);
	s = o->stop;
	pthread_mutex_unlock(&o->mu);
	return s;
}

static void *sender_main(void *arg)
{
	kz_outbox *o = arg;
	kz_transport *t = o->maildir_t, *own = NULL;
	kz_err err;
	prctl(PR_SET_NAME, "kz-mail-sender", 0, 0, 0); /* visible in top -H, perf, gdb */
	if (o->smtp_url) {
		own = kz_smtp_new(o->smtp_url, o->smtp_tls, 10, &err);
		t = own;
	}
	while (t && !stopping(o)) {
		json_t *rows = NULL, *row;
		size_t i;
		int64_t now = kz_now_ms();
		kz_conn *c = kz_store_acquire(o->store);
		int rc = kz_tx_begin(c, 1, &err);
		if (rc == 0) {
			rc = kz_store_send_claim(c, now, now + (int64_t)o->cfg.lease_seconds * 1000,
						 CLAIM_BATCH, &rows, &err);
			if (rc == 0)
				rc = kz_tx_commit(c, &err);
			else
				kz_tx_rollback(c);
		}
		kz_store_release(c);
		if (rc < 0) {
			kz_warn("email: cannot claim sends: %s", err.message);
			json_decref(rows);
			if (idle(o, 1000))
				break;
			continue;
		}
		if (!json_array_size(rows)) {
			json_decref(rows);
			if (idle(o, 500))
				break;
			continue;
		}
		json_array_foreach(rows, i, row) {
			if (stopping(o)) /* not tried: back in the queue now, not after the lease */
				finish(o, row, "queued", NULL, NULL, NULL, kz_now_ms(), NULL, NULL);
			else
				deliver(o, t, row);
		}
		json_decref(rows);
	}
	kz_transport_free(own);
	return NULL;
}

static void *scheduler_main(void *arg)
{
	kz_outbox *o = arg;
	prctl(PR_SET_NAME, "kz-mail-sched", 0, 0, 0); /* visible in top -H, perf, gdb */
	do {
		json_t *ids = NULL, *v;
		size_t i;
		kz_err err;
		int64_t now = kz_now_ms();
		kz_conn *c = kz_store_acquire(o->store);
		if (kz_store_broadcast_due(c, now, 10, &ids, &err) < 0)
			kz_warn("email: cannot list due broadcasts: %s", err.message);
		json_array_foreach(ids, i, v) {
			int64_t id = json_integer_value(v);
			if (kz_tx_begin(c, 1, &err) < 0)
				break;
			if (kz_outbox_expand(c, id, now, &err) < 0 || kz_tx_commit(c, &err) < 0) {
				kz_tx_rollback(c);
				kz_error("email: broadcast %" PRId64 " could not start: %s", id,
					 err.message);
				continue;
			}
			kz_info("email: broadcast %" PRId64 " started", id);
			kz_outbox_kick(o);
		}
		json_decref(ids);
		ids = NULL;
		if (kz_store_broadcast_ab_due(c, now, &ids, &err) < 0)
			kz_warn("email: cannot list A/B tests to decide: %s", err.message);
		json_array_foreach(ids, i, v) ab_decide(o, c, json_integer_value(v), now);
		json_decref(ids);
		if (kz_tx_begin(c, 1, &err) == 0) {
			if (kz_store_broadcast_finish(c, now, &err) < 0 || kz_tx_commit(c, &err) < 0)
				kz_tx_rollback(c);
		}
		kz_store_release(c);
	} while (!idle(o, 1000));
	return NULL;
}

/* ------------------------------------------------------------------ lifecycle */

const char *kz_transport_name_of(const kz_outbox *o)
{
	return o->smtp_url ? "smtp" : "maildir";
}

/* The transport and signer a configuration asks for, checked before anything changes. */
static int prepare(const kz_outbox_config *cfg, const char *maildir, kz_transport **md,
		   kz_dkim **dk, kz_err *err)
{
	*md = NULL;
	*dk = NULL;
	if (!cfg->smtp_url) {
		*md = kz_maildir_new(maildir, err);
		if (!*md)
			return -1;
	} else {
		kz_transport *probe = kz_smtp_new(cfg->smtp_url, cfg->smtp_tls, 10, err);
		if (!probe)
			return -1;
		kz_transport_free(probe);
	}
	if (cfg->dkim_domain && cfg->dkim_selector && cfg->dkim_key_pem) {
		*dk = kz_dkim_new(cfg->dkim_domain, cfg->dkim_selector, cfg->dkim_key_pem, err);
		if (!*dk) {
			kz_transport_free(*md);
			*md = NULL;
			return -1;
		}
	}
	return 0;
}

static void limits(kz_outbox_config *c)
{
	if (c->connections <= 0)
		c->connections = 4;
	if (c->connections > MAX_SENDERS)
		c->connections = MAX_SENDERS;
	if (c->retry_seconds <= 0)
		c->retry_seconds = 30;
	if (c->max_attempts <= 0)
		c->max_attempts = 8;
	if (c->lease_seconds <= 0)
		c->lease_seconds = 300;
}

static void start_threads(kz_outbox *o)
{
	o->stop = 0;
	o->nsenders = 0;
	for (int i = 0; i < o->cfg.connections; i++)
		if (pthread_create(&o->senders[o->nsenders], NULL, sender_main, o) == 0)
			o->nsenders++;
	o->scheduler_started = pthread_create(&o->scheduler, NULL, scheduler_main, o) == 0;
}

/* Each sender finishes the message in hand; the rows it had claimed go back to the queue. */
static void stop_threads(kz_outbox *o)
{
	pthread_mutex_lock(&o->mu);
	o->stop = 1;
	pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->mu);
	for (int i = 0; i < o->nsenders; i++)
		pthread_join(o->senders[i], NULL);
	if (o->scheduler_started)
		pthread_join(o->scheduler, NULL);
	o->nsenders = 0;
	o->scheduler_started = 0;
}

kz_outbox *kz_outbox_start(kz_store *store, const kz_outbox_config *cfg, kz_err *err)
{
	kz_outbox *o = calloc(1, sizeof *o);
	kz_conn *c;
	if (!o)
		return NULL;
	o->store = store;
	o->cfg = *cfg;
	o->smtp_url = dup_or_null(cfg->smtp_url);
	o->smtp_tls = dup_or_null(cfg->smtp_tls);
	o->maildir = dup_or_null(cfg->maildir ? cfg->maildir : "./data/outbox");
	o->base_url = strdup(cfg->base_url ? cfg->base_url : "http://127.0.0.1:8080");
	o->bounce_domain = dup_or_null(cfg->bounce_domain);
	limits(&o->cfg);
	pthread_mutex_init(&o->mu, NULL);
	pthread_mutex_init(&o->reconf_mu, NULL);
	pthread_cond_init(&o->cv, NULL);
	if (prepare(cfg, o->maildir, &o->maildir_t, &o->dkim, err) < 0)
		goto fail;
	c = kz_store_acquire(store);
	if (kz_email_secret(c, o->secret, err) < 0) {
		kz_store_release(c);
		goto fail;
	}
	kz_store_release(c);
	start_threads(o);
	return o;
fail:
	kz_outbox_stop(o);
	return NULL;
}

int kz_outbox_check(const kz_outbox_config *cfg, kz_err *err)
{
	/* not prepare(): a Maildir check would create folders; only SMTP and DKIM matter here */
	if (cfg->smtp_url) {
		kz_transport *probe = kz_smtp_new(cfg->smtp_url, cfg->smtp_tls, 10, err);
		if (!probe)
			return -1;
		kz_transport_free(probe);
	}
	if (cfg->dkim_domain && cfg->dkim_selector && cfg->dkim_key_pem) {
		kz_dkim *dk = kz_dkim_new(cfg->dkim_domain, cfg->dkim_selector, cfg->dkim_key_pem, err);
		if (!dk)
			return -1;
		kz_dkim_free(dk);
	}
	return 0;
}

int kz_outbox_reconfigure(kz_outbox *o, const kz_outbox_config *cfg, kz_err *err)
{
	kz_transport *md;
	kz_dkim *dk;
	if (prepare(cfg, o->maildir, &md, &dk, err) < 0)
		return -1;
	pthread_mutex_lock(&o->reconf_mu);
	stop_threads(o);
	pthread_mutex_lock(&o->mu);
	kz_transport_free(o->maildir_t);
	kz_dkim_free(o->dkim);
	free(o->smtp_url);
	free(o->smtp_tls);
	o->maildir_t = md;
	o->dkim = dk;
	o->smtp_url = dup_or_null(cfg->smtp_url);
	o->smtp_tls = dup_or_null(cfg->smtp_tls);
	o->cfg.connections = cfg->connections;
	o->cfg.rate = cfg->rate;
	o->cfg.from_env = cfg->from_env;
	limits(&o->cfg);
	pthread_mutex_unlock(&o->mu);
	start_threads(o);
	pthread_mutex_unlock(&o->reconf_mu);
	kz_info("email: delivery reconfigured: %s%s", o->smtp_url ? "SMTP" : "the local outbox",
		o->dkim ? ", DKIM-signed" : "");
	return 0;
}

void kz_outbox_from_delivery(kz_outbox_config *cfg, const kz_delivery *d)
{
	cfg->smtp_url = d->smtp_url;
	cfg->smtp_tls = d->smtp_tls;
	if (d->connections > 0)
		cfg->connections = d->connections;
	if (d->rate > 0)
		cfg->rate = d->rate;
	cfg->dkim_domain = d->dkim_domain;
	cfg->dkim_selector = d->dkim_selector;
	cfg->dkim_key_pem = d->dkim_key_pem;
	cfg->from_env = 0;
}

int kz_outbox_from_env(const kz_outbox *o)
{
	return o->cfg.from_env;
}

int kz_outbox_send_test(kz_outbox *o, const json_t *settings, const char *to, kz_err *err)
{
	const char *from = json_string_value(json_object_get(settings, "sender_email"));
	char msgid[120], hex[17];
	kz_transport *t = NULL;
	kz_buf body, sig;
	kz_mail m;
	int rc = -1;
	if (!from || !*from)
		return kz_err_set(err, 422, "missing_setting", "sender_email",
				  "set the sender email in Settings before sending a test");
	kz_random_hex(hex, 8);
	memset(&m, 0, sizeof m);
	m.from_name = json_string_value(json_object_get(settings, "sender_name"));
	m.from_email = from;
	m.to_email = to;
	m.subject = "Kizuna: 配信設定のテスト / delivery settings test";
	m.text = "このメールが届いていれば、Kizuna の配信設定は正しく動いています。\n\n"
		 "If you can read this, Kizuna's delivery settings work.\n";
	snprintf(msgid, sizeof msgid, "kz.test.%s@%s", hex, domain_of(from));
	m.message_id = msgid;
	m.date_ms = kz_now_ms();
	kz_buf_init(&body, 0);
	kz_buf_init(&sig, 0);
	pthread_mutex_lock(&o->reconf_mu);
	if (kz_mime_build(&m, &body, err) < 0)
		goto out;
	if (o->dkim) {
		if (kz_dkim_sign(o->dkim, body.data, body.len, m.date_ms / 1000, &sig, err) < 0)
			goto out;
		kz_buf_add(&sig, body.data, body.len);
		kz_buf_release(&body);
		body = sig;
		kz_buf_init(&sig, 0);
	}
	t = o->smtp_url ? kz_smtp_new(o->smtp_url, o->smtp_tls, 10, err) : NULL;
	if (o->smtp_url && !t)
		goto out;
	rc = kz_transport_send(t ? t : o->maildir_t, from, to, body.data, body.len, err);
	if (rc != 0)
		rc = -1;
out:
	pthread_mutex_unlock(&o->reconf_mu);
	kz_transport_free(t);
	kz_buf_release(&body);
	kz_buf_release(&sig);
	return rc;
}

void kz_outbox_stop(kz_outbox *o)
{
	if (!o)
		return;
	stop_threads(o);
	kz_transport_free(o->maildir_t);
	kz_dkim_free(o->dkim);
	free(o->smtp_url);
	free(o->smtp_tls);
	free(o->maildir);
	free(o->base_url);
	free(o->bounce_domain);
	pthread_mutex_destroy(&o->mu);
	pthread_mutex_destroy(&o->reconf_mu);
	pthread_cond_destroy(&o->cv);
	free(o);
}

void kz_outbox_kick(kz_outbox *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->mu);
	o->kicks = o->nsenders + 1;
	pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->mu);
}

json_t *kz_outbox_describe(const kz_outbox *co)
{
	kz_outbox *o = (kz_outbox *)co; /* the lock is not part of what it describes */
	char loc[600];
	json_t *out;
	pthread_mutex_lock(&o->mu);
	if (o->smtp_url) {
		/* never show the password */
		const char *at = strrchr(o->smtp_url, '@');
		const char *scheme_end = strstr(o->smtp_url, "://");
		if (at && scheme_end)
			snprintf(loc, sizeof loc, "%.*s://%s", (int)(scheme_end - o->smtp_url),
				 o->smtp_url, at + 1);
		else
			snprintf(loc, sizeof loc, "%s", o->smtp_url);
	} else {
		snprintf(loc, sizeof loc, "%s/new", o->maildir);
	}
	out = json_pack("{ssssss?sfsiss}", "transport", kz_transport_name_of(o), "location", loc,
			"dkim", o->dkim ? kz_dkim_algorithm(o->dkim) : NULL, "rate", o->cfg.rate,
			"connections", o->cfg.connections, "configured_by",
			o->cfg.from_env ? "environment" : "settings");
	pthread_mutex_unlock(&o->mu);
	return out;
}

void kz_outbox_metrics(const kz_outbox *o, char *buf, size_t len)
{
	snprintf(buf, len,
		 "# TYPE kizuna_email_sent_total counter\nkizuna_email_sent_total %" PRIu64 "\n"
		 "# TYPE kizuna_email_failed_total counter\nkizuna_email_failed_total %" PRIu64 "\n"
		 "# TYPE kizuna_email_retried_total counter\nkizuna_email_retried_total %" PRIu64
		 "\n",
		 o->sent, o->failed, o->retried);
}
