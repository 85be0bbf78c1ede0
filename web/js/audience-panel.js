// audience-panel.js — the contact page's score and stage card: total and per-category scores with the explained history, the stage (changed by hand for sales and up) and its history.
import { api } from './api.js';
import { h, icon, mount } from './dom.js';
import { t, has, fmtNumber, fmtDateTime, fmtRelative } from './i18n.js';
import { can } from './state.js';
import { skeletonBlock, toast } from './ui.js';

const stageLabel = (s) => (s && has(`filter_builder.stage.${s}`) ? t(`filter_builder.stage.${s}`) : s || '—');

/** A card for contact `contact` (the record: id, score, scores, stage); loads its histories itself. */
export function audiencePanel(contact) {
	const body = h('div', { class: 'card-body' }, skeletonBlock(3));
	const card = h('section', { class: 'card aud-panel', 'aria-labelledby': 'aud-h', 'data-testid': 'audience-panel' },
		h('div', { class: 'card-header' }, h('h2', { id: 'aud-h', text: t('audience_panel.title') })), body);
	let showAll = false;

	async function load() {
		let sc;
		let st;
		let cfg;
		try {
			[sc, st, cfg] = await Promise.all([api.get(`/contacts/${contact.id}/scores`, undefined, { quiet: true }), api.get(`/contacts/${contact.id}/stages`, undefined, { quiet: true }),
				api.get('/stages', undefined, { quiet: true })]);
		} catch (e) {
			mount(body, h('p', { class: 'muted small', text: e.message }));
			return;
		}
		// newest first (the API lists the stage history in order of the changes)
		const hist = (st.data || []).map((x, i) => ({ ...x, i })).sort((a, b) => (b.at > a.at ? 1 : b.at < a.at ? -1 : b.i - a.i));
		draw(sc, hist, cfg.stages);
	}

	function draw(sc, stageHist, stages) {
		const cats = Object.entries(sc.scores || {}).sort((a, b) => b[1] - a[1]);
		const max = Math.max(1, ...cats.map(([, v]) => Math.abs(v)));
		const current = stageHist.length ? stageHist[0].stage : contact.stage;
		const stageCtl = can('write_contacts')
			? h('select', { class: 'select aud-stage-select', 'data-testid': 'contact-stage', 'aria-label': t('audience_panel.stage') },
				current ? null : h('option', { value: '' }, '—'),
				stages.map((s) => h('option', { value: s, selected: s === current }, stageLabel(s))))
			: h('span', { class: 'badge', 'data-testid': 'contact-stage', text: stageLabel(current) });
		if (stageCtl.tagName === 'SELECT') {
			stageCtl.addEventListener('change', async () => {
				if (!stageCtl.value) return;
				try {
					await api.put(`/contacts/${contact.id}/stage`, { stage: stageCtl.value });
					toast(t('audience_panel.stage_changed', { stage: stageLabel(stageCtl.value) }));
					await load();
				} catch {
					/* toasted */
				}
			});
		}
		const hist = sc.history || [];
		const shown = showAll ? hist : hist.slice(0, 6);
		mount(body,
			h('div', { class: 'aud-score-head' },
				h('div', { class: 'aud-score-total' }, h('span', { class: 'aud-score-n', 'data-testid': 'contact-score', text: fmtNumber(sc.score || 0) }), h('span', { class: 'muted xsmall', text: t('audience_panel.score') })),
				h('div', { class: 'aud-stage-now' }, h('span', { class: 'muted xsmall', text: t('audience_panel.stage') }), stageCtl)),
			cats.length ? h('ul', { class: 'aud-cats', 'data-testid': 'contact-scores' }, cats.map(([k, v]) => h('li', null,
				h('span', { class: 'aud-cat-name', text: k }),
				h('span', { class: 'aud-cat-bar' }, h('span', { class: v < 0 ? 'neg' : '', style: { width: `${Math.round((100 * Math.abs(v)) / max)}%` } })),
				h('span', { class: 'aud-cat-n', text: fmtNumber(v) })))) : null,
			h('h3', { class: 'aud-sub', text: t('audience_panel.score_history') }),
			hist.length ? h('ol', { class: 'aud-hist', 'data-testid': 'score-history' }, shown.map((x) => h('li', null,
				h('span', { class: `aud-points ${x.points < 0 ? 'aud-points-neg' : ''}`, text: `${x.points > 0 ? '+' : ''}${fmtNumber(x.points)}` }),
				h('span', { class: 'aud-hist-text', text: (x.reason || x.category).replace(/^[+\-−]?\d+\s+/, '') }),
				h('time', { class: 'muted xsmall', datetime: x.at, title: fmtDateTime(x.at), text: fmtRelative(x.at) }))))
				: h('p', { class: 'muted small', text: t('audience_panel.no_scores') }),
			hist.length > 6 ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm', onclick: () => { showAll = !showAll; draw(sc, stageHist, stages); } },
				icon(showAll ? 'chevronUp' : 'chevronDown', { size: 'sm' }), showAll ? t('audience_panel.less') : t('audience_panel.more', { n: fmtNumber(hist.length - 6) })) : null,
			h('h3', { class: 'aud-sub', text: t('audience_panel.stage_history') }),
			stageHist.length ? h('ol', { class: 'aud-hist aud-stage-hist', 'data-testid': 'stage-history' }, stageHist.map((x) => h('li', null,
				h('span', { class: 'aud-stage-step' }, x.previous ? h('span', { class: 'muted', text: `${stageLabel(x.previous)} → ` }) : null, h('strong', { text: stageLabel(x.stage) })),
				h('span', { class: 'badge aud-reason', text: t(`audience_panel.reason_${x.reason === 'manual' ? 'manual' : 'rule'}`) }),
				h('time', { class: 'muted xsmall', datetime: x.at, title: fmtDateTime(x.at), text: fmtRelative(x.at) }))))
				: h('p', { class: 'muted small', text: t('audience_panel.no_stages') }));
	}

	load();
	return card;
}
