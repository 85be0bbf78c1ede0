/* cmd_demo.c — `kizuna demo`: realistic Japanese and English demo data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model/contact.h"
#include "model/records.h"

#include "base/banned.h"

typedef struct person_name {
	const char *name, *kana;
} person_name;

static const person_name ja_last[] = {
	{"佐藤", "サトウ"}, {"鈴木", "スズキ"}, {"高橋", "タカハシ"}, {"田中", "タナカ"},
	{"伊藤", "イトウ"}, {"渡辺", "ワタナベ"}, {"山本", "ヤマモト"}, {"中村", "ナカムラ"},
	{"小林", "コバヤシ"}, {"加藤", "カトウ"}, {"吉田", "ヨシダ"}, {"山田", "ヤマダ"},
	{"佐々木", "ササキ"}, {"山口", "ヤマグチ"}, {"松本", "マツモト"}, {"井上", "イノウエ"},
	{"木村", "キムラ"}, {"林", "ハヤシ"}, {"斎藤", "サイトウ"}, {"清水", "シミズ"},
};
static const person_name ja_first[] = {
	{"太郎", "タロウ"}, {"花子", "ハナコ"}, {"翔太", "ショウタ"}, {"美咲", "ミサキ"},
	{"大輔", "ダイスケ"}, {"陽菜", "ヒナ"}, {"健一", "ケンイチ"}, {"さくら", "サクラ"},
	{"拓也", "タクヤ"}, {"結衣", "ユイ"}, {"直樹", "ナオキ"}, {"愛", "アイ"},
	{"亮", "リョウ"}, {"真由美", "マユミ"}, {"誠", "マコト"}, {"彩", "アヤ"},
};
static const char *const en_first[] = {"Emily", "James", "Olivia", "Liam",  "Sophia",
				       "Noah",  "Ava",   "Lucas",  "Mia",   "Ethan",
				       "Grace", "Daniel"};
static const char *const en_last[] = {"Smith",  "Johnson", "Brown", "Taylor", "Miller",
				      "Wilson", "Moore",   "Clark", "Walker", "Young"};

typedef struct demo_company {
	const char *name, *domain, *romaji;
} demo_company;

static const demo_company companies[] = {
	{"株式会社サクラテック", "sakuratech.co.jp", "sakura"},
	{"みどり商事株式会社", "midori-shoji.co.jp", "midori"},
	{"株式会社青空システムズ", "aozora-sys.jp", "aozora"},
	{"富士ソリューションズ株式会社", "fuji-solutions.co.jp", "fuji"},
	{"合同会社ひかりデザイン", "hikari-design.jp", "hikari"},
	{"株式会社北斗物流", "hokuto-logi.co.jp", "hokuto"},
	{"Acme Analytics Inc.", "acme-analytics.com", "acme"},
	{"Blue Harbor Ltd.", "blueharbor.co.uk", "blueharbor"},
	{"株式会社つばさ不動産", "tsubasa-fudosan.co.jp", "tsubasa"},
	{"Northwind Trading", "northwind.example.com", "northwind"},
};

static const char *const tags[] = {"seminar-2026-autumn", "whitepaper-ma-guide", "newsletter",
				   "trade-show-tokyo",    "webinar",             "vip",
				   "pricing-page",        "partner"};
static const char *const ja_romaji_first[] = {"taro", "hanako", "shota", "misaki", "daisuke",
					      "hina", "kenichi", "sakura", "takuya", "yui",
					      "naoki", "ai", "ryo", "mayumi", "makoto", "aya"};
static const char *const ja_romaji_last[] = {"sato",   "suzuki", "takahashi", "tanaka",
					     "ito",    "watanabe", "yamamoto", "nakamura",
					     "kobayashi", "kato", "yoshida", "yamada", "sasaki",
					     "yamaguchi", "matsumoto", "inoue", "kimura", "hayashi",
					     "saito", "shimizu"};
static const char *const plans[] = {"free", "standard", "pro", "enterprise"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A small deterministic generator, so every demo database looks the same. */
static unsigned long rng_state = 20261124UL;
static unsigned pick(unsigned n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((rng_state >> 33) % n);
}

static int define_fields(kz_conn *c, kz_err *err)
{
	const char *defs[] = {
		"{\"key\":\"plan\",\"label\":\"契約プラン / Plan\",\"type\":\"select\","
		"\"options\":[\"free\",\"standard\",\"pro\",\"enterprise\"]}",
		"{\"key\":\"employees\",\"label\":\"従業員数 / Employees\",\"type\":\"number\"}",
		"{\"key\":\"seminar_date\",\"label\":\"セミナー参加日 / Seminar date\",\"type\":"
		"\"date\"}",
		"{\"key\":\"newsletter_opt_in\",\"label\":\"メルマガ購読 / Newsletter\",\"type\":"
		"\"boolean\"}",
	};
	for (size_t i = 0; i < N(defs); i++) {
		json_t *in = json_loads(defs[i], 0, NULL), *rec = json_object(), *have = NULL;
		int64_t id = 0;
		kz_err e2;
		int r = 0;
		if (kz_store_field_get(c, json_string_value(json_object_get(in, "key")), &have, &e2) < 0)
			r = kz_fielddef_apply(rec, in, 1, err) < 0 || kz_store_field_save(c, rec, &id, err) < 0
				    ? -1
				    : 0;
		json_decref(have);
		json_decref(in);
		json_decref(rec);
		if (r < 0)
			return -1;
	}
	return 0;
}

static json_t *demo_contact(int i)
{
	const demo_company *co = &companies[pick(N(companies))];
	json_t *in = json_object(), *t = json_array(), *f = json_object();
	char email[160], phone[32], date[16];
	int japanese = pick(10) < 7;
	if (japanese) {
		unsigned l = pick(N(ja_last)), fi = pick(N(ja_first));
		json_object_set_new(in, "last_name", json_string(ja_last[l].name));
		json_object_set_new(in, "first_name", json_string(ja_first[fi].name));
		json_object_set_new(in, "last_name_kana", json_string(ja_last[l].kana));
		json_object_set_new(in, "first_name_kana", json_string(ja_first[fi].kana));
		snprintf(email, sizeof email, "%s.%s%d@%s", ja_romaji_first[fi], ja_romaji_last[l], i,
			 co->domain);
		snprintf(phone, sizeof phone, "0%d0-%04u-%04u", 7 + (int)pick(3), pick(10000),
			 pick(10000));
		json_object_set_new(in, "timezone", json_string("Asia/Tokyo"));
		json_object_set_new(in, "locale", json_string("ja"));
	} else {
		unsigned l = pick(N(en_last)), fi = pick(N(en_first));
		char lower_first[32], lower_last[32];
		snprintf(lower_first, sizeof lower_first, "%s", en_first[fi]);
		snprintf(lower_last, sizeof lower_last, "%s", en_last[l]);
		lower_first[0] = (char)(lower_first[0] | 0x20);
		lower_last[0] = (char)(lower_last[0] | 0x20);
		json_object_set_new(in, "last_name", json_string(en_last[l]));
		json_object_set_new(in, "first_name", json_string(en_first[fi]));
		snprintf(email, sizeof email, "%s.%s%d@%s", lower_first, lower_last, i, co->domain);
		snprintf(phone, sizeof phone, "+1 415 555 %04u", pick(10000));
		json_object_set_new(in, "timezone",
				    json_string(pick(2) ? "America/Los_Angeles" : "Europe/London"));
		json_object_set_new(in, "locale", json_string("en"));
	}
	json_object_set_new(in, "email", json_string(email));
	if (pick(4))
		json_object_set_new(in, "phone", json_string(phone));
	json_object_set_new(in, "company", json_pack("{s:s, s:s}", "name", co->name, "domain",
						     co->domain));
	for (unsigned k = 0, n = pick(4); k < n; k++)
		json_array_append_new(t, json_string(tags[pick(N(tags))]));
	json_object_set_new(in, "tags", t);
	json_object_set_new(f, "plan", json_string(plans[pick(N(plans))]));
	json_object_set_new(f, "employees", json_integer(10 + (json_int_t)pick(5000)));
	if (pick(3) == 0) {
		snprintf(date, sizeof date, "2026-%02u-%02u", 1 + pick(11), 1 + pick(28));
		json_object_set_new(f, "seminar_date", json_string(date));
	}
	json_object_set_new(f, "newsletter_opt_in", json_boolean(pick(3) != 0));
	json_object_set_new(in, "fields", f);
	return in;
}

int kz_cmd_demo(int argc, char **argv)
{
	const char *db = kz_cli_db(argc, argv);
	const char *n_s = kz_cli_opt(argc, argv, "contacts");
	int force = kz_cli_flag(argc, argv, "force");
	char *end = NULL;
	long nl = n_s ? strtol(n_s, &end, 10) : 300;
	int n = (int)nl, created = 0, rc = 1;
	int64_t have = 0;
	kz_store *s;
	kz_conn *c;
	kz_err err;
	json_t *defs = NULL;
	kz_contact_opts o;
	if (kz_cli_leftover(argc, argv, "demo"))
		return 2;
	if ((n_s && *end) || nl < 1 || nl > 1000000) {
		fprintf(stderr, "kizuna demo: --contacts must be 1 to 1000000\n");
		return 2;
	}
	s = kz_cli_open_store(db, 1);
	if (!s)
		return 1;
	c = kz_store_acquire(s);
	if (kz_store_contact_count(c, &have, &err) < 0)
		goto fail;
	if (have > 0 && !force) {
		printf("{\"loaded\": false, \"reason\": \"the database already has %lld contacts; use "
		       "--force to add demo data anyway\"}\n",
		       (long long)have);
		rc = 0;
		goto out;
	}
	if (kz_tx_begin(c, 1, &err) < 0 || define_fields(c, &err) < 0 ||
	    kz_store_field_list(c, &defs, &err) < 0)
		goto fail;
	memset(&o, 0, sizeof o);
	o.field_defs = defs;
	o.default_country = "JP";
	for (int i = 1; i <= n; i++) {
		json_t *in = demo_contact(i);
		int64_t id;
		int was_created = 0;
		int r = kz_contact_upsert(c, in, &o, &was_created, &id, &err);
		json_decref(in);
		if (r < 0)
			goto fail;
		created += was_created;
	}
	if (kz_tx_commit(c, &err) < 0)
		goto fail;
	printf("{\"loaded\": true, \"contacts\": %d, \"companies\": %zu}\n", created, N(companies));
	rc = 0;
	goto out;
fail:
	kz_tx_rollback(c);
	fprintf(stderr, "kizuna demo: %s\n", err.message);
out:
	json_decref(defs);
	kz_store_release(c);
	kz_store_close(s);
	return rc;
}
