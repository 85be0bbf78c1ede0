#!/usr/bin/env node
// gen_contacts.mjs — writes a deterministic contacts CSV (Japanese and English people) for the benchmarks.
//
// usage: node bench/gen_contacts.mjs --rows N [--seed S] [--dup-percent P] OUT.csv
//
// The same arguments always produce the same bytes: the only randomness is a
// seeded PRNG (mulberry32), so kizuna and the sqlite3 baseline import exactly the
// same file, and two runs on two machines compare like with like. The header row
// is what Japanese Excel exports look like (メールアドレス, 姓, 名, セイ, メイ, 電話番号,
// 会社名, 会社ドメイン, タグ); kizuna recognises each of these headers without --map.
// About P% of rows (default 2) repeat an earlier row's email, as real exports
// do, so the import exercises the "update" path of the upsert as well.

import { writeFileSync } from 'node:fs';

function usage(msg) {
  if (msg) process.stderr.write(`gen_contacts: ${msg}\n`);
  process.stderr.write('usage: node bench/gen_contacts.mjs --rows N [--seed S] [--dup-percent P] OUT.csv\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opt = { rows: 0, seed: 20261124, dup: 2, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) usage(`${a} needs a whole number`);
      return v;
    };
    if (a === '--rows') opt.rows = num();
    else if (a === '--seed') opt.seed = num();
    else if (a === '--dup-percent') opt.dup = num();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else opt.out = a;
  }
  if (!opt.rows || !opt.out) usage('--rows and OUT.csv are required');
  return opt;
}

/** mulberry32: tiny, fast, and identical in every JavaScript engine. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// [kanji, katakana, romaji]
const JP_LAST = [
  ['佐藤', 'サトウ', 'sato'], ['鈴木', 'スズキ', 'suzuki'], ['高橋', 'タカハシ', 'takahashi'],
  ['田中', 'タナカ', 'tanaka'], ['伊藤', 'イトウ', 'ito'], ['渡辺', 'ワタナベ', 'watanabe'],
  ['山本', 'ヤマモト', 'yamamoto'], ['中村', 'ナカムラ', 'nakamura'], ['小林', 'コバヤシ', 'kobayashi'],
  ['加藤', 'カトウ', 'kato'], ['吉田', 'ヨシダ', 'yoshida'], ['山田', 'ヤマダ', 'yamada'],
  ['佐々木', 'ササキ', 'sasaki'], ['山口', 'ヤマグチ', 'yamaguchi'], ['松本', 'マツモト', 'matsumoto'],
  ['井上', 'イノウエ', 'inoue'], ['木村', 'キムラ', 'kimura'], ['林', 'ハヤシ', 'hayashi'],
  ['斎藤', 'サイトウ', 'saito'], ['清水', 'シミズ', 'shimizu'],
];
const JP_FIRST = [
  ['太郎', 'タロウ', 'taro'], ['花子', 'ハナコ', 'hanako'], ['翔太', 'ショウタ', 'shota'],
  ['陽菜', 'ヒナ', 'hina'], ['大翔', 'ヒロト', 'hiroto'], ['結衣', 'ユイ', 'yui'],
  ['蓮', 'レン', 'ren'], ['美咲', 'ミサキ', 'misaki'], ['健太', 'ケンタ', 'kenta'],
  ['さくら', 'サクラ', 'sakura'], ['拓海', 'タクミ', 'takumi'], ['葵', 'アオイ', 'aoi'],
  ['悠真', 'ユウマ', 'yuma'], ['凛', 'リン', 'rin'], ['大輝', 'ダイキ', 'daiki'], ['愛', 'アイ', 'ai'],
];
const EN_LAST = ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis',
  'Wilson', 'Taylor', 'Anderson', 'Thomas', 'Moore', 'Martin', 'Lee', "O'Brien"];
const EN_FIRST = ['James', 'Mary', 'John', 'Patricia', 'Robert', 'Jennifer', 'Michael', 'Linda',
  'David', 'Elizabeth', 'Emily', 'Daniel', 'Sarah', 'Chris', 'Olivia', 'Kenji'];
// [name part, romaji for the domain]
const JP_CO_STEM = [['サンプル', 'sample'], ['青空', 'aozora'], ['富士', 'fuji'], ['桜', 'sakura'],
  ['日本', 'nihon'], ['東京', 'tokyo'], ['大阪', 'osaka'], ['みらい', 'mirai'], ['ひかり', 'hikari'],
  ['山川', 'yamakawa'], ['北斗', 'hokuto'], ['若葉', 'wakaba']];
const JP_CO_KIND = [['商事', 'shoji'], ['製作所', 'seisakusho'], ['システム', 'system'],
  ['物産', 'bussan'], ['工業', 'kogyo'], ['テクノロジー', 'tech'], ['電機', 'denki'], ['不動産', 'fudosan']];
const EN_CO_STEM = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Hooli', 'Vandelay',
  'Soylent', 'Cyberdyne'];
const EN_CO_KIND = ['Inc.', 'LLC', 'Corp.', 'Holdings, Inc.', 'Labs', 'Group'];
const TAGS = ['seminar-2026', 'vip', 'newsletter', '展示会2026', 'webinar', 'trial', '資料請求', 'customer'];
const FREE_MAIL = ['gmail.com', 'yahoo.co.jp', 'outlook.jp', 'icloud.com'];

function csvField(s) {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function makeCompanies(rand) {
  const out = [];
  for (const [stem, sr] of JP_CO_STEM)
    for (const [kind, kr] of JP_CO_KIND) {
      const front = rand() < 0.7;
      out.push([front ? `株式会社${stem}${kind}` : `${stem}${kind}株式会社`, `${sr}-${kr}.co.jp`]);
    }
  for (const stem of EN_CO_STEM)
    for (const kind of EN_CO_KIND)
      out.push([`${stem} ${kind}`, `${stem.toLowerCase()}-${kind.replace(/[^A-Za-z]/g, '').toLowerCase()}.com`]);
  return out;
}

function phone(rand) {
  const d4 = () => String(Math.floor(rand() * 10000)).padStart(4, '0');
  const r = rand();
  if (r < 0.1) return '';
  if (r < 0.2) return `03-${d4()}-${d4()}`;
  return `${['090', '080', '070'][Math.floor(rand() * 3)]}-${d4()}-${d4()}`;
}

function tags(rand) {
  const n = Math.floor(rand() * 4);
  const picked = new Set();
  while (picked.size < n) picked.add(TAGS[Math.floor(rand() * TAGS.length)]);
  return [...picked].join(';');
}

function main() {
  const opt = parseArgs(process.argv.slice(2));
  const rand = prng(opt.seed);
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const companies = makeCompanies(rand);
  const emails = [];
  const lines = ['メールアドレス,姓,名,セイ,メイ,電話番号,会社名,会社ドメイン,タグ'];
  for (let i = 1; i <= opt.rows; i++) {
    const co = rand() < 0.85 ? pick(companies) : null;
    let email;
    if (emails.length && rand() * 100 < opt.dup) {
      email = emails[Math.floor(rand() * emails.length)];
    } else {
      email = null;
    }
    let last, first, lastKana = '', firstKana = '', local;
    if (rand() < 0.7) {
      const l = pick(JP_LAST);
      const f = pick(JP_FIRST);
      [last, lastKana, first, firstKana] = [l[0], l[1], f[0], f[1]];
      local = `${f[2]}.${l[2]}`;
    } else {
      last = pick(EN_LAST);
      first = pick(EN_FIRST);
      local = `${first}.${last.replace(/'/g, '')}`;
      if (rand() < 0.8) local = local.toLowerCase(); // the rest keep capitals: cleansing lower-cases
    }
    if (!email) {
      email = `${local}${i}@${co && rand() < 0.7 ? co[1] : pick(FREE_MAIL)}`;
      emails.push(email);
    }
    lines.push([email, last, first, lastKana, firstKana, phone(rand), co ? co[0] : '',
      co ? co[1] : '', tags(rand)].map(csvField).join(','));
  }
  writeFileSync(opt.out, lines.join('\r\n') + '\r\n');
}

main();
