#!/usr/bin/env node
// Token ids of query/document pairs from the Hugging Face `tokenizers` library (the Rust core the
// reference CrossEncoder/FlagReranker run), for end-to-end golden scores of text pairs.
//
// Usage: node tools/model/encode_pairs.js TOKENIZER_JSON PAIRS_JSON > ids.jsonl
// Needs `npm ci` in tools/tokenizer first (the `tokenizers` package is resolved from there).
// The pairs are short, so no truncation applies; one {"input_ids": [...]} line per pair, in order.
'use strict'

const fs = require('fs')
const path = require('path')
const { Tokenizer } = require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers'))

async function main() {
  const [tokenizerPath, pairsPath] = process.argv.slice(2)
  if (!tokenizerPath || !pairsPath) throw new Error('usage: encode_pairs.js TOKENIZER_JSON PAIRS_JSON')
  const tokenizer = Tokenizer.fromFile(tokenizerPath)
  for (const { query, document } of JSON.parse(fs.readFileSync(pairsPath, 'utf8'))) {
    const encoding = await tokenizer.encode(query, document)
    process.stdout.write(JSON.stringify({ input_ids: encoding.getIds() }) + '\n')
  }
}

main().catch((e) => { console.error(e.message); process.exit(1) })
