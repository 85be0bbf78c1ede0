/* delivery.c — delivery settings (SMTP, DKIM) in the settings table, with the password and the
 * private key sealed (libsodium secretbox) under an install key kept in a file of its own. */
#include "channel/delivery.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "base/buf.h"
#include "base/log.h"
#include "channel/dkim.h"

#include "base/banned.h"

static unsigned char key[crypto_secretbox_KEYBYTES];
static int have_key;
static pthread_mutex_t key_mu = PTHREAD_MUTEX_INITIALIZER;

void kz_delivery_key_set(const char *hex)
{
	size_t n = 0;
	pthread_mutex_lock(&key_mu);
	have_key = sodium_hex2bin(key, sizeof key, hex, strlen(hex), NULL, &n, NULL) == 0 &&
		   n == sizeof key;
	pthread_mutex_unlock(&key_mu);
}

static void key_path(const char *db, char *out, size_t len)
{
	const char *env = getenv("KIZUNA_SECRET_KEY_FILE");
	const char *slash = db && strncmp(db, "postgres", 8) ? strrchr(db, '/') : NULL;
	if (env && *env)
		snprintf(out, len, "%s", env);
	else if (slash)
		snprintf(out, len, "%.*s/kizuna.key", (int)(slash - db), db);
	else if (db && strncmp(db, "postgres", 8))
		snprintf(out, len, "kizuna.key");
	else
		snprintf(out, len, "./data/kizuna.key");
}

int kz_delivery_key_init(const char *db, kz_err *err)
{
	char path[1024], hex[2 * crypto_secretbox_KEYBYTES + 2];
	FILE *f;
	size_t n;
	key_path(db, path, sizeof path);
	f = fopen(path, "r");
	if (!f && errno == ENOENT) {
		unsigned char fresh[crypto_secretbox_KEYBYTES];
		char *slash = strrchr(path, '/');
		int fd;
		if (slash) { /* ./data may not exist yet */
			*slash = '\0';
			mkdir(path, 0700);
			*slash = '/';
		}
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			return kz_err_set(err, 500, "secret_key", "", "cannot create the install key %s: %s",
					  path, strerror(errno));
		randombytes_buf(fresh, sizeof fresh);
		sodium_bin2hex(hex, sizeof hex, fresh, sizeof fresh);
		n = strlen(hex);
		hex[n++] = '\n';
		if (write(fd, hex, n) != (ssize_t)n || fsync(fd) < 0) {
			close(fd);
			return kz_err_set(err, 500, "secret_key", "", "cannot write the install key %s",
					  path);
		}
		close(fd);
		f = fopen(path, "r");
	}
	if (!f)
		return kz_err_set(err, 500, "secret_key", "", "cannot read the install key %s: %s", path,
				  strerror(errno));
	n = fread(hex, 1, sizeof hex - 1, f);
	fclose(f);
	hex[n] = '\0';
	while (n && isspace((unsigned char)hex[n - 1]))
		hex[--n] = '\0';
	kz_delivery_key_set(hex);
	if (!have_key)
		return kz_err_set(err, 500, "secret_key", "",
				  "the install key %s is not 64 hex characters", path);
	return 0;
}

char *kz_seal(const char *plain)
{
	size_t pl = strlen(plain), cl = pl + crypto_secretbox_MACBYTES;
	unsigned char nonce[crypto_secretbox_NONCEBYTES], *ct;
	char *out;
	pthread_mutex_lock(&key_mu);
	if (!have_key) {
		pthread_mutex_unlock(&key_mu);
		return NULL;
	}
	ct = malloc(cl);
	out = malloc(3 + 2 * (sizeof nonce + cl) + 1);
	if (!ct || !out) {
		pthread_mutex_unlock(&key_mu);
		free(ct);
		free(out);
		return NULL;
	}
	randombytes_buf(nonce, sizeof nonce);
	crypto_secretbox_easy(ct, (const unsigned char *)plain, pl, nonce, key);
	pthread_mutex_unlock(&key_mu);
	memcpy(out, "s1:", 3);
	sodium_bin2hex(out + 3, 2 * sizeof nonce + 1, nonce, sizeof nonce);
	sodium_bin2hex(out + 3 + 2 * sizeof nonce, 2 * cl + 1, ct, cl);
	free(ct);
	return out;
}

char *kz_unseal(const char *sealed)
{
	size_t hl, bl = 0, pl;
	unsigned char *bin;
	char *plain;
	int ok;
	if (!sealed || strncmp(sealed, "s1:", 3))
		return NULL;
	hl = strlen(sealed + 3);
	if (hl % 2 || hl / 2 < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		return NULL;
	bin = malloc(hl / 2);
	plain = malloc(hl / 2 + 1);
	if (!bin || !plain ||
	    sodium_hex2bin(bin, hl / 2, sealed + 3, hl, NULL, &bl, NULL) < 0) {
		free(bin);
		free(plain);
		return NULL;
	}
	pl = bl - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	pthread_mutex_lock(&key_mu);
	ok = have_key && crypto_secretbox_open_easy((unsigned char *)plain,
						   bin + crypto_secretbox_NONCEBYTES,
						   bl - crypto_secretbox_NONCEBYTES, bin, key) == 0;
	pthread_mutex_unlock(&key_mu);
	free(bin);
	if (!ok) {
		free(plain);
		return NULL;
	}
	plain[pl] = '\0';
	return plain;
}

/* ------------------------------------------------------------------ the settings */

static char *get(kz_conn *c, const char *k, kz_err *err, int *failed)
{
	char *v = NULL;
	if (kz_store_setting_get(c, k, &v, err) < 0)
		*failed = 1;
	if (v && !*v) {
		free(v);
		v = NULL;
	}
	return v;
}

/* userinfo with RFC 3986 percent-encoding */
static void add_enc(kz_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || strchr("-._~", ch))
			kz_buf_addc(b, (char)ch);
		else
			kz_buf_addf(b, "%%%02X", ch);
	}
}

int kz_delivery_load(kz_conn *c, kz_delivery *d, kz_err *err)
{
	int failed = 0;
	char *host = get(c, "smtp_host", err, &failed), *port = get(c, "smtp_port", err, &failed);
	char *sec = get(c, "smtp_security", err, &failed);
	char *user = get(c, "smtp_username", err, &failed);
	char *pass = get(c, "smtp_password", err, &failed);
	char *rate = get(c, "smtp_rate", err, &failed), *conns = get(c, "smtp_connections", err, &failed);
	char *dkey = get(c, "dkim_key", err, &failed);
	memset(d, 0, sizeof d[0]);
	d->dkim_domain = get(c, "dkim_domain", err, &failed);
	d->dkim_selector = get(c, "dkim_selector", err, &failed);
	if (!failed && host) {
		kz_buf b;
		char *pw = pass ? kz_unseal(pass) : NULL;
		if (pass && !pw)
			kz_warn("email: the stored SMTP password does not open with this install key "
				"(KIZUNA_SECRET_KEY_FILE); set it again in Settings → Email");
		int tls = sec && !strcmp(sec, "tls");
		kz_buf_init(&b, 0);
		kz_buf_adds(&b, tls ? "smtps://" : "smtp://");
		if (user) {
			add_enc(&b, user);
			if (pw) {
				kz_buf_addc(&b, ':');
				add_enc(&b, pw);
			}
			kz_buf_addc(&b, '@');
		}
		kz_buf_addf(&b, "%s:%s", host, port ? port : tls ? "465" : "587");
		d->smtp_url = kz_buf_detach(&b, NULL);
		d->smtp_tls = sec && !strcmp(sec, "none") ? "none" : "required";
		if (pw)
			sodium_memzero(pw, strlen(pw));
		free(pw);
	}
	d->rate = rate ? strtod(rate, NULL) : 0;
	d->connections = conns ? atoi(conns) : 0;
	if (!failed && dkey) {
		d->dkim_key_pem = kz_unseal(dkey);
		if (!d->dkim_key_pem)
			kz_warn("email: the stored DKIM key does not open with this install key "
				"(KIZUNA_SECRET_KEY_FILE): mail goes out unsigned until it is set again");
	}
	free(host);
	free(port);
	free(sec);
	free(user);
	free(pass);
	free(rate);
	free(conns);
	free(dkey);
	if (failed)
		kz_delivery_release(d);
	return failed ? -1 : 0;
}

void kz_delivery_release(kz_delivery *d)
{
	if (d->smtp_url)
		sodium_memzero(d->smtp_url, strlen(d->smtp_url));
	free(d->smtp_url);
	free(d->dkim_domain);
	free(d->dkim_selector);
	free(d->dkim_key_pem);
	memset(d, 0, sizeof d[0]);
}

json_t *kz_delivery_view(kz_conn *c, kz_err *err)
{
	static const char *const plain[] = {"smtp_host",   "smtp_username", "dkim_domain",
					    "dkim_selector", "dkim_dns_record", NULL};
	int failed = 0;
	json_t *out = json_object();
	char *v;
	for (int i = 0; plain[i]; i++) {
		v = get(c, plain[i], err, &failed);
		json_object_set_new(out, plain[i], json_string(v ? v : ""));
		free(v);
	}
	v = get(c, "smtp_security", err, &failed);
	json_object_set_new(out, "smtp_security", json_string(v ? v : "starttls"));
	free(v);
	v = get(c, "smtp_port", err, &failed);
	json_object_set_new(out, "smtp_port", v ? json_integer(atoi(v)) : json_null());
	free(v);
	v = get(c, "smtp_rate", err, &failed);
	json_object_set_new(out, "smtp_rate", json_real(v ? strtod(v, NULL) : 0));
	free(v);
	v = get(c, "smtp_connections", err, &failed);
	json_object_set_new(out, "smtp_connections", json_integer(v ? atoi(v) : 4));
	free(v);
	v = get(c, "smtp_password", err, &failed);
	json_object_set_new(out, "smtp_password_set", json_boolean(v != NULL));
	free(v);
	v = get(c, "dkim_key", err, &failed);
	json_object_set_new(out, "dkim_key_set", json_boolean(v != NULL));
	free(v);
	if (failed) {
		json_decref(out);
		return NULL;
	}
	return out;
}

static int host_ok(const char *s)
{
	size_t n = strlen(s);
	if (n > 253)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".-_[]:", *s))
			return 0;
	return 1;
}

static int selector_ok(const char *s)
{
	size_t n = strlen(s);
	if (n > 63)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".-_", *s))
			return 0;
	return 1;
}

/* A number member (JSON number, or a string holding one) within [lo, hi] as text. */
static int number_in(const json_t *v, double lo, double hi, int whole, char out[32])
{
	double x;
	char *end;
	if (json_is_number(v))
		x = json_number_value(v);
	else if (json_is_string(v) && *json_string_value(v)) {
		x = strtod(json_string_value(v), &end);
		if (*end)
			return -1;
	} else
		return -1;
	if (!isfinite(x) || x < lo || x > hi || (whole && x != floor(x)))
		return -1;
	if (whole)
		snprintf(out, 32, "%lld", (long long)x);
	else
		snprintf(out, 32, "%g", x);
	return 0;
}

static int store(kz_conn *c, const char *k, const char *v, kz_err *err)
{
	return kz_store_setting_set(c, k, v, err);
}

int kz_delivery_apply(kz_conn *c, const json_t *in, kz_err *err)
{
	static const char *const known[] = {"smtp_host",     "smtp_port",      "smtp_security",
					    "smtp_username", "smtp_password",  "smtp_rate",
					    "smtp_connections", "dkim_domain", "dkim_selector",
					    "dkim_key",      NULL};
	const char *k;
	json_t *v;
	char num[32];
	if (!json_is_object(in))
		return kz_err_set(err, 422, "invalid_body", "", "send a JSON object");
	json_object_foreach((json_t *)in, k, v)
	{
		int ok = 0;
		for (int i = 0; known[i]; i++)
			ok |= !strcmp(k, known[i]);
		if (!ok)
			return kz_err_set(err, 422, "unknown_field", k,
					  "%s is not a delivery setting; known: smtp_host, smtp_port, "
					  "smtp_security, smtp_username, smtp_password, smtp_rate, "
					  "smtp_connections, dkim_domain, dkim_selector, dkim_key",
					  k);
		if (!json_is_string(v) && strcmp(k, "smtp_port") && strcmp(k, "smtp_rate") &&
		    strcmp(k, "smtp_connections"))
			return kz_err_set(err, 422, "invalid_field", k, "%s must be a string", k);
	}
	/* check everything first: a bad member changes nothing */
	json_object_foreach((json_t *)in, k, v)
	{
		const char *s = json_string_value(v);
		if (!strcmp(k, "smtp_host") && !host_ok(s))
			return kz_err_set(err, 422, "invalid_field", k,
					  "smtp_host must be a host name such as smtp.example.com (\"\" "
					  "for the local outbox)");
		if (!strcmp(k, "smtp_port") && !json_is_null(v) &&
		    !(json_is_string(v) && !*s) && number_in(v, 1, 65535, 1, num) < 0)
			return kz_err_set(err, 422, "invalid_field", k,
					  "smtp_port must be a port number from 1 to 65535");
		if (!strcmp(k, "smtp_security") && strcmp(s, "starttls") && strcmp(s, "tls") &&
		    strcmp(s, "none"))
			return kz_err_set(err, 422, "invalid_field", k,
					  "smtp_security must be starttls (port 587), tls (port 465) or "
					  "none");
		if ((!strcmp(k, "smtp_username") || !strcmp(k, "smtp_password")) && strlen(s) > 500)
			return kz_err_set(err, 422, "invalid_field", k, "%s is too long", k);
		if (!strcmp(k, "smtp_rate") && number_in(v, 0, 100000, 0, num) < 0)
			return kz_err_set(err, 422, "invalid_field", k,
					  "smtp_rate must be messages per second from 0 (no limit) to "
					  "100000");
		if (!strcmp(k, "smtp_connections") && number_in(v, 1, 32, 1, num) < 0)
			return kz_err_set(err, 422, "invalid_field", k,
					  "smtp_connections must be a whole number from 1 to 32");
		if (!strcmp(k, "dkim_domain") && *s && (!host_ok(s) || !strchr(s, '.')))
			return kz_err_set(err, 422, "invalid_field", k,
					  "dkim_domain must be your sending domain, e.g. example.co.jp");
		if (!strcmp(k, "dkim_selector") && !selector_ok(s))
			return kz_err_set(err, 422, "invalid_field", k,
					  "dkim_selector may hold letters, digits, '.', '-' and '_' (at "
					  "most 63)");
		if (!strcmp(k, "dkim_key") && *s) {
			kz_err e2;
			kz_dkim *dk = kz_dkim_new("example.com", "check", s, &e2);
			if (!dk)
				return kz_err_set(err, 422, "invalid_field", k,
						  "dkim_key must be a PEM private key (RSA or Ed25519): "
						  "%s",
						  e2.message);
			kz_dkim_free(dk);
		}
	}
	json_object_foreach((json_t *)in, k, v)
	{
		const char *s = json_string_value(v);
		int rc;
		if (!strcmp(k, "smtp_password") || !strcmp(k, "dkim_key")) {
			char *sealed = *s ? kz_seal(s) : NULL;
			if (*s && !sealed)
				return kz_err_set(err, 500, "secret_key", k,
						  "the install key is not loaded; %s cannot be stored", k);
			rc = store(c, k, sealed ? sealed : "", err);
			free(sealed);
			if (rc == 0 && !strcmp(k, "dkim_key"))
				rc = store(c, "dkim_dns_record", "", err); /* a pasted key: unknown */
		} else if (json_is_number(v) || (json_is_string(v) && !strcmp(k, "smtp_port") && *s) ||
			   (json_is_string(v) && (!strcmp(k, "smtp_rate") ||
						  !strcmp(k, "smtp_connections")))) {
			number_in(v, 0, 100000, 0, num);
			rc = store(c, k, num, err);
		} else {
			rc = store(c, k, s ? s : "", err);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

int kz_delivery_dkim_generate(kz_conn *c, const char *type, kz_err *err)
{
	char *pem = NULL, *txt = NULL, *sealed;
	int rc;
	if (kz_dkim_keygen(type, &pem, &txt, err) < 0)
		return -1;
	sealed = kz_seal(pem);
	sodium_memzero(pem, strlen(pem));
	free(pem);
	if (!sealed) {
		free(txt);
		return kz_err_set(err, 500, "secret_key", "dkim_key",
				  "the install key is not loaded; the key cannot be stored");
	}
	rc = store(c, "dkim_key", sealed, err);
	if (rc == 0)
		rc = store(c, "dkim_dns_record", txt, err);
	free(sealed);
	free(txt);
	return rc;
}
