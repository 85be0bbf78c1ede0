// api.js — the one way the UI talks to the server: /api/v1 JSON, the session's CSRF token,
// 401 → back to the login page, and errors shown with the server's own message.
import { t, has, getLang } from './i18n.js';
import { toast } from './ui.js';

const BASE = '/api/v1';
let csrfToken = null;
let onUnauthorized = () => {};

export function setCsrf(token) {
	csrfToken = token || null;
}

/** The app decides what a lost session means (show the login page, keep the path). */
export function setUnauthorizedHandler(fn) {
	onUnauthorized = fn;
}

export class ApiError extends Error {
	constructor(status, body, retryAfter) {
		const e = (body && body.error) || {};
		super(e.message || `HTTP ${status}`);
		this.status = status;
		this.code = e.code || (status === 0 ? 'network' : 'http_' + status);
		this.field = e.field || null;
		this.problems = Array.isArray(e.problems) ? e.problems : null; // journeys: [{step, field, message}]
		this.retryAfter = retryAfter;
	}
}

/** A short, localised title for an error; the server's message is the detail. */
export function errorTitle(err) {
	if (err && has(`errors.${err.code}`)) return t(`errors.${err.code}`);
	if (err && err.status >= 500) return t('errors.server');
	return t('errors.generic');
}

// The server explains errors in English; the commonest ones are said again in the UI's language.
const FIELD_PATTERNS = [
	[/must be a number/, 'number'],
	[/must be a date like/, 'date'],
	[/ISO 8601 time/, 'datetime'],
	[/must be true or false/, 'boolean'],
	[/one of the field's options|array of the field's options/, 'select'],
	[/must be an email address/, 'email'],
	[/http\(s\) URL/, 'url'],
	[/must be a phone number/, 'phone'],
];

/** The message to show for err: the server's own words, or (in Japanese) the same said in Japanese where we know it. */
export function errorMessage(err) {
	if (!err) return '';
	if (err.code === 'network') return t('errors.network_detail');
	if (getLang() === 'en') return err.message;
	const f = err.field || '';
	if (err.code === 'invalid_field' || err.code === 'conflict') {
		if (err.code === 'conflict' && f === 'email') return t('field_errors.email_taken');
		if (err.code === 'conflict' && f === 'key') return t('field_errors.key_taken');
		if (f === 'email' && err.code === 'invalid_field') return t('field_errors.email');
		if (f === 'phone') return t('field_errors.phone');
		if (f === 'domain' || f === 'company.domain') return t('field_errors.domain');
		if (f.startsWith('fields.')) for (const [re, k] of FIELD_PATTERNS) if (re.test(err.message)) return t(`field_errors.${k}`);
	}
	if (err.code === 'forbidden') return t('field_errors.forbidden');
	return err.message;
}

export function showError(err, title) {
	toast({ kind: 'error', title: title || errorTitle(err), detail: errorMessage(err) });
}

function qs(query) {
	if (!query) return '';
	const p = new URLSearchParams();
	for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
	const s = p.toString();
	return s ? '?' + s : '';
}

/**
 * request('GET', '/contacts', {query, body, raw, contentType, quiet})
 * body is sent as JSON; raw (ArrayBuffer/Blob) is sent as is with contentType.
 * quiet: don't toast errors (the caller shows them inline). Throws ApiError.
 */
export async function request(method, path, opts = {}) {
	const { query, body, raw, contentType, quiet, retried, signal } = opts;
	const headers = { Accept: 'application/json' };
	if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
	let payload;
	if (raw !== undefined) {
		payload = raw;
		headers['Content-Type'] = contentType || 'application/octet-stream';
	} else if (body !== undefined) {
		payload = JSON.stringify(body);
		headers['Content-Type'] = 'application/json';
	}
	let res;
	try {
		res = await fetch(BASE + path + qs(query), { method, headers, body: payload, credentials: 'same-origin', signal });
	} catch (e) {
		if (e.name === 'AbortError') throw e;
		const err = new ApiError(0, { error: { code: 'network', message: t('errors.network_detail') } });
		if (!quiet) showError(err);
		throw err;
	}
	if (res.status === 204) return null;
	const text = await res.text();
	let data = null;
	try {
		data = text ? JSON.parse(text) : null;
	} catch {
		data = null;
	}
	if (res.ok) return data;
	const err = new ApiError(res.status, data, Number(res.headers.get('Retry-After')) || null);
	if (res.status === 401 && path !== '/session') {
		onUnauthorized(err);
		throw err;
	}
	// The token can be stale after a session was renewed in another tab: refresh it once.
	if (res.status === 403 && err.code === 'csrf_failed' && !retried) {
		try {
			const s = await request('GET', '/session', { quiet: true });
			setCsrf(s && s.csrf_token);
			return request(method, path, { ...opts, retried: true });
		} catch {
			/* report the original error */
		}
	}
	if (!quiet) showError(err);
	throw err;
}

export const api = {
	get: (path, query, opts) => request('GET', path, { ...opts, query }),
	post: (path, body, opts) => request('POST', path, { ...opts, body }),
	patch: (path, body, opts) => request('PATCH', path, { ...opts, body }),
	put: (path, body, opts) => request('PUT', path, { ...opts, body }),
	del: (path, opts) => request('DELETE', path, opts),
};
