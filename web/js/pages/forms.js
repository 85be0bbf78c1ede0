// forms.js — lead capture forms: the list with views, submissions and conversion rate; a builder without
// HTML (fields with ja/en labels, validation, mapping, drag to reorder, a live preview in ja or en; after
// a submission: tags, a list, points, an autoresponse, alerts by email and webhook, a whitepaper;
// thank-you message or redirect); embed codes in all three forms; submissions, CSV and spam log.
import { api } from '../api.js';
import { debounce, h, icon, mount } from '../dom.js';
import { t, fmtDateTime, fmtNumber } from '../i18n.js';
import { can } from '../state.js';
import { openDialog, toast, field, formError, showFieldError, clearFieldErrors, secretBox, skeletonBlock, emptyState, pageHead } from '../ui.js';

const TYPES = ['text', 'email', 'tel', 'number', 'textarea', 'select', 'radio', 'checkbox', 'checkboxes', 'date', 'hidden', 'consent'];
const MAPS = ['', 'email', 'first_name', 'last_name', 'first_name_kana', 'last_name_kana', 'phone', 'company'];

export default async function render(ctx) {
	const writable = can('manage_fields'); // marketer and admin
	const createBtn = writable ? h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'create-form', onclick: () => edit(null) }, icon('plus'), t('capture.create')) : null;
	const list = h('div', { class: 'stack', 'data-testid': 'forms-list' }, h('div', { class: 'card' }, h('div', { class: 'card-body' }, skeletonBlock(4))));
	mount(ctx.root, pageHead({ title: t('capture.title'), desc: t('capture.desc'), actions: createBtn ? [createBtn] : [], testid: 'forms-head' }), list);

	async function load() {
		const r = await api.get('/forms', null, { signal: ctx.signal });
		if (!ctx.alive) return;
		if (!r.data.length) {
			mount(list, h('div', { class: 'card' }, emptyState({
				iconName: 'forms', title: t('capture.empty_title'), text: t('capture.empty_text'), testid: 'forms-empty',
				actions: createBtn ? [h('button', { type: 'button', class: 'btn btn-primary', onclick: () => edit(null) }, icon('plus'), t('capture.create'))] : [],
			})));
			return;
		}
		mount(list, r.data.map(card));
	}

	function card(f) {
		const rate = f.conversion_rate === null ? '—' : `${(f.conversion_rate * 100).toFixed(1)}%`;
		const subs = h('div', { 'data-testid': 'form-submissions' });
		return h('section', { class: 'card', 'data-testid': 'form-card', 'data-name': f.name, 'aria-labelledby': `form-h-${f.id}` },
			h('div', { class: 'card-header' },
				h('h2', { id: `form-h-${f.id}`, text: f.name }),
				h('div', { class: 'chips' },
					h('a', { class: 'btn btn-ghost btn-sm', href: f.embed.url, target: '_blank', rel: 'noopener' }, icon('link', { size: 'sm' }), t('capture.open_hosted')),
					writable ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'data-testid': 'form-edit', onclick: () => edit(f) }, icon('edit', { size: 'sm' }), t('common.edit')) : null)),
			h('div', { class: 'card-body stack' },
				h('dl', { class: 'meta' },
					h('dt', null, t('capture.views')), h('dd', { 'data-testid': 'form-views', text: fmtNumber(f.views) }),
					h('dt', null, t('capture.submissions')), h('dd', { 'data-testid': 'form-count', text: fmtNumber(f.submissions) }),
					h('dt', null, t('capture.conversion')), h('dd', { 'data-testid': 'form-rate', text: rate }),
					h('dt', null, t('capture.spam')), h('dd', { text: fmtNumber(f.spam) })),
				['url', 'script', 'html'].map((k) => h('div', { class: 'field' },
					h('span', { class: 'label', text: t(`capture.embed_${k}`) }), h('p', { class: 'hint', text: t(`capture.embed_${k}_hint`) }),
					h('div', { class: 'snippet' }, secretBox(f.embed[k], `form-embed-${k}`)))),
				h('div', { class: 'chips' },
					h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'form-show-submissions', onclick: () => showSubmissions(f, subs) }, icon('file', { size: 'sm' }), t('capture.show_submissions')),
					h('button', { type: 'button', class: 'btn btn-sm', onclick: () => download(f) }, icon('download', { size: 'sm' }), t('capture.export_csv'))),
				subs));
	}

	async function download(f) {
		const res = await fetch(`/api/v1/forms/${f.id}/submissions.csv`, { credentials: 'same-origin' });
		const blob = await res.blob();
		const a = h('a', { href: URL.createObjectURL(blob), download: `form-${f.id}-submissions.csv` });
		document.body.append(a);
		a.click();
		a.remove();
	}

	async function showSubmissions(f, box) {
		const [subs, spam] = await Promise.all([api.get(`/forms/${f.id}/submissions`, { limit: 50 }), api.get(`/forms/${f.id}/spam`, { limit: 20 })]);
		const cols = f.fields.filter((x) => x.type !== 'hidden').map((x) => x.name);
		mount(box,
			h('h3', { text: t('capture.submissions') }),
			subs.data.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'submissions-table' },
				h('thead', null, h('tr', null, h('th', { text: t('capture.received') }), cols.map((c) => h('th', { text: c })), h('th', { text: t('capture.contact') }))),
				h('tbody', null, subs.data.map((s) => h('tr', null,
					h('td', { text: fmtDateTime(s.created_at) }),
					cols.map((c) => h('td', { text: Array.isArray(s.data[c]) ? s.data[c].join(', ') : s.data[c] === true ? '✓' : String(s.data[c] ?? '') })),
					h('td', null, s.contact_id ? h('a', { href: `/contacts/${s.contact_id}`, text: `#${s.contact_id}` }) : '—')))))) : h('p', { class: 'muted', text: t('capture.no_submissions') }),
			h('h3', { text: t('capture.spam_log') }),
			spam.data.length ? h('ul', { class: 'stack-sm', 'data-testid': 'spam-log' }, spam.data.map((s) => h('li', null,
				h('span', { class: 'badge', text: t(`capture.reason_${s.reason}`) }), ' ', h('span', { class: 'muted', text: `${fmtDateTime(s.created_at)} · ${s.ip || ''}` })))) : h('p', { class: 'muted', text: t('capture.no_spam') }));
	}

	function fieldRow(f, rows, redraw) {
		const row = { f: { ...f } };
		const input = (k, ph, v) => h('input', { class: 'input', value: v ?? '', placeholder: ph, 'aria-label': ph, oninput: (e) => { v = e.target.value; setter(k, v); } });
		const setter = (k, v) => {
			if (k === 'label_ja' || k === 'label_en') row.f.label = { ...(row.f.label || {}), [k.slice(6)]: v };
			else if (k === 'text_ja' || k === 'text_en') row.f.text = { ...(row.f.text || {}), [k.slice(5)]: v };
			else if (k === 'options') row.f.options = v.split(/[\n,]+/).map((x) => x.trim()).filter(Boolean).map((x) => ({ value: x }));
			else row.f[k] = v;
		};
		const type = h('select', { class: 'select', 'aria-label': t('capture.f_type'), onchange: (e) => setter('type', e.target.value) }, TYPES.map((x) => h('option', { value: x, selected: x === f.type, text: t(`capture.type_${x}`) })));
		const maps = h('select', { class: 'select', 'aria-label': t('capture.f_maps_to'), onchange: (e) => setter('maps_to', e.target.value || undefined) }, MAPS.map((x) => h('option', { value: x, selected: x === (f.maps_to || ''), text: x ? t(`capture.map_${x}`) : t('capture.map_none') })));
		const req = h('input', { type: 'checkbox', checked: !!f.required, onchange: (e) => setter('required', e.target.checked) });
		const move = (d) => { const i = rows.indexOf(row); const j = i + d; if (j < 0 || j >= rows.length) return; rows.splice(i, 1); rows.splice(j, 0, row); redraw(); };
		row.el = h('div', { class: 'card lp-block-card', 'data-testid': 'builder-field', draggable: 'true' }, h('div', { class: 'card-body stack-sm' },
			h('div', { class: 'form-grid' },
				input('name', t('capture.f_name'), f.name), type, maps,
				input('label_ja', t('capture.f_label_ja'), f.label?.ja), input('label_en', t('capture.f_label_en'), f.label?.en),
				input('options', t('capture.f_options'), (f.options || []).map((o) => o.value).join(', ')),
				input('text_ja', t('capture.f_consent_ja'), f.text?.ja), input('text_en', t('capture.f_consent_en'), f.text?.en)),
			h('div', { class: 'chips' },
				h('label', { class: 'check' }, req, h('span', { text: t('capture.f_required') })),
				h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': t('capture.move_up'), onclick: () => move(-1) }, '↑'),
				h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': t('capture.move_down'), onclick: () => move(1) }, '↓'),
				h('button', { type: 'button', class: 'btn btn-ghost btn-sm', onclick: () => { rows.splice(rows.indexOf(row), 1); redraw(); } }, icon('trash', { size: 'sm' }), t('capture.remove_field')))));
		row.el.addEventListener('dragstart', (e) => { e.dataTransfer.setData('text/plain', String(rows.indexOf(row))); row.el.classList.add('dragging'); });
		row.el.addEventListener('dragend', () => row.el.classList.remove('dragging'));
		row.el.addEventListener('dragover', (e) => { e.preventDefault(); row.el.classList.add('drop-target'); });
		row.el.addEventListener('dragleave', () => row.el.classList.remove('drop-target'));
		row.el.addEventListener('drop', (e) => {
			e.preventDefault();
			row.el.classList.remove('drop-target');
			const from = Number(e.dataTransfer.getData('text/plain'));
			const to = rows.indexOf(row);
			if (Number.isNaN(from) || from === to) return;
			const [moved] = rows.splice(from, 1);
			rows.splice(to, 0, moved);
			redraw();
		});
		row.el.addEventListener('input', () => redraw.preview && redraw.preview());
		row.el.addEventListener('change', () => redraw.preview && redraw.preview());
		return row;
	}

	async function edit(form) {
		const [lists, emails, journeys] = await Promise.all([
			api.get('/segments', null, { quiet: true }).then((r) => r.data.filter((x) => x.type === 'static')).catch(() => []),
			api.get('/emails', null, { quiet: true }).then((r) => r.data).catch(() => []),
			api.get('/journeys', null, { quiet: true }).then((r) => r.data.filter((x) => x.status !== 'archived')).catch(() => []),
		]);
		const act = (type) => form?.actions.find((a) => a.type === type);
		const start = form ? form.fields : [
			{ name: 'email', type: 'email', required: true, maps_to: 'email', label: { ja: 'メールアドレス', en: 'Email' } },
			{ name: 'last_name', type: 'text', required: true, maps_to: 'last_name', label: { ja: '姓', en: 'Last name' } },
			{ name: 'consent', type: 'consent', required: true, text: { ja: '個人情報の取り扱いに同意します', en: 'I agree to the privacy policy' } }];
		const rows = [];
		const box = h('div', { class: 'stack-sm', 'data-testid': 'builder-fields' });
		const redraw = () => { mount(box, rows.map((r) => r.el)); if (redraw.preview) redraw.preview(); };
		for (const f of start) rows.push(fieldRow(f, rows, redraw));
		redraw();
		const name = h('input', { class: 'input', name: 'name', value: form ? form.name : '', 'data-testid': 'form-name' });
		const tags = h('input', { class: 'input', name: 'tags', value: form ? form.actions.filter((a) => a.type === 'add_tag').map((a) => a.tag).join(', ') : '' });
		const asset = h('input', { class: 'input', name: 'asset_id', type: 'number', min: 1, value: form ? (form.actions.find((a) => a.type === 'deliver_asset')?.asset_id ?? '') : '' });
		const msgJa = h('input', { class: 'input', value: form?.success?.message?.ja ?? '' });
		const msgEn = h('input', { class: 'input', value: form?.success?.message?.en ?? '' });
		const redirect = h('input', { class: 'input', name: 'success.redirect', placeholder: 'https://', value: form?.success?.redirect ?? '' });
		const pick = (items, selected, none, testid, label) => h('select', { class: 'select', 'data-testid': testid },
			h('option', { value: '', text: none }), items.map((x) => h('option', { value: x.id, selected: x.id === selected, text: label(x) })));
		const list = pick(lists, act('add_to_list')?.list_id, t('capture.list_none'), 'action-list', (x) => x.name);
		const points = h('input', { class: 'input', type: 'number', value: act('add_points')?.points ?? '', 'data-testid': 'action-points' });
		const auto = pick(emails, act('send_autoresponse')?.email_id, t('capture.autoresponse_none'), 'action-autoresponse', (x) => x.name);
		const journey = pick(journeys, act('enroll_journey')?.journey_id, t('capture.journey_none'), 'action-journey', (x) => x.name);
		const notifyTo = h('input', { class: 'input', value: (act('notify')?.to || []).join(', '), placeholder: 'sales@example.co.jp, owner', 'data-testid': 'action-notify-to' });
		const notifyEmail = pick(emails, act('notify')?.email_id, '—', 'action-notify-email', (x) => x.name);
		const hook = h('input', { class: 'input', value: act('notify')?.webhook_url ?? '', placeholder: 'https://hooks.slack.com/services/…', 'data-testid': 'action-webhook' });
		const frame = h('iframe', { class: 'lp-frame', style: { height: '420px', minHeight: '0' }, title: t('capture.preview'), sandbox: 'allow-same-origin', 'data-testid': 'form-preview' });
		let pvLang = form?.settings?.default_lang || 'ja';
		const langBtns = ['ja', 'en'].map((l) => h('button', { type: 'button', class: `btn btn-sm ${l === pvLang ? 'btn-primary' : ''}`, 'data-testid': `preview-lang-${l}`, onclick: () => { pvLang = l; langBtns.forEach((b, i) => b.classList.toggle('btn-primary', ['ja', 'en'][i] === l)); redraw.preview(); } }, l === 'ja' ? '日本語' : 'English'));
		const pvNote = h('p', { class: 'small muted' });
		redraw.preview = debounce(async () => {
			try {
				const r = await api.post('/forms/preview', { name: name.value.trim() || 'preview', fields: rows.map((x) => x.f) }, { query: { lang: pvLang }, quiet: true });
				frame.srcdoc = `<!doctype html><html><head><meta charset="utf-8"><style>body{margin:16px;font-family:system-ui,sans-serif}${r.css}</style></head><body>${r.html}</body></html>`;
				pvNote.textContent = '';
			} catch (e) {
				pvNote.textContent = `⚠ ${e.message}${e.field ? ` (${e.field})` : ''}`;
			}
		}, 250);
		const err = formError();
		const { el } = openDialog({
			title: form ? t('capture.edit_title', { name: form.name }) : t('capture.create_title'),
			testid: 'form-dialog', wide: true, form: true,
			body: [err,
				field({ label: t('capture.name'), control: name, required: true }),
				h('div', { class: 'label', text: t('capture.fields') }), box,
				h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'builder-add', onclick: () => { rows.push(fieldRow({ name: `field_${rows.length + 1}`, type: 'text', label: { ja: '', en: '' } }, rows, redraw)); redraw(); } }, icon('plus', { size: 'sm' }), t('capture.add_field')),
				h('div', { class: 'card', 'data-testid': 'form-preview-card' }, h('div', { class: 'card-header' }, h('h3', { text: t('capture.preview') }), h('div', { class: 'chips' }, langBtns)),
					h('div', { class: 'card-body stack-sm' }, pvNote, frame)),
				h('h3', { text: t('capture.actions') }),
				h('div', { class: 'form-grid' },
					field({ label: t('capture.tags'), control: tags, hint: t('capture.tags_hint') }),
					field({ label: t('capture.list'), control: list }),
					field({ label: t('capture.points'), control: points, hint: t('capture.points_hint') }),
					field({ label: t('capture.autoresponse'), control: auto }),
					field({ label: t('capture.journey'), control: journey, hint: t('capture.journey_hint') }),
					field({ label: t('capture.notify_to'), control: notifyTo, hint: t('capture.notify_to_hint') }),
					field({ label: t('capture.notify_email'), control: notifyEmail }),
					field({ label: t('capture.notify_webhook'), control: hook, hint: t('capture.notify_webhook_hint'), span2: true })),
				field({ label: t('capture.asset'), control: asset, hint: t('capture.asset_hint') }),
				field({ label: t('capture.thanks_ja'), control: msgJa }), field({ label: t('capture.thanks_en'), control: msgEn }),
				field({ label: t('capture.redirect'), control: redirect, hint: t('capture.redirect_hint') })],
			actions: (close) => [
				h('button', { type: 'button', class: 'btn', onclick: () => close() }, t('common.cancel')),
				h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'form-save' }, form ? t('common.save_changes') : t('capture.create'))],
			onSubmit: async (close) => {
				const f = el.querySelector('form');
				clearFieldErrors(f);
				const actions = tags.value.split(/[,、\s]+/).filter(Boolean).map((tag) => ({ type: 'add_tag', tag }));
				if (asset.value) actions.push({ type: 'deliver_asset', asset_id: Number(asset.value) });
				if (list.value) actions.push({ type: 'add_to_list', list_id: Number(list.value) });
				if (Number(points.value)) actions.push({ type: 'add_points', points: Number(points.value) });
				if (auto.value) actions.push({ type: 'send_autoresponse', email_id: Number(auto.value) });
				if (journey.value) actions.push({ type: 'enroll_journey', journey_id: Number(journey.value) });
				const to = notifyTo.value.split(/[,、\s]+/).filter(Boolean);
				if (to.length || hook.value.trim()) {
					const n = { type: 'notify' };
					if (to.length) { n.to = to; n.email_id = Number(notifyEmail.value) || undefined; }
					if (hook.value.trim()) n.webhook_url = hook.value.trim();
					actions.push(n);
				}
				const body = {
					name: name.value.trim(), fields: rows.map((r) => r.f), actions,
					success: redirect.value.trim() ? { redirect: redirect.value.trim() } : { message: { ja: msgJa.value || '送信ありがとうございました。', en: msgEn.value || 'Thank you!' } },
				};
				try {
					const out = form ? await api.patch(`/forms/${form.id}`, body, { quiet: true }) : await api.post('/forms', body, { quiet: true });
					close();
					toast(t('capture.saved', { name: out.name }));
					await load();
				} catch (e) {
					showFieldError(f, e);
				}
			},
		});
		name.addEventListener('input', () => redraw.preview());
		redraw.preview();
	}

	await load();
}
