/* message.h — an email record becomes a personal message: validation (templates compile at
 * save time), variables for a contact, rendering with tracked links and the sender footer,
 * the signed tokens of tracking and unsubscribe links. */
#ifndef KZ_MESSAGE_H
#define KZ_MESSAGE_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* Check `in` and copy its fields into rec (create: name, subject and html required). A
 * template that does not compile answers 422 with the field and "line L, column C". */
int kz_email_apply(json_t *rec, const json_t *in, int create, kz_err *err);

/* Check a saved template's members (name, description, subject, preheader, html, text,
 * blocks) into rec, templates compiled like an email's (create: name and html required). */
int kz_email_template_apply(json_t *rec, const json_t *in, int create, kz_err *err);
/* The email members a template starts: subject, preheader, html, text, blocks (new object). */
json_t *kz_email_from_template(const json_t *tpl);

/* The workspace secret for link tokens (made and stored on first use). 0 or -1. */
int kz_email_secret(kz_conn *c, char out[65], kz_err *err);

/* Token naming a contact and a send (either may be 0): "<contact>-<send>-<mac>". */
void kz_email_token(const char *secret, int64_t contact_id, int64_t send_id, char out[96]);
/* 0 and the ids when the token is genuine, else -1. */
int kz_email_token_check(const char *secret, const char *token, int64_t *contact_id,
			 int64_t *send_id);
/* The signature that lets /t/c/ redirect to url for this send (hex, 32 chars). */
void kz_email_link_mac(const char *secret, int64_t send_id, const char *url, char out[33]);
/* A click's identity token for the landing page ("<contact>.<expires ms>.<mac>"): kz.js
 * there hands it back with its visitor id (POST /t/id), tying the visitor to the contact. */
void kz_email_click_id(const char *secret, int64_t contact_id, int64_t expires_ms, char out[96]);
/* 0 with *contact_id when tok is genuine and not expired at now_ms; -1 bad, -2 expired. */
int kz_email_click_id_check(const char *secret, const char *tok, int64_t now_ms,
			    int64_t *contact_id);

typedef struct kz_render_opts {
	const char *base_url;
	const char *secret;
	int64_t contact_id, send_id;
	int track;             /* rewrite links and add the open pixel */
	const json_t *settings; /* company_name, company_address, company_contact (footer) */
	const json_t *event;   /* the event that triggered a journey, or NULL */
} kz_render_opts;

typedef struct kz_rendered {
	char *subject, *html, *text; /* malloc'd */
	char unsub_url[512], prefs_url[512], view_url[512];
} kz_rendered;

/* The variables for a contact (NULL: a sample person): contact, company, owner, email. */
json_t *kz_email_vars(kz_conn *c, const json_t *email, int64_t contact_id, kz_err *err);
/* Render email for vars. Templates are compiled once per email version and cached. */
int kz_email_render(const json_t *email, json_t *vars, const kz_render_opts *o,
		    kz_rendered *out, kz_err *err);
void kz_rendered_release(kz_rendered *r);
/* Plain text from HTML: block tags become line breaks, links "text (url)". malloc'd. */
char *kz_html_to_text(const char *html);
/* 1 when the footer is required and company name or address are missing in settings. */
int kz_email_footer_missing(const json_t *settings);

/* Put an email event (email_sent, email_opened, ...) on the contact's timeline, with props
 * email_id, broadcast_id or journey_id, send_id and those in extra (taken, may be NULL).
 * `send` is a send row. Test sends and sends without a contact leave no event. */
void kz_email_event(kz_conn *c, const json_t *send, const char *name, json_t *extra, int64_t at);

#endif
