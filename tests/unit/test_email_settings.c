/* test_email_settings.c — unit tests for sealed secrets, the click identity token, the
 * delivery settings (checked, stored sealed, read back as an SMTP URL) and double opt-in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/crypto.h"
#include "channel/delivery.h"
#include "channel/message.h"
#include "channel/optin.h"
#include "store/db.h"
#include "store/store.h"
#include <dirent.h>
#include <unistd.h>

#include "base/banned.h"

static const char *const KEY1 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
static const char *const KEY2 = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

static void seal_round_trips_and_hides_the_secret(void **state)
{
	char *a, *b, *open;
	(void)state;
	kz_delivery_key_set(KEY1);
	a = kz_seal("pä55:w@rd/秘密");
	b = kz_seal("pä55:w@rd/秘密");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(!strncmp(a, "s1:", 3));
	assert_null(strstr(a, "55:w"));
	assert_string_not_equal(a, b); /* a fresh nonce each time */
	open = kz_unseal(a);
	assert_string_equal(open, "pä55:w@rd/秘密");
	free(open);
	free(a);
	free(b);
}

static void unseal_refuses_tampering_and_a_foreign_key(void **state)
{
	char *a, *bad;
	(void)state;
	kz_delivery_key_set(KEY1);
	a = kz_seal("secret");
	bad = strdup(a);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
	assert_null(kz_unseal(bad));
	assert_null(kz_unseal("s1:abcd"));
	assert_null(kz_unseal("plain text"));
	assert_null(kz_unseal(NULL));
	kz_delivery_key_set(KEY2);
	assert_null(kz_unseal(a));
	kz_delivery_key_set(KEY1);
	free(a);
	free(bad);
}

static void key_file_is_made_once_with_mode_0600(void **state)
{
	char dir[] = "/tmp/kz_keyXXXXXX", db[128], path[160];
	struct stat st;
	kz_err err;
	char *a, *open;
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/kizuna.db", dir);
	snprintf(path, sizeof path, "%s/kizuna.key", dir);
	unsetenv("KIZUNA_SECRET_KEY_FILE");
	assert_int_equal(kz_delivery_key_init(db, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	a = kz_seal("x");
	kz_delivery_key_set(KEY2);
	assert_int_equal(kz_delivery_key_init(db, &err), 0); /* the same key read back */
	open = kz_unseal(a);
	assert_string_equal(open, "x");
	free(open);
	free(a);
	unlink(path);
	rmdir(dir);
	kz_delivery_key_set(KEY1);
}

static void click_identity_token_round_trips_expires_and_refuses_forgery(void **state)
{
	const char *secret = "0123456789abcdef0123456789abcdef";
	char tok[96], forged[96];
	int64_t cid = 0;
	(void)state;
	kz_email_click_id(secret, 42, 1000000, tok);
	assert_int_equal(kz_email_click_id_check(secret, tok, 999999, &cid), 0);
	assert_int_equal(cid, 42);
	assert_int_equal(kz_email_click_id_check(secret, tok, 1000001, &cid), -2);
	snprintf(forged, sizeof forged, "43%s", tok + 2);
	assert_int_equal(kz_email_click_id_check(secret, forged, 0, &cid), -1);
	assert_int_equal(kz_email_click_id_check("another secret 0123456789abcdef", tok, 0, &cid), -1);
	assert_int_equal(kz_email_click_id_check(secret, "", 0, &cid), -1);
	assert_int_equal(kz_email_click_id_check(secret, "42.x.y", 0, &cid), -1);
	assert_int_equal(kz_email_click_id_check(secret, NULL, 0, &cid), -1);
}

/* ---- with a store (SQLite in a temporary folder) ---- */

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[600];
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
	}
	closedir(d);
	rmdir(dir);
}

typedef struct fx {
	char dir[64], url[128];
	kz_store *s;
	kz_conn *c;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	kz_err e;
	snprintf(f->dir, sizeof f->dir, "/tmp/kz_email_settingsXXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->url, sizeof f->url, "%s/kizuna.db", f->dir);
	if (kz_store_open(f->url, 2, &f->s, &e) < 0 || kz_store_migrate(f->s, NULL, &e) < 0)
		fail_msg("store: %s", e.message);
	f->c = kz_store_acquire(f->s);
	kz_delivery_key_set(KEY1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	kz_store_release(f->c);
	kz_store_close(f->s);
	remove_tree(f->dir);
	free(f);
	return 0;
}

static int apply(fx *f, const char *json, kz_err *err)
{
	json_t *in = json_loads(json, 0, NULL);
	int rc;
	assert_non_null(in);
	assert_int_equal(kz_tx_begin(f->c, 1, err), 0);
	rc = kz_delivery_apply(f->c, in, err);
	if (rc == 0)
		assert_int_equal(kz_tx_commit(f->c, err), 0);
	else
		kz_tx_rollback(f->c);
	json_decref(in);
	return rc;
}

static void delivery_settings_build_the_smtp_url_with_an_encoded_account(void **state)
{
	fx *f = *state;
	kz_delivery d;
	kz_err err;
	char *raw = NULL;
	assert_int_equal(apply(f, "{\"smtp_host\":\"smtp.example.com\",\"smtp_port\":2525,"
				  "\"smtp_security\":\"starttls\",\"smtp_username\":\"me@example.com\","
				  "\"smtp_password\":\"p@ss:w/rd\",\"smtp_rate\":14,\"smtp_connections\":3}",
			     &err),
			 0);
	assert_int_equal(kz_store_setting_get(f->c, "smtp_password", &raw, &err), 0);
	assert_null(strstr(raw, "p@ss")); /* sealed at rest */
	free(raw);
	assert_int_equal(kz_delivery_load(f->c, &d, &err), 0);
	assert_string_equal(d.smtp_url, "smtp://me%40example.com:p%40ss%3Aw%2Frd@smtp.example.com:2525");
	assert_string_equal(d.smtp_tls, "required");
	assert_true(d.rate == 14);
	assert_int_equal(d.connections, 3);
	kz_delivery_release(&d);
	/* implicit TLS: smtps:// and 465 unless a port is given */
	assert_int_equal(apply(f, "{\"smtp_security\":\"tls\",\"smtp_port\":\"\"}", &err), 0);
	assert_int_equal(kz_delivery_load(f->c, &d, &err), 0);
	assert_string_equal(d.smtp_url, "smtps://me%40example.com:p%40ss%3Aw%2Frd@smtp.example.com:465");
	kz_delivery_release(&d);
	/* no host: the Maildir */
	assert_int_equal(apply(f, "{\"smtp_host\":\"\"}", &err), 0);
	assert_int_equal(kz_delivery_load(f->c, &d, &err), 0);
	assert_null(d.smtp_url);
	kz_delivery_release(&d);
}

static void delivery_settings_refuse_bad_members_and_change_nothing(void **state)
{
	fx *f = *state;
	kz_err err;
	char *v = NULL;
	assert_int_equal(apply(f, "{\"smtp_host\":\"a.example.com\"}", &err), 0);
	assert_int_equal(apply(f, "{\"smtp_host\":\"b.example.com\",\"smtp_port\":0}", &err), -1);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.field, "smtp_port");
	assert_int_equal(apply(f, "{\"smtp_host\":\"b.example.com\",\"smtp_security\":\"ssl\"}", &err), -1);
	assert_string_equal(err.field, "smtp_security");
	assert_int_equal(apply(f, "{\"smtp_host\":\"bad host\"}", &err), -1);
	assert_string_equal(err.field, "smtp_host");
	assert_int_equal(apply(f, "{\"smtp_connections\":99}", &err), -1);
	assert_string_equal(err.field, "smtp_connections");
	assert_int_equal(apply(f, "{\"dkim_key\":\"-----BEGIN PRIVATE KEY-----\\nnope\"}", &err), -1);
	assert_string_equal(err.field, "dkim_key");
	assert_int_equal(apply(f, "{\"smtp_hots\":\"x\"}", &err), -1);
	assert_string_equal(err.code, "unknown_field");
	assert_int_equal(kz_store_setting_get(f->c, "smtp_host", &v, &err), 0);
	assert_string_equal(v, "a.example.com");
	free(v);
}

static void a_generated_dkim_key_is_sealed_and_loads(void **state)
{
	fx *f = *state;
	kz_delivery d;
	kz_err err;
	json_t *view;
	assert_int_equal(apply(f, "{\"dkim_domain\":\"example.jp\",\"dkim_selector\":\"s1\"}", &err), 0);
	assert_int_equal(kz_tx_begin(f->c, 1, &err), 0);
	assert_int_equal(kz_delivery_dkim_generate(f->c, "ed25519", &err), 0);
	assert_int_equal(kz_tx_commit(f->c, &err), 0);
	assert_int_equal(kz_delivery_load(f->c, &d, &err), 0);
	assert_non_null(strstr(d.dkim_key_pem, "BEGIN PRIVATE KEY"));
	kz_delivery_release(&d);
	view = kz_delivery_view(f->c, &err);
	assert_true(json_is_true(json_object_get(view, "dkim_key_set")));
	assert_non_null(strstr(json_string_value(json_object_get(view, "dkim_dns_record")), "k=ed25519"));
	assert_null(json_object_get(view, "dkim_key"));
	json_decref(view);
}

static void double_optin_queues_one_confirmation_and_marks_the_consent_pending(void **state)
{
	fx *f = *state;
	kz_err err;
	json_t *consent = NULL;
	int64_t cid = 0, sid = 0, again = 0, email_id = 0;
	kz_rows rows;
	assert_int_equal(kz_tx_begin(f->c, 1, &err), 0);
	assert_int_equal(kz_db_scalar_int(f->c,
					  "INSERT INTO contacts(email, created_at, updated_at) VALUES"
					  " ('doi@example.jp', 0, 0) RETURNING id",
					  NULL, 0, &cid, &(int){0}, &err),
			 0);
	assert_int_equal(kz_email_double_optin_send(f->c, cid, "form:3", "203.0.113.9", 7200000,
						   &sid, &err),
			 0);
	assert_true(sid > 0);
	assert_int_equal(kz_email_double_optin_send(f->c, cid, "form:3", "203.0.113.9", 7300000,
						   &again, &err),
			 0);
	assert_int_equal(again, 0); /* the same hour: one mail */
	assert_int_equal(kz_store_consent_get(f->c, cid, "email", &consent, &err), 0);
	assert_string_equal(json_string_value(json_object_get(consent, "status")), "pending");
	assert_string_equal(json_string_value(json_object_get(consent, "source")), "form:3");
	json_decref(consent);
	assert_int_equal(kz_email_optin_email(f->c, &email_id, &err), 0);
	assert_true(email_id > 0);
	assert_true(kz_db_query(f->c, "SELECT kind, email_id FROM email_sends WHERE id = $1",
				(kz_val[]){KZ_INT(sid)}, 1, &rows, &err) >= 0);
	assert_int_equal(rows.nrows, 1);
	assert_string_equal(kz_rows_get(&rows, 0, 0), "optin");
	assert_int_equal(kz_rows_int(&rows, 0, 1), email_id);
	kz_rows_free(&rows);
	/* confirming grants it; a second confirmation finds nothing pending */
	assert_int_equal(kz_store_consent_confirm(f->c, cid, "email", "198.51.100.1", 7400000, &err), 1);
	assert_int_equal(kz_store_consent_confirm(f->c, cid, "email", "198.51.100.1", 7500000, &err), 0);
	assert_int_equal(kz_store_consent_get(f->c, cid, "email", &consent, &err), 0);
	assert_string_equal(json_string_value(json_object_get(consent, "status")), "granted");
	assert_string_equal(json_string_value(json_object_get(consent, "confirmed_ip")), "198.51.100.1");
	json_decref(consent);
	/* granted: no second confirmation mail */
	assert_int_equal(kz_email_double_optin_send(f->c, cid, "form:3", NULL, 99000000, &again, &err), 0);
	assert_int_equal(again, 0);
	/* no such contact */
	assert_int_equal(kz_email_double_optin_send(f->c, 999999, "api", NULL, 0, &again, &err), -1);
	assert_int_equal(err.status, 404);
	kz_tx_rollback(f->c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seal_round_trips_and_hides_the_secret),
		cmocka_unit_test(unseal_refuses_tampering_and_a_foreign_key),
		cmocka_unit_test(key_file_is_made_once_with_mode_0600),
		cmocka_unit_test(click_identity_token_round_trips_expires_and_refuses_forgery),
		cmocka_unit_test_setup_teardown(delivery_settings_build_the_smtp_url_with_an_encoded_account, setup, teardown),
		cmocka_unit_test_setup_teardown(delivery_settings_refuse_bad_members_and_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(a_generated_dkim_key_is_sealed_and_loads, setup, teardown),
		cmocka_unit_test_setup_teardown(double_optin_queues_one_confirmation_and_marks_the_consent_pending, setup, teardown),
	};
	if (kz_crypto_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
