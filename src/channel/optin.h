/* optin.h — double opt-in: a confirmation email with a signed link before the first marketing
 * mail; the consent stays "pending" (not mailed by broadcasts) until the person confirms. */
#ifndef KZ_OPTIN_H
#define KZ_OPTIN_H

#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* Start double opt-in for a contact, inside the caller's write transaction: its email consent
 * becomes {"status":"pending","source":source,"ip":ip,"at":now} and a confirmation email
 * (kind "optin") is queued with {{ confirm_url }} pointing at /u/{token}/confirm. The outbox
 * picks it up within half a second (kz_outbox_kick after the commit sends it at once).
 * *send_id (may be NULL) is 0 when one was already queued for this contact this hour.
 * A contact already confirmed (granted) gets nothing and *send_id 0.
 * Errors: 404 no such contact, 422 the contact has no email address or is suppressed. */
int kz_email_double_optin_send(kz_conn *c, int64_t contact_id, const char *source,
			       const char *ip, int64_t now, int64_t *send_id, kz_err *err);

/* The confirmation email's id: Settings' email_optin_email_id, else the built-in bilingual
 * one (created and remembered on first use). Inside a write transaction. */
int kz_email_optin_email(kz_conn *c, int64_t *email_id, kz_err *err);

/* 1 when the workspace turned double opt-in on (setting email_double_optin). */
int kz_email_double_optin_enabled(kz_conn *c);

#endif
