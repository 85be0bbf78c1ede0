/* import_map.c — maps CSV import headers to contact fields and splits full names. */
#include "model/import_map.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "base/cleanse.h"
#include "base/banned.h"

struct header_alias {
	const char *folded; /* already in kz_fold_search form */
	const char *field;
};

/* Keys are written as kz_fold_search leaves them: NFKC (ASCII parentheses),
 * lowercase, no spaces, hiragana as katakana ("お名前" is "オ名前"). The
 * contact field names themselves are accepted too, so our own exports
 * re-import. */
static const struct header_alias header_aliases[] = {
	{"メール", "email"},
	{"メールアドレス", "email"},
	{"eメール", "email"},
	{"eメールアドレス", "email"},
	{"電子メール", "email"},
	{"e-mail", "email"},
	{"email", "email"},
	{"emailaddress", "email"},
	{"e-mailaddress", "email"},
	{"mail", "email"},
	{"mailaddress", "email"},

	{"姓", "last_name"},
	{"lastname", "last_name"},
	{"last_name", "last_name"},
	{"surname", "last_name"},
	{"familyname", "last_name"},

	{"名", "first_name"},
	{"firstname", "first_name"},
	{"first_name", "first_name"},
	{"givenname", "first_name"},

	{"氏名", "name"},
	{"名前", "name"},
	{"オ名前", "name"},
	{"name", "name"},
	{"fullname", "name"},

	{"セイ", "last_name_kana"},
	{"姓(カナ)", "last_name_kana"},
	{"姓(フリガナ)", "last_name_kana"},
	{"姓カナ", "last_name_kana"},
	{"lastnamekana", "last_name_kana"},
	{"last_name_kana", "last_name_kana"},

	{"メイ", "first_name_kana"},
	{"名(カナ)", "first_name_kana"},
	{"名(フリガナ)", "first_name_kana"},
	{"名カナ", "first_name_kana"},
	{"firstnamekana", "first_name_kana"},
	{"first_name_kana", "first_name_kana"},

	{"フリガナ", "name_kana"},
	{"カナ", "name_kana"},
	{"氏名(カナ)", "name_kana"},
	{"氏名(フリガナ)", "name_kana"},
	{"name_kana", "name_kana"},

	{"電話", "phone"},
	{"電話番号", "phone"},
	{"tel", "phone"},
	{"phone", "phone"},
	{"phonenumber", "phone"},
	{"携帯電話", "phone"},
	{"携帯電話番号", "phone"},
	{"携帯", "phone"},
	{"mobile", "phone"},

	{"会社名", "company"},
	{"会社", "company"},
	{"企業名", "company"},
	{"勤務先", "company"},
	{"company", "company"},
	{"companyname", "company"},
	{"organization", "company"},
	{"organisation", "company"},

	{"会社ドメイン", "company_domain"},
	{"company_domain", "company_domain"},
	{"website", "company_domain"},
	{"domain", "company_domain"},

	{"タグ", "tags"},
	{"tags", "tags"},
	{"tag", "tags"},

	{"担当者", "owner"},
	{"owner", "owner"},

	{"タイムゾーン", "timezone"},
	{"timezone", "timezone"},

	{"言語", "locale"},
	{"locale", "locale"},
	{"language", "locale"},
};

const char *kz_import_field_for_header(const char *header)
{
	const char *field = NULL;
	char *folded = kz_fold_search(header);
	size_t i;
	if (!folded)
		return NULL;
	for (i = 0; i < sizeof(header_aliases) / sizeof(header_aliases[0]); i++) {
		if (strcmp(folded, header_aliases[i].folded) == 0) {
			field = header_aliases[i].field;
			break;
		}
	}
	free(folded);
	return field;
}

/* Scripts that write the family name first: kana, CJK ideographs, Hangul. */
static int is_family_first_cp(int32_t c)
{
	return (c >= 0x1100 && c <= 0x11FF) || (c >= 0x3005 && c <= 0x3007) ||
	       (c >= 0x3040 && c <= 0x30FF) || (c >= 0x3130 && c <= 0x318F) ||
	       (c >= 0x31F0 && c <= 0x31FF) || (c >= 0x3400 && c <= 0x4DBF) ||
	       (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) ||
	       (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3FFFF);
}

static int family_name_first(const char *s)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t c;
	utf8proc_ssize_t n;
	while (*p) {
		n = utf8proc_iterate(p, -1, &c);
		if (n <= 0)
			return 0;
		if (is_family_first_cp(c))
			return 1;
		p += n;
	}
	return 0;
}

void kz_split_full_name(const char *full, char **last, char **first)
{
	char *name, *sp, *given, *family;
	*last = NULL;
	*first = NULL;
	/* kz_clean_name folds full-width spaces to ' ' and collapses runs. */
	name = kz_clean_name(full);
	if (!name || !*name) {
		free(name);
		return;
	}
	if (family_name_first(name)) {
		sp = strchr(name, ' ');
		if (!sp) {
			*last = name;
			return;
		}
		family = name;
		given = sp + 1;
	} else {
		/* Given name(s) first; the last word is the family name, so a
		 * middle name stays with the given name ("Mary Ann Smith"). */
		sp = strrchr(name, ' ');
		if (!sp) {
			*last = name;
			return;
		}
		given = name;
		family = sp + 1;
	}
	*sp = '\0';
	*last = strdup(family);
	*first = strdup(given);
	free(name);
	if (!*last || !*first) {
		free(*last);
		free(*first);
		*last = NULL;
		*first = NULL;
	}
}
