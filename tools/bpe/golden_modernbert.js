#!/usr/bin/env node
// Golden ids for the ModernBERT-kind tokenizer fixture (tests/fixtures/modernbert-tokenizer) from Hugging Face
// `tokenizers` (npm, the Rust core) reading its tokenizer.json: the shared inputs of tools/tokenizer/golden_cases.js
// plus cases aimed at this tokenizer (added tokens matched before the byte-level split: runs of spaces, the
// |||IP_ADDRESS||| style tokens, [MASK] with lstrip, [unusedN]; the special-token literals inside user text;
// control characters, whitespace kinds, emoji, combining marks, code, URLs, numbers, long words) and pairs.
//
// Usage: node tools/bpe/golden_modernbert.js CORPUS [FIXTURE_DIR]   -> FIXTURE_DIR/golden.jsonl
//
// As tools/wordpiece/golden.js does, each sequence is encoded without specials and untruncated; the script applies
// the truncation rule of tokenizers <= 0.22 (tools/tokenizer/README.md) and the template itself ([CLS] A [SEP] for a
// text; [CLS] A [SEP] B [SEP] for a pair, type ids 0 for [CLS] A [SEP] and 1 for B [SEP]), after checking that
// template against the library's own post-processor on every untruncated input.
'use strict'

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const { Tokenizer } = require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers'))
const shared = require(path.join(__dirname, '..', 'tokenizer', 'golden_cases'))

const SPACES = [2, 3, 5, 8, 23, 24, 25, 31, 48, 49].map((n) => ' '.repeat(n))
const MODERNBERT = [
  // runs of spaces: the 2..24-space added tokens, longest match first, then the byte-level split of the rest
  ...SPACES, ...SPACES.map((s) => `a${s}b`), ...SPACES.map((s) => `${s}lead`), ...SPACES.map((s) => `trail${s}`),
  'use     multiple     spaces!', 'x \t y', ' \t ', '\t\t\t', '    \n    ', '\n\n', 'a\n  b', '  \u00a0  ', 'a\u00a0\u00a0b', 'a \u3000 b',
  'def f():\n    return 1\n', 'if x:\n        y()\n\tz()', '| a | b |\n|---|---|', '        indented code',
  // added and special tokens inside user text
  '[CLS]', '[SEP]', '[PAD]', '[UNK]', '[MASK]', '[unused0]', '[unused26]', '[unused27]', '<|endoftext|>', '<|padding|>',
  '|||IP_ADDRESS|||', '|||EMAIL_ADDRESS|||', '|||PHONE_NUMBER|||', 'call |||PHONE_NUMBER||| or mail |||EMAIL_ADDRESS|||',
  'x|||IP_ADDRESS|||y', '||IP_ADDRESS||', '|||ip_address|||', 'The capital of France is [MASK].', 'hello [MASK] world',
  'hello   [MASK]', ' [MASK]', '[MASK] ', '\t[MASK]', '\n[MASK]', 'a\u00a0[MASK]', 'a\u3000[MASK]', '[MASK][MASK]', '[MASK] [MASK]',
  '[mask]', '[ MASK ]', '[MASK', 'MASK]', 'a [CLS] b [SEP] c', '[CLS][SEP]', '[SEP] [CLS]', ' [CLS] ', 'x[PAD]y', 'x <|endoftext|> y',
  '[CLS]\u0301', '[MASK]\u200b', 'caf\u00e9 [MASK] cafe\u0301',
  // control characters and line separators
  ...Array.from({ length: 32 }, (_, c) => `a${String.fromCharCode(c)}b`), 'a\u007fb', 'a\u0085b', 'a\u2028b', 'a\u2029b', '\u0000', '\u0000\u0000 x',
  // scripts, emoji, marks
  '中文分词测试', '東京タワーへ行きました', '한국어 토큰화', '👨‍👩‍👧‍👦 family', '👍🏻👍🏼👍🏽👍🏾👍🏿', '🏳️‍⚧️', '🧑🏽‍🚀 astronaut', 'e\u0301\u0302\u0303',
  'Ångström', 'A\u030angstro\u0308m', '\ufb01nancial', 'ｆｕｌｌ　ｗｉｄｔｈ', 'Ω vs \u2126', 'x²', 'H₂O',
  // numbers, code, URLs, long words, mixtures
  '1234567890', '3.14159', '1,000,000', '-0.5e-10', '0xDEADBEEF', '192.168.0.1', '+1 (555) 010-9999', 'user.name+tag@example.co.uk',
  'https://huggingface.co/answerdotai/ModernBERT-base?x=1#y', 'git clone git@github.com:foo/bar.git', 'SELECT a, b FROM t WHERE c > 10;',
  'console.log(`${a}+${b}`);', '<html><body class="x">&amp;</body></html>', 'for(i=0;i<n;++i){s+=a[i];}', 'λ → ∀x ∃y',
  'pneumonoultramicroscopicsilicovolcanoconiosis', 'z'.repeat(200), 'ab'.repeat(150), 'Ü'.repeat(40),
  'Mr. O\'Neill-McPherson\'s co-workers @ ABC.com [and] {Dr. J.R.R. Martin-Smith} use     multiple     spaces!',
  'The pH of H₂O is ~7.0 — 中文 😀 [MASK] |||IP_ADDRESS||| \t 42\u00a0km\u2028next',
]
const MODERNBERT_PAIRS = [
  ['what is the capital of China?', 'Beijing is the capital of China.'],
  ['[MASK]', '[MASK]'], ['q [SEP] q', 'd [CLS] d'], ['   ', '    '], ['', ''], ['query', ''], ['', 'document'],
  ['|||IP_ADDRESS|||', '|||EMAIL_ADDRESS||| at <|endoftext|>'], ['tabs\tand\nnewlines', 'spaces     and\u00a0nbsp'],
  ['中国的首都是哪里?', '北京是中国的政治中心和首都。'], ['😀', '👨‍👩‍👧‍👦'], ['def f(x):', '    return x * 2\n'],
]
const TRUNC = [
  ['capital', 'what is the capital of China?', 'Beijing is the capital of China. It has been the capital for centuries and hosts the central government.'],
  ['spaces', 'a     b     c', 'd          e          f          g'],
  ['mask', 'hello [MASK] world', 'The capital of France is [MASK]. The capital of Italy is [MASK].'],
]

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

class TruncationError extends Error {}

// tokenizers <= 0.22 truncate_encodings on lengths (tools/tokenizer/README.md, "Truncation rule").
function truncateLengths(n1, n2, maxLength, strategy) {
  if (maxLength === 0) return [0, n2 === null ? null : 0]
  const total = n1 + (n2 === null ? 0 : n2)
  if (total <= maxLength) return [n1, n2]
  const toRemove = total - maxLength
  if (strategy === 'longest_first') {
    if (n2 === null) return [total - toRemove, null]
    let a = n1
    let b = n2
    const swap = a > b
    if (swap) [a, b] = [b, a]
    b = a > maxLength ? a : Math.max(a, maxLength - a)
    if (a + b > maxLength) {
      a = Math.floor(maxLength / 2)
      b = a + (maxLength % 2)
    }
    return swap ? [b, a] : [a, b]
  }
  if (n2 === null) throw new TruncationError('Truncation error: Second sequence not provided')
  if (n2 > toRemove) return [n1, n2 - toRemove]
  throw new TruncationError('Truncation error: Sequence to truncate too short to respect the provided max_length')
}

const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i])

async function run(tokenizer, c, CLS, SEP) {
  const out = { category: c.category, kind: c.kind }
  if (c.kind === 'single') out.text = c.text
  else { out.query = c.query; out.document = c.document }
  if (c.max_length !== undefined) out.max_length = c.max_length
  if (c.truncation !== undefined) out.truncation = c.truncation
  const content = async (t) => (await tokenizer.encode(t, null, { addSpecialTokens: false })).getIds()
  const a = await content(c.kind === 'single' ? c.text : c.query)
  const b = c.kind === 'pair' ? await content(c.document) : null
  const full = await tokenizer.encode(c.kind === 'single' ? c.text : c.query, b === null ? null : c.document)
  const build = (x, y) => (y === null ? [CLS, ...x, SEP] : [CLS, ...x, SEP, ...y, SEP])
  const types = (x, y) => (y === null ? Array(x.length + 2).fill(0) : [...Array(x.length + 2).fill(0), ...Array(y.length + 1).fill(1)])
  if (!same(full.getIds(), build(a, b)) || !same(full.getTypeIds(), types(a, b))) throw new Error(`template mismatch for ${JSON.stringify(c)}`)
  if (c.max_length === undefined) {
    out.ids = build(a, b)
    if (b !== null) out.type_ids = types(a, b)
    return out
  }
  const specials = b === null ? 2 : 3
  if (c.max_length < specials) {
    // tokenizers subtracts the specials from max_length in a usize and fails; RerankSharp raises InvalidInput.
    out.ids = null
    out.error = `max_length ${c.max_length} is smaller than the ${specials} special tokens`
    return out
  }
  try {
    const [n1, n2] = truncateLengths(a.length, b === null ? null : b.length, c.max_length - specials, c.truncation || 'longest_first')
    const ta = a.slice(0, n1)
    const tb = b === null ? null : b.slice(0, n2)
    out.ids = build(ta, tb)
    if (b !== null) out.type_ids = types(ta, tb)
  } catch (e) {
    if (!(e instanceof TruncationError)) throw e
    out.ids = null
    out.error = e.message
  }
  return out
}

async function main() {
  const [corpusPath, dir = path.join(__dirname, '..', '..', 'tests', 'fixtures', 'modernbert-tokenizer')] = process.argv.slice(2)
  if (!corpusPath) throw new Error('usage: golden_modernbert.js CORPUS [FIXTURE_DIR]')
  const corpus = fs.readFileSync(corpusPath, 'utf8').split('\n').filter((l) => l)
  await writeGolden(dir, corpus, 'modernbert', { singles: MODERNBERT, pairs: MODERNBERT_PAIRS, trunc: TRUNC }, 'tools/bpe/golden_modernbert.js')
}

// DIR/golden.jsonl of a [CLS] A [SEP] B [SEP] tokenizer (DIR/tokenizer.json): the shared inputs of golden_cases.js over
// `corpus`, then the family's own singles, pairs, and pairs under 10 max lengths x both truncations (categories named
// after `family`), each through `run`; the header names `generator` and the sha256 of the files given in `hashed`.
async function writeGolden(dir, corpus, family, { singles, pairs, trunc }, generator, hashed = { tokenizer_json_sha256: 'tokenizer.json' }) {
  const tokenizer = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'))
  tokenizer.disableTruncation()
  tokenizer.disablePadding()
  const CLS = tokenizer.tokenToId('[CLS]')
  const SEP = tokenizer.tokenToId('[SEP]')
  const all = shared.build(corpus)
  for (const t of singles) all.push({ category: family, kind: 'single', text: t })
  for (const [q, d] of pairs) all.push({ category: `${family}_pair`, kind: 'pair', query: q, document: d })
  for (const [name, q, d] of trunc)
    for (const max_length of [2, 3, 4, 5, 7, 10, 16, 19, 25, 40])
      for (const truncation of ['longest_first', 'only_second']) all.push({ category: `${family}_trunc_${name}`, kind: 'pair', query: q, document: d, max_length, truncation })
  for (const [, q] of trunc) for (const max_length of [1, 2, 3, 6, 9]) all.push({ category: `${family}_trunc_single`, kind: 'single', text: q, max_length })
  const header = {
    generator,
    library: 'tokenizers (npm, Hugging Face Rust core)',
    tokenizers_version: require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers', 'package.json')).version,
    truncation_rule: 'tokenizers <= 0.22 truncate_encodings, applied by the script (tools/tokenizer/README.md)',
    template: { single: '[CLS] $A [SEP]', pair: '[CLS] $A [SEP] $B:1 [SEP]:1', cls: CLS, sep: SEP },
    date: process.env.SOURCE_DATE_EPOCH ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000).toISOString() : new Date().toISOString(),
    ...Object.fromEntries(Object.entries(hashed).map(([key, file]) => [key, sha256(path.join(dir, file))])),
    cases: all.length,
  }
  const lines = [JSON.stringify(header)]
  for (const c of all) lines.push(JSON.stringify(await run(tokenizer, c, CLS, SEP)))
  fs.writeFileSync(path.join(dir, 'golden.jsonl'), lines.join('\n') + '\n')
  console.error(`${dir}/golden.jsonl: ${all.length} cases`)
}

// golden_deberta.js (tools/tokenizer) writes its fixture's file the same way.
module.exports = { writeGolden }

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1) })
