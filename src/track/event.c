/* event.c — validating Segment-style events (track, page, identify, alias) into kz_track_event. */
#include "track/event.h"
#include "base/json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanse.h"
#include "base/timeutil.h"

#include "base/banned.h"

#define MAX_NAME 200
#define MAX_ID 200
#define MAX_DOC 32768 /* properties, traits, context: compact JSON bytes */
#define MAX_URL 2048
#define MAX_TITLE 512
#define MAX_SHORT 256
#define FUTURE_SLACK_MS ((int64_t)24 * 3600 * 1000)

const char *kz_track_type_name(kz_ev_type t)
{
	switch (t) {
	case KZ_EV_TRACK:
		return "track";
	case KZ_EV_PAGE:
		return "page";
	case KZ_EV_IDENTIFY:
		return "identify";
	case KZ_EV_ALIAS:
		return "alias";
	}
	return "track";
}

void kz_track_event_release(kz_track_event *ev)
{
	free(ev->name);
	free(ev->message_id);
	free(ev->anon_id);
	free(ev->user_id);
	free(ev->previous_id);
	free(ev->email);
	json_decref(ev->properties);
	json_decref(ev->traits);
	json_decref(ev->context);
	free(ev->properties_text);
	free(ev->context_text);
	memset(ev, 0, sizeof *ev);
}

/* ---- small helpers ---- */

/* Copy at most max bytes of s, cut back to a UTF-8 character boundary. */
static char *dup_cut(const char *s, size_t max)
{
	size_t n = strlen(s);
	char *out;
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	out = malloc(n + 1);
	if (!out)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

/* An identifier: a non-empty string (or a number, as Segment allows) of at most MAX_ID bytes.
 * 0 with *out NULL when absent or null; -1 when malformed. */
static int get_id(const json_t *in, const char *key, char **out, kz_err *err)
{
	const json_t *v = json_object_get(in, key);
	char buf[32];
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		*out = strdup(buf);
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > MAX_ID ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return kz_err_set(err, 422, "invalid_field", key,
				  "%s must be a non-empty string of at most %d bytes", key, MAX_ID);
	*out = strdup(json_string_value(v));
	return 0;
}

/* An object member that must be an object when present; a new reference (an empty object
 * when absent) or NULL with err filled. */
/* The document in[key] ({} when absent), shared with the body (not copied: the body is the
 * request's own and is freed after it). Its size is checked where its text is made. */
static json_t *get_doc(const json_t *in, const char *key, kz_err *err)
{
	json_t *v = json_object_get(in, key);
	if (!v || json_is_null(v))
		return json_object();
	if (!json_is_object(v)) {
		kz_err_set(err, 422, "invalid_field", key, "%s must be a JSON object", key);
		return NULL;
	}
	return json_incref(v);
}

/* Compact text of doc; NULL with err when it is larger than MAX_DOC (or out of memory). */
static char *doc_text(const json_t *doc, const char *key, kz_err *err)
{
	char *text = kz_json_dumps(doc);
	if (!text) {
		kz_err_set(err, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	if (strlen(text) > MAX_DOC) {
		free(text);
		kz_err_set(err, 422, "invalid_field", key, "%s is larger than %d bytes", key,
			   MAX_DOC);
		return NULL;
	}
	return text;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *kz_track_url_param(const char *url, const char *key)
{
	const char *q = url ? strchr(url, '?') : NULL;
	size_t klen = strlen(key);
	if (!q)
		return NULL;
	q++;
	while (*q && *q != '#') {
		size_t seg = strcspn(q, "&#");
		if (seg > klen && !strncmp(q, key, klen) && q[klen] == '=') {
			const char *v = q + klen + 1;
			size_t vlen = seg - klen - 1, o = 0;
			char *out = malloc(vlen + 1);
			if (!out)
				return NULL;
			for (size_t i = 0; i < vlen; i++) {
				if (v[i] == '+') {
					out[o++] = ' ';
				} else if (v[i] == '%' && i + 2 < vlen && hexval(v[i + 1]) >= 0 &&
					   hexval(v[i + 2]) >= 0) {
					out[o++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
					i += 2;
				} else {
					out[o++] = v[i];
				}
			}
			out[o] = '\0';
			if (!o || !kz_utf8_valid(out, o) || memchr(out, 0, o)) {
				free(out);
				return NULL;
			}
			return out;
		}
		q += seg;
		if (*q == '&')
			q++;
	}
	return NULL;
}

char *kz_track_url_host(const char *url)
{
	const char *p;
	size_t n;
	char *out;
	if (!url)
		return NULL;
	if (!strncasecmp(url, "https://", 8))
		p = url + 8;
	else if (!strncasecmp(url, "http://", 7))
		p = url + 7;
	else
		return NULL;
	/* The authority ends at the path, query or fragment; a user:password@ before the host
	 * is not the host (https://user:pw@evil.example must not read as "user"). */
	n = strcspn(p, "/?#");
	for (size_t i = n; i > 0; i--)
		if (p[i - 1] == '@') {
			p += i;
			n -= i;
			break;
		}
	n = strcspn(p, "/?#:") < n ? strcspn(p, "/?#:") : n;
	while (n > 0 && p[n - 1] == '.') /* "example.jp." is example.jp */
		n--;
	if (n > 4 && !strncasecmp(p, "www.", 4)) {
		p += 4;
		n -= 4;
	}
	while (n > 0 && p[n - 1] == '.')
		n--;
	if (n == 0)
		return NULL;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[n] = '\0';
	return out;
}

/* ---- context ---- */

/* The stored context is written as JSON text while it is picked out of the event: no tree
 * is built for it on the request's thread (the writer reads the text back). Members:
 * the unknown members of the event's context as they came, then url, path, title,
 * referrer, utm_*, lang, screen, ip, ua — each only when it has a value. */
typedef struct ctx_out {
	kz_buf *b;
	int n; /* members written */
} ctx_out;

static void out_key(ctx_out *o, const char *key)
{
	kz_buf_addc(o->b, o->n++ ? ',' : '{');
	kz_json_dump_str(key, strlen(key), o->b);
	kz_buf_addc(o->b, ':');
}

/* key: s cut to max bytes (back to a UTF-8 character boundary); s is valid UTF-8. */
static void out_cut(ctx_out *o, const char *key, const char *s, size_t n, size_t max)
{
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	out_key(o, key);
	kz_json_dump_str(s, n, o->b);
}

/* The first non-empty string among the candidates (its length in *n), or NULL. */
static const char *pick(size_t *n, const json_t *a, const json_t *b, const json_t *c)
{
	const json_t *cand[3] = {a, b, c};
	for (int i = 0; i < 3; i++) {
		const char *s = json_string_value(cand[i]);
		if (s && *s) {
			*n = json_string_length(cand[i]);
			return s;
		}
	}
	return NULL;
}

static int out_pick(ctx_out *o, const char *key, size_t max, const json_t *a, const json_t *b,
		    const json_t *c)
{
	size_t n = 0;
	const char *s = pick(&n, a, b, c);
	if (s)
		out_cut(o, key, s, n, max);
	return s != NULL;
}

/* The path of an absolute URL ("/" when it has none), or NULL. */
static const char *path_of(const char *url, size_t *n)
{
	const char *p = url ? strstr(url, "://") : NULL;
	if (!p)
		return NULL;
	p = strchr(p + 3, '/');
	if (!p)
		p = "/";
	*n = strcspn(p, "?#");
	return p;
}

static const char *const utm_keys[][2] = {
	{"utm_source", "source"}, {"utm_medium", "medium"},   {"utm_campaign", "name"},
	{"utm_term", "term"},     {"utm_content", "content"},
};

static int known_member(const char *k)
{
	static const char *const known[] = {"page",	 "campaign", "userAgent", "locale", "language",
					    "webdriver", "screen",   "ip",	  "ua",	    "url",
					    "path",	 "title",    "referrer",  "lang"};
	if (!strncmp(k, "utm_", 4))
		return 1;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (!strcmp(k, known[i]))
			return 1;
	return 0;
}

/* Flatten Segment's context (page, campaign, userAgent, locale, screen) and page
 * properties into the stored context's text (malloc'd), or NULL with err. */
static char *build_context(const json_t *in, const json_t *props, const kz_track_src *src,
			   int *headless, kz_err *err)
{
	const json_t *raw = json_object_get(in, "context");
	const json_t *page, *campaign, *screen;
	const char *k, *url, *path;
	char *url_cut = NULL;
	size_t url_len = 0, path_len = 0;
	json_t *v;
	kz_buf b;
	ctx_out o = {&b, 0};
	if (raw && !json_is_null(raw) && !json_is_object(raw)) {
		kz_err_set(err, 422, "invalid_field", "context", "context must be a JSON object");
		return NULL;
	}
	kz_buf_init(&b, 0);
	page = json_object_get(raw, "page");
	campaign = json_object_get(raw, "campaign");
	json_object_foreach((json_t *)raw, k, v) {
		if (!known_member(k)) {
			out_key(&o, k);
			kz_json_dump(v, &b);
		}
	}
	url = pick(&url_len, json_object_get(page, "url"), json_object_get(raw, "url"),
		   json_object_get(props, "url"));
	if (url && url_len > MAX_URL) {
		/* the cut URL is the one stored, and the one the path and UTM values come from */
		url = url_cut = dup_cut(url, MAX_URL);
		url_len = url ? strlen(url) : 0;
	}
	if (url)
		out_cut(&o, "url", url, url_len, MAX_URL);
	path = pick(&path_len, json_object_get(page, "path"), json_object_get(raw, "path"),
		    json_object_get(props, "path"));
	if (!path)
		path = path_of(url, &path_len);
	if (path)
		out_cut(&o, "path", path, path_len, MAX_URL);
	out_pick(&o, "title", MAX_TITLE, json_object_get(page, "title"),
		 json_object_get(raw, "title"), json_object_get(props, "title"));
	out_pick(&o, "referrer", MAX_URL, json_object_get(page, "referrer"),
		 json_object_get(raw, "referrer"), json_object_get(props, "referrer"));
	for (size_t i = 0; i < sizeof utm_keys / sizeof utm_keys[0]; i++) {
		char *fromurl;
		if (out_pick(&o, utm_keys[i][0], MAX_SHORT, json_object_get(campaign, utm_keys[i][1]),
			     json_object_get(raw, utm_keys[i][0]), NULL) ||
		    !url || !strstr(url, "utm_"))
			continue;
		fromurl = kz_track_url_param(url, utm_keys[i][0]);
		if (fromurl)
			out_cut(&o, utm_keys[i][0], fromurl, strlen(fromurl), MAX_SHORT);
		free(fromurl);
	}
	out_pick(&o, "lang", MAX_SHORT, json_object_get(raw, "locale"),
		 json_object_get(raw, "lang"), json_object_get(raw, "language"));
	screen = json_object_get(raw, "screen");
	if (json_is_object(screen) && json_is_integer(json_object_get(screen, "width")) &&
	    json_is_integer(json_object_get(screen, "height"))) {
		out_key(&o, "screen");
		kz_buf_addf(&b, "\"%" JSON_INTEGER_FORMAT "x%" JSON_INTEGER_FORMAT "\"",
			    json_integer_value(json_object_get(screen, "width")),
			    json_integer_value(json_object_get(screen, "height")));
	} else {
		out_pick(&o, "screen", 32, screen, NULL, NULL);
	}
	if (src->browser) {
		/* The request itself says who sent it; the body may not. */
		if (src->ip && *src->ip && kz_utf8_valid(src->ip, strlen(src->ip)))
			out_cut(&o, "ip", src->ip, strlen(src->ip), SIZE_MAX);
		if (src->ua && *src->ua && kz_utf8_valid(src->ua, strlen(src->ua)))
			out_cut(&o, "ua", src->ua, strlen(src->ua), MAX_URL);
		*headless = json_is_true(json_object_get(raw, "webdriver"));
	} else {
		out_pick(&o, "ip", 64, json_object_get(raw, "ip"), NULL, NULL);
		out_pick(&o, "ua", MAX_URL, json_object_get(raw, "userAgent"),
			 json_object_get(raw, "ua"), NULL);
	}
	kz_buf_addc(&b, o.n ? '}' : '{');
	if (!o.n)
		kz_buf_addc(&b, '}');
	free(url_cut);
	if (b.overflow) {
		kz_buf_release(&b);
		kz_err_set(err, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	if (b.len > MAX_DOC) {
		kz_buf_release(&b);
		kz_err_set(err, 422, "invalid_field", "context", "context is larger than %d bytes",
			   MAX_DOC);
		return NULL;
	}
	return kz_buf_detach(&b, NULL);
}

/* ---- the event ---- */

static int parse_type(const json_t *in, kz_ev_type *t, kz_err *err)
{
	const char *s = json_string_value(json_object_get(in, "type"));
	if (!s)
		return kz_err_set(err, 422, "invalid_field", "type",
				  "type is required: track, page, identify or alias");
	if (!strcmp(s, "track"))
		*t = KZ_EV_TRACK;
	else if (!strcmp(s, "page"))
		*t = KZ_EV_PAGE;
	else if (!strcmp(s, "identify"))
		*t = KZ_EV_IDENTIFY;
	else if (!strcmp(s, "alias"))
		*t = KZ_EV_ALIAS;
	else {
		/* Quote at most 40 bytes, cut at a character boundary: the message goes into a
		 * JSON answer, and half a UTF-8 character would make it unencodable. */
		char *got = dup_cut(s, 40);
		kz_err_set(err, 422, "invalid_field", "type",
			   "type must be track, page, identify or alias (got \"%s\")",
			   got ? got : "?");
		free(got);
		return -1;
	}
	return 0;
}

static int parse_time(const json_t *in, const kz_track_src *src, kz_track_event *ev, kz_err *err)
{
	const json_t *v = json_object_get(in, "timestamp");
	int64_t ms;
	ev->received_at = src->received_at;
	ev->occurred_at = src->received_at;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || kz_time_parse_iso(json_string_value(v), &ms) < 0) {
		if (src->browser)
			return 0; /* a browser's odd clock is no reason to lose the event */
		return kz_err_set(
			err, 422, "invalid_field", "timestamp",
			"timestamp must be an ISO 8601 time like 2026-11-24T09:00:00+09:00");
	}
	ms += src->skew_ms;
	if (ms > src->received_at + FUTURE_SLACK_MS) {
		if (src->browser)
			return 0;
		return kz_err_set(err, 422, "invalid_field", "timestamp",
				  "timestamp is more than a day in the future; send the time the "
				  "event happened");
	}
	if (ms < 0)
		return kz_err_set(err, 422, "invalid_field", "timestamp",
				  "timestamp is before 1970");
	ev->occurred_at = ms;
	return 0;
}

static int parse_name(const json_t *in, kz_track_event *ev, kz_err *err)
{
	const char *s;
	char *clean;
	if (ev->type != KZ_EV_TRACK) {
		ev->name = strdup(ev->type == KZ_EV_PAGE ? KZ_PAGE_VIEW
							 : kz_track_type_name(ev->type));
		return 0;
	}
	s = json_string_value(json_object_get(in, "event"));
	if (!s)
		return kz_err_set(err, 422, "invalid_field", "event",
				  "a track event needs \"event\": its name, like \"Signed Up\"");
	clean = kz_clean_name(s);
	if (!clean || !*clean || strlen(clean) > MAX_NAME) {
		free(clean);
		return kz_err_set(err, 422, "invalid_field", "event",
				  "event must be a non-empty name of at most %d bytes", MAX_NAME);
	}
	ev->name = clean;
	return 0;
}

static int parse_email(const json_t *in, kz_track_event *ev, kz_err *err)
{
	const json_t *v = json_object_get(in, "email");
	const char *field = "email";
	if ((!v || json_is_null(v)) && ev->traits) {
		v = json_object_get(ev->traits, "email");
		field = "traits.email";
	}
	if (!v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)))
		return 0;
	if (!json_is_string(v) || kz_clean_email(json_string_value(v), &ev->email) < 0)
		return kz_err_set(err, 422, "invalid_field", field,
				  "%s is not a valid address (like taro@example.jp)", field);
	return 0;
}

static int parse_identity(const json_t *in, const kz_track_src *src, kz_track_event *ev,
			  kz_err *err)
{
	const json_t *cid;
	if (get_id(in, "anonymousId", &ev->anon_id, err) < 0 ||
	    (!src->browser && get_id(in, "userId", &ev->user_id, err) < 0) ||
	    get_id(in, "previousId", &ev->previous_id, err) < 0 || parse_email(in, ev, err) < 0)
		return -1;
	cid = json_object_get(in, "contactId");
	if (!src->browser && cid && !json_is_null(cid)) {
		if (!json_is_integer(cid) || json_integer_value(cid) <= 0)
			return kz_err_set(err, 422, "invalid_field", "contactId",
					  "contactId must be a contact id (a positive integer)");
		ev->contact_id = json_integer_value(cid);
	}
	if (src->browser && !ev->anon_id)
		return kz_err_set(err, 422, "invalid_field", "anonymousId",
				  "anonymousId is required: the visitor id kz.js keeps");
	if (ev->type == KZ_EV_ALIAS) {
		if (!ev->previous_id)
			return kz_err_set(err, 422, "invalid_field", "previousId",
					  "an alias needs previousId: the identity being aliased");
		if (!ev->user_id && !ev->email && !ev->contact_id)
			return kz_err_set(err, 422, "invalid_field", "userId",
					  "an alias needs userId, email or contactId: the identity "
					  "previousId becomes");
		return 0;
	}
	if (!ev->anon_id && !ev->user_id && !ev->email && !ev->contact_id)
		return kz_err_set(err, 422, "invalid_field", "anonymousId",
				  "an event needs anonymousId, userId, email or contactId to say "
				  "whose it is");
	return 0;
}

int kz_track_event_parse(const json_t *in, const kz_track_src *src, kz_track_event *ev, kz_err *err)
{
	const char *mid;
	memset(ev, 0, sizeof *ev);
	if (!json_is_object(in))
		return kz_err_set(err, 422, "invalid_field", NULL,
				  "an event must be a JSON object");
	ev->site_id = src->site_id;
	ev->browser = src->browser;
	if (parse_type(in, &ev->type, err) < 0 || parse_name(in, ev, err) < 0 ||
	    parse_time(in, src, ev, err) < 0)
		goto fail;
	if (!ev->name) {
		kz_err_set(err, 500, "internal", NULL, "out of memory");
		goto fail;
	}
	ev->properties = get_doc(in, "properties", err);
	if (!ev->properties)
		goto fail;
	if (ev->type == KZ_EV_IDENTIFY) {
		ev->traits = get_doc(in, "traits", err);
		if (!ev->traits)
			goto fail;
	}
	if (parse_identity(in, src, ev, err) < 0)
		goto fail;
	mid = json_string_value(json_object_get(in, "messageId"));
	if (json_object_get(in, "messageId") && !json_is_null(json_object_get(in, "messageId")) &&
	    (!mid || !*mid || strlen(mid) > MAX_ID)) {
		kz_err_set(err, 422, "invalid_field", "messageId",
			   "messageId must be a non-empty string of at most %d bytes", MAX_ID);
		goto fail;
	}
	if (mid && *mid)
		ev->message_id = strdup(mid);
	if (ev->type == KZ_EV_PAGE) {
		/* Segment's page "name" (and category) describe the page: keep them as properties.
		 */
		const json_t *pn = json_object_get(in, "name"),
			     *pc = json_object_get(in, "category");
		if (json_is_string(pn) && !json_object_get(ev->properties, "name"))
			json_object_set(ev->properties, "name", (json_t *)pn);
		if (json_is_string(pc) && !json_object_get(ev->properties, "category"))
			json_object_set(ev->properties, "category", (json_t *)pc);
	}
	ev->context_text = build_context(in, ev->type == KZ_EV_PAGE ? ev->properties : NULL, src,
					 &ev->headless, err);
	if (!ev->context_text)
		goto fail;
	ev->properties_text = doc_text(ev->properties, "properties", err);
	if (!ev->properties_text)
		goto fail;
	if (ev->traits) {
		char *t = doc_text(ev->traits, "traits", err);
		if (!t)
			goto fail;
		free(t);
	}
	return 0;
fail:
	kz_track_event_release(ev);
	return -1;
}
