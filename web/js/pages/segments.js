// segments.js — segments and static lists: the list with live counts, a filter editor with a live count (preview API), members, CSV export and CSV upload for lists.
import { api, errorMessage } from '../api.js';
import { h, icon, mount, debounce } from '../dom.js';
import { t } from '../i18n.js';
import { parse as parseCsv } from '../csv.js';
import { pageHead, skeletonRows, emptyState, toast } from '../ui.js';
import { can } from '../state.js';

const EXAMPLE = {
  all: [
    { event: 'page_view', where: [{ prop: 'path', op: 'eq', value: '/pricing' }], count: { op: 'gte', value: 3 }, within_days: 30 },
    { not: { field: 'stage', op: 'eq', value: 'customer' } },
  ],
};

export default async function render(ctx) {
  ctx.setCrumbs([{ label: t('nav.segments') }]);
  const tbody = h('tbody', { 'data-testid': 'segment-rows' }, skeletonRows(4, 4));
  const detail = h('div', { 'data-testid': 'segment-detail' });
  const editable = can('manage_segments');

  // ---- the editor: name, type, filter JSON with a live count
  const name = h('input', { class: 'input', id: 'seg-name', 'data-testid': 'segment-name', required: true, maxlength: 200 });
  const type = h('select', { class: 'select', id: 'seg-type', 'data-testid': 'segment-type' },
    h('option', { value: 'dynamic' }, t('segments.type_dynamic')),
    h('option', { value: 'static' }, t('segments.type_static')));
  const filter = h('textarea', { class: 'input mono', id: 'seg-filter', rows: 10, spellcheck: false, 'data-testid': 'segment-filter', style: { minHeight: '200px', fontFamily: 'monospace' } });
  filter.value = JSON.stringify(EXAMPLE, null, 2);
  const live = h('div', { class: 'hint', 'data-testid': 'segment-live-count', 'aria-live': 'polite' });
  const save = h('button', { class: 'btn btn-primary', type: 'submit', 'data-testid': 'segment-save' }, icon('plus'), t('segments.create'));

  const preview = debounce(async () => {
    if (type.value !== 'dynamic') { live.textContent = ''; return; }
    let f;
    try { f = JSON.parse(filter.value); } catch { live.textContent = t('segments.bad_json'); return; }
    try {
      const r = await api.post('/segments/preview', { filter: f }, { quiet: true });
      live.textContent = t('segments.live_count', { n: r.count.toLocaleString() });
    } catch (e) {
      live.textContent = `${errorMessage(e)}${e.field ? ` (${e.field})` : ''}`;
    }
  }, 300);
  filter.addEventListener('input', preview);
  type.addEventListener('change', () => { filter.disabled = type.value !== 'dynamic'; preview(); });

  const form = h('form', { class: 'card form-grid', 'data-testid': 'segment-form', style: { padding: '16px', marginBottom: '16px', display: 'grid', gap: '12px' } },
    h('div', { class: 'field' }, h('label', { for: 'seg-name' }, t('segments.name')), name),
    h('div', { class: 'field' }, h('label', { for: 'seg-type' }, t('segments.type')), type),
    h('div', { class: 'field span-2' }, h('label', { for: 'seg-filter' }, t('segments.filter')), filter,
      h('div', { class: 'hint', text: t('segments.filter_hint') }), live),
    h('div', { class: 'row' }, save));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: name.value, type: type.value };
    if (type.value === 'dynamic') {
      try { body.filter = JSON.parse(filter.value); } catch { live.textContent = t('segments.bad_json'); return; }
    }
    try {
      const s = await api.post('/segments', body, { quiet: true });
      toast({ title: t('segments.created', { name: s.name }) });
      name.value = '';
      await load();
      show(s);
    } catch (e) {
      live.textContent = `${errorMessage(e)}${e.field ? ` (${e.field})` : ''}`;
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
    mount(tbody, page.data.map((s) => {
      const open = h('button', { class: 'btn btn-ghost btn-sm', type: 'button', 'data-testid': 'segment-open' }, t('segments.open'));
      open.addEventListener('click', () => show(s));
      return h('tr', { 'data-testid': 'segment-row', 'data-id': s.id },
        h('td', null, h('span', { class: 'name', text: s.name })),
        h('td', null, h('span', { class: 'badge', text: t(`segments.type_${s.type}`) })),
        h('td', { class: 'num', 'data-testid': 'segment-count', text: (s.count ?? 0).toLocaleString() }),
        h('td', null, open));
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
