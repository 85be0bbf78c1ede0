/* email_bench.c — the email benchmarks' driver: template renders per second of a 20 KB
 * template with ~20 variables and a loop, and N personalised messages rendered, MIME-encoded,
 * optionally DKIM-signed and delivered over SMTP with C connections (bench/email.sh).
 *
 *   kz_email_bench render N
 *   kz_email_bench send N CONNECTIONS smtp://127.0.0.1:PORT [rsa|ed25519]
 * Prints one line of JSON: {"messages"|"renders", "seconds", "per_second", "bytes"}. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "channel/dkim.h"
#include "channel/message.h"
#include "channel/mime.h"
#include "channel/transport.h"
#include "template/template.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A 20 KB newsletter: ~20 variables, one loop over 5 items, the rest static HTML. */
static char *template_src(void)
{
	kz_buf b;
	kz_buf_init(&b, 0);
	kz_buf_adds(&b, "<html><body><h1>{{ contact.last_name }} {{ contact.first_name | default: \"お客様\" }} 様</h1>\n"
			"<p>{{ company.name }} / {{ contact.fields.department }} / {{ contact.fields.title }}</p>\n"
			"<p>会員番号 {{ contact.fields.member_no }}・ポイント {{ contact.fields.points | plus: 100 }}</p>\n"
			"<p>{{ contact.email }} {{ contact.phone }} {{ contact.fields.city }} {{ contact.fields.plan | upcase }}</p>\n"
			"<p>{{ owner.name }} {{ owner.email }} {{ email.name }} {{ contact.fields.since }}</p>\n"
			"<ul>{% for it in contact.fields.items %}<li>{{ forloop.index }}. {{ it.name }} — {{ it.price }}円</li>{% endfor %}</ul>\n"
			"<p>{{ contact.fields.coupon }} {{ contact.fields.expires }} {{ contact.tags | join: ', ' }}</p>\n");
	while (b.len < 20000)
		kz_buf_adds(&b, "<p style=\"margin:0 0 12px;line-height:1.6\">今月の新機能のご紹介です。レポート画面が新しくなり、"
				"キャンペーンの効果がひと目でわかるようになりました。ぜひお試しください。</p>\n");
	kz_buf_adds(&b, "<p><a href=\"https://example.jp/campaign?utm_source=mail\">詳しく見る</a></p></body></html>\n");
	return kz_buf_detach(&b, NULL);
}

static json_t *contact_vars(long i)
{
	char email[64];
	snprintf(email, sizeof email, "user%ld@example.jp", i);
	return json_pack("{s:{s:s,s:s,s:s,s:s,s:[s,s],s:{s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:i},{s:s,s:i},{s:s,s:i},{s:s,s:i},{s:s,s:i}]}},"
			 "s:{s:s},s:{s:s,s:s},s:{s:s}}",
			 "contact", "first_name", "太郎", "last_name", "山田", "email", email, "phone", "+819012345678",
			 "tags", "vip", "news", "fields", "department", "営業部", "title", "部長", "member_no", (json_int_t)i,
			 "points", (json_int_t)(i % 1000), "city", "東京", "plan", "pro", "since", "2020-04-01", "coupon", "KZ2026",
			 "expires", "2026-12-31", "items", "name", "A", "price", 100, "name", "B", "price", 200, "name", "C",
			 "price", 300, "name", "D", "price", 400, "name", "E", "price", 500, "company", "name", "株式会社サンプル",
			 "owner", "name", "鈴木", "email", "suzuki@example.jp", "email", "name", "11月号");
}

typedef struct job {
	long from, to;
	const char *url;
	json_t *email;
	kz_dkim *dkim;
	long bytes, failed;
} job;

static const json_t *settings;

static void *sender(void *arg)
{
	job *j = arg;
	kz_err err;
	kz_transport *t = kz_smtp_new(j->url, "none", 10, &err);
	for (long i = j->from; i < j->to && t; i++) {
		json_t *vars = contact_vars(i);
		kz_render_opts o = {"https://kz.example", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", i + 1, i + 1, 1, settings, NULL};
		kz_rendered r;
		kz_mail m;
		kz_buf msg, sig;
		char to[64], mid[64];
		snprintf(to, sizeof to, "user%ld@example.jp", i);
		snprintf(mid, sizeof mid, "kz.%ld.bench@kizuna.example", i);
		if (kz_email_render(j->email, vars, &o, &r, &err) < 0) {
			fprintf(stderr, "render: %s\n", err.message);
			exit(1);
		}
		memset(&m, 0, sizeof m);
		m.from_name = "絆ニュース";
		m.from_email = "news@kizuna.example";
		m.to_email = to;
		m.subject = r.subject;
		m.html = r.html;
		m.text = r.text;
		m.message_id = mid;
		m.date_ms = 1795540318000LL;
		m.unsub_url = r.unsub_url;
		m.unsub_mailto = "unsubscribe@kizuna.example";
		kz_buf_init(&msg, 0);
		kz_buf_init(&sig, 0);
		kz_mime_build(&m, &msg, &err);
		if (j->dkim) {
			kz_dkim_sign(j->dkim, msg.data, msg.len, 1795540318, &sig, &err);
			kz_buf_add(&sig, msg.data, msg.len);
		}
		{
			kz_buf *out = j->dkim ? &sig : &msg;
			if (kz_transport_send(t, "bounce@kizuna.example", to, out->data, out->len, &err) != 0)
				j->failed++;
			j->bytes += (long)out->len;
		}
		kz_buf_release(&msg);
		kz_buf_release(&sig);
		kz_rendered_release(&r);
		json_decref(vars);
	}
	kz_transport_free(t);
	return NULL;
}

int main(int argc, char **argv)
{
	char *src = template_src();
	long n = argc > 2 ? atol(argv[2]) : 1000;
	double t0, secs;
	if (argc < 3) {
		fprintf(stderr, "usage: kz_email_bench render N | send N CONNECTIONS URL [rsa|ed25519]\n");
		return 2;
	}
	if (!strcmp(argv[1], "render")) {
		kz_tpl_err e;
		kz_tpl *t = kz_tpl_compile(src, strlen(src), KZ_TPL_HTML, &e);
		json_t *vars[64];
		long bytes = 0;
		kz_buf out;
		for (int i = 0; i < 64; i++)
			vars[i] = contact_vars(i);
		kz_buf_init(&out, 0);
		t0 = now_s();
		for (long i = 0; i < n; i++) {
			kz_buf_reset(&out);
			kz_tpl_render(t, vars[i & 63], NULL, &out, &e);
			bytes += (long)out.len;
		}
		secs = now_s() - t0;
		printf("{\"renders\":%ld,\"seconds\":%.3f,\"per_second\":%.0f,\"bytes\":%ld,\"template_bytes\":%zu}\n", n,
		       secs, n / secs, bytes / n, strlen(src));
		return 0;
	}
	if (!strcmp(argv[1], "send") && argc >= 5) {
		int conns = atoi(argv[3]);
		job jobs[64];
		pthread_t th[64];
		kz_dkim *dkim = NULL;
		long bytes = 0, failed = 0;
		json_t *email = json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)1, "updated_at", "v1", "subject",
					  "{{ contact.last_name }}様、11月のお知らせ", "html", src, "text",
					  "{{ contact.last_name }}様\n今月の新機能のご紹介です。\n");
		json_t *st = json_pack("{s:s,s:s}", "company_name", "株式会社絆", "company_address", "東京都千代田区1-1");
		kz_err err;
		settings = st;
		if (argc > 5) {
			char *pem, *txt;
			kz_dkim_keygen(argv[5], &pem, &txt, &err);
			dkim = kz_dkim_new("kizuna.example", "bench", pem, &err);
			free(pem);
			free(txt);
		}
		if (conns < 1 || conns > 64)
			conns = 4;
		t0 = now_s();
		for (int i = 0; i < conns; i++) {
			jobs[i] = (job){n * i / conns, n * (i + 1) / conns, argv[4], email, dkim, 0, 0};
			pthread_create(&th[i], NULL, sender, &jobs[i]);
		}
		for (int i = 0; i < conns; i++) {
			pthread_join(th[i], NULL);
			bytes += jobs[i].bytes;
			failed += jobs[i].failed;
		}
		secs = now_s() - t0;
		printf("{\"messages\":%ld,\"seconds\":%.3f,\"per_second\":%.0f,\"bytes\":%ld,\"failed\":%ld}\n", n, secs,
		       n / secs, bytes / n, failed);
		kz_dkim_free(dkim);
		return failed ? 1 : 0;
	}
	return 2;
}
