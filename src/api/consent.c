/* consent.c — /api/v1/contacts/{id}/consent and .../subscriptions: a contact's email consent
 * record (when, how, from which form or IP) and the topics they unsubscribed from. */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "base/timeutil.h"
#include "channel/optin.h"
#include "channel/outbox.h"

#include "base/banned.h"

static json_t *state(kz_conn *c, int64_t id, kz_err *err)
{
	json_t *consent = NULL, *topics = NULL, *contact = NULL;
	if (kz_store_contact_get(c, id, &contact, err) < 0)
		return NULL;
	json_decref(contact);
	if (kz_store_consent_get(c, id, "email", &consent, err) < 0 ||
	    kz_store_unsubscribes(c, id, &topics, err) < 0) {
		json_decref(consent);
		return NULL;
	}
	return json_pack("{sIs{so}so}", "contact_id", (json_int_t)id, "consent", "email",
			 consent ? consent : json_null(), "unsubscribed", topics);
}

static int get(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *out;
	kz_conn *c;
	kz_err err;
	int64_t id;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	c = kz_store_acquire(app->store);
	out = state(c, id, &err);
	kz_store_release(c);
	if (!out)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, out);
}

/* {"email": {"status": "granted"|"revoked"|"pending", "source": "form:3", "at": optional}} */
static int put(kz_req *req, kz_resp *resp)
{
	json_t *in, *em, *out = NULL, *contact = NULL;
	const char *status, *source;
	char ip[64];
	int64_t id, at = kz_now_ms();
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	in = kz_req_json(req, resp);
	if (!in)
		return 0;
	em = json_object_get(in, "email");
	status = json_string_value(json_object_get(em, "status"));
	source = json_string_value(json_object_get(em, "source"));
	if (!status || (strcmp(status, "granted") && strcmp(status, "revoked") &&
			strcmp(status, "pending"))) {
		kz_resp_errorf(resp, 422, "invalid_field", "email.status",
			       "email.status must be granted, revoked or pending");
		goto done;
	}
	if (json_object_get(em, "at") &&
	    (!json_is_string(json_object_get(em, "at")) ||
	     kz_time_parse_iso(json_string_value(json_object_get(em, "at")), &at) < 0)) {
		kz_resp_errorf(resp, 422, "invalid_field", "email.at",
			       "email.at must be an ISO 8601 time");
		goto done;
	}
	kz_req_client_ip(req, ip, sizeof ip);
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_store_contact_get(c, id, &contact, &err) < 0 ||
	    kz_store_consent_set(c, id, "email", status, source ? source : "api", ip, at, &err) < 0 ||
	    !(out = state(c, id, &err))) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	kz_api_done(c, resp, 200, &out);
done:
	json_decref(in);
	json_decref(out);
	json_decref(contact);
	return 0;
}

/* POST .../consent/confirmation {"source": optional}: double opt-in — the consent becomes
 * pending and the confirmation email is queued. 202 with the state and "send_id" (null when
 * one was queued this hour already, or the contact had confirmed before). */
static int request_confirmation(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in = NULL, *out = NULL;
	const char *source = NULL;
	char ip[64];
	int64_t id, send_id = 0;
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	if (req->body.len) {
		in = kz_req_json(req, resp);
		if (!in)
			return 0;
		if (json_object_get(in, "source") &&
		    !json_is_string(json_object_get(in, "source"))) {
			json_decref(in);
			return kz_resp_errorf(resp, 422, "invalid_field", "source",
					      "source must be a string such as \"form:3\"");
		}
		source = json_string_value(json_object_get(in, "source"));
	}
	kz_req_client_ip(req, ip, sizeof ip);
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	if (kz_email_double_optin_send(c, id, source ? source : "api", ip, kz_now_ms(), &send_id,
				       &err) < 0 ||
	    !(out = state(c, id, &err))) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	json_object_set_new(out, "send_id", send_id ? json_integer(send_id) : json_null());
	kz_api_done(c, resp, 202, &out);
	if (send_id)
		kz_outbox_kick(app->outbox);
done:
	json_decref(in);
	json_decref(out);
	return 0;
}

/* {"resubscribe": true} or {"unsubscribe": "topic"|""} */
static int patch_subscriptions(kz_req *req, kz_resp *resp)
{
	json_t *in, *out = NULL, *u;
	int64_t id;
	kz_conn *c;
	kz_err err;
	int rc = 0;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	in = kz_req_json(req, resp);
	if (!in)
		return 0;
	c = kz_api_begin(req, resp, 1);
	if (!c)
		goto done;
	u = json_object_get(in, "unsubscribe");
	if (json_is_true(json_object_get(in, "resubscribe")))
		rc = kz_store_resubscribe(c, id, NULL, &err);
	else if (json_is_string(u))
		rc = kz_store_unsubscribe(c, id, json_string_value(u), "api", 0, kz_now_ms(), &err);
	else
		rc = kz_err_set(&err, 422, "invalid_field", "unsubscribe",
				"send {\"unsubscribe\": \"topic\"} (\"\" for everything) or "
				"{\"resubscribe\": true}");
	if (rc < 0 || !(out = state(c, id, &err))) {
		kz_api_fail(c, resp, &err);
		goto done;
	}
	kz_api_done(c, resp, 200, &out);
done:
	json_decref(in);
	json_decref(out);
	return 0;
}

void kz_api_consent_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/api/v1/contacts/{id}/consent", KZ_ROLE_VIEWER, 0, get);
	kz_server_route(s, "PUT", "/api/v1/contacts/{id}/consent", KZ_ROLE_MARKETER, 0, put);
	kz_server_route(s, "POST", "/api/v1/contacts/{id}/consent/confirmation", KZ_ROLE_MARKETER,
			0, request_confirmation);
	kz_server_route(s, "PATCH", "/api/v1/contacts/{id}/subscriptions", KZ_ROLE_MARKETER, 0,
			patch_subscriptions);
}
