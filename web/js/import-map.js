// import-map.js — guessing which contact field a CSV column holds. The aliases mirror the
// server's list (src/model/import_map.c) so the wizard proposes what the server would pick.

/** The server's kz_fold_search: NFKC, lower case, no spaces, hiragana as katakana. */
export function fold(s) {
	return (s || '')
		.normalize('NFKC')
		.toLowerCase()
		.replace(/[\s\u200b\u2060\ufeff]/g, '')
		.replace(/[\u3041-\u3096]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60));
}

/** The server's kz_clean_name, which is how it names a column in ?map=. */
export function cleanHeader(s) {
	return (s || '')
		.normalize('NFKC')
		.replace(/[\u200b\u2060\ufeff]/g, '')
		.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
		.replace(/[\s\u3000]+/g, ' ')
		.trim();
}

const ALIASES = {
	email: ['メール', 'メールアドレス', 'eメール', 'eメールアドレス', '電子メール', 'e-mail', 'email', 'emailaddress', 'e-mailaddress', 'mail', 'mailaddress'],
	last_name: ['姓', 'lastname', 'last_name', 'surname', 'familyname'],
	first_name: ['名', 'firstname', 'first_name', 'givenname'],
	name: ['氏名', '名前', 'オ名前', 'name', 'fullname'],
	last_name_kana: ['セイ', '姓(カナ)', '姓(フリガナ)', '姓カナ', 'lastnamekana', 'last_name_kana'],
	first_name_kana: ['メイ', '名(カナ)', '名(フリガナ)', '名カナ', 'firstnamekana', 'first_name_kana'],
	name_kana: ['フリガナ', 'カナ', '氏名(カナ)', '氏名(フリガナ)', 'name_kana'],
	phone: ['電話', '電話番号', 'tel', 'phone', 'phonenumber', '携帯電話', '携帯電話番号', '携帯', 'mobile'],
	company: ['会社名', '会社', '企業名', '勤務先', 'company', 'companyname', 'organization', 'organisation'],
	company_domain: ['会社ドメイン', 'company_domain', 'website', 'domain'],
	tags: ['タグ', 'tags', 'tag'],
	owner: ['担当者', 'owner'],
	timezone: ['タイムゾーン', 'timezone'],
	locale: ['言語', 'locale', 'language'],
};

const BY_ALIAS = new Map();
for (const [field, list] of Object.entries(ALIASES)) for (const a of list) BY_ALIAS.set(a, field);

/** Contact targets in the order the mapping menu lists them. */
export const TARGETS = ['email', 'last_name', 'first_name', 'name', 'last_name_kana', 'first_name_kana', 'name_kana', 'phone', 'company', 'company_domain', 'tags', 'owner', 'timezone', 'locale'];

/**
 * The field a header most likely holds: a contact target, 'fields.<key>', or 'ignore'.
 * Like the server: exact field names, then aliases, then a custom field's key or label
 * (a bilingual label "契約プラン / Plan" matches either half).
 */
export function guess(header, fieldDefs) {
	const clean = cleanHeader(header);
	if (!clean) return 'ignore';
	if (TARGETS.includes(clean)) return clean;
	if (clean.startsWith('fields.') && fieldDefs.some((d) => `fields.${d.key}` === clean)) return clean;
	const f = fold(clean);
	if (BY_ALIAS.has(f)) return BY_ALIAS.get(f);
	for (const d of fieldDefs) {
		if (d.key === clean) return `fields.${d.key}`;
		const labels = [d.label, ...String(d.label || '').split(/\s*\/\s*/)];
		if (labels.some((l) => l && fold(l) === f)) return `fields.${d.key}`;
	}
	return 'ignore';
}
