/* cmd_init.c — `kizuna init` and `kizuna migrate`: schema, first admin, a fresh API key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/role.h"
#include "cli/cli.h"
#include "model/records.h"

#include "base/banned.h"

int kz_cmd_init(int argc, char **argv)
{
	const char *db = kz_cli_db(argc, argv);
	const char *email = kz_cli_opt(argc, argv, "admin-email");
	kz_store *s;
	kz_conn *c;
	kz_err err;
	json_t *user = NULL, *out;
	char *password = NULL, *secret = NULL;
	int64_t uid = 0, kid = 0;
	int created = 0, rc = 1;
	if (kz_cli_leftover(argc, argv, "init"))
		return 2;
	if (!email)
		email = getenv("KIZUNA_ADMIN_EMAIL");
	if (!email || !*email)
		email = "admin@example.com";
	s = kz_cli_open_store(db, 1);
	if (!s)
		return 1;
	c = kz_store_acquire(s);
	if (kz_tx_begin(c, 1, &err) < 0)
		goto fail;
	if (kz_store_user_by_email(c, email, &user, &err) < 0)
		goto fail;
	if (user) {
		uid = json_integer_value(json_object_get(user, "id"));
	} else {
		json_t *in = json_pack("{s:s, s:s, s:s}", "email", email, "name", "Admin", "role",
				       "admin");
		json_t *rec = json_object();
		int r = kz_user_apply(rec, in, 1, &password, &err);
		if (r == 0)
			r = kz_store_user_save(c, rec, &uid, &err);
		json_decref(in);
		json_decref(rec);
		if (r < 0)
			goto fail;
		created = 1;
	}
	if (kz_apikey_create(c, created ? "initial admin key" : "admin key (kizuna init)",
			     KZ_ROLE_ADMIN, uid, &kid, &secret, &err) < 0)
		goto fail;
	if (kz_tx_commit(c, &err) < 0)
		goto fail;
	out = json_pack("{s:s, s:s?, s:s, s:b, s:s}", "admin_email", email, "admin_password",
			password, "api_key", secret, "admin_created", created, "note",
			created ? "created the admin user and an API key; both are shown only once"
				: "the admin user already exists (password unchanged); created a "
				  "new API key");
	if (!password)
		json_object_set_new(out, "admin_password", json_null());
	{
		char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", text);
		free(text);
	}
	json_decref(out);
	rc = 0;
	goto out;
fail:
	kz_tx_rollback(c);
	fprintf(stderr, "kizuna init: %s\n", err.message);
out:
	json_decref(user);
	free(password);
	free(secret);
	kz_store_release(c);
	kz_store_close(s);
	return rc;
}

int kz_cmd_migrate(int argc, char **argv)
{
	const char *db = kz_cli_db(argc, argv);
	kz_store *s;
	if (kz_cli_leftover(argc, argv, "migrate"))
		return 2;
	s = kz_cli_open_store(db, 1);
	if (!s)
		return 1;
	printf("{\"schema_version\": %d, \"backend\": \"%s\"}\n", kz_store_schema_version(s),
	       kz_store_backend(s));
	kz_store_close(s);
	return 0;
}
