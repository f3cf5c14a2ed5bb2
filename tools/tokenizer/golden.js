#!/usr/bin/env node
// Golden token ids for RerankSharp's tokenizer tests, from the Hugging Face `tokenizers`
// library (its Rust core, via the npm binding) reading our tokenizer.json.
//
// Usage: node golden.js [FIXTURES_DIR] [CORPUS]
//   FIXTURES_DIR  defaults to ../../tests/fixtures/tokenizer (reads tokenizer.json, writes golden.jsonl)
//   CORPUS        defaults to ../out/corpus.txt (make_corpus.sh); lines sampled from it become cases
//
// Truncation is OFF in the library: each sequence is encoded without special tokens, and the
// script applies the classic rule of tokenizers <= 0.22 (README.md, "Truncation rule") and the
// XLM-R template itself. tokenizers 0.23 stops tokenizing early at max_length, which moves the odd
// token of longest_first; the model's reference scores come from the classic rule.
'use strict'

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const { Tokenizer } = require('tokenizers')
const cases = require('./golden_cases')

const fixtures = path.resolve(process.argv[2] || path.join(__dirname, '..', '..', 'tests', 'fixtures', 'tokenizer'))
const corpusPath = path.resolve(process.argv[3] || path.join(__dirname, '..', 'out', 'corpus.txt'))

const BOS = 0
const EOS = 2

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

class TruncationError extends Error {}

// tokenizers <= 0.22 `truncate_encodings` (src/utils/truncation.rs), called by
// TokenizerImpl::post_process with max_length - n_added_tokens. Lengths only; right side, stride 0.
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
  if (strategy === 'only_second') {
    if (n2 === null) throw new TruncationError('Truncation error: Second sequence not provided')
    if (n2 > toRemove) return [n1, n2 - toRemove]
    throw new TruncationError('Truncation error: Sequence to truncate too short to respect the provided max_length')
  }
  throw new Error(`unknown strategy ${strategy}`)
}

async function contentIds(tokenizer, text) {
  const enc = await tokenizer.encode(text, null, { addSpecialTokens: false })
  return enc.getIds()
}

function sameIds(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

async function run(tokenizer, c) {
  const out = { category: c.category, kind: c.kind }
  if (c.kind === 'single') out.text = c.text
  else {
    out.query = c.query
    out.document = c.document
  }
  if (c.max_length !== undefined) out.max_length = c.max_length
  if (c.truncation !== undefined) out.truncation = c.truncation

  const a = await contentIds(tokenizer, c.kind === 'single' ? c.text : c.query)
  const b = c.kind === 'pair' ? await contentIds(tokenizer, c.document) : null

  // The template check: the library's own post-processor must agree with the one applied below.
  const full = await tokenizer.encode(c.kind === 'single' ? c.text : c.query, c.kind === 'pair' ? c.document : null)
  const template = b === null ? [BOS, ...a, EOS] : [BOS, ...a, EOS, EOS, ...b, EOS]
  if (!sameIds(full.getIds(), template)) throw new Error(`template mismatch for ${JSON.stringify(c)}`)

  if (c.max_length === undefined) {
    out.ids = template
    return out
  }
  const specials = b === null ? 2 : 4
  if (c.max_length < specials) {
    // tokenizers computes max_length - n_added_tokens in usize; RerankSharp rejects it instead.
    out.ids = null
    out.error = `max_length ${c.max_length} is smaller than the ${specials} special tokens`
    return out
  }
  try {
    const [n1, n2] = truncateLengths(a.length, b === null ? null : b.length, c.max_length - specials, c.truncation || 'longest_first')
    const ta = a.slice(0, n1)
    out.ids = b === null ? [BOS, ...ta, EOS] : [BOS, ...ta, EOS, EOS, ...b.slice(0, n2), EOS]
  } catch (e) {
    if (!(e instanceof TruncationError)) throw e
    out.ids = null
    out.error = e.message
  }
  return out
}

async function main() {
  const tokenizerPath = path.join(fixtures, 'tokenizer.json')
  const modelPath = path.join(fixtures, 'sentencepiece.bpe.model')
  const tokenizer = Tokenizer.fromFile(tokenizerPath)
  tokenizer.disableTruncation()
  tokenizer.disablePadding()

  const corpus = fs.existsSync(corpusPath) ? fs.readFileSync(corpusPath, 'utf8').split('\n').filter((l) => l) : null
  if (corpus === null) throw new Error(`${corpusPath} not found; run make_corpus.sh first`)
  const all = cases.build(corpus)

  const version = require('tokenizers/package.json').version
  const date = process.env.SOURCE_DATE_EPOCH
    ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000).toISOString()
    : new Date().toISOString()
  const header = {
    generator: 'tools/tokenizer/golden.js',
    library: 'tokenizers (npm, Hugging Face Rust core)',
    tokenizers_version: version,
    truncation_rule: 'tokenizers <= 0.22 truncate_encodings, applied by the script (README.md)',
    date,
    tokenizer_json_sha256: sha256(tokenizerPath),
    sentencepiece_model_sha256: sha256(modelPath),
    cases: all.length,
  }

  const lines = [JSON.stringify(header)]
  const counts = {}
  for (const c of all) {
    const out = await run(tokenizer, c)
    lines.push(JSON.stringify(out))
    counts[c.category] = (counts[c.category] || 0) + 1
  }
  fs.writeFileSync(path.join(fixtures, 'golden.jsonl'), lines.join('\n') + '\n')
  for (const [k, v] of Object.entries(counts)) console.error(`${k}\t${v}`)
  console.error(`total\t${all.length}`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
