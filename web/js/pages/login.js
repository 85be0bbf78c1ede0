// login.js — the sign-in page (POST /api/v1/session), with throttling and error messages.
import { api } from '../api.js';
import { signedIn } from '../app.js';
import { h, icon, mount } from '../dom.js';
import { t, getLang, setLang, fmtNumber } from '../i18n.js';

export default function render(ctx) {
	document.title = `${t('auth.sign_in')} · Kizuna`;
	const email = h('input', { class: 'input', type: 'email', name: 'email', id: 'login-email', autocomplete: 'username', required: true, 'data-testid': 'login-email', autofocus: true });
	const password = h('input', { class: 'input', type: 'password', name: 'password', id: 'login-password', autocomplete: 'current-password', required: true, 'data-testid': 'login-password' });
	const error = h('div', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'login-error' });
	const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'login-submit' }, t('auth.sign_in'));
	let lockTimer = null;
	let lockedEmail = null; // the server throttles per address: another address may try at once
	ctx.onCleanup(() => clearInterval(lockTimer));

	const showError = (msg) => {
		mount(error, icon('alertCircle'), h('span', { text: msg }));
		error.hidden = false;
	};

	const unlock = () => {
		clearInterval(lockTimer);
		lockedEmail = null;
		submit.disabled = false;
		error.hidden = true;
	};
	const lockFor = (seconds) => {
		let left = Math.max(1, Math.ceil(seconds));
		lockedEmail = email.value.trim().toLowerCase();
		submit.disabled = true;
		const tick = () => {
			if (left <= 0) {
				unlock();
				return;
			}
			const mins = Math.ceil(left / 60);
			showError(left > 90 ? t('auth.too_many_minutes', { n: mins }) : t('auth.too_many_seconds', { n: left }));
			left -= 1;
		};
		clearInterval(lockTimer);
		tick();
		lockTimer = setInterval(tick, 1000);
	};

	const form = h('form', { class: 'login-form', novalidate: true, 'data-testid': 'login-form' },
		h('div', null, h('h1', { text: t('auth.welcome') }), h('p', { class: 'lead', text: t('auth.lead') })),
		error,
		h('div', { class: 'field' }, h('label', { for: 'login-email' }, t('auth.email')), email),
		h('div', { class: 'field' }, h('label', { for: 'login-password' }, t('auth.password')), password),
		submit,
		h('p', { class: 'login-foot', text: t('auth.forgot_hint') }));

	email.addEventListener('input', () => {
		if (lockedEmail !== null && email.value.trim().toLowerCase() !== lockedEmail) unlock();
	});

	form.addEventListener('submit', async (e) => {
		e.preventDefault();
		if (submit.disabled) return;
		error.hidden = true;
		email.removeAttribute('aria-invalid');
		password.removeAttribute('aria-invalid');
		if (!email.value.trim()) {
			email.setAttribute('aria-invalid', 'true');
			showError(t('auth.need_email'));
			email.focus();
			return;
		}
		if (!password.value) {
			password.setAttribute('aria-invalid', 'true');
			showError(t('auth.need_password'));
			password.focus();
			return;
		}
		submit.disabled = true;
		submit.replaceChildren(h('span', { class: 'spinner' }), t('auth.signing_in'));
		try {
			const s = await api.post('/session', { email: email.value.trim(), password: password.value }, { quiet: true });
			await signedIn(s, ctx.query.next);
		} catch (err) {
			submit.disabled = false;
			submit.replaceChildren(t('auth.sign_in'));
			if (err.code === 'invalid_credentials' || err.status === 401) {
				showError(t('auth.invalid'));
				password.value = '';
				password.setAttribute('aria-invalid', 'true');
				password.focus();
			} else if (err.code === 'too_many_attempts' || err.status === 429) {
				lockFor(err.retryAfter || 60);
			} else if (err.code === 'network') {
				showError(t('errors.network_detail'));
			} else {
				showError(err.message);
			}
		}
	});

	const lang = getLang();
	const langBtns = h('div', { class: 'lang-switch', role: 'group', 'aria-label': t('common.language') },
		h('button', { type: 'button', lang: 'ja', 'aria-pressed': String(lang === 'ja'), 'data-testid': 'lang-ja', onclick: () => setLang('ja') }, '日本語'),
		h('button', { type: 'button', lang: 'en', 'aria-pressed': String(lang === 'en'), 'data-testid': 'lang-en', onclick: () => setLang('en') }, 'English'));

	mount(ctx.root,
		h('div', { class: 'login', 'data-testid': 'login-page' },
			h('section', { class: 'login-art', 'aria-hidden': 'true' },
				h('div', { class: 'brand' }, h('span', { class: 'brand-mark' }, '絆'), h('span', { class: 'brand-name' }, 'Kizuna')),
				h('div', null, h('h2', { text: t('auth.hero_title') }), h('p', { text: t('auth.hero_text') })),
				h('ul', null,
					h('li', null, icon('contacts'), t('auth.hero_point_1')),
					h('li', null, icon('journeys'), t('auth.hero_point_2')),
					h('li', null, icon('reports'), t('auth.hero_point_3'))),
				h('div', { class: 'kanji' }, '絆')),
			h('section', { class: 'login-panel' },
				h('div', { class: 'top' }, langBtns),
				h('div', { class: 'login-form-wrap' }, form),
				h('p', { class: 'login-foot', text: t('auth.footer', { year: fmtNumber(new Date().getFullYear(), { useGrouping: false }) }) }))));
	email.focus();
}
