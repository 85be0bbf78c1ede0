// journey-sequence.js — the step-mail preset (ステップメール): one screen for "day 1 / day 3 /
// day 7 after sign-up": a trigger, rows of (delay, email), a send window; it writes the journey
// (trigger → wait → send → wait → send … → exit) and opens it in the builder.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t } from '../i18n.js';
import { pageHead, toast, emptyState } from '../ui.js';
import { can } from '../state.js';
import { fmtDuration, daysText, DAY_NAMES } from '../journey-def.js';

const TRIGGERS = ['form_submitted', 'event', 'segment_entered', 'list_added'];
const UNIT_S = { hours: 3600, days: 86400 };

/** The journey definition for a sequence: waits are the gaps between the rows' delays. */
export function sequenceDefinition({ trigger, rows, window }) {
	const steps = {};
	const sorted = rows.map((r) => ({ ...r, at: r.delay * UNIT_S[r.unit] })).sort((a, b) => a.at - b.at);
	let prev = 0;
	let last = null;
	let start = null;
	const link = (id) => { if (last) steps[last].next = id; else start = id; last = id; };
	sorted.forEach((r, i) => {
		const gap = r.at - prev;
		prev = r.at;
		if (gap > 0) {
			const w = `wait_${i + 1}`;
			steps[w] = { type: 'wait', seconds: gap, label: t('journeys.seq_wait_label', { d: fmtDuration(r.at) }) };
			link(w);
		}
		const m = `email_${i + 1}`;
		steps[m] = { type: 'send_email', email_id: r.email_id };
		link(m);
	});
	steps.done = { type: 'exit' };
	link('done');
	const settings = { reentry: 'never' };
	if (window) settings.send_window = window;
	return { triggers: [trigger], start, steps, settings };
}

function delayText(n, unit) {
	return n === 0 ? t('journeys.seq_immediately') : t(`journeys.seq_after_${unit}`, { n });
}

export default async function render(ctx) {
	ctx.setCrumbs([{ label: t('nav.journeys'), href: '/journeys' }, { label: t('journeys.new_sequence') }]);
	const [emails, segs, forms] = await Promise.all([
		api.get('/emails', null, { signal: ctx.signal }),
		api.get('/segments', null, { quiet: true, signal: ctx.signal }).catch(() => ({ data: [] })),
		api.get('/forms', null, { quiet: true, signal: ctx.signal }).catch(() => ({ data: [] })),
	]);
	if (!ctx.alive) return;
	const mails = (emails.data || []).slice().sort((a, b) => a.id - b.id);
	const segments = (segs.data || []).filter((s) => s.type !== 'static');
	const lists = (segs.data || []).filter((s) => s.type === 'static');
	const formList = forms.data || [];

	if (!can('manage_segments')) {
		mount(ctx.root, h('div', { class: 'card' }, emptyState({ iconName: 'lock', title: t('journeys.no_permission'), testid: 'sequence-forbidden' })));
		return;
	}

	const name = h('input', { class: 'input', id: 'seq-name', 'data-testid': 'seq-name', maxlength: 200, value: t('journeys.seq_default_name') });
	const trigType = h('select', { class: 'select', id: 'seq-trigger', 'data-testid': 'seq-trigger' }, TRIGGERS.map((x) => h('option', { value: x }, t(`journeys.seq_trig_${x}`))));
	const trigDetail = h('div', { class: 'seq-trigger-detail' });
	let trigControl = null;
	const paintTrigger = () => {
		const v = trigType.value;
		if (v === 'form_submitted') {
			trigControl = h('select', { class: 'select', 'data-testid': 'seq-form' }, h('option', { value: '' }, t('journeys.seq_any_form')), formList.map((f) => h('option', { value: f.id }, f.name)));
			mount(trigDetail, h('div', { class: 'field' }, h('label', { text: t('journeys.seq_which_form') }), trigControl));
		} else if (v === 'event') {
			trigControl = h('input', { class: 'input', 'data-testid': 'seq-event', placeholder: 'seminar_signup', value: 'seminar_signup' });
			mount(trigDetail, h('div', { class: 'field' }, h('label', { text: t('journeys.f_event') }), trigControl, h('div', { class: 'hint', text: t('journeys.seq_event_hint') })));
		} else {
			const src = v === 'segment_entered' ? segments : lists;
			trigControl = h('select', { class: 'select', 'data-testid': 'seq-source' }, src.map((s) => h('option', { value: s.id }, s.name)));
			mount(trigDetail, h('div', { class: 'field' }, h('label', { text: v === 'segment_entered' ? t('journeys.f_segment') : t('journeys.f_list') }), trigControl,
				src.length ? null : h('div', { class: 'hint bad', text: v === 'segment_entered' ? t('journeys.no_segments') : t('journeys.no_lists') })));
		}
		paintPreview();
	};
	trigType.addEventListener('change', paintTrigger);

	// rows of (delay, email)
	const rows = [{ delay: 0, unit: 'days', email_id: mails[0]?.id }, { delay: 3, unit: 'days', email_id: mails[1]?.id ?? mails[0]?.id }, { delay: 7, unit: 'days', email_id: mails[2]?.id ?? mails[0]?.id }];
	const rowsBox = h('ol', { class: 'seq-rows', 'data-testid': 'seq-rows' });
	const paintRows = () => {
		mount(rowsBox, rows.map((r, i) => {
			const delay = h('input', { class: 'input', type: 'number', min: 0, max: 365, value: r.delay, 'data-testid': `seq-delay-${i}`, 'aria-label': t('journeys.seq_delay'), style: { width: '80px' } });
			delay.addEventListener('input', () => { r.delay = Math.max(0, Number(delay.value) || 0); paintPreview(); });
			const unit = h('select', { class: 'select', 'data-testid': `seq-unit-${i}`, 'aria-label': t('journeys.seq_unit') }, ['days', 'hours'].map((u) => h('option', { value: u, selected: r.unit === u }, t(`journeys.unit_${u}`))));
			unit.addEventListener('change', () => { r.unit = unit.value; paintPreview(); });
			const mail = h('select', { class: 'select grow', 'data-testid': `seq-email-${i}`, 'aria-label': t('journeys.f_email') }, h('option', { value: '' }, t('journeys.pick_email')), mails.map((e) => h('option', { value: e.id, selected: e.id === r.email_id }, e.name)));
			mail.addEventListener('change', () => { r.email_id = mail.value ? Number(mail.value) : undefined; paintPreview(); });
			return h('li', { class: 'seq-row', 'data-testid': 'seq-row' },
				h('span', { class: 'seq-num', text: String(i + 1) }),
				h('div', { class: 'row seq-delay' }, delay, unit, h('span', { class: 'muted small nowrap', text: t('journeys.seq_after_trigger') })),
				mail,
				h('button', { type: 'button', class: 'btn btn-ghost btn-icon btn-sm', 'aria-label': t('common.delete'), title: t('common.delete'), 'data-testid': `seq-remove-${i}`, disabled: rows.length <= 1, onclick: () => { rows.splice(i, 1); paintRows(); } }, icon('trash', { size: 'sm' })));
		}));
		paintPreview();
	};
	const addRow = h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'seq-add', onclick: () => { const lastRow = rows[rows.length - 1]; rows.push({ delay: (lastRow ? lastRow.delay : 0) + 7, unit: lastRow ? lastRow.unit : 'days', email_id: undefined }); paintRows(); } }, icon('plus', { size: 'sm' }), t('journeys.seq_add'));

	// send window
	const useWindow = h('input', { type: 'checkbox', checked: true, 'data-testid': 'seq-window' });
	const days = new Set(['mon', 'tue', 'wed', 'thu', 'fri']);
	const dayBtns = h('div', { class: 'jb-days' }, DAY_NAMES.map((d) => {
		const b = h('button', { type: 'button', class: 'jb-day', 'aria-pressed': String(days.has(d)), text: t(`journeys.day_${d}`), 'data-testid': `seq-day-${d}` });
		b.addEventListener('click', () => { if (days.has(d)) days.delete(d); else days.add(d); b.setAttribute('aria-pressed', String(days.has(d))); paintPreview(); });
		return b;
	}));
	const wStart = h('input', { class: 'input', type: 'time', value: '10:00', 'data-testid': 'seq-window-start', 'aria-label': t('journeys.seq_from') });
	const wEnd = h('input', { class: 'input', type: 'time', value: '18:00', 'data-testid': 'seq-window-end', 'aria-label': t('journeys.seq_to') });
	const windowBox = h('div', { class: 'stack-sm' }, dayBtns, h('div', { class: 'row jb-time-range' }, wStart, h('span', { class: 'muted', text: '–' }), wEnd), h('div', { class: 'hint', text: t('journeys.window_hint') }));
	useWindow.addEventListener('change', () => { windowBox.hidden = !useWindow.checked; paintPreview(); });
	[wStart, wEnd].forEach((x) => x.addEventListener('input', paintPreview));

	const preview = h('ol', { class: 'seq-preview', 'data-testid': 'seq-preview' });
	const errorBox = h('div', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'seq-error' });
	function paintPreview() {
		const sorted = [...rows].sort((a, b) => a.delay * UNIT_S[a.unit] - b.delay * UNIT_S[b.unit]);
		const trigLabel = trigType.value === 'form_submitted' && trigControl && trigControl.value ? t('journeys.seq_prev_form', { name: trigControl.selectedOptions[0].textContent }) : t(`journeys.seq_trig_${trigType.value}`);
		mount(preview,
			h('li', { class: 'seq-prev-trigger' }, h('span', { class: 'jb-ic tone-amber' }, icon('sparkles', { size: 'sm' })), h('div', null, h('strong', { text: t('journeys.trigger') }), h('span', { class: 'muted small', text: trigLabel }))),
			sorted.map((r) => {
				const m = mails.find((e) => e.id === r.email_id);
				return h('li', null, h('span', { class: 'jb-ic tone-blue' }, icon('mail', { size: 'sm' })),
					h('div', null, h('strong', { text: delayText(r.delay, r.unit) }), h('span', { class: 'small' + (m ? '' : ' bad'), text: m ? `${m.name} — ${m.subject || ''}` : t('journeys.pick_email') })));
			}),
			h('li', { class: 'seq-prev-end' }, h('span', { class: 'jb-ic tone-grey' }, icon('logout', { size: 'sm' })), h('div', null, h('strong', { text: t('journeys.kind_exit') }),
				useWindow.checked ? h('span', { class: 'muted small', text: t('journeys.seq_prev_window', { days: daysText([...days]), from: wStart.value, to: wEnd.value }) }) : null)));
	}

	const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'seq-create' }, icon('sparkles'), t('journeys.seq_create'));
	const form = h('form', { class: 'seq-grid', novalidate: true },
		h('div', { class: 'stack' },
			h('section', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', { text: t('journeys.seq_step1') })),
				h('div', { class: 'card-body stack-sm' },
					h('div', { class: 'field' }, h('label', { for: 'seq-name', text: t('journeys.name') }), name),
					h('div', { class: 'field' }, h('label', { for: 'seq-trigger', text: t('journeys.seq_when') }), trigType), trigDetail)),
			h('section', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', { text: t('journeys.seq_step2') }), h('span', { class: 'muted small', text: t('journeys.seq_rows_hint') })),
				h('div', { class: 'card-body stack-sm' }, mails.length ? [rowsBox, h('div', null, addRow)] : h('div', { class: 'callout callout-warning' }, icon('alert'), h('span', null, t('journeys.no_emails'), ' ', h('a', { href: '/emails' }, t('journeys.go_emails')))))),
			h('section', { class: 'card' }, h('div', { class: 'card-header' }, h('h2', { text: t('journeys.seq_step3') })),
				h('div', { class: 'card-body stack-sm' }, h('label', { class: 'check' }, useWindow, h('span', { text: t('journeys.f_window') })), windowBox)),
			errorBox,
			h('div', { class: 'row' }, submit, h('a', { class: 'btn btn-ghost', href: '/journeys' }, t('common.cancel')))),
		h('aside', { class: 'card seq-side' }, h('div', { class: 'card-header' }, h('h2', { text: t('journeys.seq_preview') })), h('div', { class: 'card-body' }, preview, h('p', { class: 'hint', text: t('journeys.seq_preview_hint') }))));

	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		errorBox.hidden = true;
		const bad = rows.findIndex((r) => !r.email_id);
		if (!name.value.trim() || bad >= 0 || !rows.length) {
			errorBox.replaceChildren(icon('alertCircle'), h('span', { text: !name.value.trim() ? t('journeys.name_required') : t('journeys.seq_missing_email', { n: bad + 1 }) }));
			errorBox.hidden = false;
			return;
		}
		const v = trigType.value;
		let trigger;
		if (v === 'form_submitted') trigger = { type: 'event', event: 'form_submitted', ...(trigControl.value ? { where: [{ prop: 'form_id', op: 'eq', value: Number(trigControl.value) }] } : {}) };
		else if (v === 'event') trigger = { type: 'event', event: trigControl.value.trim() || 'seminar_signup' };
		else if (v === 'segment_entered') trigger = { type: 'segment_entered', segment_id: Number(trigControl.value) };
		else trigger = { type: 'list_added', list_id: Number(trigControl.value) };
		if ((v === 'segment_entered' || v === 'list_added') && !trigControl.value) {
			errorBox.replaceChildren(icon('alertCircle'), h('span', { text: v === 'segment_entered' ? t('journeys.no_segments') : t('journeys.no_lists') }));
			errorBox.hidden = false;
			return;
		}
		const window = useWindow.checked ? { days: DAY_NAMES.filter((d) => days.has(d)), start: wStart.value, end: wEnd.value } : null;
		submit.disabled = true;
		try {
			const jr = await api.post('/journeys', { name: name.value.trim(), description: t('journeys.seq_description', { n: rows.length }), definition: sequenceDefinition({ trigger, rows, window }) }, { quiet: true });
			toast(t('journeys.seq_created', { name: jr.name }));
			ctx.navigate(`/journeys/${jr.id}`);
		} catch (e) {
			const p = e.problems && e.problems[0];
			errorBox.replaceChildren(icon('alertCircle'), h('span', { text: p ? `${p.step ? `${p.step}: ` : ''}${p.message}` : e.message }));
			errorBox.hidden = false;
		} finally {
			submit.disabled = false;
		}
	});

	mount(ctx.root, pageHead({ title: t('journeys.new_sequence'), desc: t('journeys.seq_desc'), testid: 'sequence-title' }), form);
	paintTrigger();
	paintRows();
}
