/* contacts_io.c — bulk contact I/O: POST /api/v1/contacts/import (CSV) and
 * GET /api/v1/contacts/export (CSV or JSON Lines, streamed page by page). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "audience/audience.h"
#include "model/export.h"
#include "model/import.h"

#include "base/banned.h"

/* "text/csv; charset=Shift_JIS" → "Shift_JIS" (copied into out), or "" when absent. */
static void charset_of(const char *ctype, char *out, size_t outlen)
{
	const char *p = NULL;
	size_t n = 0;
	out[0] = '\0';
	for (const char *q = ctype; q && *q && !p; q++)
		if (!strncasecmp(q, "charset=", 8))
			p = q;
	if (!p)
		return;
	p += 8;
	if (*p == '"')
		p++;
	while (p[n] && p[n] != ';' && p[n] != '"' && !isspace((unsigned char)p[n]) && n + 1 < outlen)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
}

static int import(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	const char *ctype = kz_req_header(req, "Content-Type");
	char charset[64], country[8];
	json_t *result = NULL;
	kz_err err;
	if (!ctype || (strncasecmp(ctype, "text/csv", 8) && strncasecmp(ctype, "application/csv", 15) &&
		       strncasecmp(ctype, "text/plain", 10)))
		return kz_resp_errorf(resp, 415, "unsupported_media_type", "Content-Type",
				      "send the CSV file as the body with Content-Type: text/csv "
				      "(add ; charset=shift_jis for Excel files)");
	if (req->body.len == 0)
		return kz_resp_errorf(resp, 422, "invalid_csv", NULL,
				      "the body is empty; send a CSV file whose first row names the "
				      "columns");
	charset_of(ctype, charset, sizeof charset);
	{
		kz_conn *c = kz_store_acquire(app->store);
		kz_api_country(c, app, country, sizeof country);
		kz_store_release(c);
	}
	if (kz_import_csv(app->store, req->body.data, req->body.len, charset[0] ? charset : NULL,
			  kz_req_query(req, "map"), country, &result, &err) < 0)
		return kz_resp_error(resp, &err);
	return kz_resp_json(resp, 200, result);
}

static void decorate(void *ctx, kz_conn *c, json_t *contact)
{
	(void)c; /* the index answers from memory */
	kz_audience_decorate(ctx, contact);
}

static int export(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	const char *format = kz_req_query(req, "format");
	int csv;
	if (!format || !strcmp(format, "csv"))
		csv = 1;
	else if (!strcmp(format, "jsonl"))
		csv = 0;
	else
		return kz_resp_errorf(resp, 400, "invalid_parameter", "format",
				      "format must be csv or jsonl");
	resp->status = 200;
	resp->content_type = csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
	kz_resp_header(resp, "Content-Disposition",
		       csv ? "attachment; filename=\"contacts.csv\""
			   : "attachment; filename=\"contacts.jsonl\"");
	resp->stream_cls = kz_export_new(app->store, csv ? 2 : 0);
	if (!resp->stream_cls)
		return kz_resp_errorf(resp, 500, "internal", NULL, "out of memory");
	if (resp->stream_cls && !csv)
		kz_export_set_decorate(resp->stream_cls, decorate, app->audience);
	resp->stream = kz_export_read;
	resp->stream_free = kz_export_free;
	return 0;
}

void kz_api_contacts_io_routes(kz_server *s)
{
	kz_server_route(s, "POST", "/api/v1/contacts/import", KZ_ROLE_SALES, KZ_ROUTE_RAW_BODY,
			import);
	kz_server_route(s, "GET", "/api/v1/contacts/export", KZ_ROLE_VIEWER, 0, export);
}
