/* server.c — libmicrohttpd glue: body collection with limits, routing, auth, logging, metrics. */
#include "http/server.h"
#include "base/json.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/crypto.h"
#include "base/log.h"

#include "base/banned.h"

#define MAX_ROUTES 256
#define MAX_SEGS 8
#define NBUCKETS 10

static const double bucket_le[NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
					   0.025,  0.05,  0.1,    0.5,   2.5};

typedef struct status_count {
	int status;
	uint64_t count;
} status_count;

typedef struct route {
	char *method;
	char *pattern;
	char *segs[MAX_SEGS];
	int nsegs;
	int nliteral;
	int min_role;
	unsigned flags;
	kz_handler fn;
	/* metrics, under the server's metrics lock */
	status_count statuses[12];
	int nstatuses;
	uint64_t buckets[NBUCKETS];
	uint64_t count;
	double sum;
} route;

struct kz_server {
	kz_server_config cfg;
	unsigned serial; /* tells this server's memoized routes from an earlier one's */
	route routes[MAX_ROUTES];
	int nroutes;
	route unmatched; /* metrics for 404s and fallbacks */
	kz_handler fallback;
	struct MHD_Daemon *d;
	int port;
	_Atomic int inflight;
	pthread_mutex_t mlock;
	pthread_mutex_t defer_mu; /* ready/suspended of every deferred request */
};

/* Per-request state across libmicrohttpd's calls. `req` comes first: a kz_req * is also
 * its req_ctx *, which is what a kz_deferred handle is. */
typedef struct req_ctx {
	kz_req req;
	kz_server *s;
	route *rt;
	size_t limit;
	int too_large;
	int method_not_allowed;
	char allow[64];
	struct timespec start;
	/* answering later (kz_req_defer) */
	kz_finish_fn finish; /* set while deferred */
	void *finish_cls;
	kz_resp held; /* the response as the handler left it */
	int ready;    /* kz_deferred_resume was called (under s->defer_mu) */
	int parked;   /* the connection is suspended (under s->defer_mu) */
} req_ctx;

static void split_path(const char *path, char *copy, size_t copylen, char **segs, int *nsegs)
{
	char *p;
	*nsegs = 0;
	snprintf(copy, copylen, "%s", path);
	p = copy;
	while (*p == '/')
		p++;
	while (*p && *nsegs < MAX_SEGS) {
		char *slash = strchr(p, '/');
		segs[(*nsegs)++] = p;
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
		if (!*p) /* trailing slash: ignore */
			break;
	}
}

static _Atomic unsigned server_serial;

kz_server *kz_server_new(const kz_server_config *cfg)
{
	kz_server *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->cfg = *cfg;
	if (!s->cfg.max_body)
		s->cfg.max_body = 1 << 20;
	if (!s->cfg.max_upload)
		s->cfg.max_upload = (size_t)256 << 20;
	if (s->cfg.threads <= 0)
		s->cfg.threads = 8;
	s->unmatched.pattern = strdup("(unmatched)");
	s->serial = atomic_fetch_add(&server_serial, 1) + 1;
	pthread_mutex_init(&s->mlock, NULL);
	pthread_mutex_init(&s->defer_mu, NULL);
	return s;
}

void kz_server_free(kz_server *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nroutes; i++) {
		free(s->routes[i].method);
		free(s->routes[i].pattern);
		for (int k = 0; k < s->routes[i].nsegs; k++)
			free(s->routes[i].segs[k]);
	}
	free(s->unmatched.pattern);
	pthread_mutex_destroy(&s->mlock);
	pthread_mutex_destroy(&s->defer_mu);
	free(s);
}

void kz_server_route(kz_server *s, const char *method, const char *pattern, int min_role,
		     unsigned flags, kz_handler fn)
{
	route *r;
	char copy[512];
	char *segs[MAX_SEGS];
	if (s->nroutes == MAX_ROUTES) {
		kz_error("too many routes; raise MAX_ROUTES in server.c");
		abort();
	}
	r = &s->routes[s->nroutes++];
	r->method = strdup(method);
	r->pattern = strdup(pattern);
	r->min_role = min_role;
	r->flags = flags;
	r->fn = fn;
	split_path(pattern, copy, sizeof copy, segs, &r->nsegs);
	for (int i = 0; i < r->nsegs; i++) {
		r->segs[i] = strdup(segs[i]);
		if (segs[i][0] != '{')
			r->nliteral++;
	}
}

void kz_server_fallback(kz_server *s, kz_handler fn)
{
	s->fallback = fn;
}

json_t *kz_server_routes_json(const kz_server *s)
{
	json_t *a = json_array();
	for (int i = 0; i < s->nroutes; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "method", s->routes[i].method, "path",
						   s->routes[i].pattern));
	return a;
}

/* The last few answers of match() on this thread for paths whose route has no parameters.
 * A keep-alive client (a site's collector, an integration posting events) asks for the
 * same path again and again, and the table holds a few hundred routes; the table never
 * changes once the server runs, so a remembered answer stays right. */
#define MEMO_SLOTS 4
#define MEMO_PATH 96
typedef struct route_memo {
	unsigned serial; /* the server's; 0: empty */
	route *rt;
	char method[8];
	char path[MEMO_PATH];
} route_memo;
static __thread route_memo memo[MEMO_SLOTS];
static __thread unsigned memo_next;

static route *memo_find(const kz_server *s, const char *method, const char *path)
{
	for (int i = 0; i < MEMO_SLOTS; i++)
		if (memo[i].serial == s->serial && !strcmp(memo[i].path, path) &&
		    !strcmp(memo[i].method, method))
			return memo[i].rt;
	return NULL;
}

static void memo_keep(const kz_server *s, const char *method, const char *path, route *rt)
{
	route_memo *m = &memo[memo_next++ % MEMO_SLOTS];
	size_t ml = strlen(method) + 1, pl = strlen(path) + 1;
	if (ml > sizeof m->method || pl > sizeof m->path)
		return;
	m->serial = s->serial;
	m->rt = rt;
	memcpy(m->method, method, ml);
	memcpy(m->path, path, pl);
}

/* Find the most specific route for the path; report other methods for 405. */
static route *match(kz_server *s, const char *method, const char *path, kz_req *req,
		    int *path_matched, char *allow, size_t allowlen)
{
	char copy[2048];
	char *segs[MAX_SEGS + 1];
	int nsegs, best_lit = -1;
	route *best;
	*path_matched = 0;
	allow[0] = '\0';
	best = memo_find(s, method, path);
	if (best) {
		req->nparams = 0;
		return best;
	}
	if (strlen(path) >= sizeof copy)
		return NULL;
	split_path(path, copy, sizeof copy, segs, &nsegs);
	for (int i = 0; i < s->nroutes; i++) {
		route *r = &s->routes[i];
		int ok = r->nsegs == nsegs;
		for (int k = 0; ok && k < nsegs; k++)
			if (r->segs[k][0] != '{' && strcmp(r->segs[k], segs[k]))
				ok = 0;
		if (!ok)
			continue;
		if (strcmp(r->method, method)) {
			/* Only count it for 405 if no more specific route wins for this path. */
			size_t len = strlen(allow);
			if (!strstr(allow, r->method))
				snprintf(allow + len, allowlen - len, "%s%s", len ? ", " : "", r->method);
			*path_matched = 1;
			continue;
		}
		if (r->nliteral > best_lit) {
			best = r;
			best_lit = r->nliteral;
		}
	}
	if (best) {
		/* Copy the parameters out of `copy` into the request's own storage. */
		req->nparams = 0;
		char *pbuf = req->body.data; /* unused here; params stored below */
		(void)pbuf;
		for (int k = 0; k < nsegs && req->nparams < KZ_MAX_PATH_PARAMS; k++)
			if (best->segs[k][0] == '{')
				req->params[req->nparams++] = strdup(segs[k]);
		if (best->nliteral == best->nsegs)
			memo_keep(s, method, path, best);
	}
	return best;
}

/* ---- responses ---- */

int kz_resp_text(kz_resp *resp, int status, const char *ctype, char *body, size_t len)
{
	free(resp->body);
	resp->status = status;
	resp->content_type = ctype;
	resp->body = body;
	resp->len = len;
	return 0;
}

int kz_resp_json(kz_resp *resp, int status, json_t *body)
{
	char *text = kz_json_dumps(body);
	json_decref(body);
	if (!text)
		return kz_resp_text(resp, 500, "application/json",
				    strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of "
					   "memory\",\"field\":null}}"),
				    0);
	return kz_resp_text(resp, status, "application/json; charset=utf-8", text, strlen(text));
}

int kz_resp_error(kz_resp *resp, const kz_err *e)
{
	json_t *err = json_pack("{s:s, s:s}", "code", e->code[0] ? e->code : "internal", "message",
				e->message[0] ? e->message : "internal error");
	json_object_set_new(err, "field", e->field[0] ? json_string(e->field) : json_null());
	return kz_resp_json(resp, e->status ? e->status : 500, json_pack("{s:o}", "error", err));
}

int kz_resp_errorf(kz_resp *resp, int status, const char *code, const char *field,
		   const char *fmt, ...)
{
	kz_err e;
	va_list ap;
	e.status = status;
	snprintf(e.code, sizeof e.code, "%s", code);
	snprintf(e.field, sizeof e.field, "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e.message, sizeof e.message, fmt, ap);
	va_end(ap);
	return kz_resp_error(resp, &e);
}

int kz_resp_empty(kz_resp *resp, int status)
{
	return kz_resp_text(resp, status, NULL, NULL, 0);
}

void kz_resp_header(kz_resp *resp, const char *name, const char *value)
{
	if (resp->nheaders == KZ_MAX_HEADERS)
		return;
	resp->headers[resp->nheaders][0] = strdup(name);
	resp->headers[resp->nheaders][1] = strdup(value);
	resp->nheaders++;
}

static void resp_release(kz_resp *resp)
{
	free(resp->body);
	for (int i = 0; i < resp->nheaders; i++) {
		free(resp->headers[i][0]);
		free(resp->headers[i][1]);
	}
}

/* ---- request helpers ---- */

const char *kz_req_query(kz_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *kz_req_header(kz_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *kz_req_cookie(kz_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

void kz_req_client_ip(kz_req *req, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	buf[0] = '\0';
	if (!ci || !ci->client_addr)
		return;
	if (ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, buf,
			  (socklen_t)len);
	else if (ci->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, buf,
			  (socklen_t)len);
}

json_t *kz_req_json(kz_req *req, kz_resp *resp)
{
	kz_json_error je;
	json_t *j;
	if (req->body.len == 0) {
		kz_resp_errorf(resp, 400, "invalid_json", NULL,
			       "the request body is empty; send a JSON object");
		return NULL;
	}
	j = kz_json_loadb(req->body.data, req->body.len, 0, &je);
	if (!j) {
		kz_resp_errorf(resp, 400, "invalid_json", NULL,
			       "malformed JSON at byte offset %zu (line %d, column %d): %s",
			       je.position, je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		kz_resp_errorf(resp, 400, "invalid_json", NULL,
			       "the request body must be a JSON object");
		return NULL;
	}
	return j;
}

int kz_req_id(kz_req *req, int i, int64_t *id, kz_resp *resp)
{
	char *end;
	long long v;
	if (i >= req->nparams)
		return kz_resp_errorf(resp, 404, "not_found", NULL, "no such record"), -1;
	v = strtoll(req->params[i], &end, 10);
	if (end == req->params[i] || *end || v <= 0) {
		kz_resp_errorf(resp, 404, "not_found", "id", "\"%s\" is not a record id",
			       req->params[i]);
		return -1;
	}
	*id = v;
	return 0;
}

/* ---- metrics ---- */

static void record(kz_server *s, route *r, int status, double secs)
{
	int i;
	pthread_mutex_lock(&s->mlock);
	for (i = 0; i < r->nstatuses; i++)
		if (r->statuses[i].status == status)
			break;
	if (i == r->nstatuses && r->nstatuses < 12)
		r->statuses[r->nstatuses++].status = status;
	if (i < 12)
		r->statuses[i].count++;
	for (int b = 0; b < NBUCKETS; b++)
		if (secs <= bucket_le[b])
			r->buckets[b]++;
	r->count++;
	r->sum += secs;
	pthread_mutex_unlock(&s->mlock);
}

static void metrics_route(kz_buf *out, route *r, const char *method)
{
	for (int i = 0; i < r->nstatuses; i++)
		kz_buf_addf(out,
			    "kizuna_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
			    r->pattern, method, r->statuses[i].status,
			    (unsigned long long)r->statuses[i].count);
}

static void metrics_hist(kz_buf *out, route *r, const char *method)
{
	if (!r->count)
		return;
	for (int b = 0; b < NBUCKETS; b++)
		kz_buf_addf(out,
			    "kizuna_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\","
			    "le=\"%g\"} %llu\n",
			    r->pattern, method, bucket_le[b], (unsigned long long)r->buckets[b]);
	kz_buf_addf(out,
		    "kizuna_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"+Inf\"} "
		    "%llu\n",
		    r->pattern, method, (unsigned long long)r->count);
	kz_buf_addf(out,
		    "kizuna_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n",
		    r->pattern, method, r->sum);
	kz_buf_addf(out,
		    "kizuna_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %llu\n",
		    r->pattern, method, (unsigned long long)r->count);
}

void kz_server_metrics(kz_server *s, kz_buf *out)
{
	pthread_mutex_lock(&s->mlock);
	kz_buf_adds(out, "# HELP kizuna_http_requests_total HTTP requests by route, method, status.\n"
			 "# TYPE kizuna_http_requests_total counter\n");
	for (int i = 0; i < s->nroutes; i++)
		metrics_route(out, &s->routes[i], s->routes[i].method);
	metrics_route(out, &s->unmatched, "any");
	kz_buf_adds(out, "# HELP kizuna_http_request_duration_seconds Request latency.\n"
			 "# TYPE kizuna_http_request_duration_seconds histogram\n");
	for (int i = 0; i < s->nroutes; i++)
		metrics_hist(out, &s->routes[i], s->routes[i].method);
	metrics_hist(out, &s->unmatched, "any");
	pthread_mutex_unlock(&s->mlock);
	kz_buf_addf(out,
		    "# HELP kizuna_http_inflight_requests Requests being handled now.\n"
		    "# TYPE kizuna_http_inflight_requests gauge\nkizuna_http_inflight_requests %d\n",
		    atomic_load(&s->inflight));
}

/* ---- the libmicrohttpd callbacks ---- */

typedef struct stream_adapter {
	kz_stream_fn fn;
	void *cls;
	void (*free_fn)(void *cls);
} stream_adapter;

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	stream_adapter *a = cls;
	long n = a->fn(a->cls, pos, buf, max);
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	stream_adapter *a = cls;
	if (a->free_fn)
		a->free_fn(a->cls);
	free(a);
}

static int send_resp(struct MHD_Connection *conn, kz_resp *resp)
{
	struct MHD_Response *mr;
	int ret;
	if (resp->stream) {
		stream_adapter *a = malloc(sizeof *a);
		if (!a)
			return MHD_NO;
		a->fn = resp->stream;
		a->cls = resp->stream_cls;
		a->free_fn = resp->stream_free;
		resp->stream_free = NULL;
		mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, a,
						       stream_free);
		if (!mr)
			stream_free(a);
	} else {
		mr = MHD_create_response_from_buffer(resp->len, resp->body ? resp->body : (void *)"",
						     MHD_RESPMEM_MUST_COPY);
	}
	if (!mr)
		return MHD_NO;
	if (resp->content_type)
		MHD_add_response_header(mr, "Content-Type", resp->content_type);
	for (int i = 0; i < resp->nheaders; i++)
		MHD_add_response_header(mr, resp->headers[i][0], resp->headers[i][1]);
	MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(conn, (unsigned)resp->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static const char *bearer(struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7))
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h ? h : NULL;
}

static int cookie_present(kz_req *req)
{
	return kz_req_cookie(req, KZ_SESSION_COOKIE) != NULL;
}

static void dispatch(kz_server *s, req_ctx *ctx, struct MHD_Connection *conn, kz_resp *resp)
{
	kz_req *req = &ctx->req;
	route *rt = ctx->rt;
	const char *token, *cookie;
	int session_ok = 0;
	if (ctx->too_large) {
		kz_resp_errorf(resp, 413, "body_too_large", NULL,
			       "the request body is larger than the limit of %zu bytes", ctx->limit);
		return;
	}
	if (!rt) {
		if (ctx->method_not_allowed) {
			kz_resp_header(resp, "Allow", ctx->allow);
			kz_resp_errorf(resp, 405, "method_not_allowed", NULL,
				       "%s is not allowed on %s; use %s", req->method, req->path,
				       ctx->allow);
			return;
		}
		if (s->fallback && (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD")) &&
		    strncmp(req->path, "/api/", 5)) {
			s->fallback(req, resp);
			return;
		}
		kz_resp_errorf(resp, 404, "not_found", NULL, "no route for %s %s", req->method,
			       req->path);
		return;
	}
	token = bearer(conn);
	cookie = token ? NULL : kz_req_cookie(req, KZ_SESSION_COOKIE);
	if (token && s->cfg.auth) {
		if (s->cfg.auth(s->cfg.app, token, &req->role, &req->api_key_id) < 0 &&
		    !(rt->flags & KZ_ROUTE_PUBLIC)) {
			kz_resp_errorf(resp, 401, "unauthorized", NULL,
				       "the API key is unknown or revoked");
			return;
		}
	} else if (s->cfg.session && cookie) {
		char csrf[96];
		int safe = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD") ||
			   !strcmp(req->method, "OPTIONS");
		if (s->cfg.session(s->cfg.app, cookie, &req->role, &req->user_id, csrf,
				   sizeof csrf) == 0) {
			const char *sent = kz_req_header(req, "X-CSRF-Token");
			/* A cookie rides along on cross-site requests; the token does not. */
			if (!safe && !(rt->flags & KZ_ROUTE_PUBLIC) &&
			    (!sent || strlen(sent) != strlen(csrf) ||
			     !kz_const_eq(sent, csrf, strlen(csrf)))) {
				kz_resp_errorf(resp, 403, "csrf_failed", NULL,
					       "send the session's CSRF token in the X-CSRF-Token "
					       "header (reload the page if it expired)");
				return;
			}
			session_ok = 1;
		} else {
			req->role = KZ_ROLE_NONE;
			req->user_id = 0;
		}
	}
	if (!(rt->flags & KZ_ROUTE_PUBLIC)) {
		if (!token && !session_ok) {
			kz_resp_header(resp, "WWW-Authenticate", "Bearer");
			kz_resp_errorf(resp, 401, "unauthorized", NULL,
				       cookie_present(req)
					       ? "your session has expired; sign in again"
					       : "send an API key: Authorization: Bearer <key>");
			return;
		}
		if (req->role < rt->min_role) {
			kz_resp_errorf(resp, 403, "forbidden", NULL,
				       token ? "this API key's role may not %s %s"
					     : "your role may not do this (%s %s); ask an admin",
				       req->method, rt->pattern);
			return;
		}
	}
	req->route = rt->pattern;
	if (s->cfg.barrier && !(rt->flags & (KZ_ROUTE_PUBLIC | KZ_ROUTE_NO_BARRIER)))
		s->cfg.barrier(s->cfg.app);
	rt->fn(req, resp);
}

/* ---- answering later ---- */

kz_deferred *kz_req_deferred(kz_req *req)
{
	return (kz_deferred *)req;
}

int kz_req_defer(kz_req *req, kz_finish_fn finish, void *cls)
{
	req_ctx *ctx = (req_ctx *)req;
	ctx->finish = finish;
	ctx->finish_cls = cls;
	return 0;
}

void kz_deferred_resume(kz_deferred *d)
{
	req_ctx *ctx = (req_ctx *)d;
	kz_server *s = ctx->s;
	/* The connection may only be resumed once it is suspended: whichever of the two threads
	 * comes second does the waking (or, here first, leaves `ready` for park to see). After
	 * the unlock ctx belongs to the HTTP thread again. */
	pthread_mutex_lock(&s->defer_mu);
	ctx->ready = 1;
	if (ctx->parked) {
		ctx->parked = 0;
		MHD_resume_connection(ctx->req.conn);
	}
	pthread_mutex_unlock(&s->defer_mu);
}

/* Suspend a deferred request's connection unless it is already resumable. 1: parked. */
static int park(kz_server *s, req_ctx *ctx, struct MHD_Connection *conn)
{
	int waiting;
	pthread_mutex_lock(&s->defer_mu);
	if (!ctx->ready && !ctx->parked) {
		ctx->parked = 1;
		MHD_suspend_connection(conn);
	}
	waiting = !ctx->ready;
	pthread_mutex_unlock(&s->defer_mu);
	return waiting;
}

/* Run a deferred request's finish into resp (once). */
static void finish_deferred(req_ctx *ctx, kz_resp *resp)
{
	kz_finish_fn fn = ctx->finish;
	*resp = ctx->held;
	memset(&ctx->held, 0, sizeof ctx->held);
	ctx->finish = NULL;
	fn(&ctx->req, resp, ctx->finish_cls);
}

static void log_request(kz_server *s, req_ctx *ctx, const char *method, const char *url,
			int status)
{
	struct timespec end;
	double secs;
	clock_gettime(CLOCK_MONOTONIC, &end);
	secs = (double)(end.tv_sec - ctx->start.tv_sec) +
	       (double)(end.tv_nsec - ctx->start.tv_nsec) / 1e9;
	record(s, ctx->rt ? ctx->rt : &s->unmatched, status, secs);
	{
		/* "http method=M route=R path=P status=S duration_ms=D.DDD", put together by
		 * hand: a format string costs more than the rest of a tracking request's line. */
		char st[12], dur[24], *p = dur + sizeof dur;
		long us = (long)(secs * 1e6 + 0.5);
		const char *parts[] = {"http method=", method, " route=",
				       ctx->rt ? ctx->rt->pattern : "(unmatched)", " path=", url,
				       " status=", st, " duration_ms=", NULL};
		*--p = '\0';
		for (int d = 0; d < 3; d++, us /= 10)
			*--p = (char)('0' + us % 10);
		*--p = '.';
		do
			*--p = (char)('0' + us % 10);
		while ((us /= 10) && p > dur + 1);
		parts[9] = p;
		st[0] = (char)('0' + status / 100 % 10);
		st[1] = (char)('0' + status / 10 % 10);
		st[2] = (char)('0' + status % 10);
		st[3] = '\0';
		kz_log_buffered_parts(KZ_LOG_INFO, parts, 10);
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	kz_server *s = cls;
	req_ctx *ctx = *con_cls;
	kz_resp resp;
	int ret, pm = 0;
	(void)version;
	if (!ctx) {
		ctx = calloc(1, sizeof *ctx);
		if (!ctx)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &ctx->start);
		ctx->s = s;
		ctx->req.method = method;
		ctx->req.path = url;
		ctx->req.conn = conn;
		ctx->req.app = s->cfg.app;
		ctx->rt = match(s, method, url, &ctx->req, &pm, ctx->allow, sizeof ctx->allow);
		ctx->method_not_allowed = !ctx->rt && pm;
		ctx->limit = ctx->rt && (ctx->rt->flags & KZ_ROUTE_RAW_BODY) ? s->cfg.max_upload
									      : s->cfg.max_body;
		kz_buf_init(&ctx->req.body, ctx->limit);
		atomic_fetch_add(&s->inflight, 1);
		*con_cls = ctx;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!ctx->too_large && kz_buf_add(&ctx->req.body, upload, *upload_size) < 0) {
			ctx->too_large = 1;
			kz_buf_release(&ctx->req.body);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (ctx->finish) { /* resumed (or called again while waiting) */
		if (park(s, ctx, conn))
			return MHD_YES;
		finish_deferred(ctx, &resp);
	} else {
		memset(&resp, 0, sizeof resp);
		resp.status = 500;
		dispatch(s, ctx, conn, &resp);
		if (ctx->finish) {
			ctx->held = resp;
			if (park(s, ctx, conn))
				return MHD_YES;
			finish_deferred(ctx, &resp);
		}
	}
	ret = send_resp(conn, &resp);
	log_request(s, ctx, method, url, resp.status);
	if (resp.stream_free)
		resp.stream_free(resp.stream_cls);
	resp_release(&resp);
	return ret == MHD_YES ? MHD_YES : MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	kz_server *s = cls;
	req_ctx *ctx = *con_cls;
	(void)conn;
	(void)toe;
	if (!ctx)
		return;
	/* The client left while its answer was being made: free it. (Not before the other thread
	 * resumed it: libmicrohttpd ends no suspended connection, and kz_server_stop waits.) */
	if (ctx->finish && ctx->ready) {
		kz_resp resp;
		finish_deferred(ctx, &resp);
		if (resp.stream_free)
			resp.stream_free(resp.stream_cls);
		resp_release(&resp);
	}
	for (int i = 0; i < ctx->req.nparams; i++)
		free((char *)ctx->req.params[i]);
	kz_buf_release(&ctx->req.body);
	free(ctx);
	*con_cls = NULL;
	atomic_fetch_sub(&s->inflight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;
	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	kz_warn("libmicrohttpd: %s", msg);
}

int kz_server_start(kz_server *s, const char *host, int port, char *err, size_t errlen)
{
	struct sockaddr_in addr;
	const union MHD_DaemonInfo *info;
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	if (!strcmp(host, "localhost"))
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		snprintf(err, errlen, "cannot listen on \"%s\": give an IPv4 address such as 127.0.0.1 "
			 "or 0.0.0.0", host);
		return -1;
	}
	s->d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG |
			MHD_ALLOW_SUSPEND_RESUME, 0,
		NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->cfg.threads, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_LISTEN_BACKLOG_SIZE,
		(unsigned)1024, MHD_OPTION_END);
	if (!s->d) {
		snprintf(err, errlen, "cannot listen on %s:%d (is the port in use?)", host, port);
		return -1;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : port;
	return 0;
}

int kz_server_port(const kz_server *s)
{
	return s->port;
}

void kz_server_stop(kz_server *s, int timeout_ms)
{
	int waited = 0;
	MHD_socket lsock;
	if (!s->d)
		return;
	/* Quiescing hands the listening socket back to us: close it so the port is free and
	 * new clients are refused at once rather than left waiting. */
	lsock = MHD_quiesce_daemon(s->d);
	if (lsock != MHD_INVALID_SOCKET)
		close(lsock);
	while (atomic_load(&s->inflight) > 0 && waited < timeout_ms) {
		usleep(10000);
		waited += 10;
	}
	MHD_stop_daemon(s->d);
	s->d = NULL;
	kz_log_flush(); /* the last requests' lines */
}
