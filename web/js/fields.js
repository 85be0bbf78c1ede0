// fields.js — custom field values by type: how each is shown, and the control that edits it.
import { h } from './dom.js';
import { t, fmtNumber, fmtDateTime, fmtPlainDate } from './i18n.js';

/** A Japanese number in E.164 shown the way people write it (090-1234-5678); others as stored. */
export function fmtPhone(e164) {
	if (!e164) return '';
	const us = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
	if (us) return `+1 ${us[1]}-${us[2]}-${us[3]}`;
	const m = /^\+81(\d{9,10})$/.exec(e164);
	if (!m) return e164;
	const n = '0' + m[1];
	if (/^0[5789]0\d{8}$/.test(n)) return `${n.slice(0, 3)}-${n.slice(3, 7)}-${n.slice(7)}`;
	if (/^0120\d{6}$/.test(n)) return `${n.slice(0, 4)}-${n.slice(4, 7)}-${n.slice(7)}`;
	if (/^0[36]\d{8}$/.test(n)) return `${n.slice(0, 2)}-${n.slice(2, 6)}-${n.slice(6)}`;
	if (n.length === 10) return `${n.slice(0, 3)}-${n.slice(3, 6)}-${n.slice(6)}`;
	return n;
}

function safeHref(u) {
	return /^https?:\/\//i.test(u || '') ? u : null;
}

/** Display node (or text) for a custom field value; '' for unset. */
export function formatValue(def, v) {
	if (v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length)) return '';
	switch (def && def.type) {
		case 'number':
			return typeof v === 'number' ? fmtNumber(v) : String(v);
		case 'date':
			return fmtPlainDate(v);
		case 'datetime':
			return fmtDateTime(v);
		case 'boolean':
			return v === true ? t('fields.yes') : v === false ? t('fields.no') : String(v);
		case 'multiselect':
			return Array.isArray(v) ? v.join(', ') : String(v);
		case 'url': {
			const href = safeHref(v);
			return href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer', 'data-external': '', onclick: (e) => e.stopPropagation() }, v) : String(v);
		}
		case 'email':
			return h('a', { href: `mailto:${v}`, 'data-external': '', onclick: (e) => e.stopPropagation() }, v);
		case 'phone':
			return h('a', { href: `tel:${v}`, 'data-external': '', title: v, onclick: (e) => e.stopPropagation() }, fmtPhone(v));
		default:
			return typeof v === 'object' ? JSON.stringify(v) : String(v);
	}
}

function pad(n) {
	return String(n).padStart(2, '0');
}

/** ISO instant → value for <input type="datetime-local"> in the browser's zone. */
function toLocalInput(iso) {
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return '';
	return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * A control for one value: {el, read(), focus()}. read() returns the JSON value to send
 * (null clears it). id/label wire it to a <label>.
 */
export function editor(def, value, { id, label } = {}) {
	const type = (def && def.type) || 'text';
	const common = { id, name: def.key, 'aria-label': id ? null : label, 'data-testid': `edit-${def.key}` };
	if (type === 'boolean') {
		const el = h('select', { class: 'select', ...common },
			h('option', { value: '' }, t('fields.unset')),
			h('option', { value: 'true', selected: value === true }, t('fields.yes')),
			h('option', { value: 'false', selected: value === false }, t('fields.no')));
		return { el, read: () => (el.value === '' ? null : el.value === 'true'), focus: () => el.focus() };
	}
	if (type === 'select') {
		const opts = def.options || [];
		const el = h('select', { class: 'select', ...common },
			h('option', { value: '' }, t('fields.unset')),
			opts.map((o) => h('option', { value: o, selected: o === value }, o)));
		return { el, read: () => el.value || null, focus: () => el.focus() };
	}
	if (type === 'multiselect') {
		const cur = new Set(Array.isArray(value) ? value : []);
		const boxes = (def.options || []).map((o) => h('input', { type: 'checkbox', value: o, checked: cur.has(o) }));
		const el = h('div', { class: 'multi', role: 'group', id, 'aria-label': label, 'data-testid': `edit-${def.key}` },
			boxes.map((b) => h('label', { class: 'check' }, b, b.value)));
		return {
			el,
			read: () => {
				const v = boxes.filter((b) => b.checked).map((b) => b.value);
				return v.length ? v : null;
			},
			focus: () => boxes[0] && boxes[0].focus(),
		};
	}
	const inputType = { number: 'number', date: 'date', datetime: 'datetime-local', email: 'email', url: 'url', phone: 'tel' }[type] || 'text';
	let initial = value === null || value === undefined ? '' : String(value);
	if (type === 'datetime' && initial) initial = toLocalInput(initial);
	if (type === 'phone' && initial) initial = fmtPhone(initial);
	const el = h('input', { class: 'input', type: inputType, value: initial, step: type === 'number' ? 'any' : null, ...common });
	return {
		el,
		read: () => {
			const s = el.value.trim();
			if (!s) return null;
			if (type === 'number') {
				const n = Number(s);
				return Number.isFinite(n) ? n : s;
			}
			if (type === 'datetime') {
				const d = new Date(s);
				return Number.isNaN(d.getTime()) ? s : d.toISOString().replace(/\.000Z$/, 'Z');
			}
			return s;
		},
		focus: () => el.focus(),
	};
}

/** Same value? (so an unchanged edit does not write) */
export function sameValue(a, b) {
	return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
