// contact-journeys.js — the contact page's Journeys card: every journey this person is (or was)
// in, the step they are at and until when, why they left, and the path they took
// (GET /contacts/{id}/journeys). Loaded once per page; the card is rebuilt from the kept data.
import { api, errorMessage } from './api.js';
import { h, icon, mount } from './dom.js';
import { t, has, fmtDateTime, fmtRelative } from './i18n.js';
import { KINDS } from './journey-def.js';
import { skeletonBlock } from './ui.js';

const STATE_CLS = { active: 'badge-success', goal: 'badge-primary', completed: '', exited: 'badge-warning' };
const INSIDE = (e) => e.state === 'active';

function stateBadge(st) {
	return h('span', { class: `badge ${STATE_CLS[st] ?? ''}`, 'data-testid': 'cj-state', 'data-state': st }, st === 'active' ? h('span', { class: 'dot' }) : null, has(`journeys.cj_state_${st}`) ? t(`journeys.cj_state_${st}`) : st);
}

function kindLabel(type) {
	return type && KINDS[type] ? t(`journeys.kind_${type}`) : type || '';
}

/** Why they are where they are, in the UI's language where the server's sentence is a known one. */
function why(e) {
	const type = e.step_type;
	if (INSIDE(e)) {
		if (type === 'wait_for_event') return e.due_at ? t('journeys.cj_why_event', { at: fmtDateTime(e.due_at) }) : null;
		if (type === 'wait' || type === 'wait_until') return e.due_at ? t('journeys.cj_why_wait', { at: fmtDateTime(e.due_at) }) : null;
		return e.due_at ? t('journeys.cj_why_due', { at: fmtDateTime(e.due_at) }) : null;
	}
	const r = e.reason || '';
	const seg = /^left segment (\d+)/.exec(r);
	if (seg) return t('journeys.cj_reason_left_segment', { id: seg[1] });
	const known = /^reached the goal/.test(r) ? 'goal' : /^finished/.test(r) ? 'completed' : /archived/.test(r) ? 'archived' : /^left the journey/.test(r) ? 'exited' : null;
	if (known) return t(`journeys.cj_reason_${known}`);
	if (!e.reason) return has(`journeys.cj_reason_${e.state}`) ? t(`journeys.cj_reason_${e.state}`) : null;
	return e.reason; // the server's own words (e.g. which segment they left)
}

function entry(e, labels) {
	const k = KINDS[e.step_type] || { icon: 'journeys', tone: 'grey' };
	const inside = INSIDE(e);
	const history = Array.isArray(e.history) ? e.history : [];
	const reason = why(e);
	const stepName = (labels && labels[e.journey_id] && labels[e.journey_id][e.step]) || e.step || '—';
	return h('li', { class: 'cj-item', 'data-testid': 'contact-journey', 'data-journey': e.journey_id },
		h('div', { class: 'cj-top' },
			h('a', { class: 'cj-name', href: `/journeys/${e.journey_id}`, text: e.journey_name || `#${e.journey_id}` }),
			e.version ? h('span', { class: 'muted xsmall', text: t('journeys.version_n', { n: e.version }) }) : null,
			stateBadge(e.state)),
		h('div', { class: 'cj-where' },
			h('span', { class: `jb-ic tone-${k.tone}` }, icon(k.icon, { size: 'sm' })),
			h('div', null,
				h('strong', { 'data-testid': 'cj-step', text: inside ? t('journeys.cj_at', { step: stepName, kind: kindLabel(e.step_type) }) : t('journeys.cj_last', { step: stepName }) }),
				h('div', { class: 'muted xsmall' },
					h('span', { title: fmtDateTime(e.entered_at), text: t('journeys.cj_entered', { at: fmtRelative(e.entered_at) }) }),
					!inside && e.finished_at ? [' · ', h('span', { title: fmtDateTime(e.finished_at), text: t('journeys.cj_finished', { at: fmtRelative(e.finished_at) }) })] : null))),
		reason ? h('div', { class: 'cj-reason', 'data-testid': 'cj-reason' }, icon(inside ? 'clock' : 'info', { size: 'sm' }), h('span', { text: reason })) : null,
		history.length ? h('details', { class: 'cj-history' }, h('summary', { text: t('journeys.cj_path', { n: history.length }) }),
			h('ol', null, history.map((x) => h('li', null,
				h('span', { class: 'xsmall', text: (labels && labels[e.journey_id] && labels[e.journey_id][x.step]) || x.step || '' }),
				x.outcome ? h('span', { class: 'chip', text: outcomeText(x.outcome) }) : null,
				x.at ? h('span', { class: 'muted xsmall cj-at', text: fmtDateTime(x.at) }) : null)))) : null);
}

function outcomeText(o) {
	return has(`journeys.cj_outcome_${o}`) ? t(`journeys.cj_outcome_${o}`) : o;
}

export function contactJourneys(contactId, ctx) {
	const data = { loaded: false, items: [], failed: null, labels: {} };
	const load = (body) => api.get(`/contacts/${contactId}/journeys`, null, { quiet: true, signal: ctx.signal })
		.then(async (r) => {
			data.items = r.data || [];
			// step labels come from each journey's definition (the entries name steps by id)
			const ids = [...new Set(data.items.map((e) => e.journey_id))].slice(0, 20);
			await Promise.all(ids.map((jid) => api.get(`/journeys/${jid}`, null, { quiet: true, signal: ctx.signal }).then((jr) => {
				const m = {};
				for (const [sid, st] of Object.entries((jr.definition && jr.definition.steps) || {})) if (st.label) m[sid] = st.label;
				data.labels[jid] = m;
			}).catch(() => {})));
		})
		.catch((e) => { if (e.name !== 'AbortError') data.failed = e.status === 404 ? null : errorMessage(e); })
		.finally(() => { data.loaded = true; const b = ctx.root.querySelector('[data-testid="contact-journeys-body"]'); if (ctx.alive && (b || body)) fill(b || body); });
	function fill(body) {
		if (!data.loaded) return mount(body, skeletonBlock(2));
		if (data.failed) return mount(body, h('p', { class: 'muted small', text: data.failed }));
		if (!data.items.length) return mount(body, h('p', { class: 'muted small', 'data-testid': 'contact-journeys-empty', text: t('journeys.cj_none') }));
		const inside = data.items.filter(INSIDE);
		const past = data.items.filter((e) => !INSIDE(e));
		mount(body, h('ul', { class: 'cj-list' }, inside.map((e) => entry(e, data.labels)), past.map((e) => entry(e, data.labels))));
	}
	let started = false;
	return function card() {
		const body = h('div', { class: 'card-body', 'data-testid': 'contact-journeys-body' });
		fill(body);
		if (!started) { started = true; load(body); }
		const n = data.items.filter(INSIDE).length;
		return h('section', { class: 'card', 'aria-labelledby': 'cj-h', 'data-testid': 'contact-journeys' },
			h('div', { class: 'card-header' }, h('h2', { id: 'cj-h', text: t('journeys.cj_title') }), data.loaded && n ? h('span', { class: 'badge badge-success', text: t('journeys.cj_inside_n', { n }) }) : null),
			body);
	};
}
