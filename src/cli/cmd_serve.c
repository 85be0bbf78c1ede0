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
#include "cli/cli.h"
#include "http/static.h"
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

int kz_cmd_serve(int argc, char **argv)
{
	const char *db = kz_cli_db(argc, argv);
	const char *listen = kz_cli_opt(argc, argv, "listen");
	const char *base = getenv("KIZUNA_BASE_URL");
	char host[256], base_buf[512], errbuf[256];
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
	srv = kz_server_new(&cfg);
	kz_app_init(&app, store, NULL, kz_cli_country());
	app.server = srv;
	{
		kz_err werr;
		app.track_writer = kz_track_writer_start(store, app.default_country, &werr);
		if (!app.track_writer) {
			fprintf(stderr, "kizuna serve: %s\n", werr.message);
			kz_server_free(srv);
			kz_store_close(store);
			return 1;
		}
	}
	if (kz_clock_manual())
		kz_clock_set_fixed(kz_now_ms()); /* from now on it moves only by POST /api/v1/clock */
	{
		kz_err aerr;
		app.audience = kz_audience_start(store, &aerr);
		if (!app.audience) {
			fprintf(stderr, "kizuna serve: audience: %s\n", aerr.message);
			kz_track_writer_stop(app.track_writer);
			kz_server_free(srv);
			kz_store_close(store);
			return 1;
		}
		kz_track_writer_on_commit(app.track_writer, kz_audience_on_commit, app.audience);
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
	kz_info("kizuna %s listening on http://%s:%d (database: %s, public URL: %s)", KZ_VERSION,
		host, kz_server_port(srv), kz_store_backend(store), base);
	sigwait(&set, &sig);
	kz_info("received %s: finishing in-flight requests", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	kz_server_stop(srv, 10000);
	kz_server_free(srv);
	kz_track_writer_stop(app.track_writer); /* after the server: every answered event is in */
	kz_audience_stop(app.audience);         /* after the writer: it feeds the audience */
	kz_app_release(&app);
	kz_store_close(store);
	kz_info("stopped");
	return 0;
}
