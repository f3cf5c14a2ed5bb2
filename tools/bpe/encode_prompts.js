#!/usr/bin/env node
// Qwen3-Reranker prompt ids for text pairs from Hugging Face `tokenizers` (npm, the Rust core): the model card's
// prefix + format_instruction(instruction, query, document) + suffix, untruncated, as golden input for the float64
// reference. Usage: node encode_prompts.js TOKENIZER_JSON PAIRS_JSON > out.jsonl   (pairs may carry "instruction")
'use strict'

const fs = require('fs')
const path = require('path')
const { Tokenizer } = require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers'))

const PREFIX = '<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n'
const SUFFIX = '<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n'
const DEFAULT_INSTRUCTION = 'Given a web search query, retrieve relevant passages that answer the query'

async function main() {
  const [tokenizerPath, pairsPath] = process.argv.slice(2)
  const tokenizer = Tokenizer.fromFile(tokenizerPath)
  const ids = async (t) => (await tokenizer.encode(t, null, { addSpecialTokens: true })).getIds()
  for (const p of JSON.parse(fs.readFileSync(pairsPath, 'utf8'))) {
    const text = `<Instruct>: ${p.instruction ?? DEFAULT_INSTRUCTION}\n<Query>: ${p.query}\n<Document>: ${p.document}`
    const input_ids = [...(await ids(PREFIX)), ...(await ids(text)), ...(await ids(SUFFIX))]
    process.stdout.write(JSON.stringify({ ...p, input_ids, yes: tokenizer.tokenToId('yes'), no: tokenizer.tokenToId('no') }) + '\n')
  }
}

main().catch((e) => { console.error(e.message); process.exit(1) })
