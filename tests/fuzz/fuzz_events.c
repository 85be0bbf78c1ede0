/* fuzz_events.c — libFuzzer target: the body of POST /t/collect and POST /api/v1/events through
 * validation (kz_track_batch_parse, kz_track_event_parse) and the URL helpers, no database. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/err.h"
#include "base/json.h"
#include "track/batch.h"
#include "track/event.h"

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a finding: say which, then crash so libFuzzer keeps the input. */
static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_events: %s: %s\n", what, detail ? detail : "(null)");
	abort();
}

/* What the writer relies on in every event that passed validation. */
static void check_event(const kz_track_event *ev, const kz_track_src *src)
{
	const char *url;
	char *p;
	/* the request's thread only writes the context's text: it must read back as an object */
	json_t *ctx = ev->context_text ? kz_json_loads(ev->context_text, 0, NULL) : NULL;
	if (!ev->name || !*ev->name)
		fail("valid event without a name", kz_track_type_name(ev->type));
	if (!json_is_object(ev->properties) || !json_is_object(ctx))
		fail("valid event without properties or context objects", ev->name);
	if ((ev->type == KZ_EV_IDENTIFY) != (ev->traits != NULL))
		fail("traits set on a non-identify event (or missing on identify)", ev->name);
	if (src->browser && (!ev->anon_id || ev->user_id || ev->contact_id))
		fail("browser event without anonymousId, or with a server-only identity", ev->name);
	if (ev->type == KZ_EV_ALIAS && !ev->previous_id)
		fail("alias without previousId", ev->name);
	if (!ev->anon_id && !ev->user_id && !ev->email && !ev->contact_id)
		fail("valid event whose owner is unknown", ev->name);
	if (ev->occurred_at < 0 || ev->received_at != src->received_at)
		fail("bad timestamps", ev->name);
	if (ev->site_id != src->site_id || ev->browser != src->browser)
		fail("event does not carry its source", ev->name);
	/* The ingest path reads campaign parameters and the host out of the page URL. */
	url = json_string_value(json_object_get(ctx, "url"));
	if (url) {
		free(kz_track_url_param(url, "utm_source"));
		free(kz_track_url_param(url, "gclid"));
		p = kz_track_url_host(url);
		if (p && (!*p || strpbrk(p, "/?#:@") || p[strlen(p) - 1] == '.'))
			fail("kz_track_url_host kept more than the host", url);
		if (p) {
			char *again;
			size_t len = strlen(p) + 9;
			char *u = malloc(len);
			snprintf(u, len, "http://%s/", p);
			again = kz_track_url_host(u);
			/* a host without www. comes back as itself (www.www.x loses one www. a
			 * pass) */
			if (strncmp(p, "www.", 4) && (!again || strcmp(again, p)))
				fail("kz_track_url_host is not a fixed point", url);
			free(again);
			free(u);
		}
		free(p);
	}
	url = json_string_value(json_object_get(ctx, "referrer"));
	if (url)
		free(kz_track_url_host(url));
	json_decref(ctx);
}

static void check_errors(const json_t *errors, size_t n)
{
	size_t i, last = 0;
	json_t *e;
	json_array_foreach(errors, i, e) {
		json_int_t at = json_integer_value(json_object_get(e, "index"));
		if (at < 0 || (size_t)at >= n || (i && (size_t)at <= last))
			fail("error index out of range or order", NULL);
		if (!json_string_value(json_object_get(e, "code")) ||
		    !json_string_value(json_object_get(e, "message")))
			fail("error entry without code or message", NULL);
		last = (size_t)at;
	}
}

static void run(const json_t *body, const kz_track_src *src, const kz_track_policy *policy)
{
	kz_track_batch b;
	json_t *answer = NULL;
	size_t i;
	int status = kz_track_batch_parse(body, src, policy, &b, &answer);
	if (status) {
		if (status < 400 || !json_is_object(json_object_get(answer, "error")))
			fail("a refused body without an error answer", NULL);
	} else {
		if (answer)
			fail("an accepted body with an answer already set", NULL);
		if (b.nvalid + json_array_size(b.errors) + (size_t)b.dropped != b.n)
			fail("valid + invalid + dropped is not the number of events", NULL);
		check_errors(b.errors, b.n);
		for (i = 0; i < b.nvalid; i++) {
			if (b.index[i] >= b.n || (i && b.index[i] <= b.index[i - 1]))
				fail("index of a valid event out of range or order", NULL);
			check_event(&b.evs[i], src);
		}
	}
	json_decref(answer);
	kz_track_batch_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The two sources the endpoints build: the public collector of a site, and the API. */
	const kz_track_src browser = {.site_id = 7,
				      .browser = 1,
				      .received_at = 1795500000000LL,
				      .ip = "203.0.113.0",
				      .ua = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"};
	const kz_track_src server = {.received_at = 1795500000000LL};
	const kz_track_policy drop = {.drop_headless = 1};
	json_error_t je;
	/* the same call kz_req_json makes on a request body */
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (!body)
		return 0;
	if (json_is_object(body)) {
		run(body, &browser, &drop);
		run(body, &server, NULL);
	}
	json_decref(body);
	return 0;
}
