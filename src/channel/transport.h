/* transport.h — how a finished message leaves: SMTP through libcurl, or a local Maildir
 * (the embedded default when no SMTP server is configured). One vtable, two transports. */
#ifndef KZ_TRANSPORT_H
#define KZ_TRANSPORT_H

#include <stddef.h>

#include "base/err.h"

/* Results of send(): 0 accepted, or one of these. */
#define KZ_SEND_TEMP (-2) /* 4xx, timeout, refused connection: retry later */
#define KZ_SEND_PERM (-3) /* 5xx: the recipient or message is refused for good */

typedef struct kz_transport kz_transport;
typedef struct kz_transport_ops {
	const char *name; /* "smtp" or "maildir" */
	/* Deliver msg from envelope sender `from` to `rcpt`; err holds the server's answer. */
	int (*send)(kz_transport *t, const char *from, const char *rcpt, const char *msg,
		    size_t len, kz_err *err);
	void (*free)(kz_transport *t);
} kz_transport_ops;

struct kz_transport {
	const kz_transport_ops *ops;
};

/* An SMTP transport for smtp://[user:pass@]host[:port] or smtps://...; tls is "try"
 * (STARTTLS when offered, the default for smtp://), "required" or "none". One connection,
 * kept open and reused for message after message; not thread-safe (one per sender). */
kz_transport *kz_smtp_new(const char *url, const char *tls, int timeout_s, kz_err *err);
/* A Maildir at dir (tmp/, new/, cur/ are created). Thread-safe. */
kz_transport *kz_maildir_new(const char *dir, kz_err *err);

static inline int kz_transport_send(kz_transport *t, const char *from, const char *rcpt,
				    const char *msg, size_t len, kz_err *err)
{
	return t->ops->send(t, from, rcpt, msg, len, err);
}

static inline void kz_transport_free(kz_transport *t)
{
	if (t)
		t->ops->free(t);
}

#endif
