/* test_mime.c — unit tests for the MIME writer (parsed back with GMime), DKIM signing
 * (verified with OpenSSL) and the DSN/ARF report parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gmime/gmime.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "channel/dkim.h"
#include "channel/dsn.h"
#include "channel/mime.h"
#include "base/banned.h"

static const char *const HTML = "<p>こんにちは 太郎さん。</p><p><a href=\"https://example.jp/?a=1&amp;b=2\">見る</a></p>";
static const char *const TEXT = "こんにちは 太郎さん。\nline with trailing space \n.dot line\n";

static void build(kz_buf *out)
{
	kz_mail m;
	kz_err err;
	memset(&m, 0, sizeof m);
	m.from_name = "絆ニュース";
	m.from_email = "news@kizuna.example";
	m.to_name = "Yamada \"Taro\"";
	m.to_email = "taro@example.jp";
	m.subject = "山田様、11月のお知らせ【絆】 — とても長い件名がここに続きます。折り返しが必要になるほど長い件名です";
	m.html = HTML;
	m.text = TEXT;
	m.message_id = "kz.1.abc@kizuna.example";
	m.date_ms = 1795540318000LL;
	m.unsub_url = "https://kz.example/u/1-1-abc";
	m.unsub_mailto = "unsubscribe+1-1-abc@kizuna.example";
	m.send_ref = "1-1-abc";
	kz_buf_init(out, 0);
	assert_int_equal(kz_mime_build(&m, out, &err), 0);
}

static char *part_text(GMimeObject *o)
{
	GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(o));
	GMimeStream *ms = g_mime_stream_mem_new();
	GByteArray *ba;
	char *s;
	g_mime_data_wrapper_write_to_stream(w, ms);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
	s = strndup((const char *)ba->data, ba->len);
	g_object_unref(ms);
	return s;
}

static void mime_message_parses_back_with_gmime(void **state)
{
	kz_buf b;
	GMimeStream *st;
	GMimeParser *p;
	GMimeMessage *msg;
	GMimeMultipart *mp;
	char *subject, *t, *h;
	InternetAddress *from;
	(void)state;
	build(&b);
	for (char *line = b.data; line && *line;) {
		char *e = strstr(line, "\r\n");
		assert_non_null(e); /* every line ends with CRLF */
		assert_true(e - line <= 998);
		line = e + 2;
	}
	st = g_mime_stream_mem_new_with_buffer(b.data, b.len);
	p = g_mime_parser_new_with_stream(st);
	msg = g_mime_parser_construct_message(p, NULL);
	assert_non_null(msg);
	subject = (char *)g_mime_message_get_subject(msg);
	assert_string_equal(subject, "山田様、11月のお知らせ【絆】 — とても長い件名がここに続きます。折り返しが必要になるほど長い件名です");
	from = internet_address_list_get_address(g_mime_message_get_from(msg), 0);
	assert_string_equal(internet_address_get_name(from), "絆ニュース");
	assert_string_equal(g_mime_message_get_message_id(msg), "kz.1.abc@kizuna.example");
	assert_string_equal(g_mime_object_get_header(GMIME_OBJECT(msg), "List-Unsubscribe-Post"),
			    "List-Unsubscribe=One-Click");
	mp = GMIME_MULTIPART(g_mime_message_get_mime_part(msg));
	assert_int_equal(g_mime_multipart_get_count(mp), 2);
	t = part_text(g_mime_multipart_get_part(mp, 0));
	h = part_text(g_mime_multipart_get_part(mp, 1));
	assert_string_equal(t, "こんにちは 太郎さん。\r\nline with trailing space \r\n.dot line\r\n");
	assert_string_equal(h, HTML);
	free(t);
	free(h);
	g_object_unref(msg);
	g_object_unref(p);
	g_object_unref(st);
	kz_buf_release(&b);
}

static void quoted_printable_encodes_what_it_must(void **state)
{
	kz_buf b;
	(void)state;
	kz_buf_init(&b, 0);
	kz_mime_qp(&b, "a=b \n.x\ttab\n", 12);
	assert_string_equal(b.data, "a=3Db=20\r\n=2Ex\ttab\r\n");
	kz_buf_release(&b);
	kz_buf_init(&b, 0);
	kz_mime_header_text(&b, "plain ascii", 9);
	assert_string_equal(b.data, "plain ascii");
	kz_buf_release(&b);
}

static void header_injection_is_refused(void **state)
{
	kz_mail m;
	kz_buf b;
	kz_err err;
	(void)state;
	memset(&m, 0, sizeof m);
	m.from_email = "a@b.jp";
	m.to_email = "x@y.jp\r\nBcc: victim@z.jp";
	m.message_id = "id@b.jp";
	m.text = "x";
	kz_buf_init(&b, 0);
	assert_int_equal(kz_mime_build(&m, &b, &err), -1);
	kz_buf_release(&b);
}

static void relaxed_canonicalization_follows_rfc_6376(void **state)
{
	kz_buf b;
	(void)state;
	kz_buf_init(&b, 0);
	kz_dkim_canon_body(" C \r\nD \t E\r\n\r\n\r\n", 16, &b);
	assert_string_equal(b.data, " C\r\nD E\r\n");
	kz_buf_reset(&b);
	kz_dkim_canon_header("SUBJect:  Hello \r\n\tWorld  ", 26, &b);
	assert_string_equal(b.data, "subject:Hello World");
	kz_buf_release(&b);
}

static void sign_and_verify(const char *type)
{
	char *pem, *txt;
	kz_err err;
	kz_dkim *k;
	kz_buf msg, sig;
	assert_int_equal(kz_dkim_keygen(type, &pem, &txt, &err), 0);
	assert_non_null(strstr(txt, "v=DKIM1; k="));
	k = kz_dkim_new("kizuna.example", "sel", pem, &err);
	assert_non_null(k);
	build(&msg);
	kz_buf_init(&sig, 0);
	assert_int_equal(kz_dkim_sign(k, msg.data, msg.len, 1795540318, &sig, &err), 0);
	assert_non_null(strstr(sig.data, strcmp(type, "rsa") ? "a=ed25519-sha256" : "a=rsa-sha256"));
	assert_non_null(strstr(sig.data, "h=from:to:subject:date:message-id:mime-version:content-type:list-unsubscribe:list-unsubscribe-post;"));
	/* verify: rebuild the signed data from the header with b= emptied */
	{
		kz_buf data, hdr;
		const char *bpos = strstr(sig.data, "\tb=") + 3;
		size_t blen = 0;
		unsigned char raw[600];
		char b64[900];
		int n = 0;
		EVP_PKEY *pub;
		BIO *bio = BIO_new_mem_buf(pem, -1);
		EVP_PKEY *priv = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		unsigned char dig[32];
		BIO_free(bio);
		unsigned char *der = NULL;
		int dl = i2d_PUBKEY(priv, &der);
		const unsigned char *dp = der;
		pub = d2i_PUBKEY(NULL, &dp, dl);
		for (const char *q = bpos; *q && *q != '\r'; q++)
			;
		for (const char *q = bpos; *q; q++)
			if (*q != '\r' && *q != '\n' && *q != '\t' && *q != ' ')
				b64[n++] = *q;
		b64[n] = '\0';
		blen = (size_t)EVP_DecodeBlock(raw, (const unsigned char *)b64, n);
		while (n > 0 && b64[n - 1] == '=') {
			blen--;
			n--;
		}
		kz_buf_init(&data, 0);
		kz_buf_init(&hdr, 0);
		/* the signed headers in order, canonicalized */
		static const char *const names[] = {"From:", "To:", "Subject:", "Date:", "Message-ID:",
						    "MIME-Version:", "Content-Type:",
						    "List-Unsubscribe:", "List-Unsubscribe-Post:", NULL};
		for (int i = 0; names[i]; i++) {
			const char *f = strstr(msg.data, names[i]);
			const char *e = f;
			assert_non_null(f);
			for (;;) {
				e = strstr(e, "\r\n");
				if (e[2] != ' ' && e[2] != '\t')
					break;
				e += 2;
			}
			kz_dkim_canon_header(f, (size_t)(e - f), &data);
			kz_buf_adds(&data, "\r\n");
		}
		kz_buf_add(&hdr, sig.data, (size_t)(bpos - sig.data));
		kz_dkim_canon_header(hdr.data, hdr.len, &data);
		if (strcmp(type, "rsa")) {
			EVP_Digest(data.data, data.len, dig, NULL, EVP_sha256(), NULL);
			assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub), 1);
			assert_int_equal(EVP_DigestVerify(ctx, raw, blen, dig, 32), 1);
		} else {
			assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub), 1);
			assert_int_equal(EVP_DigestVerify(ctx, raw, blen, (unsigned char *)data.data, data.len), 1);
		}
		EVP_MD_CTX_free(ctx);
		EVP_PKEY_free(pub);
		EVP_PKEY_free(priv);
		OPENSSL_free(der);
		kz_buf_release(&data);
		kz_buf_release(&hdr);
	}
	kz_dkim_free(k);
	kz_buf_release(&msg);
	kz_buf_release(&sig);
	free(pem);
	free(txt);
}

static void dkim_rsa_signature_verifies(void **state)
{
	(void)state;
	sign_and_verify("rsa");
}

static void dkim_ed25519_signature_verifies(void **state)
{
	(void)state;
	sign_and_verify("ed25519");
}

static void dkim_refuses_a_bad_key(void **state)
{
	kz_err err;
	(void)state;
	assert_null(kz_dkim_new("a.jp", "s", "not a key", &err));
	assert_int_equal(err.status, 422);
}

#define DSN_HEAD                                                                                   \
	"From: MAILER-DAEMON@mx.example.jp\r\nTo: bounce+7-9-abc@kizuna.example\r\n"               \
	"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"       \
	" boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"

static void dsn_reports_a_hard_bounce_with_the_reference(void **state)
{
	const char *dsn = DSN_HEAD "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
				   "Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; Taro@Example.JP\r\n"
				   "Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1\r\n"
				   " no such user\r\n\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
				   "To: taro@example.jp\r\nX-Kizuna-Send: 7-9-abc\r\n\r\n--B--\r\n";
	kz_report r;
	kz_err err;
	(void)state;
	assert_int_equal(kz_report_parse(dsn, strlen(dsn), &r, &err), 0);
	assert_int_equal(r.kind, KZ_REPORT_BOUNCE);
	assert_int_equal(r.hard, 1);
	assert_string_equal(r.recipient, "taro@example.jp");
	assert_string_equal(r.status, "5.1.1");
	assert_string_equal(r.diagnostic, "smtp; 550 5.1.1 no such user");
	assert_string_equal(r.send_ref, "7-9-abc");
	assert_string_equal(r.return_path, "bounce+7-9-abc@kizuna.example");
}

static void dsn_soft_bounce_and_delay(void **state)
{
	const char *dsn = DSN_HEAD "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
				   "Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; a@b.jp\r\n"
				   "Action: delayed\r\nStatus: 4.2.2\r\n\r\n--B--\r\n";
	kz_report r;
	kz_err err;
	(void)state;
	assert_int_equal(kz_report_parse(dsn, strlen(dsn), &r, &err), 0);
	assert_int_equal(r.kind, KZ_REPORT_DELAY);
	assert_int_equal(r.hard, 0);
}

static void arf_complaint_names_the_recipient(void **state)
{
	const char *arf = "From: fbl@isp\r\nTo: fbl@kizuna.example\r\nMIME-Version: 1.0\r\n"
			  "Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\r\n\r\n"
			  "--F\r\nContent-Type: text/plain\r\n\r\nx\r\n"
			  "--F\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
			  "Version: 1\r\n\r\n--F\r\nContent-Type: message/rfc822\r\n\r\n"
			  "To: Hanako <hanako@example.jp>\r\nX-Kizuna-Send: 3-4-def\r\n\r\nbody\r\n--F--\r\n";
	kz_report r;
	kz_err err;
	(void)state;
	assert_int_equal(kz_report_parse(arf, strlen(arf), &r, &err), 0);
	assert_int_equal(r.kind, KZ_REPORT_COMPLAINT);
	assert_string_equal(r.diagnostic, "abuse");
	assert_string_equal(r.recipient, "hanako@example.jp");
	assert_string_equal(r.send_ref, "3-4-def");
}

static void not_a_report_is_refused(void **state)
{
	const char *m = "Subject: hi\r\n\r\nhello\r\n";
	kz_report r;
	kz_err err;
	(void)state;
	assert_int_equal(kz_report_parse(m, strlen(m), &r, &err), -1);
	assert_int_equal(err.status, 422);
	assert_int_equal(kz_report_parse("", 0, &r, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mime_message_parses_back_with_gmime),
		cmocka_unit_test(quoted_printable_encodes_what_it_must),
		cmocka_unit_test(header_injection_is_refused),
		cmocka_unit_test(relaxed_canonicalization_follows_rfc_6376),
		cmocka_unit_test(dkim_rsa_signature_verifies),
		cmocka_unit_test(dkim_ed25519_signature_verifies),
		cmocka_unit_test(dkim_refuses_a_bad_key),
		cmocka_unit_test(dsn_reports_a_hard_bounce_with_the_reference),
		cmocka_unit_test(dsn_soft_bounce_and_delay),
		cmocka_unit_test(arf_complaint_names_the_recipient),
		cmocka_unit_test(not_a_report_is_refused),
	};
	g_mime_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
