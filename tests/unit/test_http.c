/* test_http.c — a real kz_server on 127.0.0.1 (a free port picked by the kernel) with test
 * routes, driven over HTTP with libcurl: routing, errors, auth, limits, streaming, metrics and
 * a graceful stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/role.h"
#include "http/server.h"
#include "base/banned.h"

#define MAX_BODY 1024
#define MAX_UPLOAD 4096
#define STREAM_LEN 200000 /* several of libmicrohttpd's 64 KiB blocks */

/* ---- what the handlers share with the tests ---- */

static kz_server *g_server; /* for the /metrics handler */
static atomic_int stream_frees;
static atomic_int slow_entered, slow_done;

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ---- test handlers ---- */

static int h_item(kz_req *req, kz_resp *resp)
{
	return kz_resp_json(resp, 200,
			    json_pack("{s:s, s:s, s:i}", "route", req->route, "id", req->params[0],
				      "role", req->role));
}

static int h_special(kz_req *req, kz_resp *resp)
{
	return kz_resp_json(resp, 200, json_pack("{s:s}", "route", req->route));
}

static int h_delete(kz_req *req, kz_resp *resp)
{
	int64_t id;
	if (kz_req_id(req, 0, &id, resp) < 0)
		return 0;
	kz_resp_header(resp, "X-Deleted", req->params[0]);
	return kz_resp_empty(resp, 204);
}

static int h_create(kz_req *req, kz_resp *resp)
{
	json_t *in = kz_req_json(req, resp);
	if (!in)
		return 0;
	return kz_resp_json(resp, 201,
			    json_pack("{s:o, s:I}", "got", in, "len", (json_int_t)req->body.len));
}

static int h_upload(kz_req *req, kz_resp *resp)
{
	return kz_resp_json(resp, 200, json_pack("{s:I}", "len", (json_int_t)req->body.len));
}

static int h_public(kz_req *req, kz_resp *resp)
{
	return kz_resp_json(
		resp, 200,
		json_pack("{s:i, s:I}", "role", req->role, "user", (json_int_t)req->user_id));
}

static int h_echo(kz_req *req, kz_resp *resp)
{
	const char *x = kz_req_query(req, "x"), *y = kz_req_query(req, "y");
	const char *h = kz_req_header(req, "X-Test");
	return kz_resp_json(resp, 200,
			    json_pack("{s:s?, s:s?, s:s?}", "x", x, "y", y, "header", h));
}

static char stream_byte(uint64_t pos)
{
	return "0123456789abcdef\n"[pos % 17];
}

static long stream_fn(void *cls, uint64_t pos, char *buf, size_t max)
{
	size_t n = 0;
	(void)cls;
	while (n < max && pos + n < STREAM_LEN) {
		buf[n] = stream_byte(pos + n);
		n++;
	}
	return (long)n;
}

static void stream_free_fn(void *cls)
{
	free(cls);
	atomic_fetch_add(&stream_frees, 1);
}

static int h_stream(kz_req *req, kz_resp *resp)
{
	(void)req;
	resp->status = 200;
	resp->content_type = "text/plain";
	resp->stream = stream_fn;
	resp->stream_cls = malloc(16); /* stands for an export's state: must be freed once */
	resp->stream_free = stream_free_fn;
	return 0;
}

static int h_slow(kz_req *req, kz_resp *resp)
{
	(void)req;
	atomic_store(&slow_entered, 1);
	sleep_ms(400);
	atomic_store(&slow_done, 1);
	return kz_resp_text(resp, 200, "text/plain", strdup("finally"), 7);
}

static int h_metrics(kz_req *req, kz_resp *resp);

/* ---- auth ---- */

static int test_auth(void *app, const char *token, int *role, int64_t *key_id)
{
	static const struct {
		const char *token;
		int role;
	} keys[] = {{"viewer-key", KZ_ROLE_VIEWER},
		    {"sales-key", KZ_ROLE_SALES},
		    {"admin-key", KZ_ROLE_ADMIN}};
	(void)app;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (!strcmp(token, keys[i].token)) {
			*role = keys[i].role;
			*key_id = (int64_t)i + 1;
			return 0;
		}
	return -1;
}

static int test_session(void *app, const char *cookie, int *role, int64_t *user_id, char *csrf,
			size_t csrflen)
{
	(void)app;
	if (strcmp(cookie, "good-session"))
		return -1;
	*role = KZ_ROLE_MARKETER;
	*user_id = 77;
	snprintf(csrf, csrflen, "%s", "csrf-token-123");
	return 0;
}

/* ---- fixture: one server per test ---- */

typedef struct fx {
	kz_server *s;
	char base[64];
} fx;

static int h_metrics(kz_req *req, kz_resp *resp)
{
	kz_buf b;
	size_t len = 0;
	char *text;
	(void)req;
	kz_buf_init(&b, 0);
	kz_server_metrics(g_server, &b);
	text = kz_buf_detach(&b, &len);
	return kz_resp_text(resp, 200, "text/plain; version=0.0.4", text, len);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	kz_server_config cfg;
	char err[200];
	assert_non_null(f);
	memset(&cfg, 0, sizeof cfg);
	cfg.max_body = MAX_BODY;
	cfg.max_upload = MAX_UPLOAD;
	cfg.threads = 4;
	cfg.auth = test_auth;
	cfg.session = test_session;
	f->s = kz_server_new(&cfg);
	assert_non_null(f->s);
	g_server = f->s;
	/* parameter route first: the literal must win by specificity, not by order */
	kz_server_route(f->s, "GET", "/items/{id}", KZ_ROLE_VIEWER, 0, h_item);
	kz_server_route(f->s, "GET", "/items/special", KZ_ROLE_VIEWER, 0, h_special);
	kz_server_route(f->s, "DELETE", "/items/{id}", KZ_ROLE_ADMIN, 0, h_delete);
	kz_server_route(f->s, "POST", "/items", KZ_ROLE_SALES, 0, h_create);
	kz_server_route(f->s, "POST", "/upload", KZ_ROLE_SALES, KZ_ROUTE_RAW_BODY, h_upload);
	kz_server_route(f->s, "GET", "/public", 0, KZ_ROUTE_PUBLIC, h_public);
	kz_server_route(f->s, "GET", "/echo", KZ_ROLE_VIEWER, 0, h_echo);
	kz_server_route(f->s, "GET", "/stream", KZ_ROLE_VIEWER, 0, h_stream);
	kz_server_route(f->s, "GET", "/slow", KZ_ROLE_VIEWER, 0, h_slow);
	kz_server_route(f->s, "GET", "/metrics", 0, KZ_ROUTE_PUBLIC, h_metrics);
	if (kz_server_start(f->s, "127.0.0.1", 0, err, sizeof err) < 0)
		fail_msg("start: %s", err);
	assert_true(kz_server_port(f->s) > 0);
	snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", kz_server_port(f->s));
	atomic_store(&stream_frees, 0);
	atomic_store(&slow_entered, 0);
	atomic_store(&slow_done, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	kz_server_stop(f->s, 2000);
	kz_server_free(f->s);
	free(f);
	return 0;
}

/* ---- the client ---- */

typedef struct reply {
	long status;
	CURLcode rc;
	kz_buf body;
	kz_buf headers; /* raw header lines */
	json_t *json;   /* parsed body when it is JSON */
} reply;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	kz_buf *b = ud;
	/* a refused append (the buffer's cap) makes curl abort the transfer */
	return kz_buf_add(b, p, size * n) < 0 ? 0 : size * n;
}

typedef struct call {
	const char *method;
	const char *path;
	const char *token;  /* bearer, or NULL */
	const char *cookie; /* Cookie header value, or NULL */
	const char *csrf;
	const char *body;
	size_t body_len;
	const char *extra_header;
	size_t max_reply; /* hang up once the body passes this many bytes (0: no limit) */
} call;

static void http(fx *f, const call *c, reply *r)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char url[512], line[256];
	assert_non_null(h);
	memset(r, 0, sizeof *r);
	kz_buf_init(&r->body, c->max_reply);
	kz_buf_init(&r->headers, 0);
	snprintf(url, sizeof url, "%s%s", f->base, c->path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	if (c->token) {
		snprintf(line, sizeof line, "Authorization: Bearer %s", c->token);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (c->cookie) {
		snprintf(line, sizeof line, "Cookie: %s", c->cookie);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (c->csrf) {
		snprintf(line, sizeof line, "X-CSRF-Token: %s", c->csrf);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (c->extra_header)
		hdrs = curl_slist_append(hdrs, c->extra_header);
	if (c->body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(c->body_len ? c->body_len : strlen(c->body)));
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	r->rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	if (r->body.len)
		r->json = json_loadb(r->body.data, r->body.len, 0, NULL);
}

static void reply_free(reply *r)
{
	kz_buf_release(&r->body);
	kz_buf_release(&r->headers);
	json_decref(r->json);
}

static reply get(fx *f, const char *path, const char *token)
{
	call c = {.method = "GET", .path = path, .token = token};
	reply r;
	http(f, &c, &r);
	if (r.rc != CURLE_OK)
		fail_msg("GET %s: %s", path, curl_easy_strerror(r.rc));
	return r;
}

/* The value of response header `name` (case-insensitive), copied into out; 0 if present. */
static int header(const reply *r, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	const char *p = r->headers.data;
	while (p && *p) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > n && !strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			snprintf(out, outlen, "%.*s", (int)(len - (size_t)(v - p)), v);
			return 0;
		}
		p = eol ? eol + 2 : NULL;
	}
	return -1;
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void assert_error(const reply *r, long status, const char *code)
{
	const json_t *e = json_object_get(r->json, "error");
	char ctype[128];
	if (r->status != status || !e || !jstr(e, "code") || strcmp(jstr(e, "code"), code))
		fail_msg("HTTP %ld %s, want %ld with error code %s", r->status,
			 r->body.len ? r->body.data : "(empty)", status, code);
	assert_non_null(jstr(e, "message"));
	assert_true(strlen(jstr(e, "message")) > 0);
	assert_non_null(json_object_get(e, "field")); /* present, maybe null */
	assert_int_equal(header(r, "Content-Type", ctype, sizeof ctype), 0);
	assert_non_null(strstr(ctype, "application/json"));
}

/* ---- routing ---- */

static void literal_segment_beats_a_parameter(void **state)
{
	fx *f = *state;
	reply r = get(f, "/items/special", "viewer-key");
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "route"), "/items/special");
	reply_free(&r);
	r = get(f, "/items/42", "viewer-key");
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "route"), "/items/{id}");
	assert_string_equal(jstr(r.json, "id"), "42");
	reply_free(&r);
	/* a trailing slash is the same path */
	r = get(f, "/items/special/", "viewer-key");
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "route"), "/items/special");
	reply_free(&r);
}

/* A thread remembers the route of a path it saw last (paths without parameters): asking
 * again, with another method, or for a parameter path in between must still route right. */
static void repeated_paths_keep_routing_right(void **state)
{
	fx *f = *state;
	for (int round = 0; round < 3; round++) {
		reply r = get(f, "/items/special", "viewer-key");
		call c = {.method = "DELETE", .path = "/items/special", .token = "admin-key"};
		assert_int_equal(r.status, 200);
		assert_string_equal(jstr(r.json, "route"), "/items/special");
		reply_free(&r);
		r = get(f, "/items/7", "viewer-key");
		assert_string_equal(jstr(r.json, "route"), "/items/{id}");
		assert_string_equal(jstr(r.json, "id"), "7");
		reply_free(&r);
		/* the same path with another method is the parameter route's DELETE (to which
		 * "special" names nothing) */
		http(f, &c, &r);
		assert_error(&r, 404, "not_found");
		reply_free(&r);
		c.method = "PUT";
		http(f, &c, &r);
		assert_error(&r, 405, "method_not_allowed");
		reply_free(&r);
	}
}

static void path_parameters_are_url_decoded(void **state)
{
	fx *f = *state;
	reply r = get(f, "/items/%E5%B1%B1%20x", "viewer-key");
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "id"), "山 x");
	reply_free(&r);
}

static void unknown_path_is_a_json_404(void **state)
{
	fx *f = *state;
	reply r = get(f, "/nowhere", "viewer-key");
	assert_error(&r, 404, "not_found");
	assert_true(json_is_null(json_object_get(json_object_get(r.json, "error"), "field")));
	reply_free(&r);
	/* too many segments for any route */
	r = get(f, "/items/1/2", "viewer-key");
	assert_error(&r, 404, "not_found");
	reply_free(&r);
}

static void wrong_method_is_405_with_allow(void **state)
{
	fx *f = *state;
	call c = {.method = "PUT", .path = "/items/42", .token = "admin-key", .body = "{}"};
	reply r;
	char allow[64];
	http(f, &c, &r);
	assert_error(&r, 405, "method_not_allowed");
	assert_int_equal(header(&r, "Allow", allow, sizeof allow), 0);
	assert_non_null(strstr(allow, "GET"));
	assert_non_null(strstr(allow, "DELETE"));
	assert_null(strstr(allow, "PUT"));
	assert_null(strstr(allow, "POST"));
	reply_free(&r);

	c.method = "GET";
	c.path = "/items";
	c.body = NULL;
	http(f, &c, &r);
	assert_error(&r, 405, "method_not_allowed");
	assert_int_equal(header(&r, "Allow", allow, sizeof allow), 0);
	assert_string_equal(allow, "POST");
	reply_free(&r);
}

static void handler_errors_reach_the_client(void **state)
{
	fx *f = *state;
	call c = {.method = "DELETE", .path = "/items/abc", .token = "admin-key"};
	reply r;
	char v[32];
	http(f, &c, &r);
	assert_error(&r, 404, "not_found"); /* kz_req_id: not a record id */
	reply_free(&r);
	c.path = "/items/7";
	http(f, &c, &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body.len, 0);
	assert_int_equal(header(&r, "X-Deleted", v, sizeof v), 0);
	assert_string_equal(v, "7");
	assert_int_equal(header(&r, "X-Content-Type-Options", v, sizeof v), 0);
	assert_string_equal(v, "nosniff");
	reply_free(&r);
}

static void query_arguments_and_headers_reach_the_handler(void **state)
{
	fx *f = *state;
	call c = {.method = "GET",
		  .path = "/echo?x=1&y=%E3%81%82+b",
		  .token = "viewer-key",
		  .extra_header = "X-Test: hello"};
	reply r;
	http(f, &c, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "x"), "1");
	assert_string_equal(jstr(r.json, "y"), "あ b");
	assert_string_equal(jstr(r.json, "header"), "hello");
	reply_free(&r);
}

/* ---- auth ---- */

static void missing_bearer_is_401(void **state)
{
	fx *f = *state;
	reply r = get(f, "/items/1", NULL);
	char v[64];
	assert_error(&r, 401, "unauthorized");
	assert_int_equal(header(&r, "WWW-Authenticate", v, sizeof v), 0);
	assert_string_equal(v, "Bearer");
	reply_free(&r);
	r = get(f, "/items/1", "no-such-key");
	assert_error(&r, 401, "unauthorized");
	reply_free(&r);
	{
		call c = {.method = "GET",
			  .path = "/items/1",
			  .extra_header = "Authorization: Basic eDp5"};
		http(f, &c, &r);
		assert_error(&r, 401, "unauthorized");
		reply_free(&r);
		c.extra_header = "Authorization: Bearer    ";
		http(f, &c, &r);
		assert_error(&r, 401, "unauthorized");
		reply_free(&r);
	}
}

static void role_below_the_route_minimum_is_403(void **state)
{
	fx *f = *state;
	call c = {.method = "DELETE", .path = "/items/1", .token = "viewer-key"};
	reply r;
	http(f, &c, &r);
	assert_error(&r, 403, "forbidden");
	reply_free(&r);
	c.token = "sales-key";
	http(f, &c, &r);
	assert_error(&r, 403, "forbidden");
	reply_free(&r);
	c.token = "admin-key";
	http(f, &c, &r);
	assert_int_equal(r.status, 204);
	reply_free(&r);
	/* a higher role passes a lower minimum */
	r = get(f, "/items/1", "admin-key");
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "role")), KZ_ROLE_ADMIN);
	reply_free(&r);
}

static void public_route_needs_no_key(void **state)
{
	fx *f = *state;
	reply r = get(f, "/public", NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "role")), KZ_ROLE_NONE);
	reply_free(&r);
	r = get(f, "/public", "sales-key");
	assert_int_equal(json_integer_value(json_object_get(r.json, "role")), KZ_ROLE_SALES);
	reply_free(&r);
	/* an unknown key on a public route is just anonymous */
	r = get(f, "/public", "bogus");
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "role")), KZ_ROLE_NONE);
	reply_free(&r);
}

static void session_cookie_needs_csrf_token_for_writes(void **state)
{
	fx *f = *state;
	const char *body = "{\"a\":1}";
	call c = {.method = "GET", .path = "/items/5", .cookie = "kz_session=good-session"};
	reply r;
	http(f, &c, &r);
	assert_int_equal(r.status, 200); /* a read needs no token */
	assert_int_equal(json_integer_value(json_object_get(r.json, "role")), KZ_ROLE_MARKETER);
	reply_free(&r);

	c.method = "POST";
	c.path = "/items";
	c.body = body;
	http(f, &c, &r);
	assert_error(&r, 403, "csrf_failed");
	reply_free(&r);
	c.csrf = "csrf-token-12X";
	http(f, &c, &r);
	assert_error(&r, 403, "csrf_failed");
	reply_free(&r);
	c.csrf = "csrf-token-123";
	http(f, &c, &r);
	assert_int_equal(r.status, 201);
	reply_free(&r);

	/* an expired session says so */
	c.cookie = "kz_session=stale";
	http(f, &c, &r);
	assert_error(&r, 401, "unauthorized");
	assert_non_null(strstr(jstr(json_object_get(r.json, "error"), "message"), "session"));
	reply_free(&r);
	c.method = "GET";
	c.path = "/public";
	c.body = NULL;
	http(f, &c, &r);
	assert_int_equal(json_integer_value(json_object_get(r.json, "role")), KZ_ROLE_NONE);
	assert_int_equal(json_integer_value(json_object_get(r.json, "user")), 0);
	reply_free(&r);
}

/* ---- bodies ---- */

/* A JSON object of exactly n bytes: {"p":"xxx..."} */
static char *json_of_size(size_t n)
{
	char *s = malloc(n + 1);
	assert_true(n >= 8);
	memcpy(s, "{\"p\":\"", 6);
	memset(s + 6, 'x', n - 8);
	memcpy(s + n - 2, "\"}", 2);
	s[n] = '\0';
	return s;
}

static void body_over_max_body_is_413(void **state)
{
	fx *f = *state;
	char *fits = json_of_size(MAX_BODY), *over = json_of_size(MAX_BODY + 1);
	call c = {.method = "POST", .path = "/items", .token = "sales-key", .body = fits};
	reply r;
	http(f, &c, &r);
	assert_int_equal(r.status, 201);
	assert_int_equal(json_integer_value(json_object_get(r.json, "len")), MAX_BODY);
	reply_free(&r);
	c.body = over;
	http(f, &c, &r);
	assert_error(&r, 413, "body_too_large");
	reply_free(&r);
	/* raw-body routes have the larger upload limit */
	{
		char *up = calloc(1, MAX_UPLOAD + 2);
		memset(up, 'c', MAX_UPLOAD + 1);
		c.path = "/upload";
		c.body = up;
		c.body_len = MAX_UPLOAD;
		http(f, &c, &r);
		assert_int_equal(r.status, 200);
		assert_int_equal(json_integer_value(json_object_get(r.json, "len")), MAX_UPLOAD);
		reply_free(&r);
		c.body_len = MAX_UPLOAD + 1;
		http(f, &c, &r);
		assert_error(&r, 413, "body_too_large");
		reply_free(&r);
		free(up);
	}
	/* the server is still fine afterwards */
	r = get(f, "/items/1", "viewer-key");
	assert_int_equal(r.status, 200);
	reply_free(&r);
	free(fits);
	free(over);
}

static void invalid_json_is_400_with_byte_offset(void **state)
{
	fx *f = *state;
	call c = {.method = "POST", .path = "/items", .token = "sales-key", .body = "{\"a\":1,}"};
	reply r;
	const char *msg;
	http(f, &c, &r);
	assert_error(&r, 400, "invalid_json");
	msg = jstr(json_object_get(r.json, "error"), "message");
	/* the stray '}' is byte 7 (counted from 0), column 8 */
	if (!strstr(msg, "byte offset 7") || !strstr(msg, "line 1, column 8"))
		fail_msg("message: %s", msg);
	reply_free(&r);

	c.body = "{\n  \"a\": 1\n  \"b\": 2\n}";
	http(f, &c, &r);
	assert_error(&r, 400, "invalid_json");
	msg = jstr(json_object_get(r.json, "error"), "message");
	if (!strstr(msg, "line 3"))
		fail_msg("message: %s", msg);
	reply_free(&r);
}

static void body_must_be_one_json_object(void **state)
{
	fx *f = *state;
	static const char *const bad[] = {"[1,2]", "\"text\"", "{\"a\":1,\"a\":2}",
					  "{\"a\":1} trailing", " "};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		call c = {.method = "POST", .path = "/items", .token = "sales-key", .body = bad[i]};
		reply r;
		http(f, &c, &r);
		assert_error(&r, 400, "invalid_json");
		reply_free(&r);
	}
	{
		/* no body at all */
		call c = {.method = "POST", .path = "/items", .token = "sales-key"};
		reply r;
		http(f, &c, &r);
		assert_error(&r, 400, "invalid_json");
		reply_free(&r);
	}
}

static void valid_json_body_reaches_the_handler(void **state)
{
	fx *f = *state;
	call c = {.method = "POST",
		  .path = "/items",
		  .token = "sales-key",
		  .body = "{\"name\":\"山田\",\"n\":[1,2]}"};
	reply r;
	http(f, &c, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(jstr(json_object_get(r.json, "got"), "name"), "山田");
	reply_free(&r);
}

/* ---- streaming ---- */

static void streaming_response_delivers_every_byte_and_frees_once(void **state)
{
	fx *f = *state;
	reply r = get(f, "/stream", "viewer-key");
	char ctype[64];
	int waited = 0;
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, STREAM_LEN);
	for (size_t i = 0; i < STREAM_LEN; i++)
		if (r.body.data[i] != stream_byte(i))
			fail_msg("byte %zu is %c, want %c", i, r.body.data[i], stream_byte(i));
	assert_int_equal(header(&r, "Content-Type", ctype, sizeof ctype), 0);
	assert_string_equal(ctype, "text/plain");
	reply_free(&r);
	/* the state is freed when libmicrohttpd is done with the response */
	while (atomic_load(&stream_frees) == 0 && waited < 5000) {
		sleep_ms(10);
		waited += 10;
	}
	assert_int_equal(atomic_load(&stream_frees), 1);
}

static void streaming_state_is_freed_when_the_client_hangs_up(void **state)
{
	fx *f = *state;
	call c = {.method = "GET", .path = "/stream", .token = "viewer-key", .max_reply = 1000};
	reply r;
	int waited = 0;
	http(f, &c, &r);
	assert_int_equal(r.rc, CURLE_WRITE_ERROR); /* we hung up mid-body */
	reply_free(&r);
	while (atomic_load(&stream_frees) == 0 && waited < 5000) {
		sleep_ms(10);
		waited += 10;
	}
	assert_int_equal(atomic_load(&stream_frees), 1);
	/* and the server keeps serving */
	r = get(f, "/items/1", "viewer-key");
	assert_int_equal(r.status, 200);
	reply_free(&r);
}

/* ---- metrics ---- */

static int has_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);
	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/* libmicrohttpd reports a request complete just after the client has its reply: wait for
 * the in-flight gauge to drop to 0 (at most 5 s), leaving the metrics text in m. */
static void wait_idle(fx *f, kz_buf *m)
{
	for (int waited = 0; waited < 5000; waited += 10) {
		kz_buf_reset(m);
		kz_server_metrics(f->s, m);
		if (has_line(m->data, "kizuna_http_inflight_requests 0"))
			return;
		sleep_ms(10);
	}
}

static void metrics_count_requests_by_route_and_status(void **state)
{
	fx *f = *state;
	kz_buf m;
	reply r;
	for (int i = 0; i < 3; i++) {
		r = get(f, "/items/9", "viewer-key");
		reply_free(&r);
	}
	r = get(f, "/items/9", NULL); /* 401 */
	reply_free(&r);
	r = get(f, "/gone", NULL); /* 404, unmatched */
	reply_free(&r);

	kz_buf_init(&m, 0);
	wait_idle(f, &m);
	if (!has_line(m.data, "kizuna_http_requests_total{route=\"/items/"
			      "{id}\",method=\"GET\",status=\"200\"} 3") ||
	    !has_line(m.data, "kizuna_http_requests_total{route=\"/items/"
			      "{id}\",method=\"GET\",status=\"401\"} 1") ||
	    !has_line(m.data, "kizuna_http_requests_total{route=\"(unmatched)\",method=\"any\","
			      "status=\"404\"} 1") ||
	    !has_line(m.data, "kizuna_http_request_duration_seconds_count{route=\"/items/{id}\","
			      "method=\"GET\"} 4") ||
	    !has_line(m.data, "kizuna_http_request_duration_seconds_bucket{route=\"/items/{id}\","
			      "method=\"GET\",le=\"+Inf\"} 4") ||
	    !has_line(m.data, "kizuna_http_inflight_requests 0"))
		fail_msg("metrics:\n%s", m.data);
	/* routes never called have no series */
	assert_null(strstr(m.data, "route=\"/slow\""));
	kz_buf_release(&m);

	/* and over HTTP, the scrape itself is in flight */
	r = get(f, "/metrics", NULL);
	assert_int_equal(r.status, 200);
	assert_true(has_line(r.body.data, "kizuna_http_inflight_requests 1"));
	assert_true(has_line(r.body.data, "kizuna_http_requests_total{route=\"/items/"
					  "{id}\",method=\"GET\",status=\"200\"} 3"));
	reply_free(&r);
}

static void routes_are_listed(void **state)
{
	fx *f = *state;
	json_t *routes = kz_server_routes_json(f->s);
	json_t *first = json_array_get(routes, 0);
	assert_int_equal(json_array_size(routes), 10);
	assert_string_equal(jstr(first, "method"), "GET");
	assert_string_equal(jstr(first, "path"), "/items/{id}");
	json_decref(routes);
}

/* ---- lifecycle ---- */

typedef struct slow_call {
	fx *f;
	reply r;
} slow_call;

static void *do_slow(void *arg)
{
	slow_call *sc = arg;
	call c = {.method = "GET", .path = "/slow", .token = "viewer-key"};
	http(sc->f, &c, &sc->r);
	return NULL;
}

static void stop_lets_an_in_flight_request_finish(void **state)
{
	fx *f = *state;
	slow_call sc;
	pthread_t th;
	int waited = 0;
	memset(&sc, 0, sizeof sc);
	sc.f = f;
	assert_int_equal(pthread_create(&th, NULL, do_slow, &sc), 0);
	while (!atomic_load(&slow_entered) && waited < 10000) {
		sleep_ms(5);
		waited += 5;
	}
	assert_true(atomic_load(&slow_entered));
	kz_server_stop(f->s, 10000);
	/* stop returned only after the handler finished */
	assert_true(atomic_load(&slow_done));
	pthread_join(th, NULL);
	assert_int_equal(sc.r.rc, CURLE_OK);
	assert_int_equal(sc.r.status, 200);
	assert_int_equal(sc.r.body.len, 7);
	assert_memory_equal(sc.r.body.data, "finally", 7);
	reply_free(&sc.r);
	kz_server_stop(f->s, 100); /* a second stop is harmless (teardown does it too) */
}

static void stop_releases_the_listening_port(void **state)
{
	fx *f = *state;
	int port = kz_server_port(f->s);
	kz_server_config cfg;
	kz_server *s2;
	char err[200];
	kz_server_stop(f->s, 1000);
	memset(&cfg, 0, sizeof cfg);
	s2 = kz_server_new(&cfg);
	err[0] = '\0';
	if (kz_server_start(s2, "127.0.0.1", port, err, sizeof err) < 0) {
		kz_server_free(s2);
		fail_msg("port %d is still taken after stop: %s", port, err);
	}
	kz_server_stop(s2, 1000);
	kz_server_free(s2);
}

static void start_refuses_a_bad_host_and_a_taken_port(void **state)
{
	fx *f = *state;
	kz_server_config cfg;
	kz_server *s2;
	char err[200];
	memset(&cfg, 0, sizeof cfg);
	s2 = kz_server_new(&cfg);
	err[0] = '\0';
	assert_int_equal(kz_server_start(s2, "not-an-address", 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "not-an-address"));
	err[0] = '\0';
	assert_int_equal(kz_server_start(s2, "127.0.0.1", kz_server_port(f->s), err, sizeof err),
			 -1);
	assert_true(err[0] != '\0');
	kz_server_stop(s2, 0); /* never started: nothing to do */
	kz_server_free(s2);
}

static void many_parallel_clients_are_served(void **state)
{
	fx *f = *state;
	enum { N = 16 };
	pthread_t th[N];
	slow_call sc[N];
	/* /slow holds a worker for 400 ms; 16 of them on 4 threads still all finish */
	for (int i = 0; i < N; i++) {
		memset(&sc[i], 0, sizeof sc[i]);
		sc[i].f = f;
		assert_int_equal(pthread_create(&th[i], NULL, do_slow, &sc[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(sc[i].r.status, 200);
		reply_free(&sc[i].r);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(literal_segment_beats_a_parameter),
		T(repeated_paths_keep_routing_right),
		T(path_parameters_are_url_decoded),
		T(unknown_path_is_a_json_404),
		T(wrong_method_is_405_with_allow),
		T(handler_errors_reach_the_client),
		T(query_arguments_and_headers_reach_the_handler),
		T(missing_bearer_is_401),
		T(role_below_the_route_minimum_is_403),
		T(public_route_needs_no_key),
		T(session_cookie_needs_csrf_token_for_writes),
		T(body_over_max_body_is_413),
		T(invalid_json_is_400_with_byte_offset),
		T(body_must_be_one_json_object),
		T(valid_json_body_reaches_the_handler),
		T(streaming_response_delivers_every_byte_and_frees_once),
		T(streaming_state_is_freed_when_the_client_hangs_up),
		T(metrics_count_requests_by_route_and_status),
		T(routes_are_listed),
		T(stop_lets_an_in_flight_request_finish),
		T(stop_releases_the_listening_port),
		T(start_refuses_a_bad_host_and_a_taken_port),
		T(many_parallel_clients_are_served),
	};
	int failed;
	kz_log_set_level(KZ_LOG_ERROR);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
