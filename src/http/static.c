/* static.c — the admin UI's files: embedded at build time, or from KIZUNA_WEB_DIR. */
#include "http/static.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/embedded.h"

#include "base/banned.h"

static const char *web_dir;

void kz_static_set_dir(const char *dir)
{
	web_dir = dir && *dir ? dir : NULL;
}

const char *kz_static_mime(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".json", "application/json; charset=utf-8"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".ico", "image/x-icon"},
		{".woff2", "font/woff2"},
		{".txt", "text/plain; charset=utf-8"},
	};
	const char *dot = strrchr(name, '.');
	if (dot)
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (!strcmp(dot, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

static int safe_name(const char *name)
{
	return *name && !strstr(name, "..") && name[0] != '/' && !strchr(name, '\\');
}

/* Copy a file of the UI into a malloc'd buffer; 0 on success. */
static int load(const char *name, char **data, size_t *len)
{
	if (web_dir) {
		char path[4096];
		FILE *f;
		long n;
		snprintf(path, sizeof path, "%s/%s", web_dir, name);
		f = fopen(path, "rb");
		if (!f)
			return -1;
		if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
			fclose(f);
			return -1;
		}
		*data = malloc((size_t)n + 1);
		if (!*data || fread(*data, 1, (size_t)n, f) != (size_t)n) {
			free(*data);
			fclose(f);
			return -1;
		}
		fclose(f);
		*len = (size_t)n;
		return 0;
	}
	for (const kz_embedded_file *e = kz_embedded_files; e->name; e++)
		if (!strcmp(e->name, name)) {
			*data = malloc(e->len + 1);
			if (!*data)
				return -1;
			memcpy(*data, e->data, e->len);
			*len = e->len;
			return 0;
		}
	return -1;
}

/* The admin UI's own paths (web/js/app.js routes). Anything else is a 404, so a typo in
 * an integration gets an error rather than the login page. */
static int is_app_path(const char *path)
{
	static const char *const prefixes[] = {"login",   "dashboard", "contacts", "import",
					       "companies", "segments", "emails",   "journeys",
					       "forms",   "reports",  "settings", "visitors",
					       "sites",   NULL};
	size_t n;
	while (*path == '/')
		path++;
	if (!*path)
		return 1;
	n = strcspn(path, "/");
	for (int i = 0; prefixes[i]; i++)
		if (strlen(prefixes[i]) == n && !strncmp(path, prefixes[i], n))
			return 1;
	return 0;
}

int kz_static_handler(kz_req *req, kz_resp *resp)
{
	const char *name = req->path;
	const char *last;
	char *data = NULL;
	size_t len = 0;
	while (*name == '/')
		name++;
	last = strrchr(req->path, '/');
	if (*name && safe_name(name) && strcmp(name, "openapi.json") && load(name, &data, &len) == 0) {
		kz_resp_header(resp, "Cache-Control", "no-cache");
		return kz_resp_text(resp, 200, kz_static_mime(name), data, len);
	}
	/* App routes (/contacts/12) have no extension: give them the single-page app. */
	if ((!last || !strchr(last, '.')) && is_app_path(req->path)) {
		if (load("index.html", &data, &len) == 0) {
			kz_resp_header(resp, "Cache-Control", "no-cache");
			kz_resp_header(resp, "Content-Security-Policy",
				       "default-src 'self'; img-src 'self' data:; style-src 'self' "
				       "'unsafe-inline'; frame-ancestors 'none'");
			kz_resp_header(resp, "X-Frame-Options", "DENY");
			return kz_resp_text(resp, 200, "text/html; charset=utf-8", data, len);
		}
	}
	/* A person typing a wrong address gets the app's own not-found page (still a 404). */
	{
		const char *accept = kz_req_header(req, "Accept");
		if (accept && strstr(accept, "text/html") && load("index.html", &data, &len) == 0)
			return kz_resp_text(resp, 404, "text/html; charset=utf-8", data, len);
	}
	return kz_resp_errorf(resp, 404, "not_found", NULL, "no file %s", req->path);
}
