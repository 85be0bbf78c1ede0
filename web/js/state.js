// state.js — what the whole UI shares: the signed-in user and role rules, cached reference
// data (custom fields, users, settings) and how people's names are shown.
import { api } from './api.js';
import { t } from './i18n.js';

export const state = {
	user: null,
	settings: null,
	fields: null,
	users: null,
};

const RANK = { viewer: 1, sales: 2, marketer: 3, admin: 4 };

/** Role checks, mirroring docs/api.md: sales+ write contacts and companies, marketer+ fields. */
export function can(what) {
	const r = RANK[state.user && state.user.role] || 0;
	switch (what) {
		case 'write_contacts':
			return r >= RANK.sales;
		case 'manage_fields':
		case 'manage_segments':
		case 'read_users':
			return r >= RANK.marketer;
		case 'admin':
			return r >= RANK.admin;
		default:
			return false;
	}
}

export function resetCaches() {
	state.fields = null;
	state.users = null;
	state.settings = null;
}

export async function loadFields(force) {
	if (!state.fields || force) {
		const r = await api.get('/fields');
		state.fields = r.data || [];
	}
	return state.fields;
}

/** Users for owner pickers; [] when the role may not read them (sales, viewer). */
export async function loadUsers(force) {
	if (state.users && !force) return state.users;
	if (!can('read_users')) {
		state.users = state.user ? [state.user] : [];
		return state.users;
	}
	try {
		const r = await api.get('/users', null, { quiet: true });
		state.users = r.data || [];
	} catch {
		state.users = state.user ? [state.user] : [];
	}
	return state.users;
}

export async function loadSettings(force) {
	if (!state.settings || force) state.settings = await api.get('/settings', null, { quiet: true });
	return state.settings;
}

export function userLabel(id) {
	if (id === null || id === undefined) return '';
	const u = (state.users || []).find((x) => x.id === id);
	if (u) return u.name || u.email;
	return t('common.user_n', { id });
}

const FAMILY_FIRST = /[\u1100-\u11ff\u3005-\u3007\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/;

/** "山田 太郎" for Japanese names (family first, like the server's name split); "Taro Yamada" otherwise. */
export function personName(last, first) {
	const l = (last || '').trim();
	const f = (first || '').trim();
	if (!l || !f) return l || f;
	return FAMILY_FIRST.test(l + f) ? `${l} ${f}` : `${f} ${l}`;
}

export function contactName(c) {
	return personName(c.last_name, c.first_name) || c.email || t('contacts.unnamed');
}

export function contactKana(c) {
	const k = [c.last_name_kana, c.first_name_kana].filter(Boolean).join(' ');
	return k;
}

export function initials(c) {
	const l = (c.last_name || '').trim();
	const f = (c.first_name || '').trim();
	if (FAMILY_FIRST.test(l || f)) return [...(l || f)][0];
	if (l || f) return ((f[0] || '') + (l[0] || '')).toUpperCase();
	return (c.email || c.name || '?').slice(0, 1).toUpperCase();
}

/** The letter for a company's avatar, skipping legal forms (株式会社サンプル → サ). */
export function companyInitial(name) {
	const core = (name || '?').replace(/^(株式会社|有限会社|合同会社|一般社団法人|\(株\)|（株）|㈱)\s*/, '');
	return [...(core || name || '?')][0].toUpperCase();
}

const PALETTE = ['#3446a8', '#1d7a4c', '#a4508b', '#b0632a', '#2f7f9e', '#6b4fbb', '#8a6a12', '#3a6b35'];
export function avatarColor(seed) {
	let n = 0;
	for (const ch of String(seed)) n = (n * 31 + ch.codePointAt(0)) >>> 0;
	return PALETTE[n % PALETTE.length];
}

export const FIELD_TYPES = ['text', 'number', 'date', 'datetime', 'boolean', 'select', 'multiselect', 'email', 'url', 'phone'];
export const ROLES = ['admin', 'marketer', 'sales', 'viewer'];
