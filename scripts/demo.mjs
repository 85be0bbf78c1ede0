// demo.mjs — the marketing half of the demo data, loaded through the REST API like any
// integration would: a site with 30 days of visits, scoring rules and stages, segments, emails
// with a sent newsletter, forms. `kizuna demo` made the contacts and companies before this.
//
// Usage: node scripts/demo.mjs URL API_KEY      (scripts/run.sh calls it on the first start)
// Everything is relative to "now", so the dashboard and the timelines look alive on any day.

const [base, key] = process.argv.slice(2);
if (!base || !key) {
  console.error('usage: node scripts/demo.mjs URL API_KEY');
  process.exit(2);
}

async function api(method, path, body) {
  const r = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// A fixed generator, so two demo databases look the same.
let seed = 20261202;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = (a) => a[Math.floor(rnd() * a.length)];

const DAY = 86400000;
const now = Date.now();
const at = (daysAgo, hour = 10) =>
  new Date(now - daysAgo * DAY - (now % DAY) + (hour - 9) * 3600000 + Math.floor(rnd() * 3600000)).toISOString();

const pages = [
  ['/', 'Kizuna — マーケティングオートメーション'],
  ['/pricing', '料金プラン'],
  ['/products/ma', '製品紹介: シナリオ配信'],
  ['/products/scoring', '製品紹介: リードスコアリング'],
  ['/case-studies', '導入事例'],
  ['/seminar/2026-winter', '【無料セミナー】BtoBマーケティング実践講座 2026冬'],
  ['/whitepaper/ma-guide', 'ホワイトペーパー: はじめてのMA導入ガイド'],
  ['/blog/lead-nurturing', 'ブログ: リードナーチャリングの基本'],
  ['/contact', 'お問い合わせ'],
];
const sources = [
  { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand', referrer: 'https://www.google.com/' },
  { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: '2026-11-news' },
  { utm_source: 'facebook', utm_medium: 'social', utm_campaign: 'seminar-winter', referrer: 'https://www.facebook.com/' },
  { referrer: 'https://www.google.co.jp/' },
  { referrer: 'https://b.hatena.ne.jp/' },
  {},
];

function pageView(who, daysAgo, path, title, src, n) {
  const q = Object.entries(src).filter(([k]) => k.startsWith('utm_')).map(([k, v]) => `${k}=${v}`).join('&');
  return {
    type: 'page', ...who, timestamp: at(daysAgo, 9 + (n % 9)), messageId: `demo-${who.email || who.anonymousId}-${daysAgo}-${n}`,
    context: { url: `https://www.example.jp${path}${q && n === 0 ? '?' + q : ''}`, title, referrer: n === 0 ? src.referrer : undefined,
      userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15' },
  };
}

async function events(contacts) {
  const batch = [];
  const flush = async () => {
    while (batch.length) await api('POST', '/api/v1/events', { batch: batch.splice(0, 500) });
  };
  // People we know: a few visits each over the last 30 days, some sign up or download.
  contacts.forEach((c, i) => {
    const who = { email: c.email };
    const visits = 1 + Math.floor(rnd() * 5);
    for (let v = 0; v < visits; v++) {
      const day = Math.floor(rnd() * 30), src = pick(sources);
      const n = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < n; k++) {
        const [path, title] = k === 0 && rnd() < 0.5 ? pages[0] : pick(pages);
        batch.push(pageView(who, day, path, title, src, k));
      }
    }
    if (i % 4 === 0) batch.push({ type: 'track', ...who, event: 'whitepaper_download', timestamp: at(Math.floor(rnd() * 20)),
      properties: { asset: 'MA導入ガイド' }, messageId: `demo-wp-${c.id}` });
    if (i % 6 === 0) batch.push({ type: 'track', ...who, event: 'seminar_signup', timestamp: at(Math.floor(rnd() * 14)),
      properties: { seminar: '2026-winter', seats: 1 }, messageId: `demo-sem-${c.id}` });
    if (i % 15 === 0) batch.push({ type: 'track', ...who, event: 'purchase', timestamp: at(Math.floor(rnd() * 10)),
      properties: { plan: pick(['standard', 'pro']), amount: pick([30000, 50000, 120000]), currency: 'JPY' }, messageId: `demo-buy-${c.id}` });
  });
  // Visitors we do not know yet.
  for (let a = 0; a < 60; a++) {
    const who = { anonymousId: `demo-anon-${a}` };
    const day = Math.floor(rnd() * 7), src = pick(sources);
    for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) {
      const [path, title] = pick(pages);
      batch.push(pageView(who, day, path, title, src, k));
    }
  }
  await flush();
}

async function main() {
  await api('PATCH', '/api/v1/settings', {
    company_name: '株式会社キズナ商事', company_address: '〒100-0005 東京都千代田区丸の内1-1-1',
    company_contact: 'info@example.jp', sender_name: 'キズナ商事 マーケティング部', sender_email: 'news@example.jp',
  });
  await api('POST', '/api/v1/sites', { name: 'コーポレートサイト', allowed_origins: ['https://www.example.jp'], bot_filter: true });

  await api('PUT', '/api/v1/stages', {
    stages: ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer', 'repeater'],
    rules: [
      { to: 'lead', when: { event: 'page_view' } },
      { to: 'mql', when: { field: 'score', op: 'gte', value: 40 } },
      { to: 'customer', when: { event: 'purchase' } },
      { to: 'repeater', when: { event: 'purchase', count: { op: 'gte', value: 2 } } },
    ],
  });
  const rules = [
    { name: '料金ページ閲覧', event: 'page_view', where: [{ prop: 'path', op: 'eq', value: '/pricing' }], points: 10, limit: { times: 2, per: 'week' }, category: 'engagement' },
    { name: '導入事例の閲覧', event: 'page_view', where: [{ prop: 'path', op: 'eq', value: '/case-studies' }], points: 5, limit: { times: 1, per: 'week' }, category: 'engagement' },
    { name: 'ホワイトペーパーDL', event: 'whitepaper_download', points: 15, limit: { times: 3, per: 'ever' }, category: 'engagement' },
    { name: 'セミナー申込', event: 'seminar_signup', points: 20, category: 'engagement' },
    { name: 'サイト訪問', event: 'page_view', points: 1, limit: { times: 5, per: 'day' }, category: 'engagement' },
    { name: 'エンタープライズ契約', filter: { field: 'fields.plan', op: 'eq', value: 'enterprise' }, points: 10, category: 'fit' },
    { name: '従業員300名以上', filter: { field: 'fields.employees', op: 'gte', value: 300 }, points: 5, category: 'fit' },
  ];
  for (const r of rules) await api('POST', '/api/v1/scoring/rules', r);
  await api('PUT', '/api/v1/scoring/settings', { decay: { percent: 25, days: 30 }, company: 'sum', thresholds: [40, 80] });

  const contacts = [];
  for (let cursor = null; ;) {
    const page = await api('GET', `/api/v1/contacts?limit=200${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
    contacts.push(...page.data.filter((c) => c.email));
    cursor = page.next_cursor;
    if (!cursor || contacts.length >= 240) break;
  }
  await events(contacts.slice(0, 240));
  await api('POST', '/api/v1/scoring/recompute', {});

  const segments = [
    { name: 'ホットリード (スコア40以上)', description: '営業へ渡す候補', filter: { field: 'score', op: 'gte', value: 40 } },
    { name: 'セミナー申込者 (30日)', filter: { event: 'seminar_signup', within_days: 30 } },
    { name: '料金ページを見た人 (7日)', filter: { event: 'page_view', where: [{ prop: 'path', op: 'eq', value: '/pricing' }], within_days: 7 } },
    { name: 'メルマガ購読者', filter: { field: 'fields.newsletter_opt_in', op: 'eq', value: true } },
  ];
  for (const s of segments) {
    try {
      await api('POST', '/api/v1/segments', s);
    } catch (e) {
      console.error(`demo: segment "${s.name}" skipped: ${e.message}`);
    }
  }
  const list = await api('POST', '/api/v1/segments', { name: '展示会 2026 名刺交換', type: 'static', description: 'Japan IT Week 秋' });
  await api('POST', `/api/v1/segments/${list.id}/members`, { mode: 'append', contact_ids: contacts.slice(0, 25).map((c) => c.id) });

  const news = await api('POST', '/api/v1/emails', {
    name: '12月のメルマガ', topic: 'news',
    subject: '{{ contact.last_name | default: "お客様" }}様、年末年始のお知らせと新機能のご紹介',
    preheader: 'シナリオ配信がさらに使いやすくなりました',
    html: '<h1>12月のお知らせ</h1><p>{{ contact.last_name | default: "お客様" }}様</p><p>いつもご利用ありがとうございます。今月は<strong>シナリオ配信</strong>の新機能をご紹介します。</p><p><a href="https://www.example.jp/products/ma?utm_source=newsletter&utm_medium=email">詳しく見る</a></p>',
  });
  await api('POST', '/api/v1/emails', {
    name: 'セミナーお礼メール', topic: 'seminar',
    subject: 'ご参加ありがとうございました — 資料のご案内',
    html: '<p>{{ contact.last_name }}様</p><p>先日はセミナーにご参加いただきありがとうございました。当日の資料をお送りします。</p>',
  });
  await api('POST', '/api/v1/emails', {
    name: 'ホワイトペーパー フォローアップ', topic: 'news',
    subject: '「はじめてのMA導入ガイド」はお役に立ちましたか？',
    html: '<p>{{ contact.last_name }}様</p><p>ダウンロードいただいたガイドの続編として、導入事例をご紹介します。</p><p><a href="https://www.example.jp/case-studies">導入事例を見る</a></p>',
  });
  try {
    await api('POST', '/api/v1/broadcasts', { email_id: news.id, segment_id: list.id, send_at: new Date(now + 3 * DAY).toISOString() });
  } catch (e) {
    console.error(`demo: broadcast skipped: ${e.message}`);
  }

  await api('POST', '/api/v1/forms', {
    name: '資料請求フォーム',
    fields: [
      { name: 'email', type: 'email', required: true, label: { ja: 'メールアドレス', en: 'Email' }, maps_to: 'email' },
      { name: 'last_name', type: 'text', required: true, label: { ja: '姓', en: 'Last name' }, maps_to: 'last_name' },
      { name: 'first_name', type: 'text', label: { ja: '名', en: 'First name' }, maps_to: 'first_name' },
      { name: 'company', type: 'text', label: { ja: '会社名', en: 'Company' }, maps_to: 'company' },
      { name: 'consent', type: 'consent', required: true, text: { ja: '個人情報の取り扱いに同意します', en: 'I agree to the privacy policy' } },
    ],
    actions: [{ type: 'add_tag', tag: 'whitepaper-ma-guide' }],
    success: { message: { ja: 'お申し込みありがとうございました。資料をメールでお送りします。', en: 'Thank you! We will email you the guide.' } },
  });
  await api('POST', '/api/v1/forms', {
    name: 'セミナー申込フォーム (2026冬)',
    fields: [
      { name: 'email', type: 'email', required: true, label: { ja: 'メールアドレス', en: 'Email' }, maps_to: 'email' },
      { name: 'last_name', type: 'text', required: true, label: { ja: '姓', en: 'Last name' }, maps_to: 'last_name' },
      { name: 'phone', type: 'tel', label: { ja: '電話番号', en: 'Phone' }, maps_to: 'phone' },
      { name: 'seats', type: 'select', label: { ja: '参加人数', en: 'Seats' }, options: [{ value: '1', label: { ja: '1名', en: '1' } }, { value: '2', label: { ja: '2名', en: '2' } }, { value: '3', label: { ja: '3名以上', en: '3+' } }] },
    ],
    actions: [{ type: 'add_tag', tag: 'seminar-2026-winter' }],
    success: { message: { ja: 'お申し込みを受け付けました。', en: 'You are registered.' } },
  });
  console.log(JSON.stringify({ demo: 'loaded', contacts_with_events: Math.min(contacts.length, 240), segments: segments.length + 1, emails: 3, forms: 2 }));
}

main().catch((e) => {
  console.error(`demo.mjs: ${e.message}`);
  process.exit(1);
});
