#!/usr/bin/env node
// Golden ids for the WordPiece tokenizer fixtures, from Hugging Face `tokenizers` (npm, the Rust core)
// reading each fixture's tokenizer.json: the shared inputs of tools/tokenizer/golden_cases.js plus cases
// aimed at BERT's basic tokenizer and WordPiece (accents, casing, CJK, punctuation, control characters,
// ## splits, unknown and over-long words, the [CLS]/[SEP] literals).
//
// Usage: node tools/wordpiece/golden.js CORPUS [FIXTURES_ROOT]
//   writes FIXTURES_ROOT/{uncased,cased}/golden.jsonl (FIXTURES_ROOT defaults to tests/fixtures/wordpiece)
//
// As in tools/tokenizer/golden.js, each sequence is encoded without specials and untruncated; the script
// applies the truncation rule of tokenizers <= 0.22 and the BERT template ([CLS] A [SEP] B [SEP], type ids
// 0 for [CLS] A [SEP], 1 for B [SEP]) itself, after checking that template against the library's own.
'use strict'

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const { Tokenizer } = require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers'))
const shared = require(path.join(__dirname, '..', 'tokenizer', 'golden_cases'))

const CLS = 101
const SEP = 102

const WORDPIECE = [
  'unbelievably', 'Unbelievably', 'antidisestablishmentarianism', 'supercalifragilisticexpialidocious', 'pneumonoultramicroscopicsilicovolcanoconiosis',
  'qwxzvbnmkjh', 'xyzzyplughfoo', 'zzzzzzzzzzzzzzzzzzzz', 'a'.repeat(99), 'a'.repeat(100), 'a'.repeat(101), 'é'.repeat(101), 'ab'.repeat(60),
  'configuration reconfiguration preconfigured misconfigurations', 'tokenization tokenizers tokenize', "don't can't won't it's", 'U.S.A. e.g. i.e.',
  'state-of-the-art', 'co-operate', 'email@example.com', 'https://www.debian.org/doc/?q=1&x=2#top', 'C++ C# F# .NET', '3.14159 1,000,000 -42 +7 1e10',
  '$100 €50 £20 ¥1000', '100% 50°C 3×4 ÷2', '«guillemets» „quotes“ ‘single’', '¿Qué? ¡Sí!', 'a—b–c‐d', '…', '©®™', '§¶†‡', 'x_y_z', 'snake_case_name',
  'CamelCaseWord', 'ALLCAPS', 'MiXeD CaSe', 'Ünïcödé Àccénts', 'naïve café résumé', 'Ångström Øre Æther Œuvre', 'Straße', 'İstanbul', 'ǅemal',
  'ﬁne ﬂow', 'Ｆｕｌｌ　ｗｉｄｔｈ', '中文字符', '中文abc中文', '漢字かなカナ', '한국어 텍스트', 'ภาษาไทย', '𠀀𠀁 𪜀 𫝀 𫠠 𬺰 丽', '㐀㐁 豈 更',
  '[CLS]', '[SEP]', '[PAD]', '[MASK]', '[UNK]', '[cls] [sep]', 'a[SEP]b', '[CLS]hello[SEP]world', ' [SEP] ', '[ SEP ]', '[SEP][SEP]', '##ing', '##', '#hashtag',
  'tab\tseparated\tvalues', 'line\r\nbreak', 'nul\x00byte', 'bell\x07char', 'esc\x1b[0m', 'soft\u00adhyphen', 'zero\u200bwidth', 'bom\ufeffhere', 'rlm\u200ftext',
  '\ufffd replacement', 'private \ue000 use', 'emoji 😀 👍🏽 🇩🇪', 'math 𝐀𝐁𝐂 ∑∫√', 'arrows → ← ↔', 'box ─│┌┐', 'a\u0301e\u0300i\u0302', 'ｶﾞ', 'Ω ohm Å',
]
const WORDPIECE_PAIRS = [
  ['How many people live in Berlin?', 'Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.'],
  ['How many people live in Berlin?', 'New York City is famous for the Metropolitan Museum of Art.'],
  ['what is the capital of france', 'Paris is the capital and most populous city of France.'],
  ['Was ist die Hauptstadt?', 'Die Hauptstadt ist Berlin.'],
  ['[SEP] in query', 'and [SEP] in document'], ['', 'only document'], ['only query', ''], ['CJK 中文', '日本語のテキスト'],
  ['unbelievably', 'antidisestablishmentarianism'], ['a'.repeat(120), 'b'],
]

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

class TruncationError extends Error {}

// Same rule as tools/tokenizer/golden.js (tokenizers <= 0.22 truncate_encodings).
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

async function run(tokenizer, c) {
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
  const [corpusPath, root = path.join(__dirname, '..', '..', 'tests', 'fixtures', 'wordpiece')] = process.argv.slice(2)
  if (!corpusPath) throw new Error('usage: golden.js CORPUS [FIXTURES_ROOT]')
  const corpus = fs.readFileSync(corpusPath, 'utf8').split('\n').filter((l) => l)
  const all = shared.build(corpus)
  for (const t of WORDPIECE) all.push({ category: 'wordpiece', kind: 'single', text: t })
  for (const [q, d] of WORDPIECE_PAIRS) all.push({ category: 'wordpiece_pair', kind: 'pair', query: q, document: d })
  for (const [q, d] of WORDPIECE_PAIRS.slice(0, 4))
    for (const max_length of [3, 4, 5, 8, 13, 21])
      for (const truncation of ['longest_first', 'only_second']) all.push({ category: 'wordpiece_trunc', kind: 'pair', query: q, document: d, max_length, truncation })
  const version = require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers', 'package.json')).version
  for (const name of ['uncased', 'cased']) {
    const dir = path.join(root, name)
    const tokenizer = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'))
    tokenizer.disableTruncation()
    tokenizer.disablePadding()
    const header = {
      generator: 'tools/wordpiece/golden.js',
      library: 'tokenizers (npm, Hugging Face Rust core)',
      tokenizers_version: version,
      truncation_rule: 'tokenizers <= 0.22 truncate_encodings, applied by the script (tools/tokenizer/README.md)',
      date: process.env.SOURCE_DATE_EPOCH ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000).toISOString() : new Date().toISOString(),
      tokenizer_json_sha256: sha256(path.join(dir, 'tokenizer.json')),
      vocab_txt_sha256: sha256(path.join(dir, 'vocab.txt')),
      cases: all.length,
    }
    const lines = [JSON.stringify(header)]
    for (const c of all) lines.push(JSON.stringify(await run(tokenizer, c)))
    fs.writeFileSync(path.join(dir, 'golden.jsonl'), lines.join('\n') + '\n')
    console.error(`${dir}/golden.jsonl: ${all.length} cases`)
  }
}

main().catch((e) => { console.error(e); process.exit(1) })
