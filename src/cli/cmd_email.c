/* cmd_email.c — `kizuna bounce` (a DSN or ARF report on stdin, as an MTA pipes it) and
 * `kizuna dkim-keygen` (a signing key and the DNS record to publish). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "channel/bounce.h"
#include "channel/dkim.h"
#include "cli/cli.h"

#include "base/banned.h"

#define MAX_REPORT ((size_t)16 << 20)

int kz_cmd_bounce(int argc, char **argv)
{
	const char *db = kz_cli_db(argc, argv);
	kz_store *store;
	kz_conn *c;
	kz_buf in;
	kz_err err;
	json_t *out = NULL;
	char chunk[65536];
	size_t n;
	int rc = 1;
	if (kz_cli_leftover(argc, argv, "bounce"))
		return 2;
	kz_buf_init(&in, MAX_REPORT);
	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
		kz_buf_add(&in, chunk, n);
	if (in.overflow || in.len == 0) {
		fprintf(stderr, "kizuna bounce: expected one report message (at most 16 MiB) on "
				"standard input\n");
		kz_buf_release(&in);
		return 2;
	}
	store = kz_cli_open_store(db, 1);
	if (!store) {
		kz_buf_release(&in);
		return 75; /* EX_TEMPFAIL: the MTA keeps the report and tries again */
	}
	c = kz_store_acquire(store);
	if (kz_tx_begin(c, 1, &err) == 0) {
		if (kz_bounce_apply(c, in.data, in.len, &out, &err) == 0 && kz_tx_commit(c, &err) == 0)
			rc = 0;
		else
			kz_tx_rollback(c);
	}
	kz_store_release(c);
	kz_store_close(store);
	kz_buf_release(&in);
	if (rc == 0) {
		char *s = json_dumps(out, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
		json_decref(out);
		return 0;
	}
	fprintf(stderr, "kizuna bounce: %s\n", err.message);
	/* not a report: the MTA should not retry (EX_DATAERR); else retry later */
	return err.status == 422 ? 65 : 75;
}

int kz_cmd_dkim_keygen(int argc, char **argv)
{
	const char *type = kz_cli_opt(argc, argv, "type");
	const char *selector = kz_cli_opt(argc, argv, "selector");
	const char *domain = kz_cli_opt(argc, argv, "domain");
	const char *outp = kz_cli_opt(argc, argv, "out");
	char *pem = NULL, *txt = NULL;
	kz_err err;
	FILE *f;
	if (kz_cli_leftover(argc, argv, "dkim-keygen"))
		return 2;
	if (!type)
		type = "rsa";
	if (strcmp(type, "rsa") && strcmp(type, "ed25519")) {
		fprintf(stderr, "kizuna dkim-keygen: --type is rsa (2048 bits) or ed25519\n");
		return 2;
	}
	if (!selector)
		selector = "kizuna";
	if (!outp)
		outp = "dkim.pem";
	if (kz_dkim_keygen(type, &pem, &txt, &err) < 0) {
		fprintf(stderr, "kizuna dkim-keygen: %s\n", err.message);
		return 1;
	}
	f = fopen(outp, "wx");
	if (!f) {
		fprintf(stderr, "kizuna dkim-keygen: cannot create %s (it may exist already)\n", outp);
		free(pem);
		free(txt);
		return 1;
	}
	fputs(pem, f);
	fclose(f);
	printf("private key written to %s; publish this TXT record:\n\n", outp);
	printf("%s._domainkey%s%s IN TXT \"%s\"\n\n", selector, domain ? "." : "",
	       domain ? domain : "", txt);
	printf("then start kizuna with KIZUNA_DKIM_KEY=%s KIZUNA_DKIM_SELECTOR=%s "
	       "KIZUNA_DKIM_DOMAIN=%s\n",
	       outp, selector, domain ? domain : "example.jp");
	free(pem);
	free(txt);
	return 0;
}
