#!/usr/bin/env node
// ids and token type ids of query/document pairs from Hugging Face `tokenizers` (npm, the Rust core), for the
// end-to-end golden logits of the BERT fixtures. Usage: node encode_pairs.js TOKENIZER_JSON PAIRS_JSON > out.jsonl
// One {"input_ids": [...], "token_type_ids": [...]} line per pair; the pairs are short, so nothing is truncated.
'use strict'

const fs = require('fs')
const path = require('path')
const { Tokenizer } = require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers'))

async function main() {
  const [tokenizerPath, pairsPath] = process.argv.slice(2)
  if (!tokenizerPath || !pairsPath) throw new Error('usage: encode_pairs.js TOKENIZER_JSON PAIRS_JSON')
  const tokenizer = Tokenizer.fromFile(tokenizerPath)
  for (const { query, document } of JSON.parse(fs.readFileSync(pairsPath, 'utf8'))) {
    const e = await tokenizer.encode(query, document)
    process.stdout.write(JSON.stringify({ query, document, input_ids: e.getIds(), token_type_ids: e.getTypeIds() }) + '\n')
  }
}

main().catch((e) => { console.error(e.message); process.exit(1) })
