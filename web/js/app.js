// app.js — boot, the session, the History-API router and the workspace shell (navigation, header).
import { api, setCsrf, setUnauthorizedHandler, errorMessage } from './api.js';
import { h, icon, mount } from './dom.js';
import { initI18n, t, getLang, setLang, onLangChange, setTimeZone } from './i18n.js';
import { state, resetCaches, loadSettings, can } from './state.js';
import { toast } from './ui.js';

/** Routes: path pattern → page module (web/js/pages/<page>.js) and the nav item it lights up. */
const ROUTES = [
	{ path: '/login', page: 'login', public: true },
	{ path: '/', page: 'dashboard', nav: 'dashboard' },
	{ path: '/dashboard', redirect: () => '/' },
	{ path: '/contacts', page: 'contacts', nav: 'contacts' },
	{ path: '/contacts/:id', page: 'contact', nav: 'contacts' },
	{ path: '/import', page: 'import', nav: 'contacts' },
	{ path: '/visitors', page: 'visitors', nav: 'visitors' },
	{ path: '/visitors/:id', page: 'visitor', nav: 'visitors' },
	{ path: '/companies', page: 'companies', nav: 'companies' },
	{ path: '/companies/:id', page: 'company', nav: 'companies' },
	{ path: '/segments', page: 'segments', nav: 'segments' },
	{ path: '/scoring', page: 'scoring', nav: 'scoring' },
	{ path: '/scoring/stages', page: 'stages', nav: 'scoring' },
	{ path: '/emails', page: 'emails', nav: 'emails' },
	{ path: '/emails/:id', page: 'email', nav: 'emails' },
	{ path: '/broadcasts', page: 'broadcasts', nav: 'emails' },
	{ path: '/broadcasts/:id', page: 'broadcast', nav: 'emails' },
	{ path: '/journeys', page: 'journeys', nav: 'journeys' },
	{ path: '/journeys/sequence', page: 'journey-sequence', nav: 'journeys' },
	{ path: '/journeys/:id', page: 'journey', nav: 'journeys' },
	{ path: '/forms', page: 'forms', nav: 'forms' },
	{ path: '/assets', page: 'assets', nav: 'assets' },
	{ path: '/pages', page: 'pages', nav: 'pages' },
	{ path: '/pages/:id', page: 'page', nav: 'pages' },
	{ path: '/personalize', page: 'personalize', nav: 'personalize' },
	{ path: '/reports', page: 'coming-soon', nav: 'reports' },
	{ path: '/settings', redirect: () => (can('admin') ? '/settings/users' : '/settings/fields') },
	{ path: '/settings/users', page: 'settings-users', nav: 'settings' },
	{ path: '/settings/api-keys', page: 'settings-keys', nav: 'settings' },
	{ path: '/settings/fields', page: 'settings-fields', nav: 'settings' },
	{ path: '/settings/sites', page: 'settings-sites', nav: 'settings' },
	{ path: '/settings/email', page: 'settings-email', nav: 'settings' },
	{ path: '/settings/general', page: 'settings-general', nav: 'settings' },
];

const NAV = [
	{ group: 'nav.group_workspace', items: [
		{ id: 'dashboard', href: '/', icon: 'dashboard' },
		{ id: 'contacts', href: '/contacts', icon: 'contacts' },
		{ id: 'companies', href: '/companies', icon: 'companies' },
		{ id: 'visitors', href: '/visitors', icon: 'globe' },
	] },
	{ group: 'nav.group_marketing', items: [
		{ id: 'segments', href: '/segments', icon: 'segments' },
		{ id: 'scoring', href: '/scoring', icon: 'sparkles' },
		{ id: 'emails', href: '/emails', icon: 'emails' },
		{ id: 'journeys', href: '/journeys', icon: 'journeys' },
		{ id: 'forms', href: '/forms', icon: 'forms' },
		{ id: 'assets', href: '/assets', icon: 'file' },
		{ id: 'pages', href: '/pages', icon: 'columns' },
		{ id: 'personalize', href: '/personalize', icon: 'layers' },
		{ id: 'reports', href: '/reports', icon: 'reports', soon: true },
	] },
	{ group: 'nav.group_admin', items: [{ id: 'settings', href: '/settings', icon: 'settings' }] },
];

function match(pathname) {
	const parts = pathname.replace(/\/+$/, '').split('/').filter(Boolean);
	for (const r of ROUTES) {
		const rp = r.path.split('/').filter(Boolean);
		if (rp.length !== parts.length) continue;
		const params = {};
		let ok = true;
		for (let i = 0; i < rp.length; i++) {
			if (rp[i].startsWith(':')) params[rp[i].slice(1)] = decodeURIComponent(parts[i]);
			else if (rp[i] !== parts[i]) ok = false;
		}
		if (ok) return { route: r, params };
	}
	return null;
}

// ---- navigation ---------------------------------------------------------------

let current = null; // {cleanup, controller}
let shell = null; // {main, crumbs, nav}
let shellListeners = null; // aborted when the shell is rebuilt, so document listeners don't pile up
let firstRender = true;

export function navigate(to, { replace = false } = {}) {
	const url = new URL(to, location.origin);
	const target = url.pathname + url.search + url.hash;
	if (target !== location.pathname + location.search + location.hash) {
		if (replace) history.replaceState(null, '', target);
		else history.pushState(null, '', target);
	}
	return render();
}

/** Update the query string of the current page without re-rendering it (filters, sort). */
export function setQuery(params) {
	const url = new URL(location.href);
	for (const [k, v] of Object.entries(params)) {
		if (v === undefined || v === null || v === '') url.searchParams.delete(k);
		else url.searchParams.set(k, v);
	}
	history.replaceState(null, '', url.pathname + url.search);
}

function onLinkClick(e) {
	if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
	const a = e.target.closest('a[href]');
	if (!a || a.target || a.hasAttribute('download') || a.dataset.external !== undefined) return;
	const url = new URL(a.href, location.href);
	if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
	if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
	e.preventDefault();
	navigate(url.pathname + url.search + url.hash);
}

function loginPath() {
	const here = location.pathname + location.search;
	return here === '/' || here.startsWith('/login') ? '/login' : `/login?next=${encodeURIComponent(here)}`;
}

// ---- session --------------------------------------------------------------------

async function loadSession() {
	try {
		const s = await api.get('/session', null, { quiet: true });
		acceptSession(s);
		return true;
	} catch (e) {
		if (e.status !== 401) console.warn('session check failed', e);
		return false;
	}
}

function acceptSession(s) {
	state.user = s.user;
	setCsrf(s.csrf_token);
	resetCaches();
	loadSettings()
		.then((st) => st && setTimeZone(st.timezone))
		.catch(() => {});
}

/** Called by the login page. */
export function signedIn(session, next) {
	acceptSession(session);
	shell = null;
	const safe = next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/';
	return navigate(safe, { replace: true });
}

export async function signOut() {
	try {
		await api.del('/session', { quiet: true });
	} catch {
		/* the cookie may already be gone; signing out locally is what matters */
	}
	state.user = null;
	setCsrf(null);
	resetCaches();
	shell = null;
	navigate('/login', { replace: true });
	toast({ title: t('auth.signed_out'), kind: 'info' });
}

setUnauthorizedHandler(() => {
	if (!state.user) return;
	state.user = null;
	setCsrf(null);
	shell = null;
	toast({ kind: 'info', title: t('auth.session_expired'), detail: t('auth.session_expired_detail') });
	navigate(loginPath(), { replace: true });
});

// ---- shell ------------------------------------------------------------------------

function langSwitch() {
	const lang = getLang();
	const mk = (code, label) =>
		h('button', { type: 'button', lang: code, 'aria-pressed': String(lang === code), 'data-testid': `lang-${code}`, onclick: () => setLang(code) }, label);
	return h('div', { class: 'lang-switch', role: 'group', 'aria-label': t('common.language') }, mk('ja', '日本語'), mk('en', 'English'));
}

function userMenu() {
	const u = state.user;
	const menu = h('div', { class: 'menu', role: 'menu', hidden: true, 'data-testid': 'user-menu' },
		h('div', { class: 'menu-head' }, u.email),
		h('button', { type: 'button', role: 'menuitem', 'data-testid': 'logout', onclick: () => signOut() }, icon('logout'), t('auth.sign_out')));
	const btn = h('button', { type: 'button', class: 'user-btn', 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'data-testid': 'user-button' },
		h('span', { class: 'avatar avatar-sm', style: { background: '#4c5466' } }, (u.name || u.email).slice(0, 1).toUpperCase()),
		h('span', { class: 'who' }, h('strong', { text: u.name || u.email }), h('span', { text: t(`roles.${u.role}`) })),
		icon('chevronDown', { size: 'sm' }));
	const wrap = h('div', { class: 'user-menu' }, btn, menu);
	const close = () => {
		menu.hidden = true;
		btn.setAttribute('aria-expanded', 'false');
	};
	btn.addEventListener('click', () => {
		const open = menu.hidden;
		menu.hidden = !open;
		btn.setAttribute('aria-expanded', String(open));
		if (open) menu.querySelector('button').focus();
	});
	wrap.addEventListener('keydown', (e) => {
		if (e.key === 'Escape' && !menu.hidden) {
			close();
			btn.focus();
		}
	});
	document.addEventListener('click', (e) => {
		if (!wrap.contains(e.target)) close();
	}, { signal: shellListeners.signal });
	return wrap;
}

function buildShell() {
	if (shellListeners) shellListeners.abort();
	shellListeners = new AbortController();
	const navEl = h('nav', { class: 'nav', 'aria-label': t('nav.main') },
		NAV.map((g) => [
			h('div', { class: 'nav-section', text: t(g.group) }),
			h('ul', null, g.items.map((it) =>
				h('li', null, h('a', { href: it.href, 'data-nav': it.id, 'data-testid': `nav-${it.id}` },
					icon(it.icon), h('span', { text: t(`nav.${it.id}`) }),
					it.soon ? h('span', { class: 'soon', text: t('nav.soon') }) : null)))),
		]));
	const crumbs = h('div', { class: 'crumbs', 'data-testid': 'breadcrumbs' });
	const main = h('main', { id: 'main', class: 'page', tabindex: '-1' });
	const root = h('div', { class: 'app' },
		h('aside', { class: 'sidebar' },
			h('a', { class: 'brand', href: '/', 'aria-label': t('app.home') }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '絆'), h('span', { class: 'brand-name' }, 'Kizuna')),
			navEl,
			h('div', { class: 'sidebar-foot', text: t('app.tagline') })),
		h('div', { class: 'main-col' },
			h('header', { class: 'topbar' }, crumbs, h('div', { class: 'topbar-actions' }, langSwitch(), userMenu())),
			main));
	mount(document.getElementById('app'), h('a', { class: 'skip-link', href: '#main', 'data-external': '' }, t('app.skip')), root);
	shell = { main, crumbs, nav: navEl };
}

function setActiveNav(id) {
	for (const a of shell.nav.querySelectorAll('a[data-nav]')) {
		if (a.dataset.nav === id) a.setAttribute('aria-current', 'page');
		else a.removeAttribute('aria-current');
	}
}

/** Breadcrumbs: [{label, href}] ending with the current page; also sets the document title. */
function setCrumbs(items) {
	if (!shell) return;
	const nodes = [];
	items.forEach((c, i) => {
		if (i) nodes.push(icon('chevronRight', { size: 'sm' }));
		nodes.push(c.href && i < items.length - 1 ? h('a', { href: c.href, text: c.label }) : h('span', { class: 'current', text: c.label }));
	});
	mount(shell.crumbs, nodes);
	document.title = `${items[items.length - 1].label} · Kizuna`;
}

// ---- rendering ---------------------------------------------------------------------

async function render() {
	if (current) {
		current.controller.abort();
		for (const fn of current.cleanups) {
			try {
				fn();
			} catch (e) {
				console.error(e);
			}
		}
	}
	const controller = new AbortController();
	const cleanups = [];
	current = { controller, cleanups };

	let m = match(location.pathname);
	if (m && m.route.redirect) return navigate(m.route.redirect(), { replace: true });
	if (!state.user && !(m && m.route.public)) return navigate(loginPath(), { replace: true });
	if (state.user && m && m.route.public) return navigate('/', { replace: true });

	let target;
	const query = Object.fromEntries(new URLSearchParams(location.search));
	if (m && m.route.public) {
		shell = null;
		target = document.getElementById('app');
	} else {
		if (!shell) buildShell();
		setActiveNav(m ? m.route.nav : null);
		target = shell.main;
	}
	const pageName = m ? m.route.page : 'not-found';
	mount(target);
	const ctx = {
		root: target,
		params: m ? m.params : {},
		query,
		nav: m ? m.route.nav : null,
		signal: controller.signal,
		get alive() {
			return !controller.signal.aborted;
		},
		onCleanup: (fn) => cleanups.push(fn),
		setCrumbs,
		navigate,
	};
	try {
		const mod = await import(`./pages/${pageName}.js`);
		if (controller.signal.aborted) return;
		await mod.default(ctx);
	} catch (e) {
		if (controller.signal.aborted || e.name === 'AbortError') return;
		console.error(e);
		if (e.status === 401) return;
		mount(target, h('div', { class: 'card' }, h('div', { class: 'empty', 'data-testid': 'page-error' },
			h('div', { class: 'empty-icon' }, icon('alertCircle')),
			h('h3', { text: e.status === 404 ? t('errors.not_found_page') : t('errors.page_failed') }),
			h('p', { text: errorMessage(e) }),
			h('div', { class: 'row' }, h('button', { type: 'button', class: 'btn', onclick: () => render() }, icon('refresh'), t('common.retry')), h('a', { class: 'btn btn-ghost', href: '/' }, t('nav.dashboard'))))));
		if (shell) setCrumbs([{ label: t('errors.page_failed') }]);
	}
	if (!firstRender && shell && !controller.signal.aborted) {
		const h1 = shell.main.querySelector('h1');
		if (h1 && !shell.main.contains(document.activeElement)) h1.focus({ preventScroll: true });
		window.scrollTo(0, 0);
	}
	firstRender = false;
}

async function boot() {
	await initI18n();
	document.getElementById('app').removeAttribute('aria-busy');
	onLangChange(() => {
		shell = null;
		render();
	});
	document.addEventListener('click', onLinkClick);
	window.addEventListener('popstate', () => render());
	await loadSession();
	render();
}

boot().catch((e) => {
	// Without the message catalogue there is nothing to translate with: say it in both languages.
	console.error(e);
	document.getElementById('app').textContent = `Kizuna を開始できませんでした。再読み込みしてください。 / Kizuna could not start; reload the page. (${e.message})`;
});
