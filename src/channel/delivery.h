/* delivery.h — how mail leaves, as set in Settings: SMTP server, security, account, rate and
 * connections, DKIM key. Secrets (the SMTP password, the DKIM private key) are sealed with the
 * install key (a file outside the database), so a database dump does not reveal them.
 * KIZUNA_SMTP_URL in the server's environment, when set, wins over these settings. */
#ifndef KZ_DELIVERY_H
#define KZ_DELIVERY_H

#include <jansson.h>

#include "base/err.h"
#include "store/store.h"

/* Load or create (0600, 32 random bytes as hex) the install key: KIZUNA_SECRET_KEY_FILE, else
 * kizuna.key next to the SQLite file, else ./data/kizuna.key. Call once at start. 0 or -1. */
int kz_delivery_key_init(const char *db, kz_err *err);
/* Use this key (64 hex characters) instead: unit tests. */
void kz_delivery_key_set(const char *hex);

/* Seal a secret: "s1:<nonce hex><ciphertext hex>" (malloc'd), NULL when no key is loaded. */
char *kz_seal(const char *plain);
/* Open a sealed secret (malloc'd), NULL when it is not genuine or the key differs. */
char *kz_unseal(const char *sealed);

typedef struct kz_delivery {
	char *smtp_url;     /* smtp(s)://user:pass@host:port, NULL: the local Maildir */
	const char *smtp_tls; /* "try", "required" or "none" (static) */
	double rate;        /* messages/s, 0: no limit */
	int connections;    /* 0: the default */
	char *dkim_domain, *dkim_selector, *dkim_key_pem; /* all set: sign */
} kz_delivery;

/* The stored delivery settings, secrets opened. 0 or -1. */
int kz_delivery_load(kz_conn *c, kz_delivery *d, kz_err *err);
void kz_delivery_release(kz_delivery *d);

/* What Settings shows (no secrets): {"smtp_host","smtp_port","smtp_security"
 * ("starttls"|"tls"|"none"),"smtp_username","smtp_password_set","smtp_rate",
 * "smtp_connections","dkim_domain","dkim_selector","dkim_key_set","dkim_dns_record"}. */
json_t *kz_delivery_view(kz_conn *c, kz_err *err);
/* Check and store the members of `in` (those of the view, plus "smtp_password" and
 * "dkim_key" in clear, "" to remove). A bad value answers 422 naming the field and changes
 * nothing. Inside a write transaction. */
int kz_delivery_apply(kz_conn *c, const json_t *in, kz_err *err);
/* Generate a DKIM key ("rsa" or "ed25519"), store it sealed with its DNS record. 0 or -1. */
int kz_delivery_dkim_generate(kz_conn *c, const char *type, kz_err *err);

#endif
