// emails.js — the email list (メール): every email with its topic, where mails go (SMTP or the
// local Maildir outbox), and the way to a new email and to the broadcasts.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtDateTime } from '../i18n.js';
import { can } from '../state.js';
import { emptyState, pageHead, skeletonRows, toast } from '../ui.js';

export default async function render(ctx) {
	ctx.setCrumbs([{ label: t('nav.emails') }]);
	const writable = can('manage_fields');
	const where = h('div', { class: 'callout', 'data-testid': 'outbox-info', style: { marginBottom: '16px' } }, icon('info'), h('span', { text: t('common.loading') }));
	const tbody = h('tbody', null, skeletonRows(4, 3));
	const create = writable ? h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'create-email', onclick: newEmail }, icon('plus'), t('emails.create')) : null;
	mount(ctx.root,
		pageHead({ title: t('nav.emails'), desc: t('emails.desc'), actions: [h('a', { class: 'btn', href: '/broadcasts', 'data-testid': 'to-broadcasts' }, icon('mail'), t('emails.broadcasts')), create] }),
		where,
		h('div', { class: 'card' }, h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'emails-table', 'aria-label': t('nav.emails') },
			h('thead', null, h('tr', null, ['col_name', 'col_subject', 'col_topic', 'col_updated'].map((k) => h('th', { scope: 'col' }, t(`emails.${k}`))))),
			tbody))));

	api.get('/outbox', null, { signal: ctx.signal, quiet: true }).then((o) => {
		if (!ctx.alive) return;
		mount(where, icon('info'), h('span', { 'data-testid': 'outbox-text', text: o.transport === 'smtp' ? t('emails.via_smtp', { location: o.location }) : t('emails.via_maildir', { location: o.location }) }),
			o.dkim ? h('span', { class: 'badge badge-success', style: { marginLeft: '8px' }, text: `DKIM ${o.dkim}` }) : null);
	}).catch(() => mount(where, icon('info'), h('span', { text: t('emails.outbox_unknown') })));

	const r = await api.get('/emails', null, { signal: ctx.signal });
	if (!ctx.alive) return;
	if (!r.data.length) {
		mount(tbody, h('tr', null, h('td', { colspan: 4 }, emptyState({ iconName: 'emails', title: t('emails.empty_title'), text: t('emails.empty_text'), testid: 'emails-empty', compact: true }))));
		return;
	}
	mount(tbody, r.data.map((e) => h('tr', { class: 'row-link', 'data-testid': 'email-row', onclick: () => ctx.navigate(`/emails/${e.id}`) },
		h('td', null, h('a', { href: `/emails/${e.id}`, text: e.name })),
		h('td', { text: e.subject }),
		h('td', null, e.topic ? h('span', { class: 'chip', text: e.topic }) : h('span', { class: 'muted', text: '—' })),
		h('td', { text: fmtDateTime(e.updated_at) }))));

	async function newEmail() {
		try {
			const e = await api.post('/emails', {
				name: t('emails.untitled'),
				subject: t('emails.sample_subject'),
				html: `<h1>${t('emails.sample_heading')}</h1>\n<p>{{ contact.last_name }} {{ contact.first_name | default: "${t('emails.sample_default')}" }}</p>\n`,
			});
			toast(t('emails.created'));
			ctx.navigate(`/emails/${e.id}`);
		} catch { /* shown by api */ }
	}
}
