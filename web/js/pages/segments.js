// segments.js — segments and static lists: the list with live counts, the visual filter builder with a live count (preview API), editing, members, CSV export and CSV upload for lists.
import { api, errorMessage } from '../api.js';
import { h, icon, mount, debounce } from '../dom.js';
import { t, fmtNumber } from '../i18n.js';
import { filterBuilder, describeFilter } from '../filter-builder.js';
import { parse as parseCsv } from '../csv.js';
import { pageHead, skeletonRows, emptyState, toast } from '../ui.js';
import { can } from '../state.js';

const EXAMPLE = {
  all: [
    { event: 'page_view', where: [{ prop: 'path', op: 'eq', value: '/pricing' }], count: { op: 'gte', value: 3 }, within_days: 30 },
    { field: 'stage', op: 'neq', value: 'customer' },
  ],
};

export default async function render(ctx) {
  ctx.setCrumbs([{ label: t('nav.segments') }]);
  const tbody = h('tbody', { 'data-testid': 'segment-rows' }, skeletonRows(4, 4));
  const detail = h('div', { 'data-testid': 'segment-detail' });
  const editable = can('manage_segments');

  // ---- the editor: name, type, the visual filter builder with a live count; PATCHes when editing one
  let editing = null; // the segment being edited, or null for a new one
  const name = h('input', { class: 'input', id: 'seg-name', 'data-testid': 'segment-name', required: true, maxlength: 200 });
  const type = h('select', { class: 'select', id: 'seg-type', 'data-testid': 'segment-type' },
    h('option', { value: 'dynamic' }, t('segments.type_dynamic')),
    h('option', { value: 'static' }, t('segments.type_static')));
  const live = h('div', { class: 'seg-live', 'data-testid': 'segment-live-count', 'aria-live': 'polite' });
  const builder = filterBuilder({ value: EXAMPLE, onChange: () => preview() });
  const filterField = h('div', { class: 'field span-2' }, h('span', { class: 'label', text: t('segments.filter') }), builder.el,
    h('div', { class: 'hint', text: t('segments.filter_hint') }));
  const save = h('button', { class: 'btn btn-primary', type: 'submit', 'data-testid': 'segment-save' }, icon('plus'), t('segments.create'));
  const cancel = h('button', { class: 'btn', type: 'button', 'data-testid': 'segment-cancel', hidden: true }, t('common.cancel'));
  const formTitle = h('h2', { class: 'seg-form-title', text: t('segments.new') });

  const showProblem = (e) => {
    live.classList.add('seg-live-bad');
    live.textContent = `${errorMessage(e)}${e.field ? ` (${e.field})` : ''}`;
    if (e.field && e.field.startsWith('/filter')) builder.showError(e.field.slice('/filter'.length), errorMessage(e));
  };
  let seq = 0;
  const preview = debounce(async () => {
    const mine = ++seq;
    live.classList.remove('seg-live-bad');
    if (type.value !== 'dynamic') { live.textContent = ''; return; }
    if (builder.empty) { live.textContent = t('segments.add_condition'); return; }
    try {
      const r = await api.post('/segments/preview', { filter: builder.value }, { quiet: true });
      if (mine !== seq) return;
      live.replaceChildren(h('strong', { text: fmtNumber(r.count) }), ' ', t('segments.live_count_suffix'));
      live.title = t('segments.live_count', { n: fmtNumber(r.count) });
      live.dataset.count = String(r.count);
    } catch (e) {
      if (mine === seq) showProblem(e);
    }
  }, 300);
  type.addEventListener('change', () => { filterField.hidden = type.value !== 'dynamic'; live.hidden = type.value !== 'dynamic'; preview(); });

  function edit(s) {
    editing = s;
    name.value = s.name;
    type.value = s.type;
    type.disabled = true;
    filterField.hidden = s.type !== 'dynamic';
    live.hidden = s.type !== 'dynamic';
    if (s.type === 'dynamic') builder.value = s.filter;
    formTitle.textContent = t('segments.editing', { name: s.name });
    save.replaceChildren(icon('check'), t('segments.save'));
    cancel.hidden = false;
    preview();
    form.scrollIntoView({ block: 'start', behavior: 'smooth' });
  }
  function reset() {
    editing = null;
    name.value = '';
    type.disabled = false;
    formTitle.textContent = t('segments.new');
    save.replaceChildren(icon('plus'), t('segments.create'));
    cancel.hidden = true;
  }
  cancel.addEventListener('click', () => { reset(); builder.value = EXAMPLE; preview(); });

  const form = h('form', { class: 'card seg-form', 'data-testid': 'segment-form' },
    formTitle,
    h('div', { class: 'seg-form-grid' },
      h('div', { class: 'field' }, h('label', { for: 'seg-name' }, t('segments.name')), name),
      h('div', { class: 'field' }, h('label', { for: 'seg-type' }, t('segments.type')), type)),
    filterField,
    h('div', { class: 'seg-form-foot' }, live, h('span', { class: 'spacer' }), cancel, save));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: name.value };
    if (!editing) body.type = type.value;
    if (type.value === 'dynamic') body.filter = builder.value;
    try {
      const s = editing ? await api.patch(`/segments/${editing.id}`, body, { quiet: true }) : await api.post('/segments', body, { quiet: true });
      toast({ title: t(editing ? 'segments.saved' : 'segments.created', { name: s.name }) });
      reset();
      await load();
      show(s);
    } catch (e) {
      showProblem(e);
    }
  });

  mount(ctx.root,
    pageHead({ title: t('segments.title'), desc: t('segments.desc'), testid: 'segments-title' }),
    editable ? form : null,
    h('div', { class: 'card' }, h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'segments-table', 'aria-label': t('segments.title') },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, t('segments.name')),
        h('th', { scope: 'col' }, t('segments.type')),
        h('th', { scope: 'col' }, t('segments.members')),
        h('th', { scope: 'col' }, ''))),
      tbody))),
    detail);

  async function load() {
    const page = await api.get('/segments');
    if (!page.data.length) {
      mount(tbody, h('tr', null, h('td', { colspan: 4 }, emptyState({ iconName: 'segments', title: t('segments.empty_title'), text: t('segments.empty_text'), testid: 'segments-empty' }))));
      return;
    }
    const names = Object.fromEntries(page.data.map((x) => [x.id, x.name]));
    mount(tbody, page.data.map((s) => {
      const open = h('button', { class: 'btn btn-ghost btn-sm', type: 'button', 'data-testid': 'segment-open' }, t('segments.open'));
      open.addEventListener('click', () => show(s));
      const change = editable ? h('button', { class: 'btn btn-ghost btn-sm', type: 'button', 'data-testid': 'segment-edit' }, icon('edit', { size: 'sm' }), t('segments.edit')) : null;
      if (change) change.addEventListener('click', () => edit(s));
      return h('tr', { 'data-testid': 'segment-row', 'data-id': s.id },
        h('td', { class: 'seg-name-cell' }, h('span', { class: 'name', text: s.name }),
          s.type === 'dynamic' && s.filter ? h('div', { class: 'seg-desc', 'data-testid': 'segment-desc', title: JSON.stringify(s.filter), text: describeFilter(s.filter, { segments: names }) }) : null),
        h('td', null, h('span', { class: 'badge', text: t(`segments.type_${s.type}`) })),
        h('td', { class: 'num', 'data-testid': 'segment-count', text: (s.count ?? 0).toLocaleString() }),
        h('td', { class: 'actions' }, open, change));
    }));
  }

  async function show(s) {
    const page = await api.get(`/segments/${s.id}/members`, { limit: 50 });
    const rows = page.data.map((c) => h('li', null, h('a', { href: `/contacts/${c.id}`, text: c.email || [c.last_name, c.first_name].filter(Boolean).join(' ') || `#${c.id}` }),
      h('span', { class: 'muted', text: ` · ${t('segments.score')} ${c.score}${c.stage ? ` · ${c.stage}` : ''}` })));
    const upload = h('input', { type: 'file', accept: '.csv,text/csv', 'data-testid': 'list-upload' });
    const mode = h('select', { class: 'select', 'data-testid': 'list-mode' },
      h('option', { value: 'append' }, t('segments.mode_append')), h('option', { value: 'replace' }, t('segments.mode_replace')));
    upload.addEventListener('change', async () => {
      const file = upload.files[0];
      if (!file) return;
      const table = parseCsv(await file.text());
      const cells = [...(table.header || []), ...table.records.flatMap((r) => r.fields)];
      const emails = cells.map((x) => String(x).trim()).filter((x) => x.includes('@'));
      try {
        const r = await api.post(`/segments/${s.id}/members`, { emails, mode: mode.value }, { quiet: true });
        toast({ title: t('segments.uploaded', { n: r.changed, count: r.count }) });
        await load();
        show(s);
      } catch (e) {
        toast({ title: errorMessage(e), kind: 'error' });
      }
    });
    mount(detail, h('div', { class: 'card', 'data-testid': 'segment-members', style: { padding: '16px', marginTop: '16px' } },
      h('h2', { text: s.name }),
      h('div', { class: 'row' },
        h('a', { class: 'btn', href: `/api/v1/segments/${s.id}/export?format=csv`, download: `segment-${s.id}.csv`, 'data-testid': 'segment-export' }, icon('download'), t('segments.export')),
        s.type === 'static' && editable ? [mode, upload] : null),
      rows.length ? h('ul', { 'data-testid': 'segment-member-list' }, rows) : h('p', { class: 'muted', text: t('segments.no_members') })));
  }

  preview();
  await load();
}
