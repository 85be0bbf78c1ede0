/* optin.c — double opt-in: the pending consent, the confirmation email (the workspace's own
 * or a built-in one in Japanese and English) queued through the durable outbox. */
#include "channel/optin.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/message.h"

#include "base/banned.h"

static const char builtin_subject[] = "メールアドレスのご確認 / Please confirm your subscription";
static const char builtin_html[] =
	"<html><body style=\"font-family:sans-serif;color:#222\">"
	"<h1 style=\"font-size:20px\">ご登録の確認 / Please confirm</h1>"
	"<p>{{ contact.last_name | default: \"\" }}{% if contact.last_name %} 様{% endif %}</p>"
	"<p>メールの配信を始めるには、下のボタンを押してメールアドレスを確認してください。</p>"
	"<p>To start receiving our emails, please confirm your address.</p>"
	"<p><a href=\"{{ confirm_url }}\" style=\"display:inline-block;padding:12px 24px;"
	"background:#c2410c;color:#fff;text-decoration:none;border-radius:6px\">"
	"登録を確定する / Confirm</a></p>"
	"<p style=\"color:#666;font-size:13px\">お心当たりのない場合は、このメールを破棄して"
	"ください。配信は始まりません。<br>If you did not sign up, ignore this email: nothing "
	"will be sent.</p></body></html>";

int kz_email_double_optin_enabled(kz_conn *c)
{
	char *v = NULL;
	kz_err err;
	int on = kz_store_setting_get(c, "email_double_optin", &v, &err) == 0 && v &&
		 !strcmp(v, "true");
	free(v);
	return on;
}

int kz_email_optin_email(kz_conn *c, int64_t *email_id, kz_err *err)
{
	char *v = NULL, num[32];
	json_t *rec, *in, *email = NULL;
	int64_t id = 0;
	if (kz_store_setting_get(c, "email_optin_email_id", &v, err) < 0)
		return -1;
	if (v && *v) {
		id = strtoll(v, NULL, 10);
		free(v);
		if (kz_store_email_get(c, id, &email, err) == 0) {
			json_decref(email);
			*email_id = id;
			return 0;
		}
		if (err->status != 404)
			return -1;
		return kz_err_set(err, 422, "invalid_setting", "email_optin_email_id",
				  "the confirmation email %" PRId64 " no longer exists; choose "
				  "another in Settings (or clear it for the built-in one)",
				  id);
	}
	free(v);
	rec = json_object();
	in = json_pack("{s:s, s:s, s:s}", "name", "ダブルオプトイン確認 / Double opt-in confirmation",
		       "subject", builtin_subject, "html", builtin_html);
	if (kz_email_apply(rec, in, 1, err) < 0 || kz_store_email_save(c, rec, &id, err) < 0) {
		json_decref(in);
		json_decref(rec);
		return -1;
	}
	json_decref(in);
	json_decref(rec);
	snprintf(num, sizeof num, "%" PRId64, id);
	if (kz_store_setting_set(c, "email_optin_email_id", num, err) < 0)
		return -1;
	*email_id = id;
	return 0;
}

int kz_email_double_optin_send(kz_conn *c, int64_t contact_id, const char *source,
			       const char *ip, int64_t now, int64_t *send_id, kz_err *err)
{
	json_t *contact = NULL, *consent = NULL;
	const char *to, *status;
	char dedupe[40];
	int64_t email_id = 0, id = 0;
	int rc = -1;
	if (send_id)
		*send_id = 0;
	if (kz_store_contact_get(c, contact_id, &contact, err) < 0)
		return -1;
	to = json_string_value(json_object_get(contact, "email"));
	if (!to || !*to) {
		kz_err_set(err, 422, "no_email", "email",
			   "contact %" PRId64 " has no email address to confirm", contact_id);
		goto out;
	}
	if (kz_store_consent_get(c, contact_id, "email", &consent, err) < 0)
		goto out;
	status = json_string_value(json_object_get(consent, "status"));
	if (status && !strcmp(status, "granted")) {
		rc = 0; /* confirmed already: no second confirmation mail */
		goto out;
	}
	if (kz_email_optin_email(c, &email_id, err) < 0 ||
	    kz_store_consent_set(c, contact_id, "email", "pending", source ? source : "api", ip,
				 now, err) < 0)
		goto out;
	/* one confirmation mail per contact and hour: a form sent twice mails once */
	snprintf(dedupe, sizeof dedupe, "o%" PRId64, now / 3600000);
	{
		kz_send_row s = {
			.contact_id = contact_id,
			.email_id = email_id,
			.kind = "optin",
			.dedupe = dedupe,
			.to_email = to,
			.status = "queued",
			.next_at = now,
			.created_at = now,
		};
		if (kz_store_send_insert(c, &s, &id, err) < 0)
			goto out;
	}
	if (send_id)
		*send_id = id;
	rc = 0;
out:
	json_decref(contact);
	json_decref(consent);
	return rc;
}
