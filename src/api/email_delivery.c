/* email_delivery.c — /api/v1/settings/email-delivery: the SMTP server, its account, rate and
 * connections, and the DKIM key, as Settings edits them (applied to the running sender at
 * once); a test send; DKIM key generation with the DNS record to publish. */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "channel/delivery.h"
#include "channel/outbox.h"
#include "model/records.h"

#include "base/banned.h"

/* The stored settings plus what the sender is doing now. */
static json_t *view(kz_app *app, kz_conn *c, kz_err *err)
{
	json_t *out = kz_delivery_view(c, err);
	if (out && app->outbox)
		json_object_set_new(out, "active", kz_outbox_describe(app->outbox));
	else if (out)
		json_object_set_new(out, "active", json_null());
	return out;
}

static int get(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	kz_conn *c = kz_store_acquire(app->store);
	kz_err err;
	json_t *out = view(app, c, &err);
	kz_store_release(c);
	if (!out)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, out);
}

static int refuse_env(kz_app *app, kz_resp *resp)
{
	if (app->outbox && kz_outbox_from_env(app->outbox)) {
		kz_resp_errorf(resp, 409, "configured_by_environment", "smtp_host",
			       "delivery is set by KIZUNA_SMTP_URL in the server's environment; "
			       "remove it there to manage delivery in Settings");
		return 1;
	}
	return 0;
}

/* Save, check that the sender accepts the new setup (an SMTP URL libcurl takes, a key that
 * loads; otherwise nothing is saved), commit, then switch the running sender. The switch
 * waits for the senders' messages in hand, whose outcomes need the store: never inside the
 * transaction. */
static int save_and_apply(kz_req *req, kz_resp *resp, const json_t *in, const char *dkim_type)
{
	kz_app *app = req->app;
	json_t *out = NULL;
	kz_outbox_config oc;
	kz_delivery d;
	kz_conn *c;
	kz_err err;
	int rc;
	if (refuse_env(app, resp))
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		return 0;
	memset(&d, 0, sizeof d);
	memset(&oc, 0, sizeof oc);
	rc = in ? kz_delivery_apply(c, in, &err) : kz_delivery_dkim_generate(c, dkim_type, &err);
	if (rc == 0)
		rc = kz_delivery_load(c, &d, &err);
	if (rc == 0) {
		kz_outbox_from_delivery(&oc, &d);
		rc = kz_outbox_check(&oc, &err);
	}
	if (rc < 0) {
		kz_delivery_release(&d);
		return kz_api_fail(c, resp, &err);
	}
	if (kz_api_commit(c, resp) < 0) {
		kz_delivery_release(&d);
		return 0;
	}
	if (app->outbox && kz_outbox_reconfigure(app->outbox, &oc, &err) < 0) {
		kz_delivery_release(&d);
		return kz_resp_error(resp, &err);
	}
	kz_delivery_release(&d);
	c = kz_store_acquire(app->store);
	out = view(app, c, &err);
	kz_store_release(c);
	if (!out)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, out);
}

static int patch(kz_req *req, kz_resp *resp)
{
	json_t *in = kz_req_json(req, resp);
	if (!in)
		return 0;
	save_and_apply(req, resp, in, NULL);
	json_decref(in);
	return 0;
}

/* POST .../dkim-key {"type": "rsa"|"ed25519"} */
static int dkim_key(kz_req *req, kz_resp *resp)
{
	json_t *in = kz_req_json(req, resp);
	const char *type;
	if (!in)
		return 0;
	type = json_string_value(json_object_get(in, "type"));
	if (!type || (strcmp(type, "rsa") && strcmp(type, "ed25519"))) {
		json_decref(in);
		return kz_resp_errorf(resp, 422, "invalid_field", "type",
				      "type must be rsa (RSA-2048) or ed25519");
	}
	save_and_apply(req, resp, NULL, type);
	json_decref(in);
	return 0;
}

/* POST .../test {"to": "you@example.jp"}: one short message now; the SMTP answer comes back. */
static int test_send(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in = kz_req_json(req, resp), *settings = NULL, *active;
	const char *to;
	kz_conn *c;
	kz_err err;
	int rc;
	if (!in)
		return 0;
	to = json_string_value(json_object_get(in, "to"));
	if (!to || !strchr(to, '@') || strlen(to) > 254 || strpbrk(to, " \r\n<>,")) {
		json_decref(in);
		return kz_resp_errorf(resp, 422, "invalid_field", "to",
				      "to must be one email address");
	}
	if (!app->outbox) {
		json_decref(in);
		return kz_resp_errorf(resp, 503, "no_sender", NULL, "the email sender is not running");
	}
	c = kz_store_acquire(app->store);
	rc = kz_settings_load(c, app->default_country, &settings, &err);
	kz_store_release(c);
	if (rc == 0)
		rc = kz_outbox_send_test(app->outbox, settings, to, &err);
	json_decref(settings);
	json_decref(in);
	if (rc < 0)
		return kz_resp_error(resp, &err);
	active = kz_outbox_describe(app->outbox);
	return kz_resp_json(resp, 200, json_pack("{sbso}", "sent", 1, "via", active));
}

void kz_api_email_delivery_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/api/v1/settings/email-delivery", KZ_ROLE_ADMIN, 0, get);
	kz_server_route(s, "PATCH", "/api/v1/settings/email-delivery", KZ_ROLE_ADMIN, 0, patch);
	kz_server_route(s, "POST", "/api/v1/settings/email-delivery/dkim-key", KZ_ROLE_ADMIN, 0,
			dkim_key);
	kz_server_route(s, "POST", "/api/v1/settings/email-delivery/test", KZ_ROLE_ADMIN, 0,
			test_send);
}
