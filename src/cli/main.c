/* main.c — the kizuna command: dispatches to subcommands and explains them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"

#include "base/banned.h"

typedef struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *help;
} command;

static int version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("kizuna %s\n", KZ_VERSION);
	return 0;
}

#define DB_HELP                                                                                 \
	"  --db URL       database: a file path (SQLite) or postgres://user@host:port/db\n"        \
	"                 (env KIZUNA_DB; default ./data/kizuna.db)\n"

static const command commands[] = {
	{"serve", kz_cmd_serve, "run the HTTP server (REST API, tracking, UI)",
	 "usage: kizuna serve [--db URL] [--listen HOST:PORT]\n\n" DB_HELP
	 "  --listen H:P   address to listen on (env KIZUNA_LISTEN; default 127.0.0.1:8080;\n"
	 "                 port 0 picks a free port and logs it)\n\n"
	 "environment:\n"
	 "  KIZUNA_BASE_URL          public URL used in links, snippets and emails\n"
	 "  KIZUNA_MAX_BODY          largest JSON body in bytes (default 1048576)\n"
	 "  KIZUNA_MAX_UPLOAD        largest CSV upload in bytes (default 268435456)\n"
	 "  KIZUNA_DEFAULT_COUNTRY   country for phone numbers without +code (default JP)\n"
	 "  KIZUNA_THREADS           HTTP worker threads (default 16)\n"
	 "  KIZUNA_LOG               debug | info | warn | error (default info)\n"
	 "  KIZUNA_SESSION_IDLE_MINUTES  sign the admin UI out after this idle time (default 30)\n"
	 "  KIZUNA_WEB_DIR           serve the admin UI from this folder instead of the binary\n"
	 "  KIZUNA_TRUST_PROXY       1: take the client IP from X-Forwarded-For\n"
	 "  KIZUNA_EVENT_RETENTION_DAYS  keep raw events without a site this long (default 400)\n"
	 "  KIZUNA_PRUNE_INTERVAL_SECONDS  how often old events are rolled up and pruned\n"
	 "  KIZUNA_EVENT_LOG         the event log's directory (default: DB.events beside a\n"
	 "                           SQLite file, ./data/events on PostgreSQL; one per server)\n"
	 "  KIZUNA_EVENT_LOG_SYNC    1: fdatasync every log write (power-cut safe, slower)\n"
	 "  KIZUNA_EVENT_LOG_MAX_LAG events waiting for the database before 503 (default 5000000)\n"
	 "  KIZUNA_TRACK_LINGER_MS   ms the event writer gathers a group before it commits (3)\n"
	 "  KIZUNA_DEDUPE_WINDOW     recent messageIds answered as duplicates (default 1000000)\n"
	 "  KIZUNA_SMTP_URL          smtp://user:pass@host:587 or smtps://...; unset: Maildir\n"
	 "  KIZUNA_SMTP_TLS          try (STARTTLS when offered) | required | none\n"
	 "  KIZUNA_SMTP_CONNECTIONS  parallel SMTP connections (default 4)\n"
	 "  KIZUNA_SMTP_RATE         messages per second over all connections (default: no limit)\n"
	 "  KIZUNA_SMTP_RETRY_SECONDS  first retry after a temporary failure (default 30, doubles)\n"
	 "  KIZUNA_SMTP_MAX_ATTEMPTS tries before a message fails (default 8)\n"
	 "  KIZUNA_MAILDIR           the local outbox when no SMTP is set (default: outbox/ next\n"
	 "                           to the SQLite file, else ./data/outbox)\n"
	 "  KIZUNA_BOUNCE_DOMAIN     domain of the VERP return path (default: the sender's)\n"
	 "  KIZUNA_DKIM_KEY, KIZUNA_DKIM_DOMAIN, KIZUNA_DKIM_SELECTOR  sign mail (dkim-keygen)\n"
	 "  KIZUNA_MAX_ASSET         largest asset (whitepaper) upload in bytes (default 25 MiB)\n\n"
	 "Migrations are applied at start. SIGTERM or SIGINT stops accepting connections,\n"
	 "finishes the requests in flight and exits 0.\n"},
	{"init", kz_cmd_init, "create/migrate the database, the admin user and an API key",
	 "usage: kizuna init [--db URL] [--admin-email EMAIL]\n\n" DB_HELP
	 "  --admin-email  the admin's email (env KIZUNA_ADMIN_EMAIL; default admin@example.com)\n\n"
	 "Prints one JSON object: admin_email, admin_password (null when the admin already\n"
	 "existed), api_key (always a new one), admin_created.\n"},
	{"migrate", kz_cmd_migrate, "apply pending database migrations",
	 "usage: kizuna migrate [--db URL]\n\n" DB_HELP},
	{"import", kz_cmd_import, "import contacts from a CSV file (UTF-8 or Shift_JIS)",
	 "usage: kizuna import [--db URL] [--charset CS] [--map COL:FIELD,...] FILE.csv\n\n" DB_HELP
	 "  --charset CS   utf-8 or shift_jis (default: detect; invalid UTF-8 means CP932)\n"
	 "  --map M        map more columns, e.g. 'Eメール:email,部署:fields.department'\n\n"
	 "Rows upsert by email like the API. Prints {created, updated, failed[]} as JSON;\n"
	 "exits 3 when some rows failed.\n"},
	{"export", kz_cmd_export, "write all contacts to standard output",
	 "usage: kizuna export [--db URL] [--format csv|jsonl]\n\n" DB_HELP
	 "  --format F     csv (default, with a header row) or jsonl (one contact per line)\n"},
	{"demo", kz_cmd_demo, "load realistic demo data (companies, contacts, tags, fields)",
	 "usage: kizuna demo [--db URL] [--contacts N] [--force]\n\n" DB_HELP
	 "  --contacts N   how many contacts (default 300)\n"
	 "  --force        load even when the database already has contacts\n"},
	{"bounce", kz_cmd_bounce, "record a bounce or complaint report read from stdin",
	 "usage: kizuna bounce [--db URL] < report.eml\n\n" DB_HELP
	 "Reads one DSN (RFC 3464) or ARF (RFC 5965) message, as an MTA pipes it, finds the\n"
	 "send it is about and records it: hard bounces and complaints suppress the address,\n"
	 "soft bounces do after several in 30 days. Prints the outcome as JSON. Exits 65 for\n"
	 "input that is not a report, 75 when the database is unavailable (retry later).\n"},
	{"dkim-keygen", kz_cmd_dkim_keygen, "make a DKIM key and print the DNS record",
	 "usage: kizuna dkim-keygen [--type rsa|ed25519] [--selector S] [--domain D] [--out F]\n\n"
	 "Writes the private key (PEM) to F (default dkim.pem, never overwritten) and prints\n"
	 "the TXT record to publish at S._domainkey.D.\n"},
	{"routes", kz_cmd_routes, "list every HTTP route as JSON", "usage: kizuna routes\n"},
	{"version", version, "print the version", "usage: kizuna version\n"},
	{NULL, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
	fprintf(out, "kizuna %s — marketing automation in one binary\n\n"
		     "usage: kizuna COMMAND [options]\n\ncommands:\n",
		KZ_VERSION);
	for (const command *c = commands; c->name; c++)
		fprintf(out, "  %-9s %s\n", c->name, c->summary);
	fprintf(out, "\nkizuna COMMAND --help explains a command's options.\n");
}

int main(int argc, char **argv)
{
	const char *lvl = getenv("KIZUNA_LOG");
	if (lvl && !strcmp(lvl, "debug"))
		kz_log_set_level(KZ_LOG_DEBUG);
	else if (lvl && !strcmp(lvl, "warn"))
		kz_log_set_level(KZ_LOG_WARN);
	else if (lvl && !strcmp(lvl, "error"))
		kz_log_set_level(KZ_LOG_ERROR);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version"))
		return version(0, NULL);
	for (const command *c = commands; c->name; c++) {
		if (strcmp(c->name, argv[1]))
			continue;
		for (int i = 2; i < argc; i++)
			if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
				fputs(c->help, stdout);
				return 0;
			}
		return c->fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "kizuna: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return 2;
}
