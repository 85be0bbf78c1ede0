/* cmd_common.c — option parsing and store opening shared by the subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "cli/cli.h"

#include "base/banned.h"

const char *kz_cli_opt(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!a || strncmp(a, "--", 2) || strncmp(a + 2, name, n))
			continue;
		if (a[2 + n] == '=') {
			argv[i] = NULL;
			return a + 3 + n;
		}
		if (a[2 + n] == '\0' && i + 1 < argc && argv[i + 1]) {
			const char *v = argv[i + 1];
			argv[i] = argv[i + 1] = NULL;
			return v;
		}
	}
	return NULL;
}

int kz_cli_flag(int argc, char **argv, const char *name)
{
	for (int i = 1; i < argc; i++)
		if (argv[i] && !strncmp(argv[i], "--", 2) && !strcmp(argv[i] + 2, name)) {
			argv[i] = NULL;
			return 1;
		}
	return 0;
}

const char *kz_cli_positional(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (argv[i] && strncmp(argv[i], "--", 2)) {
			const char *v = argv[i];
			argv[i] = NULL;
			return v;
		}
	return NULL;
}

int kz_cli_leftover(int argc, char **argv, const char *cmd)
{
	for (int i = 1; i < argc; i++)
		if (argv[i]) {
			fprintf(stderr, "kizuna %s: unknown argument %s (see kizuna %s --help)\n", cmd,
				argv[i], cmd);
			return 1;
		}
	return 0;
}

const char *kz_cli_db(int argc, char **argv)
{
	const char *v = kz_cli_opt(argc, argv, "db");
	if (!v)
		v = getenv("KIZUNA_DB");
	return v && *v ? v : "./data/kizuna.db";
}

const char *kz_cli_country(void)
{
	const char *c = getenv("KIZUNA_DEFAULT_COUNTRY");
	return c && *c ? c : "JP";
}

kz_store *kz_cli_open_store(const char *url, int pool)
{
	kz_store *s = NULL;
	kz_err err;
	int applied = 0;
	if (kz_crypto_init() < 0) {
		fprintf(stderr, "kizuna: libsodium failed to start\n");
		return NULL;
	}
	if (kz_store_open(url, pool, &s, &err) < 0) {
		fprintf(stderr, "kizuna: %s\n", err.message);
		return NULL;
	}
	if (kz_store_migrate(s, &applied, &err) < 0) {
		fprintf(stderr, "kizuna: migration failed: %s\n", err.message);
		kz_store_close(s);
		return NULL;
	}
	return s;
}
