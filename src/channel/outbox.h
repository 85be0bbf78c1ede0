/* outbox.h — the sending service: a scheduler thread resolves due broadcasts into outbox rows,
 * sender threads claim rows, render, sign and deliver them at a configured rate, and record
 * each outcome (retrying temporary failures with backoff). */
#ifndef KZ_OUTBOX_H
#define KZ_OUTBOX_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

typedef struct kz_outbox_config {
	const char *smtp_url;   /* NULL: deliver into the Maildir */
	const char *smtp_tls;   /* "try" (default), "required", "none" */
	const char *maildir;    /* folder of the local outbox */
	int connections;        /* sender threads, each with its own SMTP connection (4) */
	double rate;            /* messages per second over all senders; 0 = no limit */
	int retry_seconds;      /* first retry delay; doubles per attempt (30) */
	int max_attempts;       /* temporary failures before giving up (8) */
	int lease_seconds;      /* a claimed row not finished by then (a crash) is sent again
				 * (300); longer than a batch of CLAIM_BATCH messages takes */
	const char *base_url;   /* for links in messages */
	const char *bounce_domain; /* VERP: bounce+<token>@domain; default: the sender's */
	const char *dkim_domain, *dkim_selector, *dkim_key_pem; /* all set: sign */
	int from_env;           /* KIZUNA_SMTP_URL decides: Settings may not change delivery */
} kz_outbox_config;

typedef struct kz_outbox kz_outbox;

/* Start the threads; NULL with err when a transport or DKIM key cannot be set up. */
kz_outbox *kz_outbox_start(kz_store *store, const kz_outbox_config *cfg, kz_err *err);
/* Fill cfg's transport, connections, rate and DKIM from stored delivery settings (d must
 * outlive cfg's use). A maildir when d names no SMTP server. */
struct kz_delivery;
void kz_outbox_from_delivery(kz_outbox_config *cfg, const struct kz_delivery *d);
/* Would kz_outbox_reconfigure accept cfg? (SMTP URL, DKIM key.) 0, or -1 with err. */
int kz_outbox_check(const kz_outbox_config *cfg, kz_err *err);
/* Change transport, connections, rate and DKIM while running: the new setup is checked first
 * (nothing changes on error); senders finish the message in hand, their other claimed rows go
 * back to the queue, and new senders start. Other members of cfg are ignored. 0 or -1. */
int kz_outbox_reconfigure(kz_outbox *o, const kz_outbox_config *cfg, kz_err *err);
/* 1 when the environment (KIZUNA_SMTP_URL) configured delivery. */
int kz_outbox_from_env(const kz_outbox *o);
/* Send a short test message to `to` now over the current transport (DKIM-signed when set),
 * from Settings' sender: 0, or -1 with the server's answer in err. */
int kz_outbox_send_test(kz_outbox *o, const json_t *settings, const char *to, kz_err *err);
/* "smtp" or "maildir". */
const char *kz_transport_name_of(const kz_outbox *o);
/* Finish the messages in hand, stop the threads (queued rows stay queued). NULL is fine. */
void kz_outbox_stop(kz_outbox *o);
/* Wake the threads (something was queued). */
void kz_outbox_kick(kz_outbox *o);
/* {"transport":"smtp"|"maildir","location":...,"dkim":alg|null,"rate":n,"connections":n} */
json_t *kz_outbox_describe(const kz_outbox *o);
/* Append Prometheus counters. */
void kz_outbox_metrics(const kz_outbox *o, char *buf, size_t len);

/* Resolve a broadcast's recipients into outbox rows now (the scheduler does this when
 * send_at comes). Idempotent. */
int kz_outbox_expand(kz_conn *c, int64_t broadcast_id, int64_t now, kz_err *err);
/* Who would get a broadcast of `email` to audience `a`, without writing anything:
 * {"recipients": n, "skipped": {reason: n}, "total": contacts}. */
int kz_outbox_estimate(kz_conn *c, const json_t *email, const kz_recipients *a, int64_t now,
		       json_t **out, kz_err *err);

/* The recipient rows (as kz_store_email_candidates makes them) of `email` for the contacts
 * `ids`, keyed by contact id: a journey batch looks its sends up in one query. */
int kz_outbox_candidates(kz_conn *c, const json_t *email, const json_t *settings,
			 const int64_t *ids, int n, int64_t now, json_t **by_id, kz_err *err);
/* kz_outbox_queue_contact with the contact's candidate row already read (NULL: the contact
 * is gone, *reason "no_contact"). */
int kz_outbox_queue_row(kz_conn *c, const json_t *email, const json_t *settings,
			const json_t *row, int64_t journey_id, const char *dedupe, int64_t now,
			int64_t *send_id, const char **reason, kz_err *err);
/* Queue `email` for one contact as a journey send (kind "journey"), by the same rules as a
 * broadcast: unsubscribes, suppressions, consent, frequency caps. The row is written even
 * when skipped; *reason is then why (else NULL). (contact, dedupe) is unique: a second call
 * with the same dedupe writes nothing (*send_id 0). settings: kz_settings_load's (NULL: read
 * here). Inside the caller's transaction. */
int kz_outbox_queue_contact(kz_conn *c, const json_t *email, const json_t *settings,
			    int64_t contact_id, int64_t journey_id, const char *dedupe, int64_t now,
			    int64_t *send_id, const char **reason, kz_err *err);

/* Build the complete message of a send (render, MIME, DKIM). Used by senders and by the
 * benchmark. *env_from gets the VERP envelope sender. */
int kz_outbox_build(kz_outbox *o, kz_conn *c, const json_t *email, const json_t *settings,
		    int64_t contact_id, int64_t send_id, const char *to, json_t *vars,
		    char **msg, size_t *len, char env_from[400], kz_err *err);

#endif
