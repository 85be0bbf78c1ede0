// ui.js — shared components: toasts, dialogs, confirmations, skeletons, empty states, copy button.
import { h, icon, uid } from './dom.js';
import { t } from './i18n.js';
import { errorMessage } from './api.js';

// ---- toasts ---------------------------------------------------------------

function toastRegion() {
	let r = document.getElementById('toasts');
	if (!r) {
		r = h('div', { id: 'toasts', class: 'toasts', role: 'region', 'aria-label': t('common.notifications') });
		document.body.append(r);
	}
	return r;
}

/** toast('Saved') or toast({title, detail, kind: 'success'|'error'|'info', timeout}) */
export function toast(opts) {
	if (typeof opts === 'string') opts = { title: opts };
	const { title, detail, kind = 'success', timeout = kind === 'error' ? 8000 : 4000 } = opts;
	const ic = kind === 'error' ? 'alertCircle' : kind === 'info' ? 'info' : 'checkCircle';
	const el = h(
		'div',
		{ class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-testid': `toast-${kind}` },
		icon(ic),
		h('div', { class: 'toast-text' }, h('strong', { text: title }), detail ? h('span', { text: detail }) : null),
		h('button', { type: 'button', 'aria-label': t('common.dismiss'), onclick: () => el.remove() }, icon('x', { size: 'sm' })),
	);
	const region = toastRegion();
	for (const old of region.children) if (old.dataset.key === `${kind}|${title}|${detail || ''}`) old.remove();
	el.dataset.key = `${kind}|${title}|${detail || ''}`;
	region.append(el);
	while (region.children.length > 4) region.firstElementChild.remove();
	setTimeout(() => el.remove(), timeout);
	return el;
}

// ---- dialogs ----------------------------------------------------------------

/**
 * A modal <dialog>: Escape closes it, focus is trapped by the browser and returns afterwards.
 * body: nodes; actions(close): buttons for the footer. Returns {el, close, body}.
 */
export function openDialog({ title, testid, wide, body, actions, onClose, icon: ic, form, onSubmit }) {
	const before = document.activeElement;
	const titleId = uid('dlg-title');
	const bodyEl = h('div', { class: 'dialog-body' }, body);
	let closed = false;
	const close = (value) => {
		if (closed) return;
		closed = true;
		if (el.open) el.close();
		el.remove();
		if (before && before.isConnected && typeof before.focus === 'function') before.focus();
		if (onClose) onClose(value);
	};
	const head = h(
		'div',
		{ class: 'dialog-head' },
		ic ? h('div', { class: 'dialog-icon' }, icon(ic)) : null,
		h('h2', { id: titleId, text: title }),
		h('button', { type: 'button', class: 'btn btn-ghost btn-icon btn-sm', 'aria-label': t('common.close'), 'data-testid': 'dialog-close', onclick: () => close(null) }, icon('x')),
	);
	const foot = h('div', { class: 'dialog-foot' }, actions ? actions(close) : null);
	const inner = form
		? h('form', { novalidate: true, onsubmit: (e) => { e.preventDefault(); if (onSubmit) onSubmit(close); } }, head, bodyEl, foot)
		: h('div', null, head, bodyEl, foot);
	const el = h('dialog', { class: 'dialog' + (wide ? ' dialog-wide' : ''), 'aria-labelledby': titleId, 'data-testid': testid || 'dialog' }, inner);
	el.addEventListener('cancel', (e) => {
		e.preventDefault();
		close(null);
	});
	el.addEventListener('click', (e) => {
		if (e.target === el) close(null); // backdrop
	});
	document.body.append(el);
	el.showModal();
	const first = el.querySelector('[autofocus], .dialog-body input, .dialog-body select, .dialog-body textarea');
	if (first) first.focus();
	return { el, close, body: bodyEl, foot };
}

/** Ask before something that cannot be undone. Resolves true when confirmed. */
export function confirmDialog({ title, message, confirmLabel, danger = true, testid = 'confirm-dialog' }) {
	return new Promise((resolve) => {
		openDialog({
			title,
			testid,
			icon: danger ? 'alert' : null,
			body: [h('p', { text: message })],
			onClose: (v) => resolve(v === true),
			actions: (close) => [
				h('button', { type: 'button', class: 'btn', onclick: () => close(false), 'data-testid': 'confirm-cancel' }, t('common.cancel')),
				h('button', { type: 'button', class: danger ? 'btn btn-danger' : 'btn btn-primary', onclick: () => close(true), 'data-testid': 'confirm-ok', autofocus: true }, confirmLabel || t('common.confirm')),
			],
		});
	});
}

// ---- loading and empty ------------------------------------------------------

export function skeletonRows(cols, rows = 8) {
	const widths = [70, 55, 85, 40, 65, 50];
	return Array.from({ length: rows }, (_, r) =>
		h('tr', { class: 'skeleton-row', 'aria-hidden': 'true' },
			Array.from({ length: cols }, (_, c) => h('td', null, h('span', { class: 'skeleton', style: { width: `${widths[(r + c) % widths.length]}%` } })))),
	);
}

export function skeletonBlock(lines = 4) {
	return h('div', { class: 'stack-sm', 'aria-busy': 'true', 'aria-label': t('common.loading') },
		Array.from({ length: lines }, (_, i) => h('span', { class: 'skeleton skeleton-lg', style: { width: `${[90, 70, 80, 55][i % 4]}%` } })));
}

export function emptyState({ iconName = 'info', title, text, actions, compact, testid }) {
	return h('div', { class: 'empty' + (compact ? ' empty-compact' : ''), 'data-testid': testid || 'empty-state' },
		h('div', { class: 'empty-icon' }, icon(iconName)),
		h('h3', { text: title }),
		text ? h('p', { text }) : null,
		actions && actions.length ? h('div', { class: 'row' }, actions) : null);
}

// ---- clipboard ----------------------------------------------------------------

export async function copyText(text) {
	try {
		if (navigator.clipboard && window.isSecureContext) {
			await navigator.clipboard.writeText(text);
			return true;
		}
	} catch {
		/* fall through to the selection method */
	}
	const ta = h('textarea', { style: { position: 'fixed', opacity: '0' } });
	ta.value = text;
	document.body.append(ta);
	ta.select();
	let ok = false;
	try {
		ok = document.execCommand('copy');
	} catch {
		ok = false;
	}
	ta.remove();
	return ok;
}

/** A secret shown once, with a copy button. */
export function secretBox(value, testid) {
	const btn = h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': `${testid}-copy` }, icon('copy', { size: 'sm' }), t('common.copy'));
	btn.addEventListener('click', async () => {
		const ok = await copyText(value);
		toast(ok ? { title: t('common.copied') } : { title: t('common.copy_failed'), kind: 'error' });
	});
	return h('div', { class: 'secret' }, h('code', { 'data-testid': testid, text: value }), btn);
}

// ---- page scaffolding ---------------------------------------------------------

export function pageHead({ title, desc, actions, testid }) {
	return h('div', { class: 'page-head' },
		h('div', { class: 'titles' }, h('h1', { tabindex: '-1', 'data-testid': testid || 'page-title', text: title }), desc ? h('p', { text: desc }) : null),
		actions && actions.length ? h('div', { class: 'page-actions' }, actions) : null);
}

/** A labelled form control: field({label, control, hint, error}) */
export function field({ label, control, hint, id, span2, required }) {
	const cid = id || control.id || uid('f');
	control.id = cid;
	const hintEl = hint ? h('div', { class: 'hint', id: `${cid}-hint`, text: hint }) : null;
	if (hintEl) control.setAttribute('aria-describedby', `${cid}-hint`);
	const err = h('div', { class: 'error', id: `${cid}-err`, role: 'alert', hidden: true });
	return h('div', { class: 'field' + (span2 ? ' span-2' : '') },
		h('label', { for: cid }, label, required ? h('span', { 'aria-hidden': 'true', class: 'muted' }, ' *') : null),
		control, hintEl, err);
}

/** Show a server error next to the control it names (err.field), or in a form-level box. */
export function showFieldError(form, err, fieldMap = {}) {
	clearFieldErrors(form);
	const name = err && err.field ? fieldMap[err.field] || err.field : null;
	const control = name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
	if (control) {
		control.setAttribute('aria-invalid', 'true');
		const box = form.querySelector(`#${CSS.escape(control.id)}-err`);
		if (box) {
			box.textContent = errorMessage(err);
			box.hidden = false;
			control.setAttribute('aria-errormessage', box.id);
		}
		control.focus();
		return;
	}
	const box = form.querySelector('.form-error');
	if (box) {
		box.replaceChildren(icon('alertCircle'), h('span', { text: errorMessage(err) }));
		box.hidden = false;
	}
}

export function clearFieldErrors(form) {
	form.querySelectorAll('[aria-invalid="true"]').forEach((c) => c.removeAttribute('aria-invalid'));
	form.querySelectorAll('.field .error, .form-error').forEach((b) => {
		b.hidden = true;
		b.replaceChildren();
	});
}

export function formError() {
	return h('div', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'form-error' });
}

export function roleBadge(role) {
	const cls = { admin: 'badge-primary', marketer: 'badge-success', sales: 'badge-warning', viewer: '' }[role] || '';
	return h('span', { class: `badge ${cls}` }, t(`roles.${role}`));
}

/** A download of text as a file (CSV etc.), built in the browser. */
export function downloadText(name, text, type = 'text/csv;charset=utf-8') {
	const url = URL.createObjectURL(new Blob([text], { type }));
	const a = h('a', { href: url, download: name, style: { display: 'none' } });
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10000);
}
