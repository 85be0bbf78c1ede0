/* bounce.c — what a bounce or complaint report does: find the send (signed reference, VERP
 * address, else the recipient), suppress hard bounces, count soft ones, unsubscribe
 * complainers, and put it on the contact's timeline. */
#include "channel/bounce.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "channel/dsn.h"
#include "channel/message.h"
#include "model/records.h"

#include "base/banned.h"

#define SOFT_WINDOW_MS (30LL * 86400000LL)

/* "bounce+<token>@domain" → token into out. */
static int verp_token(const char *addr, char *out, size_t len)
{
	const char *plus = strchr(addr, '+'), *at = strrchr(addr, '@');
	if (!plus || !at || at < plus || (size_t)(at - plus - 1) >= len)
		return -1;
	snprintf(out, len, "%.*s", (int)(at - plus - 1), plus + 1);
	return 0;
}

int kz_bounce_apply(kz_conn *c, const char *data, size_t len, json_t **result, kz_err *err)
{
	kz_report r;
	char secret[65], tok[160];
	int64_t cid = 0, sid = 0, now = kz_now_ms(), bid, n = 0;
	json_t *send = NULL, *settings = NULL;
	const char *email, *kind;
	int suppressed = 0, first;
	*result = NULL;
	if (kz_report_parse(data, len, &r, err) < 0 || kz_email_secret(c, secret, err) < 0)
		return -1;
	if (r.send_ref[0] && kz_email_token_check(secret, r.send_ref, &cid, &sid) == 0) {
		/* found by the X-Kizuna-Send header of the returned message */
	} else if (r.return_path[0] && verp_token(r.return_path, tok, sizeof tok) == 0 &&
		   kz_email_token_check(secret, tok, &cid, &sid) == 0) {
		/* found by the VERP address the report came back to */
	} else if (r.recipient[0]) {
		if (kz_store_contact_by_email(c, r.recipient, &cid, err) < 0)
			return -1;
	}
	if (sid && kz_store_send_get(c, sid, &send, err) < 0) {
		if (err->status != 404)
			return -1;
		sid = 0;
	}
	email = send ? json_string_value(json_object_get(send, "to")) : r.recipient;
	if (!email || !*email) {
		json_decref(send);
		return kz_err_set(err, 422, "invalid_report", "",
				  "the report names no recipient address");
	}
	kind = r.kind == KZ_REPORT_COMPLAINT ? "complaint" : r.hard ? "hard" : "soft";
	if (kz_store_bounce_insert(c, cid, sid, email, kind, r.status, r.diagnostic, now, &bid,
				   err) < 0)
		goto fail;
	if (!strcmp(kind, "complaint")) {
		if (kz_store_suppress(c, email, cid, "complaint", r.diagnostic, now, err) < 0 ||
		    (cid && kz_store_unsubscribe(c, cid, "", "complaint", sid, now, err) < 0))
			goto fail;
		suppressed = 1;
	} else if (!strcmp(kind, "hard")) {
		if (kz_store_suppress(c, email, cid, "hard_bounce", r.diagnostic, now, err) < 0)
			goto fail;
		suppressed = 1;
	} else {
		int64_t limit;
		if (kz_settings_load(c, NULL, &settings, err) < 0 ||
		    kz_store_bounce_count(c, email, "soft", now - SOFT_WINDOW_MS, &n, err) < 0)
			goto fail;
		limit = strtoll(json_string_value(json_object_get(settings, "email_soft_bounce_limit"))
					? json_string_value(json_object_get(settings,
									    "email_soft_bounce_limit"))
					: "3",
				NULL, 10);
		if (limit > 0 && n >= limit) {
			if (kz_store_suppress(c, email, cid, "soft_bounce", r.diagnostic, now, err) < 0)
				goto fail;
			suppressed = 1;
		}
	}
	if (send) {
		if (kz_store_send_mark(c, sid, !strcmp(kind, "complaint") ? "complaint" : kind, now,
				       &first, err) < 0)
			goto fail;
		if (!strcmp(kind, "complaint") &&
		    kz_store_send_mark(c, sid, "unsubscribe", now, &first, err) < 0)
			goto fail;
		kz_email_event(c, send,
			       !strcmp(kind, "complaint") ? "email_unsubscribed" : "email_bounced",
			       json_pack("{ssss}", "kind", kind, "status", r.status), now);
	}
	*result = json_pack("{sssssssososs?sb}", "kind", kind, "recipient", email, "status",
			    r.status, "contact_id", cid ? json_integer(cid) : json_null(),
			    "send_id", sid ? json_integer(sid) : json_null(), "diagnostic",
			    r.diagnostic[0] ? r.diagnostic : NULL, "suppressed", suppressed);
	json_decref(send);
	json_decref(settings);
	return 0;
fail:
	json_decref(send);
	json_decref(settings);
	return -1;
}
