/* clock.c — POST /api/v1/clock: with KIZUNA_CLOCK=manual the server's clock moves only here
 * (tests move days in milliseconds); without that setting it answers 404. */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "audience/audience.h"
#include "base/timeutil.h"
#include "journey/journey.h"

#include "base/banned.h"

static int advance(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *in = kz_req_json(req, resp);
	const json_t *s;
	char iso[40];
	kz_err err;
	if (!kz_clock_manual()) {
		json_decref(in);
		return kz_resp_errorf(resp, 404, "not_found", NULL,
				      "no such route: the clock moves by hand only with KIZUNA_CLOCK=manual");
	}
	if (!in)
		return 0;
	s = json_object_get(in, "advance_seconds");
	if (!json_is_integer(s) || json_integer_value(s) < 0 ||
	    json_integer_value(s) > (json_int_t)100 * 366 * 86400) {
		json_decref(in);
		return kz_resp_errorf(resp, 422, "invalid_field", "advance_seconds",
				      "advance_seconds is a whole number of seconds ≥ 0 (the clock "
				      "never goes back)");
	}
	kz_clock_set_fixed(kz_now_ms() + (int64_t)json_integer_value(s) * 1000);
	json_decref(in);
	/* Sliding windows and decay follow before the answer: the caller sees the new day. */
	if (app->audience && kz_audience_tick(app->audience, &err) < 0)
		return kz_resp_error(resp, &err);
	/* and journeys run what came due (bounded: a large run goes on after the answer) */
	if (app->journeys)
		kz_journeys_settle(app->journeys, 5000);
	kz_time_iso(kz_now_ms(), iso, sizeof iso);
	return kz_resp_json(resp, 200, json_pack("{s:s}", "now", iso));
}

int kz_clock_manual(void)
{
	const char *v = getenv("KIZUNA_CLOCK");
	return v && !strcmp(v, "manual");
}

void kz_api_clock_routes(kz_server *s)
{
	/* Registered always (so routes and the API document agree); without KIZUNA_CLOCK=manual it
	 * answers 404, as if it did not exist. */
	kz_server_route(s, "POST", "/api/v1/clock", KZ_ROLE_ADMIN, 0, advance);
}
