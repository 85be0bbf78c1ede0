/* event.h — one tracked event: Segment-style JSON in, a validated record out (no SQL, no HTTP). */
#ifndef KZ_TRACK_EVENT_H
#define KZ_TRACK_EVENT_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"

typedef enum kz_ev_type { KZ_EV_TRACK, KZ_EV_PAGE, KZ_EV_IDENTIFY, KZ_EV_ALIAS } kz_ev_type;

/* What became of an event handed to the writer. */
enum kz_ev_state { KZ_EV_PENDING, KZ_EV_STORED, KZ_EV_DUPLICATE, KZ_EV_FAILED };

#define KZ_TRACK_MAX_BATCH 1000  /* events in one request */
#define KZ_PAGE_VIEW "page_view" /* the name page events are stored under */

/* Where events come from; shapes validation. */
typedef struct kz_track_src {
	int64_t site_id;     /* the site of /t/collect or the pixel; 0 for the server API */
	int browser;         /* public collector: anonymousId required, userId/contactId ignored,
			      * identify only fills a contact's empty attributes */
	int64_t received_at; /* ms */
	int64_t skew_ms; /* received_at - sentAt when the sender said when it sent (clock fix) */
	const char *ip;  /* the request's address (already truncated if the site wants), or NULL */
	const char *ua;  /* the request's User-Agent, or NULL */
} kz_track_src;

typedef struct kz_track_event {
	kz_ev_type type;
	char *name;         /* event name; "page_view", "identify", "alias" for the others */
	char *message_id;   /* NULL when none was given */
	char *anon_id;      /* anonymousId */
	char *user_id;      /* userId (server API only) */
	char *previous_id;  /* alias: the identity being aliased */
	char *email;        /* normalized; from "email" or identify traits */
	int64_t contact_id; /* contactId (server API only), 0 when none */
	int64_t site_id;
	int browser;
	int headless; /* the browser reported navigator.webdriver */
	int64_t occurred_at, received_at;
	json_t *properties; /* object */
	json_t *traits;     /* identify: object; otherwise NULL */
	/* flat: url, path, title, referrer, utm_*, ip, ua, screen, lang, ...; only its text
	 * after kz_track_event_parse (context stays NULL), both after kz_evlog_decode */
	json_t *context;
	/* properties and context as compact JSON text, made while validating on the request's
	 * thread so the single writer thread does not serialize them */
	char *properties_text, *context_text;
	/* set by the writer */
	int64_t stored_contact_id; /* the contact the stored event belongs to, 0 if none */
	int state;
	kz_err err;
} kz_track_event;

/* Validate one event object into *ev (zeroed first). On failure fills err (field names
 * the offending member) and leaves nothing to release. */
int kz_track_event_parse(const json_t *in, const kz_track_src *src, kz_track_event *ev,
			 kz_err *err);
/* Free what an event owns; the struct can be parsed into again. */
void kz_track_event_release(kz_track_event *ev);
/* "track", "page", "identify", "alias". */
const char *kz_track_type_name(kz_ev_type t);
/* The value of query parameter `key` in url (decoded, malloc'd), or NULL. */
char *kz_track_url_param(const char *url, const char *key);
/* The host of an http(s) URL, lowercased and without "www." (malloc'd), or NULL. */
char *kz_track_url_host(const char *url);

#endif
