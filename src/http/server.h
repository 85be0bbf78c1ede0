/* server.h — the HTTP server on libmicrohttpd: routes, request/response, auth hook, metrics. */
#ifndef KZ_SERVER_H
#define KZ_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/role.h"


/* Route flags. */
#define KZ_ROUTE_PUBLIC 0x1   /* no API key needed */
#define KZ_ROUTE_RAW_BODY 0x2 /* body is not JSON (CSV); larger limit (max_upload) */
#define KZ_ROUTE_NO_BARRIER 0x4 /* authenticated, but does not wait for cfg.barrier */

#define KZ_MAX_PATH_PARAMS 4
#define KZ_MAX_HEADERS 8

typedef struct kz_server kz_server;

typedef struct kz_req {
	const char *method;
	const char *path;
	const char *route; /* the matched pattern, e.g. "/api/v1/contacts/{id}" */
	const char *params[KZ_MAX_PATH_PARAMS]; /* path parameters, in pattern order */
	int nparams;
	kz_buf body;
	int role;           /* the caller's role (KZ_ROLE_NONE on public routes without a key) */
	int64_t api_key_id; /* 0 when none */
	int64_t user_id;    /* the signed-in user (session cookie), 0 when none */
	void *app;          /* the application context given to kz_server_new */
	void *conn;         /* struct MHD_Connection *, for query arguments and headers */
} kz_req;

/* A streaming body: returns bytes written (at most max), 0 at the end, < 0 to abort. */
typedef long (*kz_stream_fn)(void *cls, uint64_t pos, char *buf, size_t max);

typedef struct kz_resp {
	int status;
	char *body; /* malloc'd, owned by the response */
	size_t len;
	const char *content_type;
	char *headers[KZ_MAX_HEADERS][2]; /* extra headers, malloc'd name/value */
	int nheaders;
	kz_stream_fn stream;
	void *stream_cls;
	void (*stream_free)(void *cls);
} kz_resp;

typedef int (*kz_handler)(kz_req *req, kz_resp *resp);

/* ---- answering later ----
 * A handler that waits on another thread (the event writer's group commit) need not hold an
 * HTTP thread meanwhile: it takes the request's handle with kz_req_deferred, hands it to
 * that thread, and returns kz_req_defer(req, finish, cls). The connection is parked until
 * the other thread calls kz_deferred_resume(handle); then `finish` runs on an HTTP thread
 * and completes the response (headers set before deferring are kept). Resuming before
 * kz_req_defer is fine: finish then runs at once. finish also runs, with its answer thrown
 * away, when the client went away meanwhile, so it is the one place that frees cls. */
typedef struct kz_deferred kz_deferred;
typedef int (*kz_finish_fn)(kz_req *req, kz_resp *resp, void *cls);

/* Resolve a bearer token to a role; returns 0 and fills role/key_id, or -1 (unknown key). */
typedef int (*kz_auth_fn)(void *app, const char *token, int *role, int64_t *key_id);

/* Resolve a session cookie to a role and user; copies the session's CSRF token into csrf.
 * Returns 0, or -1 (unknown, expired, or the user was deactivated). */
typedef int (*kz_session_fn)(void *app, const char *cookie, int *role, int64_t *user_id,
			     char *csrf, size_t csrflen);

#define KZ_SESSION_COOKIE "kz_session"

typedef struct kz_server_config {
	size_t max_body;   /* JSON bodies (default 1 MiB) */
	size_t max_upload; /* raw bodies such as CSV imports (default 256 MiB) */
	int threads;       /* worker threads (default 8) */
	void *app;
	kz_auth_fn auth;
	kz_session_fn session;
	/* Called before every authenticated request's handler (unless KZ_ROUTE_NO_BARRIER):
	 * waits until what was acknowledged before is readable. May be NULL. */
	void (*barrier)(void *app);
} kz_server_config;

kz_server *kz_server_new(const kz_server_config *cfg);
void kz_server_free(kz_server *s);
/* Register a route; pattern segments in braces are parameters: "/api/v1/contacts/{id}". */
void kz_server_route(kz_server *s, const char *method, const char *pattern, int min_role,
		     unsigned flags, kz_handler fn);
/* Handler for GETs that match no route (static files); may be NULL. */
void kz_server_fallback(kz_server *s, kz_handler fn);
/* Bind host:port (port 0 picks a free one) and start serving; 0 or -1 with a message. */
int kz_server_start(kz_server *s, const char *host, int port, char *err, size_t errlen);
int kz_server_port(const kz_server *s);
/* Stop accepting, wait up to timeout_ms for in-flight requests, then stop. */
void kz_server_stop(kz_server *s, int timeout_ms);
/* Append the Prometheus text of the HTTP metrics. */
void kz_server_metrics(kz_server *s, kz_buf *out);
/* The registered routes as a JSON array of {"method","path"}. */
json_t *kz_server_routes_json(const kz_server *s);

/* ---- request helpers ---- */
/* A query argument (URL-decoded) or NULL. */
const char *kz_req_query(kz_req *req, const char *name);
/* A request header or NULL. */
const char *kz_req_header(kz_req *req, const char *name);
/* The handle that kz_deferred_resume takes for this request (nothing happens yet). */
kz_deferred *kz_req_deferred(kz_req *req);
/* Answer later: see "answering later" above. Returns 0. */
int kz_req_defer(kz_req *req, kz_finish_fn finish, void *cls);
/* From any thread, once: let the deferred request's finish run. */
void kz_deferred_resume(kz_deferred *d);
/* A cookie or NULL. */
const char *kz_req_cookie(kz_req *req, const char *name);
/* The client's IP address as text into buf ("" when unknown). */
void kz_req_client_ip(kz_req *req, char *buf, size_t len);
/* Parse the body as a JSON object; on failure fill resp with 400/422 and return NULL. */
json_t *kz_req_json(kz_req *req, kz_resp *resp);
/* Path parameter i as a positive integer id; on failure fill resp with 404. */
int kz_req_id(kz_req *req, int i, int64_t *id, kz_resp *resp);

/* ---- response helpers (all return 0 so handlers can `return kz_resp_json(...)`) ---- */
int kz_resp_json(kz_resp *resp, int status, json_t *body /* stolen */);
int kz_resp_error(kz_resp *resp, const kz_err *e);
int kz_resp_errorf(kz_resp *resp, int status, const char *code, const char *field,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int kz_resp_text(kz_resp *resp, int status, const char *ctype, char *body /* stolen */,
		 size_t len);
int kz_resp_empty(kz_resp *resp, int status);
void kz_resp_header(kz_resp *resp, const char *name, const char *value);

#endif
