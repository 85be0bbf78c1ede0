// contact.js — one contact: profile and custom fields edited in place, tags, company, owner,
// the timeline panel (tracked events, newest first, filtered by kind, paged) and delete.
import { audiencePanel } from '../audience-panel.js';
import { api, errorMessage } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t, fmtDateTime, fmtRelative, fmtNumber, locale } from '../i18n.js';
import { editor, formatValue, fmtPhone, sameValue } from '../fields.js';
import { inlineRow, combobox } from '../inline.js';
import { state, can, companyInitial, loadFields, loadUsers, userLabel, contactName, contactKana, initials, avatarColor } from '../state.js';
import { confirmDialog, toast, skeletonBlock, emptyState, downloadText } from '../ui.js';
import { eventItem, kindFilter, EVENT_TYPES } from '../tracking.js';
import { setQuery } from '../app.js';
import { contactJourneys } from '../contact-journeys.js';

function timeZones() {
	try {
		return Intl.supportedValuesOf('timeZone');
	} catch {
		return ['Asia/Tokyo', 'UTC'];
	}
}

export default async function render(ctx) {
	const id = Number(ctx.params.id);
	const back = { label: t('nav.contacts'), href: state.lastContactsUrl || '/contacts' };
	ctx.setCrumbs([back, { label: t('common.loading') }]);
	mount(ctx.root, h('div', { class: 'record-head' }, h('span', { class: 'avatar avatar-lg', style: { background: 'var(--c-sunken)' } }), h('div', { class: 'titles' }, h('span', { class: 'skeleton skeleton-xl', style: { width: '240px' } }))),
		h('div', { class: 'record-grid' }, h('div', { class: 'card' }, h('div', { class: 'card-body' }, skeletonBlock(8))), h('div', { class: 'card' }, h('div', { class: 'card-body' }, skeletonBlock(4)))));

	if (!Number.isInteger(id) || id <= 0) throw Object.assign(new Error(t('contact.not_found')), { status: 404 });
	let contact;
	let fields;
	let users;
	try {
		[contact, fields, users] = await Promise.all([api.get(`/contacts/${id}`, null, { quiet: true, signal: ctx.signal }), loadFields(), loadUsers()]);
	} catch (e) {
		if (e.status === 404) {
			ctx.setCrumbs([back, { label: t('contact.not_found') }]);
			mount(ctx.root, h('div', { class: 'card' }, emptyState({ iconName: 'search', title: t('contact.not_found'), text: t('contact.not_found_text'), testid: 'contact-not-found', actions: [h('a', { class: 'btn', href: '/contacts' }, icon('arrowLeft'), t('contact.back'))] })));
			return;
		}
		throw e;
	}
	if (!ctx.alive) return;
	const writable = can('write_contacts');

	async function patch(body) {
		const c = await api.patch(`/contacts/${id}`, body, { quiet: true });
		contact = c;
		return c;
	}

	/** Save one attribute, then redraw and put focus back on it. */
	function saver(key, build) {
		return async (v) => {
			const before = key.startsWith('fields.') ? contact.fields[key.slice(7)] : contact[key];
			if (!sameValue(before, v)) {
				await patch(build(v));
				toast(t('contact.saved'));
			}
			renderAll();
			const b = ctx.root.querySelector(`[data-testid="field-${CSS.escape(key)}"]`);
			if (b) b.focus();
		};
	}

	function textRow(key, label, { type = 'text', display, hint } = {}) {
		return inlineRow({
			key,
			label,
			readonly: !writable,
			display: display || (() => contact[key] || ''),
			editor: (eid) => {
				const el = h('input', { class: 'input', id: eid, type, name: key, value: key === 'phone' ? fmtPhone(contact[key]) : contact[key] || '', placeholder: hint || '', 'data-testid': `edit-${key}` });
				return { el, read: () => el.value.trim() || null, focus: () => { el.focus(); el.select(); } };
			},
			save: saver(key, (v) => ({ [key]: v })),
		});
	}

	function selectRow(key, label, values, display) {
		return inlineRow({
			key,
			label,
			readonly: !writable,
			display: () => (contact[key] ? display(contact[key]) : ''),
			editor: (eid) => {
				const el = h('select', { class: 'select', id: eid, name: key, 'data-testid': `edit-${key}` },
					h('option', { value: '' }, t('fields.unset')),
					values.map((v) => h('option', { value: v, selected: v === contact[key] }, display(v))));
				if (contact[key] && !values.includes(contact[key])) el.append(h('option', { value: contact[key], selected: true }, contact[key]));
				return { el, read: () => el.value || null, focus: () => el.focus() };
			},
			save: saver(key, (v) => ({ [key]: v })),
		});
	}

	function langName(code) {
		try {
			return new Intl.DisplayNames([locale()], { type: 'language' }).of(code) || code;
		} catch {
			return code;
		}
	}

	// ---- sections ----
	function head() {
		const kana = contactKana(contact);
		return h('div', { class: 'record-head' },
			h('span', { class: 'avatar avatar-lg', style: { background: avatarColor(contact.id) }, 'aria-hidden': 'true' }, initials(contact)),
			h('div', { class: 'titles' },
				h('h1', { tabindex: '-1', 'data-testid': 'contact-name' }, contactName(contact)),
				h('div', { class: 'sub' },
					kana ? h('span', { text: kana }) : null,
					contact.email ? h('span', null, icon('mail', { size: 'sm' }), h('a', { href: `mailto:${contact.email}`, 'data-external': '' }, contact.email)) : null,
					contact.phone ? h('span', null, icon('phone', { size: 'sm' }), fmtPhone(contact.phone)) : null,
					contact.company ? h('span', null, icon('companies', { size: 'sm' }), h('a', { href: `/companies/${contact.company.id}` }, contact.company.name)) : null)),
			h('div', { class: 'page-actions' },
				h('button', { type: 'button', class: 'btn btn-ghost', 'data-testid': 'contact-export', onclick: exportData, title: t('contact.export_hint') }, icon('download'), t('contact.export')),
				writable ? h('button', { type: 'button', class: 'btn btn-danger-ghost', 'data-testid': 'contact-delete', onclick: remove }, icon('trash'), t('common.delete')) : null));
	}

	function profileCard() {
		const zones = timeZones();
		return h('section', { class: 'card', 'aria-labelledby': 'profile-h', 'data-testid': 'profile-card' },
			h('div', { class: 'card-header' }, h('h2', { id: 'profile-h', text: t('contact.profile') }), writable ? h('span', { class: 'muted xsmall', text: t('contact.click_to_edit') }) : h('span', { class: 'badge' }, icon('lock', { size: 'sm' }), t('common.read_only'))),
			h('div', { class: 'card-body' }, h('dl', { class: 'props' },
				textRow('last_name', t('contact.last_name')),
				textRow('first_name', t('contact.first_name')),
				textRow('last_name_kana', t('contact.last_name_kana')),
				textRow('first_name_kana', t('contact.first_name_kana')),
				textRow('email', t('contact.email'), { type: 'email', display: () => (contact.email ? h('a', { href: `mailto:${contact.email}`, 'data-external': '' }, contact.email) : '') }),
				textRow('phone', t('contact.phone'), { type: 'tel', hint: t('contact.phone_hint'), display: () => (contact.phone ? h('span', { title: contact.phone }, fmtPhone(contact.phone)) : '') }),
				selectRow('timezone', t('contact.timezone'), zones, (z) => z),
				selectRow('locale', t('contact.locale'), ['ja', 'en', 'zh', 'ko', 'fr', 'de', 'es'], (l) => `${langName(l)} (${l})`))));
	}

	function fieldsCard() {
		const body = fields.length
			? h('dl', { class: 'props' }, fields.map((def) => inlineRow({
				key: `fields.${def.key}`,
				label: def.label,
				readonly: !writable,
				display: () => formatValue(def, contact.fields[def.key]),
				editor: (eid) => editor(def, contact.fields[def.key], { id: eid, label: def.label }),
				save: saver(`fields.${def.key}`, (v) => ({ fields: { [def.key]: v } })),
			})))
			: h('p', { class: 'muted small' }, t('contact.no_fields'), ' ', can('manage_fields') ? h('a', { href: '/settings/fields' }, t('contact.define_fields')) : null);
		return h('section', { class: 'card', 'aria-labelledby': 'fields-h', 'data-testid': 'custom-fields-card' },
			h('div', { class: 'card-header' }, h('h2', { id: 'fields-h', text: t('contact.custom_fields') })),
			h('div', { class: 'card-body' }, body));
	}

	// The timeline is loaded once and kept across redraws (renderAll rebuilds the cards).
	const tl = { type: ctx.query.kind && EVENT_TYPES.includes(ctx.query.kind) ? ctx.query.kind : '', items: [], cursor: null, loaded: false, loading: false, failed: null };

	function timelineEmpty() {
		return h('div', { class: 'timeline-empty', 'data-testid': 'timeline-empty' },
			h('div', { class: 'line', 'aria-hidden': 'true' },
				h('div', null, h('i'), h('span', { style: { width: '70%' } })),
				h('div', null, h('i'), h('span', { style: { width: '50%' } })),
				h('div', null, h('i'), h('span', { style: { width: '62%' } }))),
			h('strong', { class: 'text-2', text: tl.type ? t('track.none_of_kind') : t('contact.timeline_empty') }),
			h('p', { text: tl.type ? t('track.none_of_kind_text') : t('contact.timeline_empty_text') }));
	}

	function fillTimeline(body) {
		if (!tl.loaded) return mount(body, h('div', { class: 'card-body' }, skeletonBlock(4)));
		if (tl.failed) return mount(body, h('div', { class: 'card-body' }, h('p', { class: 'muted small', 'data-testid': 'timeline-error', text: tl.failed })));
		if (!tl.items.length) return mount(body, timelineEmpty());
		const more = tl.cursor
			? h('div', { class: 'table-footer' }, h('span', { text: t('track.shown', { n: tl.items.length }) }),
				h('button', { type: 'button', class: 'btn btn-sm', disabled: tl.loading, 'data-testid': 'timeline-more', onclick: () => loadTimeline(body, true) }, icon('chevronDown', { size: 'sm' }), t('track.load_more')))
			: null;
		mount(body, h('ol', { class: 'tl', 'data-testid': 'timeline-events', 'aria-label': t('contact.timeline') }, tl.items.map(eventItem)), more);
	}

	async function loadTimeline(body, more) {
		if (tl.loading) return;
		tl.loading = true;
		const type = tl.type;
		try {
			const r = await api.get(`/contacts/${id}/timeline`, { limit: 20, type: type || undefined, cursor: more ? tl.cursor : undefined }, { quiet: true, signal: ctx.signal });
			if (type !== tl.type) return;
			tl.items = more ? tl.items.concat(r.data) : r.data;
			tl.cursor = r.next_cursor;
			tl.failed = null;
		} catch (e) {
			if (e.name === 'AbortError') return;
			tl.failed = errorMessage(e);
		} finally {
			tl.loading = false;
			tl.loaded = true;
		}
		if (ctx.alive && body.isConnected) fillTimeline(body);
		else if (ctx.alive) {
			const b = ctx.root.querySelector('[data-testid="timeline-body"]');
			if (b) fillTimeline(b);
		}
	}

	function timelineCard() {
		const body = h('div', { 'data-testid': 'timeline-body' });
		const filter = kindFilter({ id: 'timeline-kind', value: tl.type, testid: 'timeline-kind', onChange: (v) => {
			tl.type = v;
			tl.items = [];
			tl.cursor = null;
			tl.loaded = false;
			tl.loading = false;
			setQuery({ kind: v });
			fillTimeline(body);
			loadTimeline(body, false);
		} });
		fillTimeline(body);
		if (!tl.loaded && !tl.loading) loadTimeline(body, false);
		return h('section', { class: 'card', 'aria-labelledby': 'timeline-h', 'data-testid': 'timeline' },
			h('div', { class: 'card-header' }, h('h2', { id: 'timeline-h', text: t('contact.timeline') }), filter),
			body);
	}

	function tagsCard() {
		const chips = contact.tags.map((tag) => h('span', { class: 'chip', 'data-testid': 'contact-tag' }, tag,
			writable ? h('button', { type: 'button', 'aria-label': t('contact.remove_tag', { tag }), 'data-testid': `remove-tag-${tag}`, onclick: () => removeTag(tag) }, icon('x', { size: 'sm' })) : null));
		let add = null;
		if (writable) {
			const input = h('input', { class: 'input input-sm', id: 'tag-add', list: 'tag-options', placeholder: t('contact.tag_placeholder'), autocomplete: 'off', 'data-testid': 'tag-input' });
			const list = h('datalist', { id: 'tag-options' });
			api.get('/tags', null, { quiet: true }).then((r) => mount(list, (r.data || []).filter((x) => !contact.tags.includes(x.tag)).map((x) => h('option', { value: x.tag }))), () => {});
			add = h('form', { class: 'tag-add', novalidate: true, onsubmit: async (e) => {
				e.preventDefault();
				const v = input.value.trim();
				if (!v) return input.focus();
				try {
					await patch({ tags: { add: v.split(/[,、，]/).map((s) => s.trim()).filter(Boolean) } });
					renderAll();
					const again = ctx.root.querySelector('#tag-add');
					if (again) again.focus();
				} catch (x) {
					toast({ kind: 'error', title: t('contact.tag_failed'), detail: errorMessage(x) });
				}
			} },
			h('label', { for: 'tag-add', class: 'sr-only' }, t('contact.add_tag')), input, list,
			h('button', { type: 'submit', class: 'btn btn-sm', 'data-testid': 'tag-add' }, icon('plus', { size: 'sm' }), t('contact.add_tag')));
		}
		return h('section', { class: 'card', 'aria-labelledby': 'tags-h', 'data-testid': 'tags-card' },
			h('div', { class: 'card-header' }, h('h2', { id: 'tags-h', text: t('contact.tags') }), h('span', { class: 'muted xsmall', text: fmtNumber(contact.tags.length) })),
			h('div', { class: 'card-body' }, chips.length ? h('div', { class: 'chips' }, chips) : h('p', { class: 'muted small', text: t('contact.no_tags') }), add));
	}

	async function removeTag(tag) {
		try {
			await patch({ tags: { remove: [tag] } });
			toast(t('contact.tag_removed', { tag }));
			renderAll();
			const input = ctx.root.querySelector('#tag-add');
			if (input) input.focus();
		} catch (x) {
			toast({ kind: 'error', title: t('contact.tag_failed'), detail: errorMessage(x) });
		}
	}

	function companyCard() {
		const co = contact.company;
		let editorEl = null;
		if (writable) {
			const cb = combobox({
				id: 'company-pick',
				placeholder: co ? t('contact.company_change') : t('contact.company_search'),
				testid: 'company-picker',
				allowCreate: true,
				search: async (q) => {
					const r = await api.get('/companies', { q, limit: 8 }, { quiet: true });
					return r.data.map((c) => ({ id: c.id, label: c.name, sub: c.domain || '' }));
				},
				onPick: async (it) => {
					try {
						await patch(it.create ? { company: { name: it.create } } : { company_id: it.id });
						toast(t('contact.company_set', { name: contact.company ? contact.company.name : '' }));
						renderAll();
					} catch (x) {
						toast({ kind: 'error', title: t('contact.company_failed'), detail: errorMessage(x) });
					}
				},
			});
			editorEl = h('div', { class: 'stack-sm', style: { marginTop: co ? '12px' : '0' } }, h('label', { for: 'company-pick', class: 'label' }, co ? t('contact.company_change_label') : t('contact.company_set_label')), cb.el);
		}
		return h('section', { class: 'card', 'aria-labelledby': 'company-h', 'data-testid': 'company-card' },
			h('div', { class: 'card-header' }, h('h2', { id: 'company-h', text: t('contact.company') }),
				co && writable ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'data-testid': 'company-remove', onclick: async () => {
					try {
						await patch({ company_id: null });
						renderAll();
					} catch (x) {
						toast({ kind: 'error', title: t('contact.company_failed'), detail: errorMessage(x) });
					}
				} }, t('contact.company_remove')) : null),
			h('div', { class: 'card-body' },
				co ? h('a', { class: 'list-item', style: { padding: '0' }, href: `/companies/${co.id}`, 'data-testid': 'contact-company' },
					h('span', { class: 'avatar', style: { background: avatarColor('co' + co.id), borderRadius: '8px' } }, companyInitial(co.name)),
					h('span', { class: 'main' }, h('strong', { text: co.name }), h('span', { text: co.domain || '' })))
					: h('p', { class: 'muted small', text: t('contact.no_company') }),
				editorEl));
	}

	function ownerCard() {
		let control;
		if (writable && can('read_users')) {
			const sel = h('select', { class: 'select', id: 'owner-select', 'data-testid': 'owner-select' },
				h('option', { value: '' }, t('contact.no_owner')),
				users.filter((u) => u.active || u.id === contact.owner).map((u) => h('option', { value: String(u.id), selected: u.id === contact.owner }, u.name || u.email)));
			sel.addEventListener('change', async () => {
				try {
					await patch({ owner: sel.value ? Number(sel.value) : null });
					toast(contact.owner ? t('contact.owner_set', { name: userLabel(contact.owner) }) : t('contact.owner_cleared'));
				} catch (x) {
					toast({ kind: 'error', title: t('contact.owner_failed'), detail: errorMessage(x) });
					sel.value = contact.owner ? String(contact.owner) : '';
				}
			});
			control = h('div', { class: 'field' }, h('label', { for: 'owner-select' }, t('contact.owner_label')), sel);
		} else if (writable) {
			// sales may not list users: they can take the contact or hand it back
			const mine = contact.owner === state.user.id;
			control = h('div', { class: 'stack-sm' },
				h('p', { text: contact.owner ? userLabel(contact.owner) : t('contact.no_owner') }),
				h('button', { type: 'button', class: 'btn btn-sm', style: { alignSelf: 'flex-start' }, 'data-testid': 'owner-take', onclick: async () => {
					try {
						await patch({ owner: mine ? null : state.user.id });
						renderAll();
					} catch (x) {
						toast({ kind: 'error', title: t('contact.owner_failed'), detail: errorMessage(x) });
					}
				} }, mine ? t('contact.owner_release') : t('contact.owner_take')));
		} else {
			control = h('p', { text: contact.owner ? userLabel(contact.owner) : t('contact.no_owner') });
		}
		return h('section', { class: 'card', 'aria-labelledby': 'owner-h', 'data-testid': 'owner-card' },
			h('div', { class: 'card-header' }, h('h2', { id: 'owner-h', text: t('contact.owner') })),
			h('div', { class: 'card-body' }, control));
	}

	function metaCard() {
		return h('section', { class: 'card', 'aria-labelledby': 'meta-h' },
			h('div', { class: 'card-header' }, h('h2', { id: 'meta-h', text: t('contact.details') })),
			h('div', { class: 'card-body' }, h('dl', { class: 'meta' },
				h('dt', null, t('contact.id')), h('dd', { class: 'mono' }, String(contact.id)),
				h('dt', null, t('contact.created')), h('dd', { title: fmtDateTime(contact.created_at) }, fmtRelative(contact.created_at)),
				h('dt', null, t('contact.updated')), h('dd', { title: fmtDateTime(contact.updated_at), 'data-testid': 'contact-updated' }, fmtRelative(contact.updated_at)))));
	}

	async function remove() {
		const ok = await confirmDialog({
			title: t('contact.delete_title'),
			message: t('contact.delete_text', { name: contactName(contact) }),
			confirmLabel: t('contact.delete_confirm'),
			testid: 'delete-contact-dialog',
		});
		if (!ok) return;
		try {
			await api.del(`/contacts/${id}`);
			toast(t('contact.deleted', { name: contactName(contact) }));
			ctx.navigate(state.lastContactsUrl || '/contacts');
		} catch {
			/* toasted */
		}
	}

	async function exportData() {
		try {
			const data = await api.get(`/contacts/${id}/export`);
			downloadText(`contact-${id}.json`, JSON.stringify(data, null, 2), 'application/json');
		} catch {
			/* toasted */
		}
	}

	const journeysCard = contactJourneys(id, ctx);

	function renderAll() {
		ctx.setCrumbs([back, { label: contactName(contact) }]);
		mount(ctx.root,
			head(),
			h('div', { class: 'record-grid' },
				h('div', { class: 'stack' }, profileCard(), fieldsCard(), timelineCard()),
				h('div', { class: 'side-stack' }, audiencePanel(contact), tagsCard(), journeysCard(), companyCard(), ownerCard(), metaCard())));
	}

	renderAll();
}
