// emails.js — the email list (メール): every email with its topic, where mails go (SMTP or the
// local Maildir outbox), saved templates, and the way to a new email (blank or from a template)
// and to the broadcasts.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtDateTime } from '../i18n.js';
import { can } from '../state.js';
import { confirmDialog, emptyState, field, formError, openDialog, pageHead, showFieldError, skeletonRows, toast } from '../ui.js';

export default async function render(ctx) {
	ctx.setCrumbs([{ label: t('nav.emails') }]);
	const writable = can('manage_fields');
	const where = h('div', { class: 'callout', 'data-testid': 'outbox-info', style: { marginBottom: '16px' } }, icon('info'), h('span', { text: t('common.loading') }));
	const tbody = h('tbody', null, skeletonRows(4, 3));
	const tplBody = h('tbody', null, skeletonRows(4, 2));
	let templates = [];
	const create = writable ? h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'create-email', onclick: newEmail }, icon('plus'), t('emails.create')) : null;
	mount(ctx.root,
		pageHead({ title: t('nav.emails'), desc: t('emails.desc'), actions: [h('a', { class: 'btn', href: '/broadcasts', 'data-testid': 'to-broadcasts' }, icon('mail'), t('emails.broadcasts')), create] }),
		where,
		h('div', { class: 'card' }, h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'emails-table', 'aria-label': t('nav.emails') },
			h('thead', null, h('tr', null, ['col_name', 'col_subject', 'col_topic', 'col_updated'].map((k) => h('th', { scope: 'col' }, t(`emails.${k}`))))),
			tbody))),
		h('div', { class: 'card', style: { marginTop: '16px' }, 'data-testid': 'templates-card' },
			h('div', { class: 'card-header' }, h('h2', { text: t('emails.templates') }), h('p', { class: 'hint', text: t('emails.templates_text') })),
			h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'templates-table', 'aria-label': t('emails.templates') },
				h('thead', null, h('tr', null, ['template_name', 'template_description', 'col_updated', 'actions'].map((k) => h('th', { scope: 'col' }, k === 'actions' ? h('span', { class: 'sr-only', text: t('common.actions') }) : t(`emails.${k}`))))),
				tplBody))));
	loadTemplates();

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

	async function loadTemplates() {
		try {
			templates = (await api.get('/email-templates', null, { signal: ctx.signal, quiet: true })).data;
		} catch { templates = []; }
		if (!ctx.alive) return;
		if (!templates.length) {
			mount(tplBody, h('tr', null, h('td', { colspan: 4 }, emptyState({ iconName: 'file', title: t('emails.templates_empty'), text: t('emails.templates_empty_text'), testid: 'templates-empty', compact: true }))));
			return;
		}
		mount(tplBody, templates.map((x) => h('tr', { 'data-testid': 'template-row' },
			h('td', { text: x.name }),
			h('td', null, x.description ? h('span', { text: x.description }) : h('span', { class: 'muted', text: '—' })),
			h('td', { text: fmtDateTime(x.updated_at) }),
			h('td', { style: { textAlign: 'right' } }, writable ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'data-testid': 'template-delete', 'aria-label': t('emails.template_delete', { name: x.name }), onclick: () => removeTemplate(x) }, icon('trash', { size: 'sm' })) : null))));
	}

	async function removeTemplate(x) {
		if (!(await confirmDialog({ title: t('emails.template_delete', { name: x.name }), message: t('emails.template_delete_text'), confirmLabel: t('common.delete') }))) return;
		try {
			await api.del(`/email-templates/${x.id}`);
			toast(t('emails.template_deleted'));
			loadTemplates();
		} catch { /* shown by api */ }
	}

	/* New email: blank, or from a saved template (its subject, HTML and blocks). */
	function newEmail() {
		const name = h('input', { class: 'input', name: 'name', value: t('emails.untitled'), autofocus: true, 'data-testid': 'new-email-name' });
		let chosen = 0;
		const options = [{ id: 0, name: t('emails.blank'), description: t('emails.blank_text') }, ...templates];
		const cards = h('div', { class: 'tpl-choices', role: 'radiogroup', 'aria-label': t('emails.start_from') }, options.map((o) => {
			const radio = h('input', { type: 'radio', name: 'template', value: String(o.id), checked: o.id === 0, 'data-testid': `new-email-template-${o.id}`, onchange: () => { chosen = o.id; } });
			return h('label', { class: 'tpl-choice' }, radio, h('span', null, h('strong', { text: o.name }), o.description ? h('span', { class: 'hint', style: { display: 'block' }, text: o.description }) : null));
		}));
		const ferr = formError();
		openDialog({
			title: t('emails.create'), icon: 'emails', testid: 'new-email-dialog', form: true, wide: true,
			body: h('div', { class: 'stack' }, ferr, field({ label: t('emails.name'), control: name, required: true }), h('div', { class: 'field' }, h('label', { text: t('emails.start_from') }), cards)),
			actions: (close) => [h('button', { type: 'button', class: 'btn', onclick: () => close(null) }, t('common.cancel')),
				h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'new-email-submit' }, t('emails.create'))],
			onSubmit: async (close) => {
				const tpl = templates.find((x) => x.id === chosen);
				const body = { name: name.value.trim() || t('emails.untitled') };
				if (tpl) {
					body.template_id = tpl.id;
					if (!tpl.subject) body.subject = t('emails.sample_subject');
				} else {
					body.subject = t('emails.sample_subject');
					body.html = `<h1>${t('emails.sample_heading')}</h1>\n<p>{{ contact.last_name }} {{ contact.first_name | default: "${t('emails.sample_default')}" }}</p>\n`;
				}
				try {
					const e = await api.post('/emails', body, { quiet: true });
					close(true);
					toast(t('emails.created'));
					ctx.navigate(`/emails/${e.id}`);
				} catch (x) {
					showFieldError(ferr.parentElement, x);
				}
			},
		});
	}
}
