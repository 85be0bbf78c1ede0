/* cmd_io.c — `kizuna import`, `kizuna export` and `kizuna routes`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "cli/cli.h"
#include "model/export.h"
#include "model/import.h"

#include "base/banned.h"

static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	kz_buf b;
	char chunk[65536];
	size_t n;
	if (!f)
		return NULL;
	kz_buf_init(&b, (size_t)1 << 30);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		kz_buf_add(&b, chunk, n);
	if (f != stdin)
		fclose(f);
	if (b.overflow) {
		kz_buf_release(&b);
		return NULL;
	}
	return kz_buf_detach(&b, len);
}

int kz_cmd_import(int argc, char **argv)
{
	const char *db = kz_cli_db(argc, argv);
	const char *charset = kz_cli_opt(argc, argv, "charset");
	const char *map = kz_cli_opt(argc, argv, "map");
	const char *path = kz_cli_positional(argc, argv);
	kz_store *s;
	json_t *result = NULL;
	kz_err err;
	char *data, *text;
	size_t len = 0;
	int rc;
	if (kz_cli_leftover(argc, argv, "import"))
		return 2;
	if (!path) {
		fprintf(stderr, "kizuna import: name a CSV file (or - for standard input)\n");
		return 2;
	}
	data = read_all(path, &len);
	if (!data) {
		fprintf(stderr, "kizuna import: cannot read %s\n", path);
		return 1;
	}
	s = kz_cli_open_store(db, 1);
	if (!s) {
		free(data);
		return 1;
	}
	rc = kz_import_csv(s, data, len, charset, map, kz_cli_country(), &result, &err);
	free(data);
	kz_store_close(s);
	if (rc < 0) {
		fprintf(stderr, "kizuna import: %s\n", err.message);
		return 1;
	}
	text = json_dumps(result, JSON_COMPACT);
	printf("%s\n", text);
	free(text);
	rc = json_array_size(json_object_get(result, "failed")) ? 3 : 0;
	json_decref(result);
	return rc;
}

int kz_cmd_export(int argc, char **argv)
{
	const char *db = kz_cli_db(argc, argv);
	const char *format = kz_cli_opt(argc, argv, "format");
	kz_store *s;
	kz_export *e;
	char buf[65536];
	long n;
	if (kz_cli_leftover(argc, argv, "export"))
		return 2;
	if (format && strcmp(format, "csv") && strcmp(format, "jsonl")) {
		fprintf(stderr, "kizuna export: --format must be csv or jsonl\n");
		return 2;
	}
	s = kz_cli_open_store(db, 1);
	if (!s)
		return 1;
	e = kz_export_new(s, !format || !strcmp(format, "csv"));
	while ((n = kz_export_read(e, 0, buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	kz_export_free(e);
	kz_store_close(s);
	if (n < 0) {
		fprintf(stderr, "kizuna export: the database failed mid-way\n");
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int kz_cmd_routes(int argc, char **argv)
{
	kz_server_config cfg;
	kz_server *srv;
	json_t *routes;
	char *text;
	if (kz_cli_leftover(argc, argv, "routes"))
		return 2;
	memset(&cfg, 0, sizeof cfg);
	srv = kz_server_new(&cfg);
	kz_api_register(srv);
	routes = kz_server_routes_json(srv);
	text = json_dumps(routes, JSON_INDENT(1));
	printf("%s\n", text);
	free(text);
	json_decref(routes);
	kz_server_free(srv);
	return 0;
}
