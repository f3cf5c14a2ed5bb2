#!/usr/bin/env node
// Golden character offsets for RerankSharp's tokenizer: every distinct text of golden.jsonl (single texts,
// queries and documents, up to 4,000 UTF-16 units) encoded by the Hugging Face `tokenizers` library (its Rust
// core, via the npm binding) without special tokens, with the ids and the offsets of each token in the
// original text. The library reports offsets in Unicode code points; they are written here in UTF-16 code
// units, the indices of a .NET (and JavaScript) string.
//
// Usage: node golden_offsets.js [FIXTURES_DIR]
//   FIXTURES_DIR  defaults to ../../tests/fixtures/tokenizer (reads tokenizer.json and golden.jsonl,
//                 writes golden_offsets.jsonl)
'use strict'

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const { Tokenizer } = require('tokenizers')

const fixtures = path.resolve(process.argv[2] || path.join(__dirname, '..', '..', 'tests', 'fixtures', 'tokenizer'))
const MaxUnits = 4000

// Code point index -> UTF-16 index, for every boundary 0..n (the end included).
function utf16Boundaries(text) {
  const boundaries = [0]
  let units = 0
  for (const ch of text) {
    units += ch.length
    boundaries.push(units)
  }
  return boundaries
}

async function main() {
  const tokenizerJson = path.join(fixtures, 'tokenizer.json')
  const tokenizer = Tokenizer.fromFile(tokenizerJson)
  const lines = fs.readFileSync(path.join(fixtures, 'golden.jsonl'), 'utf8').split('\n').filter((l) => l.length > 0)
  const seen = new Set()
  const texts = []
  for (const line of lines.slice(1)) {
    const c = JSON.parse(line)
    for (const text of [c.text, c.query, c.document]) {
      if (typeof text !== 'string' || text.length > MaxUnits || seen.has(text)) continue
      seen.add(text)
      texts.push(text)
    }
  }

  const out = []
  for (const text of texts) {
    const enc = await tokenizer.encode(text, null, { addSpecialTokens: false })
    const boundaries = utf16Boundaries(text)
    const offsets = enc.getOffsets().map(([start, end]) => [boundaries[start], boundaries[end]])
    if (offsets.some(([s, e]) => s === undefined || e === undefined)) throw new Error(`offset outside ${JSON.stringify(text)}`)
    out.push(JSON.stringify({ text, ids: enc.getIds(), offsets }))
  }

  const version = require('tokenizers/package.json').version
  const header = {
    generator: 'tools/tokenizer/golden_offsets.js',
    library: 'tokenizers (npm, Hugging Face Rust core)',
    tokenizers_version: version,
    offsets: 'UTF-16 code units of the original text, [start, end); no special tokens',
    date: new Date().toISOString(),
    tokenizer_json_sha256: crypto.createHash('sha256').update(fs.readFileSync(tokenizerJson)).digest('hex'),
    texts: out.length,
  }
  fs.writeFileSync(path.join(fixtures, 'golden_offsets.jsonl'), [JSON.stringify(header), ...out].join('\n') + '\n')
  console.log(`wrote ${out.length} texts to ${path.join(fixtures, 'golden_offsets.jsonl')}`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
