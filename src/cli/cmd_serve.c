/* cmd_serve.c — `kizuna serve`: run the HTTP server until SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/app.h"
#include "audience/audience.h"
#include "base/timeutil.h"
#include "base/log.h"
#include "channel/delivery.h"
#include "capture/alert.h"
#include "channel/outbox.h"
#include "capture/token.h"
#include "cli/cli.h"
#include "http/static.h"
#include "journey/journey.h"
#include "track/writer.h"

#include "base/banned.h"

static int parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long p;
	if (!colon || (size_t)(colon - s) >= hostlen)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (!host[0])
		snprintf(host, hostlen, "0.0.0.0");
	p = strtol(colon + 1, &end, 10);
	if (*end || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

static size_t env_size(const char *name, size_t def)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long n;
	if (!v || !*v)
		return def;
	n = strtoull(v, &end, 10);
	if (*end || n == 0) {
		kz_warn("ignoring %s=%s: not a positive number of bytes", name, v);
		return def;
	}
	return (size_t)n;
}

/* The event log's directory: KIZUNA_EVENT_LOG, else beside a SQLite file (DB.events), else
 * ./data/events (PostgreSQL: each server needs its own, on a disk that survives restarts). */
static const char *event_log_dir(const char *db, char *buf, size_t len)
{
	const char *v = getenv("KIZUNA_EVENT_LOG");
	if (v && *v)
		snprintf(buf, len, "%s", v);
	else if (strncmp(db, "postgres://", 11) && strncmp(db, "postgresql://", 13))
		snprintf(buf, len, "%s.events", db);
	else
		snprintf(buf, len, "./data/events");
	return buf;
}

/* The whole file at path (NUL-terminated), or NULL. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	if (!f)
		return NULL;
	buf = calloc(1, 65536);
	n = buf ? fread(buf, 1, 65535, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* The local outbox folder: KIZUNA_MAILDIR, else next to the SQLite file, else ./data/outbox. */
static const char *outbox_dir(const char *db, char *buf, size_t len)
{
	const char *md = getenv("KIZUNA_MAILDIR"), *slash;
	if (md && *md)
		return md;
	slash = strncmp(db, "postgres", 8) ? strrchr(db, '/') : NULL;
	if (slash)
		snprintf(buf, len, "%.*s/outbox", (int)(slash - db), db);
	else
		snprintf(buf, len, "./data/outbox");
	return buf;
}

/* The journey engine (scheduler and call sender); NULL on error. */
static kz_journeys *start_journeys(kz_app *app, const char *db, char *maildir, size_t len)
{
	kz_journeys_config jc;
	kz_journeys *j;
	kz_err err;
	memset(&jc, 0, sizeof jc);
	jc.store = app->store;
	jc.audience = app->audience;
	jc.outbox = app->outbox;
	jc.base_url = app->base_url;
	jc.batch = (int)env_size("KIZUNA_JOURNEY_BATCH", 500);
	jc.smtp_url = getenv("KIZUNA_SMTP_URL");
	if (jc.smtp_url && !*jc.smtp_url)
		jc.smtp_url = NULL;
	jc.smtp_tls = getenv("KIZUNA_SMTP_TLS");
	jc.maildir = outbox_dir(db, maildir, len);
	j = kz_journeys_start(&jc, &err);
	if (!j) {
		fprintf(stderr, "kizuna serve: journeys: %s\n", err.message);
		return NULL;
	}
	if (app->track_writer)
		kz_track_writer_on_commit(app->track_writer, kz_journeys_on_commit, j);
	if (app->audience)
		kz_audience_on_emit(app->audience, kz_journeys_on_audience, j);
	return j;
}

/* The email sender from KIZUNA_SMTP_* / KIZUNA_MAILDIR / KIZUNA_DKIM_*; NULL on error. */
static kz_outbox *start_outbox(kz_store *store, const char *db, const char *base)
{
	kz_outbox_config oc;
	kz_delivery stored;
	char maildir[600], *key = NULL;
	const char *md = outbox_dir(db, maildir, sizeof maildir), *keyfile = getenv("KIZUNA_DKIM_KEY");
	const char *rate = getenv("KIZUNA_SMTP_RATE");
	kz_outbox *o;
	kz_err err;
	memset(&oc, 0, sizeof oc);
	memset(&stored, 0, sizeof stored);
	oc.smtp_url = getenv("KIZUNA_SMTP_URL");
	if (oc.smtp_url && !*oc.smtp_url)
		oc.smtp_url = NULL;
	oc.smtp_tls = getenv("KIZUNA_SMTP_TLS");
	oc.maildir = md;
	oc.connections = (int)env_size("KIZUNA_SMTP_CONNECTIONS", 4);
	oc.rate = rate && *rate ? strtod(rate, NULL) : 0;
	oc.from_env = oc.smtp_url != NULL;
	if (kz_delivery_key_init(db, &err) < 0) {
		fprintf(stderr, "kizuna serve: %s\n", err.message);
		return NULL;
	}
	if (!oc.from_env) { /* what Settings → Email says (the local Maildir when nothing) */
		kz_conn *c = kz_store_acquire(store);
		int rc = kz_delivery_load(c, &stored, &err);
		kz_store_release(c);
		if (rc < 0) {
			fprintf(stderr, "kizuna serve: email: %s\n", err.message);
			return NULL;
		}
		kz_outbox_from_delivery(&oc, &stored);
	}
	oc.retry_seconds = (int)env_size("KIZUNA_SMTP_RETRY_SECONDS", 30);
	oc.max_attempts = (int)env_size("KIZUNA_SMTP_MAX_ATTEMPTS", 8);
	oc.lease_seconds = (int)env_size("KIZUNA_SMTP_LEASE_SECONDS", 300);
	oc.base_url = base;
	oc.bounce_domain = getenv("KIZUNA_BOUNCE_DOMAIN");
	if (keyfile && *keyfile && !oc.dkim_key_pem) {
		key = read_file(keyfile);
		if (!key) {
			fprintf(stderr, "kizuna serve: cannot read KIZUNA_DKIM_KEY %s\n", keyfile);
			return NULL;
		}
		oc.dkim_domain = getenv("KIZUNA_DKIM_DOMAIN");
		oc.dkim_selector = getenv("KIZUNA_DKIM_SELECTOR");
		if (!oc.dkim_selector)
			oc.dkim_selector = "kizuna";
		oc.dkim_key_pem = key;
	}
	o = kz_outbox_start(store, &oc, &err);
	free(key);
	kz_delivery_release(&stored);
	if (!o)
		fprintf(stderr, "kizuna serve: email: %s\n", err.message);
	else
		kz_info("email: delivering through %s", oc.smtp_url ? "SMTP" : md);
	return o;
}

int kz_cmd_serve(int argc, char **argv)
{
	const char *db = kz_cli_db(argc, argv);
	const char *listen = kz_cli_opt(argc, argv, "listen");
	const char *base = getenv("KIZUNA_BASE_URL");
	char host[256], base_buf[512], jmaildir[600], errbuf[256], log_dir[1024];
	kz_err terr;
	int port, sig;
	sigset_t set;
	kz_store *store;
	kz_server *srv;
	kz_server_config cfg;
	kz_app app;
	if (kz_cli_leftover(argc, argv, "serve"))
		return 2;
	if (!listen)
		listen = getenv("KIZUNA_LISTEN");
	if (!listen || !*listen)
		listen = "127.0.0.1:8080";
	if (parse_listen(listen, host, sizeof host, &port) < 0) {
		fprintf(stderr, "kizuna serve: --listen wants HOST:PORT, e.g. 127.0.0.1:8080 (got %s)\n",
			listen);
		return 2;
	}
	/* Block the stop signals before any thread starts: only sigwait below sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	store = kz_cli_open_store(db, 16);
	if (!store)
		return 1;
	memset(&cfg, 0, sizeof cfg);
	cfg.max_body = env_size("KIZUNA_MAX_BODY", 1 << 20);
	cfg.max_upload = env_size("KIZUNA_MAX_UPLOAD", (size_t)256 << 20);
	cfg.threads = (int)env_size("KIZUNA_THREADS", 16);
	cfg.app = &app;
	cfg.auth = kz_app_auth;
	cfg.session = kz_app_session;
	cfg.barrier = kz_app_read_barrier;
	srv = kz_server_new(&cfg);
	kz_app_init(&app, store, NULL, kz_cli_country());
	app.server = srv;
	if (kz_clock_manual())
		kz_clock_set_fixed(kz_now_ms()); /* from now on it moves only by POST /api/v1/clock */
	{
		/* The audience first, listening before the writer's thread runs: events the writer
		 * replays from its log at start are then seen by the index, not lost between the
		 * index's load and a later registration. */
		kz_err aerr;
		app.audience = kz_audience_start(store, &aerr);
		if (!app.audience) {
			fprintf(stderr, "kizuna serve: audience: %s\n", aerr.message);
			kz_server_free(srv);
			kz_store_close(store);
			return 1;
		}
	}
	{
		kz_err werr;
		kz_track_writer_opts wo;
		memset(&wo, 0, sizeof wo);
		wo.on_commit = kz_audience_on_commit;
		wo.on_commit_ctx = app.audience;
		wo.default_country = app.default_country;
		wo.log_dir = event_log_dir(db, log_dir, sizeof log_dir);
		wo.max_lag = (uint64_t)env_size("KIZUNA_EVENT_LOG_MAX_LAG", 5000000);
		wo.dedupe_window = env_size("KIZUNA_DEDUPE_WINDOW", 1000000);
		wo.log_sync = getenv("KIZUNA_EVENT_LOG_SYNC") &&
			      (!strcmp(getenv("KIZUNA_EVENT_LOG_SYNC"), "1") ||
			       !strcmp(getenv("KIZUNA_EVENT_LOG_SYNC"), "true"));
		app.track_writer = kz_track_writer_start(store, &wo, &werr);
		if (!app.track_writer) {
			fprintf(stderr, "kizuna serve: %s\n", werr.message);
			kz_audience_stop(app.audience);
			kz_server_free(srv);
			kz_store_close(store);
			return 1;
		}
	}
	if (kz_token_init(store, &terr) < 0) {
		fprintf(stderr, "kizuna serve: %s\n", terr.message);
		kz_server_free(srv);
		kz_track_writer_stop(app.track_writer);
		kz_audience_stop(app.audience);
		kz_store_close(store);
		return 1;
	}
	kz_api_register(srv);
	kz_static_set_dir(getenv("KIZUNA_WEB_DIR"));
	kz_server_fallback(srv, kz_static_handler);
	app.session_idle_ms = (int64_t)env_size("KIZUNA_SESSION_IDLE_MINUTES", 30) * 60 * 1000;
	if (kz_server_start(srv, host, port, errbuf, sizeof errbuf) < 0) {
		fprintf(stderr, "kizuna serve: %s\n", errbuf);
		kz_server_free(srv);
		kz_track_writer_stop(app.track_writer);
		kz_audience_stop(app.audience);
		kz_store_close(store);
		return 1;
	}
	if (!base || !*base) {
		snprintf(base_buf, sizeof base_buf, "http://%s:%d",
			 strcmp(host, "0.0.0.0") ? host : "127.0.0.1", kz_server_port(srv));
		base = base_buf;
	}
	app.base_url = base;
	app.outbox = start_outbox(store, db, base);
	if (app.outbox)
		app.journeys = start_journeys(&app, db, jmaildir, sizeof jmaildir);
	if (!app.outbox || !app.journeys) {
		kz_server_stop(srv, 1000);
		kz_server_free(srv);
		kz_outbox_stop(app.outbox);
		kz_track_writer_stop(app.track_writer);
		kz_store_close(store);
		return 1;
	}
	app.alerts = kz_alerts_start(store, (int)env_size("KIZUNA_ALERT_RETRY_SECONDS", 30), 8);
	if (!app.alerts)
		kz_warn("form alerts to webhooks will not be sent: cannot start their thread");
	kz_info("kizuna %s listening on http://%s:%d (database: %s, public URL: %s)", KZ_VERSION,
		host, kz_server_port(srv), kz_store_backend(store), base);
	sigwait(&set, &sig);
	kz_info("received %s: finishing in-flight requests", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	kz_server_stop(srv, 10000);
	kz_server_free(srv);
	kz_journeys_stop(app.journeys); /* before the outbox it queues for */
	kz_outbox_stop(app.outbox);
	kz_alerts_stop(app.alerts);
	kz_track_writer_stop(app.track_writer); /* after the server: every answered event is in */
	kz_audience_stop(app.audience);         /* after the writer: it feeds the audience */
	kz_app_release(&app);
	kz_store_close(store);
	kz_info("stopped");
	return 0;
}
