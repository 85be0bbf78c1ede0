// i18n.js — the message catalogue (web/i18n/<lang>.json), language choice, and Intl formatting.

const LANGS = ['ja', 'en'];
const STORE_KEY = 'kz_lang';
let lang = 'en';
let messages = {};
let fallback = {};
let timeZone; // the workspace time zone (settings); undefined = the browser's
const listeners = new Set();

/** The language to start with: remembered choice, else the browser's (ja → Japanese, else English). */
function initialLang() {
	const saved = localStorage.getItem(STORE_KEY);
	if (LANGS.includes(saved)) return saved;
	const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
	return nav.toLowerCase().startsWith('ja') ? 'ja' : 'en';
}

async function fetchCatalogue(l) {
	const r = await fetch(`/i18n/${l}.json`, { credentials: 'same-origin' });
	if (!r.ok) throw new Error(`cannot load /i18n/${l}.json (${r.status})`);
	return r.json();
}

export async function initI18n() {
	lang = initialLang();
	const [m, f] = await Promise.all([fetchCatalogue(lang), lang === 'en' ? null : fetchCatalogue('en').catch(() => ({}))]);
	messages = m;
	fallback = f || m;
	document.documentElement.lang = lang;
}

export function getLang() {
	return lang;
}

/** Switch language, remember it, and tell listeners (the shell re-renders). */
export async function setLang(l) {
	if (!LANGS.includes(l) || l === lang) return;
	messages = await fetchCatalogue(l);
	lang = l;
	localStorage.setItem(STORE_KEY, l);
	document.documentElement.lang = l;
	for (const fn of listeners) fn(l);
}

export function onLangChange(fn) {
	listeners.add(fn);
	return () => listeners.delete(fn);
}

export function setTimeZone(tz) {
	try {
		new Intl.DateTimeFormat('en', { timeZone: tz });
		timeZone = tz;
	} catch {
		timeZone = undefined;
	}
}

function lookup(cat, key) {
	let v = cat;
	for (const part of key.split('.')) {
		if (v === null || typeof v !== 'object') return undefined;
		v = v[part];
	}
	return v;
}

/**
 * t('contacts.showing', {n: 3}) — looks the key up in the catalogue (English as fallback),
 * picks a plural form when the entry is {one, other}, and fills {name} placeholders.
 */
export function t(key, vars) {
	let v = lookup(messages, key);
	if (v === undefined) v = lookup(fallback, key);
	if (v === undefined) {
		if (location.hostname === 'localhost' || location.hostname === '127.0.0.1') console.warn('i18n: missing key', key);
		return key;
	}
	if (v && typeof v === 'object') {
		const n = vars && typeof vars.n === 'number' ? vars.n : 0;
		const form = new Intl.PluralRules(lang).select(n);
		v = v[form] ?? v.other ?? '';
	}
	if (!vars) return v;
	return v.replace(/\{(\w+)\}/g, (m, name) => {
		if (!(name in vars)) return m;
		const x = vars[name];
		return typeof x === 'number' ? fmtNumber(x) : String(x);
	});
}

/** Whether the catalogue has key (for optional messages such as error codes). */
export function has(key) {
	return lookup(messages, key) !== undefined || lookup(fallback, key) !== undefined;
}

export function locale() {
	return lang === 'ja' ? 'ja-JP' : 'en-US';
}

export function fmtNumber(n, opts) {
	if (n === null || n === undefined || n === '') return '';
	return new Intl.NumberFormat(locale(), opts).format(n);
}

function toDate(v) {
	if (!v) return null;
	const d = v instanceof Date ? v : new Date(v);
	return Number.isNaN(d.getTime()) ? null : d;
}

export function fmtDateTime(v) {
	const d = toDate(v);
	if (!d) return '';
	return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(d);
}

export function fmtDate(v) {
	const d = toDate(v);
	if (!d) return '';
	return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone }).format(d);
}

/** A time of day ("14:05") in the workspace time zone. */
export function fmtTime(v) {
	const d = toDate(v);
	if (!d) return '';
	return new Intl.DateTimeFormat(locale(), { timeStyle: 'short', timeZone }).format(d);
}

/** The hour of day now in the workspace time zone (0–23), for greetings. */
export function hourNow() {
	const hr = new Intl.DateTimeFormat('en-US', { hour: 'numeric', hourCycle: 'h23', timeZone }).format(new Date());
	return Number(hr) % 24;
}

/** A calendar date without a time ("2026-11-24"): never shifted by time zones. */
export function fmtPlainDate(s) {
	const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '');
	if (!m) return s || '';
	const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
	return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: 'UTC' }).format(d);
}

/** "3 days ago" / "3日前"; falls back to the date after a month. */
export function fmtRelative(v) {
	const d = toDate(v);
	if (!d) return '';
	const diff = (d.getTime() - Date.now()) / 1000;
	const abs = Math.abs(diff);
	const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
	if (abs < 45) return t('time.just_now');
	if (abs < 3600) return rtf.format(Math.round(diff / 60), 'minute');
	if (abs < 86400) return rtf.format(Math.round(diff / 3600), 'hour');
	if (abs < 86400 * 30) return rtf.format(Math.round(diff / 86400), 'day');
	return fmtDate(d);
}

/** Localised names of countries and languages (Intl.DisplayNames). */
export function regionName(code) {
	try {
		return new Intl.DisplayNames([locale()], { type: 'region' }).of(code) || code;
	} catch {
		return code;
	}
}
