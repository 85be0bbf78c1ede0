/* dkim.c — DKIM signatures: canonicalize (relaxed/relaxed), hash the body, sign the chosen
 * headers with RSA (PKCS#1 v1.5) or Ed25519 over their SHA-256 (RFC 8463). */
#include "channel/dkim.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "channel/mime.h"

#include "base/banned.h"

struct kz_dkim {
	char domain[256], selector[64];
	EVP_PKEY *key;
	int ed25519;
};

/* Headers signed when present, in this order. */
static const char *const signed_headers[] = {"from",       "to",           "subject",
					     "date",       "message-id",   "reply-to",
					     "mime-version", "content-type", "list-unsubscribe",
					     "list-unsubscribe-post", NULL};

kz_dkim *kz_dkim_new(const char *domain, const char *selector, const char *pem, kz_err *err)
{
	BIO *bio;
	kz_dkim *k;
	if (!domain || !*domain || strlen(domain) >= 256 || !selector || !*selector ||
	    strlen(selector) >= 64) {
		kz_err_set(err, 422, "invalid_field", "dkim", "DKIM needs a domain and a selector");
		return NULL;
	}
	k = calloc(1, sizeof *k);
	if (!k)
		return NULL;
	snprintf(k->domain, sizeof k->domain, "%s", domain);
	snprintf(k->selector, sizeof k->selector, "%s", selector);
	bio = BIO_new_mem_buf(pem, -1);
	k->key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!k->key) {
		free(k);
		kz_err_set(err, 422, "invalid_field", "dkim",
			   "the DKIM key is not a PEM private key (make one with kizuna "
			   "dkim-keygen)");
		return NULL;
	}
	k->ed25519 = EVP_PKEY_id(k->key) == EVP_PKEY_ED25519;
	if (!k->ed25519 && EVP_PKEY_id(k->key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(k->key);
		free(k);
		kz_err_set(err, 422, "invalid_field", "dkim", "DKIM keys must be RSA or Ed25519");
		return NULL;
	}
	return k;
}

void kz_dkim_free(kz_dkim *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->key);
	free(k);
}

const char *kz_dkim_algorithm(const kz_dkim *k)
{
	return k->ed25519 ? "ed25519-sha256" : "rsa-sha256";
}

static int wsp(char c)
{
	return c == ' ' || c == '\t';
}

void kz_dkim_canon_body(const char *body, size_t len, kz_buf *out)
{
	size_t i = 0, pending_empty = 0;
	while (i < len) {
		size_t e = i, le;
		kz_buf line;
		while (e < len && body[e] != '\n')
			e++;
		le = e;
		if (le > i && body[le - 1] == '\r')
			le--;
		kz_buf_init(&line, 0);
		for (size_t j = i; j < le; j++) {
			if (wsp(body[j])) {
				while (j + 1 < le && wsp(body[j + 1]))
					j++;
				if (j + 1 < le)
					kz_buf_addc(&line, ' ');
				continue;
			}
			kz_buf_addc(&line, body[j]);
		}
		if (line.len == 0) {
			pending_empty++;
		} else {
			for (; pending_empty; pending_empty--)
				kz_buf_add(out, "\r\n", 2);
			kz_buf_add(out, line.data, line.len);
			kz_buf_add(out, "\r\n", 2);
		}
		kz_buf_release(&line);
		i = e < len ? e + 1 : e;
	}
}

void kz_dkim_canon_header(const char *f, size_t len, kz_buf *out)
{
	size_t colon = 0, i;
	int sp = 0;
	while (colon < len && f[colon] != ':')
		colon++;
	for (i = 0; i < colon; i++) {
		char c = f[i];
		if (wsp(c))
			continue;
		kz_buf_addc(out, (char)(c >= 'A' && c <= 'Z' ? c + 32 : c));
	}
	kz_buf_addc(out, ':');
	i = colon + 1;
	while (i < len && (wsp(f[i]) || f[i] == '\r' || f[i] == '\n'))
		i++;
	for (; i < len; i++) {
		char c = f[i];
		if (c == '\r' || c == '\n')
			continue;
		if (wsp(c)) {
			sp = 1;
			continue;
		}
		if (sp)
			kz_buf_addc(out, ' ');
		sp = 0;
		kz_buf_addc(out, c);
	}
}

/* Find the header field called `name` (last occurrence); *flen its length incl. folds. */
static const char *find_field(const char *hdrs, size_t hlen, const char *name, size_t *flen)
{
	const char *found = NULL;
	size_t nl = strlen(name), i = 0;
	while (i < hlen) {
		size_t e = i;
		while (e < hlen) {
			const char *nl2 = memchr(hdrs + e, '\n', hlen - e);
			e = nl2 ? (size_t)(nl2 - hdrs) + 1 : hlen;
			if (e >= hlen || !wsp(hdrs[e]))
				break;
		}
		if (e - i > nl && hdrs[i + nl] == ':' && !strncasecmp(hdrs + i, name, nl)) {
			found = hdrs + i;
			*flen = e - i;
			while (*flen && (found[*flen - 1] == '\n' || found[*flen - 1] == '\r'))
				(*flen)--;
		}
		i = e;
	}
	return found;
}

static void b64(kz_buf *out, const unsigned char *d, size_t n)
{
	kz_buf tmp;
	kz_buf_init(&tmp, 0);
	kz_mime_base64(&tmp, d, n);
	for (size_t i = 0; i < tmp.len; i++)
		if (tmp.data[i] != '\r' && tmp.data[i] != '\n')
			kz_buf_addc(out, tmp.data[i]);
	kz_buf_release(&tmp);
}

int kz_dkim_sign(const kz_dkim *k, const char *msg, size_t len, int64_t t, kz_buf *out,
		 kz_err *err)
{
	const char *sep = NULL;
	size_t hlen, siglen = 0;
	unsigned char bh[32], dig[32], sig[512];
	kz_buf canon, hdr, hlist;
	EVP_MD_CTX *ctx = NULL;
	int rc = -1;
	for (size_t i = 0; i + 3 < len; i++)
		if (!memcmp(msg + i, "\r\n\r\n", 4)) {
			sep = msg + i;
			break;
		}
	if (!sep)
		return kz_err_set(err, 500, "internal", "", "DKIM: the message has no body");
	hlen = (size_t)(sep - msg) + 2;
	kz_buf_init(&canon, 0);
	kz_buf_init(&hdr, 0);
	kz_buf_init(&hlist, 0);
	kz_dkim_canon_body(sep + 4, len - (size_t)(sep + 4 - msg), &canon);
	EVP_Digest(canon.data, canon.len, bh, NULL, EVP_sha256(), NULL);
	kz_buf_reset(&canon);

	for (int i = 0; signed_headers[i]; i++) {
		size_t fl;
		const char *f = find_field(msg, hlen, signed_headers[i], &fl);
		if (!f)
			continue;
		kz_dkim_canon_header(f, fl, &canon);
		kz_buf_add(&canon, "\r\n", 2);
		if (hlist.len)
			kz_buf_addc(&hlist, ':');
		kz_buf_adds(&hlist, signed_headers[i]);
	}
	kz_buf_addf(&hdr, "DKIM-Signature: v=1; a=%s; c=relaxed/relaxed; d=%s; s=%s;\r\n\tt=%lld; bh=",
		    kz_dkim_algorithm(k), k->domain, k->selector, (long long)t);
	b64(&hdr, bh, sizeof bh);
	kz_buf_addf(&hdr, ";\r\n\th=%s;\r\n\tb=", hlist.data);
	kz_dkim_canon_header(hdr.data, hdr.len, &canon);

	ctx = EVP_MD_CTX_new();
	if (!ctx)
		goto out;
	siglen = sizeof sig;
	if (k->ed25519) {
		EVP_Digest(canon.data, canon.len, dig, NULL, EVP_sha256(), NULL);
		if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->key) != 1 ||
		    EVP_DigestSign(ctx, sig, &siglen, dig, sizeof dig) != 1)
			goto out;
	} else {
		if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->key) != 1 ||
		    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)canon.data,
				   canon.len) != 1)
			goto out;
	}
	kz_buf_add(out, hdr.data, hdr.len);
	{
		kz_buf s64;
		kz_buf_init(&s64, 0);
		b64(&s64, sig, siglen);
		for (size_t i = 0; i < s64.len; i += 70) {
			if (i)
				kz_buf_adds(out, "\r\n\t ");
			kz_buf_add(out, s64.data + i, s64.len - i < 70 ? s64.len - i : 70);
		}
		kz_buf_release(&s64);
	}
	kz_buf_add(out, "\r\n", 2);
	rc = 0;
out:
	if (rc < 0)
		kz_err_set(err, 500, "internal", "dkim", "DKIM signing failed in OpenSSL");
	EVP_MD_CTX_free(ctx);
	kz_buf_release(&canon);
	kz_buf_release(&hdr);
	kz_buf_release(&hlist);
	return rc;
}

int kz_dkim_keygen(const char *type, char **pem, char **txt, kz_err *err)
{
	int ed = type && !strcmp(type, "ed25519");
	EVP_PKEY *key = ed ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
			   : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	BIO *bio = NULL;
	unsigned char *der = NULL, raw[32];
	size_t rawlen = sizeof raw;
	char *data;
	long n;
	kz_buf t;
	int dlen;
	*pem = *txt = NULL;
	if (!key)
		return kz_err_set(err, 500, "internal", "", "key generation failed");
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(bio, &data);
	*pem = malloc((size_t)n + 1);
	if (*pem) {
		memcpy(*pem, data, (size_t)n);
		(*pem)[n] = '\0';
	}
	BIO_free(bio);
	kz_buf_init(&t, 0);
	kz_buf_addf(&t, "v=DKIM1; k=%s; p=", ed ? "ed25519" : "rsa");
	if (ed) {
		EVP_PKEY_get_raw_public_key(key, raw, &rawlen);
		b64(&t, raw, rawlen);
	} else {
		dlen = i2d_PUBKEY(key, &der);
		if (dlen > 0)
			b64(&t, der, (size_t)dlen);
		OPENSSL_free(der);
	}
	*txt = kz_buf_detach(&t, NULL);
	EVP_PKEY_free(key);
	return *pem && *txt ? 0 : -1;
}
