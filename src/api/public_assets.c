/* public_assets.c — GET /a/{id}: an asset's file, for anyone when ungated, else only through
 * the signed, expiring link a form submission handed out. Every download is recorded as an
 * asset_downloaded event. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "track/writer.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "capture/asset.h"
#include "capture/render.h"
#include "capture/token.h"
#include "track/event.h"
#include "track/ingest.h"

#include "base/banned.h"

static int refuse(kz_resp *resp, int status, const char *ja, const char *en)
{
	kz_buf b, body;
	size_t len;
	char *text;
	kz_buf_init(&body, 0);
	kz_buf_adds(&body, "<p>");
	kz_html_escape(&body, ja);
	kz_buf_adds(&body, "</p><p lang=\"en\">");
	kz_html_escape(&body, en);
	kz_buf_adds(&body, "</p>");
	kz_buf_init(&b, 0);
	kz_render_page(&b, "ja", status == 404 ? "404" : "ダウンロード / Download", body.data);
	kz_buf_release(&body);
	text = kz_buf_detach(&b, &len);
	return kz_resp_text(resp, status, "text/html; charset=utf-8", text, len);
}

/* The asset_downloaded event: the contact the link was made for, else the visitor (?vid=),
 * else a daily hash of address and User-Agent (as the pixel does). */
static void record_download(kz_req *req, kz_conn *c, const json_t *asset, int64_t contact_id,
			    kz_err *err)
{
	kz_app *app = req->app;
	const char *ua = kz_req_header(req, "User-Agent"), *vid = kz_req_query(req, "vid");
	char ip[64], anon[40], seed[512], hex[65], country[8];
	json_t *in;
	kz_track_src src;
	kz_track_event ev;
	kz_ingest_ctx x;
	int64_t now = kz_now_ms();
	int rc;
	kz_api_client_ip(req, ip, sizeof ip);
	if (!vid || !*vid || strlen(vid) > 128) {
		snprintf(seed, sizeof seed, "asset|%s|%s|%lld", ip, ua ? ua : "",
			 (long long)(now / 86400000));
		kz_sha256_hex(seed, strlen(seed), hex);
		snprintf(anon, sizeof anon, "ad-%.24s", hex);
		vid = anon;
	}
	in = json_pack("{s:s, s:s, s:s, s:{s:O, s:O, s:O}}", "type", "track", "event",
		       "asset_downloaded", "anonymousId", vid, "properties", "asset_id",
		       json_object_get(asset, "id"), "asset_name", json_object_get(asset, "name"),
		       "filename", json_object_get(asset, "filename"));
	if (contact_id)
		json_object_set_new(in, "contactId", json_integer(contact_id));
	memset(&src, 0, sizeof src);
	src.received_at = now;
	src.ip = ip;
	src.ua = ua;
	/* Through the event writer, like every tracked event (segments, scoring and journeys
	 * see it); with no writer in this process, straight into the store. */
	rc = kz_track_emit(in, &src, 0, err);
	if (rc == 1) {
		kz_api_country(c, app, country, sizeof country);
		kz_ingest_ctx_init(&x, country);
		rc = kz_track_event_parse(in, &src, &ev, err);
		if (rc == 0) {
			rc = kz_ingest(c, &x, &ev, err);
			kz_track_event_release(&ev);
		}
		kz_ingest_ctx_release(&x);
	}
	if (rc == 0)
		kz_store_asset_downloaded(c, json_integer_value(json_object_get(asset, "id")), err);
	json_decref(in);
}

static int download(kz_req *req, kz_resp *resp)
{
	kz_app *app = req->app;
	json_t *asset = NULL;
	int64_t id, contact_id = 0;
	unsigned char *data = NULL;
	size_t len = 0;
	char disp[200];
	char *fname;
	kz_conn *c;
	kz_err err;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return refuse(resp, 404, "この資料は見つかりません。", "This file does not exist.");
	c = kz_store_acquire(app->store);
	if (kz_tx_begin(c, 1, &err) < 0) {
		kz_store_release(c);
		return kz_resp_error(resp, &err);
	}
	if (kz_store_asset_get(c, id, 1, &asset, &err) < 0) {
		kz_tx_rollback(c);
		kz_store_release(c);
		return err.status == 404 ? refuse(resp, 404, "この資料は見つかりません。",
						  "This file does not exist.")
					 : kz_resp_error(resp, &err);
	}
	{
		const char *t = kz_req_query(req, "t");
		int ok = t ? kz_token_asset_check(id, t, kz_now_ms(), &contact_id) : -1;
		if (json_is_true(json_object_get(asset, "gated")) && ok < 0) {
			kz_tx_rollback(c);
			kz_store_release(c);
			json_decref(asset);
			if (ok == -2)
				return refuse(resp, 410,
					      "ダウンロードリンクの有効期限が切れました。フォームからもう一度お申し込みください。",
					      "This download link has expired. Fill in the form again "
					      "for a new one.");
			return refuse(resp, 403, "この資料はフォームからお申し込みいただいた方のみダウンロードできます。",
				      "This file is available through its form only.");
		}
	}
	if (kz_asset_decode(json_string_value(json_object_get(asset, "content")), &data, &len) < 0) {
		kz_tx_rollback(c);
		kz_store_release(c);
		json_decref(asset);
		return kz_resp_errorf(resp, 500, "internal", NULL, "the stored file is damaged");
	}
	kz_err_clear(&err);
	record_download(req, c, asset, contact_id, &err);
	if (err.status || kz_tx_commit(c, &err) < 0) {
		/* the file is still served: a lost count must not cost the reader the download */
		kz_warn("asset %" PRId64 ": the download was not recorded: %s", id, err.message);
		kz_tx_rollback(c);
	}
	kz_store_release(c);
	fname = kz_asset_safe_filename(json_string_value(json_object_get(asset, "filename")),
				       json_string_value(json_object_get(asset, "content_type")));
	snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", fname ? fname : "download");
	free(fname);
	kz_resp_header(resp, "Content-Disposition", disp);
	kz_resp_header(resp, "Cache-Control", "private, no-store");
	{
		/* content_type points into `asset`; the response needs a string that outlives it */
		static const char *const types[] = {
			"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp",
			"application/zip",
			"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
			"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
			"application/vnd.openxmlformats-officedocument.presentationml.presentation",
			"video/mp4", "text/plain; charset=utf-8", "text/csv; charset=utf-8", NULL};
		const char *ct = json_string_value(json_object_get(asset, "content_type"));
		const char *use = "application/octet-stream";
		for (int i = 0; ct && types[i]; i++)
			if (!strncmp(types[i], ct, strlen(ct)) &&
			    (types[i][strlen(ct)] == '\0' || types[i][strlen(ct)] == ';'))
				use = types[i];
		json_decref(asset);
		return kz_resp_text(resp, 200, use, (char *)data, len);
	}
}

void kz_api_public_assets_routes(kz_server *s)
{
	kz_server_route(s, "GET", "/a/{id}", KZ_ROLE_NONE, KZ_ROUTE_PUBLIC, download);
}
