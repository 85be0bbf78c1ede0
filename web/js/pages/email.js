// email.js — the email editor: HTML source with a live preview for a chosen contact, a simple
// block mode (heading, text, image, button, divider, columns) that writes table-based HTML,
// test sends, and the email's stats.
import { api } from '../api.js';
import { debounce, h, icon, mount } from '../dom.js';
import { t, fmtNumber } from '../i18n.js';
import { can } from '../state.js';
import { field, formError, showFieldError, clearFieldErrors, toast, openDialog } from '../ui.js';
import { statsView } from '../email-stats.js';

const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** Table-based HTML (what mail clients render reliably) for the block list. */
export function blocksToHtml(blocks) {
	const cell = (b) => {
		switch (b.type) {
		case 'heading': return `<h1 style="margin:0 0 12px;font-size:22px">${esc(b.text)}</h1>`;
		case 'text': return `<p style="margin:0 0 12px;line-height:1.6">${esc(b.text).replace(/\n/g, '<br>')}</p>`;
		case 'image': return `<img src="${esc(b.src)}" alt="${esc(b.alt)}" width="560" style="max-width:100%;display:block">`;
		case 'button': return `<table role="presentation" cellpadding="0" cellspacing="0"><tr><td style="background:#2f5bea;border-radius:6px"><a href="${esc(b.href)}" style="display:inline-block;padding:10px 20px;color:#fff;text-decoration:none">${esc(b.text)}</a></td></tr></table>`;
		case 'divider': return '<hr style="border:0;border-top:1px solid #ddd;margin:16px 0">';
		case 'columns': return `<table role="presentation" width="100%"><tr><td width="50%" valign="top">${esc(b.left).replace(/\n/g, '<br>')}</td><td width="50%" valign="top">${esc(b.right).replace(/\n/g, '<br>')}</td></tr></table>`;
		default: return '';
		}
	};
	return '<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center">\n' +
		'<table role="presentation" width="600" cellpadding="24" cellspacing="0" style="max-width:600px;font-family:sans-serif">\n' +
		blocks.map((b) => `<tr><td>${cell(b)}</td></tr>`).join('\n') + '\n</table>\n</td></tr></table>\n';
}

const BLOCK_FIELDS = { heading: ['text'], text: ['text'], image: ['src', 'alt'], button: ['text', 'href'], divider: [], columns: ['left', 'right'] };

export default async function render(ctx) {
	const id = Number(ctx.params.id);
	const back = { label: t('nav.emails'), href: '/emails' };
	ctx.setCrumbs([back, { label: t('common.loading') }]);
	let email;
	try {
		email = await api.get(`/emails/${id}`, null, { signal: ctx.signal, quiet: true });
	} catch {
		ctx.setCrumbs([back, { label: t('emails.not_found') }]);
		mount(ctx.root, h('p', { text: t('emails.not_found') }));
		return;
	}
	if (!ctx.alive) return;
	ctx.setCrumbs([back, { label: email.name }]);
	const writable = can('manage_fields');
	const inp = (k, props = {}) => h('input', { class: 'input', name: k, value: email[k] || '', 'data-testid': `email-${k}`, disabled: !writable, ...props });
	const name = inp('name'), subject = inp('subject'), preheader = inp('preheader'), topic = inp('topic');
	const fromName = inp('from_name'), fromEmail = inp('from_email', { type: 'email' });
	const html = h('textarea', { class: 'textarea mono', name: 'html', rows: 18, 'data-testid': 'email-html', disabled: !writable, spellcheck: 'false' });
	html.value = email.html || '';
	const err = formError();
	const frame = h('iframe', { class: 'email-preview', title: t('emails.preview'), sandbox: '', 'data-testid': 'email-preview', style: { width: '100%', height: '480px', border: '1px solid var(--border, #ddd)', borderRadius: '8px', background: '#fff' } });
	const pvSubject = h('div', { class: 'mono', 'data-testid': 'preview-subject' });
	const contactSel = h('input', { class: 'input', type: 'number', min: 1, placeholder: t('emails.preview_contact_ph'), 'data-testid': 'preview-contact' });
	let blocks = Array.isArray(email.blocks) ? email.blocks : [];
	const blockList = h('div', { class: 'stack-sm', 'data-testid': 'block-list' });
	const mode = { v: blocks.length ? 'blocks' : 'html' };
	const htmlPane = h('div', null, field({ label: t('emails.html'), control: html, hint: t('emails.html_hint') }));
	const blockPane = h('div', { hidden: true }, h('div', { class: 'chips', style: { marginBottom: '8px' } },
		Object.keys(BLOCK_FIELDS).map((ty) => h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': `add-block-${ty}`, disabled: !writable, onclick: () => { blocks.push({ type: ty }); syncBlocks(); } }, icon('plus', { size: 'sm' }), t(`emails.block_${ty}`)))),
	blockList);
	const modeBtns = ['html', 'blocks'].map((m) => h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': `mode-${m}`, onclick: () => setMode(m) }, t(`emails.mode_${m}`)));
	const stats = h('div', { 'data-testid': 'email-stats' });
	const testTo = h('input', { class: 'input', type: 'email', placeholder: 'you@example.jp', 'data-testid': 'test-to' });

	function setMode(m) {
		mode.v = m;
		htmlPane.hidden = m !== 'html';
		blockPane.hidden = m !== 'blocks';
		modeBtns.forEach((b, i) => b.classList.toggle('btn-primary', ['html', 'blocks'][i] === m));
		if (m === 'blocks') syncBlocks();
	}
	function syncBlocks() {
		mount(blockList, blocks.map((b, i) => h('div', { class: 'card', 'data-testid': 'block' }, h('div', { class: 'card-body stack-sm' },
			h('div', { class: 'row-between', style: { display: 'flex', justifyContent: 'space-between', gap: '8px' } }, h('strong', { text: t(`emails.block_${b.type}`) }),
				h('button', { type: 'button', class: 'btn btn-ghost btn-sm', onclick: () => { blocks.splice(i, 1); syncBlocks(); } }, icon('x', { size: 'sm' }))),
			BLOCK_FIELDS[b.type].map((k) => {
				const c = k === 'text' && b.type === 'text' || k === 'left' || k === 'right' ? h('textarea', { class: 'textarea', rows: 3 }) : h('input', { class: 'input' });
				c.value = b[k] || '';
				c.setAttribute('data-testid', `block-${b.type}-${k}`);
				c.addEventListener('input', () => { b[k] = c.value; html.value = blocksToHtml(blocks); schedulePreview(); });
				return field({ label: t(`emails.block_field_${k}`), control: c });
			})))));
		html.value = blocksToHtml(blocks);
		schedulePreview();
	}

	async function preview() {
		const body = { draft: { subject: subject.value, preheader: preheader.value || null, html: html.value } };
		if (Number(contactSel.value) > 0) body.contact_id = Number(contactSel.value);
		try {
			const r = await api.post(`/emails/${id}/preview`, body, { quiet: true });
			clearFieldErrors(ctx.root);
			mount(err);
			pvSubject.textContent = r.subject;
			pvSubject.classList.remove('error');
			frame.srcdoc = r.html;
		} catch (e) {
			/* a template error names the line and column: show it where the preview was */
			pvSubject.textContent = `⚠ ${e.message}`;
			pvSubject.classList.add('error');
		}
	}
	const schedulePreview = debounce(preview, 300);
	for (const c of [subject, preheader, html, contactSel]) c.addEventListener('input', schedulePreview);

	async function save() {
		clearFieldErrors(ctx.root);
		const body = { name: name.value, subject: subject.value, preheader: preheader.value || null, topic: topic.value || null,
			from_name: fromName.value || null, from_email: fromEmail.value || null, html: html.value, blocks: mode.v === 'blocks' ? blocks : null };
		try {
			email = await api.patch(`/emails/${id}`, body, { quiet: true });
			toast(t('emails.saved'));
			return true;
		} catch (e) {
			showFieldError(ctx.root, e);
			return false;
		}
	}
	async function sendTest() {
		if (!testTo.value) return;
		const body = { to: [testTo.value] };
		if (Number(contactSel.value) > 0) body.contact_id = Number(contactSel.value);
		try {
			await api.post(`/emails/${id}/test`, body, { quiet: true });
			toast(t('emails.test_sent', { to: testTo.value }));
		} catch (e) {
			showFieldError(ctx.root, e);
		}
	}

	/* Save the edits, then keep this email's content as a saved template. */
	function saveAsTemplate() {
		const tname = h('input', { class: 'input', name: 'name', value: email.name, autofocus: true, 'data-testid': 'template-name' });
		const desc = h('input', { class: 'input', name: 'description', 'data-testid': 'template-description' });
		const ferr = formError();
		openDialog({
			title: t('emails.save_template'), icon: 'file', testid: 'save-template-dialog', form: true,
			body: h('div', { class: 'stack' }, ferr, h('p', { class: 'hint', text: t('emails.save_template_text') }),
				field({ label: t('emails.template_name'), control: tname, required: true }),
				field({ label: t('emails.template_description'), control: desc })),
			actions: (close) => [h('button', { type: 'button', class: 'btn', onclick: () => close(null) }, t('common.cancel')),
				h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'template-submit' }, t('emails.save_template'))],
			onSubmit: async (close) => {
				try {
					if (!(await save())) return close(null); // the editor shows what was wrong
					await api.post('/email-templates', { from_email_id: id, name: tname.value.trim(), description: desc.value.trim() || null }, { quiet: true });
					close(true);
					toast(t('emails.template_saved'));
				} catch (x) {
					showFieldError(ferr.parentElement, x);
				}
			},
		});
	}

	mount(ctx.root,
		h('div', { class: 'page-head' }, h('h1', { text: email.name }),
			h('div', { class: 'actions' },
				writable ? h('button', { type: 'button', class: 'btn', 'data-testid': 'email-save-template', onclick: saveAsTemplate }, icon('file'), t('emails.save_template')) : null,
				writable ? h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'email-save', onclick: save }, t('common.save_changes')) : null)),
		err,
		h('div', { class: 'grid-2', style: { display: 'grid', gridTemplateColumns: 'minmax(0,1fr) minmax(0,1fr)', gap: '16px' } },
			h('div', { class: 'card' }, h('div', { class: 'card-body stack' },
				field({ label: t('emails.name'), control: name, required: true }),
				field({ label: t('emails.subject'), control: subject, required: true, hint: t('emails.subject_hint') }),
				field({ label: t('emails.preheader'), control: preheader }),
				field({ label: t('emails.from_name'), control: fromName }),
				field({ label: t('emails.from_email'), control: fromEmail }),
				field({ label: t('emails.topic'), control: topic, hint: t('emails.topic_hint') }),
				h('div', { class: 'chips' }, modeBtns), htmlPane, blockPane)),
			h('div', { class: 'stack' },
				h('div', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', { text: t('emails.preview') })),
					h('div', { class: 'card-body stack-sm' }, field({ label: t('emails.preview_contact'), control: contactSel }), pvSubject, frame)),
				h('div', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', { text: t('emails.test') })),
					h('div', { class: 'card-body stack-sm' }, testTo, h('button', { type: 'button', class: 'btn', 'data-testid': 'test-send', disabled: !writable, onclick: sendTest }, icon('mail'), t('emails.test_send')))),
				h('div', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', { text: t('emails.stats') })), h('div', { class: 'card-body' }, stats)))));
	setMode(mode.v);
	preview();
	api.get(`/emails/${id}/stats`, null, { signal: ctx.signal, quiet: true }).then((s) => ctx.alive && mount(stats, statsView(s))).catch(() => {});
	void fmtNumber;
}
