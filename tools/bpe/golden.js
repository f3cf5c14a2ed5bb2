#!/usr/bin/env node
// Golden ids for the byte-level BPE fixture (tests/fixtures/bpe) from Hugging Face `tokenizers` (npm, the Rust core):
//  - "single": a text's ids (Qwen's tokenizer adds no special tokens), optionally cut to max_length (first tokens kept);
//  - "prompt": Qwen3-Reranker's input as its model card builds it (prefix + tokenizer(format_instruction(...),
//    truncation='longest_first', max_length=max_length - len(prefix) - len(suffix)) + suffix), the cut by the rule of
//    tokenizers <= 0.22 (keep the first tokens).
// Usage: node tools/bpe/golden.js CORPUS [FIXTURES_DIR]
'use strict'

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const { Tokenizer } = require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers'))
const shared = require(path.join(__dirname, '..', 'tokenizer', 'golden_cases'))

// Qwen/Qwen3-Reranker-0.6B model card (README, "Transformers Usage").
const PREFIX = '<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n'
const SUFFIX = '<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n'
const DEFAULT_INSTRUCTION = 'Given a web search query, retrieve relevant passages that answer the query'
const format = (instruction, query, doc) => `<Instruct>: ${instruction ?? DEFAULT_INSTRUCTION}\n<Query>: ${query}\n<Document>: ${doc}`

const BPE_TEXTS = [
  "it's", "IT'S", "we're they've I'm you'll he'd", "don't", "'S 'T 'RE", "ſ", 'numbers 1234567890 ١٢٣ ½', '3.14 and 2,000', 'x  y   z', ' leading', 'trailing ',
  'a\nb', 'a\r\nb', 'a\n\n\nb', '\n', '  \n  ', 'tab\there', '<|im_start|>', '<|im_end|>', '<|endoftext|>', '<think>', '</think>', 'a<|im_start|>b',
  '<think>\n\n</think>\n\n', '<|im_start|>user\nhello<|im_end|>', '< think >', '<|im_sta', 'yes', 'no', ' yes', ' no', 'Yes No YES NO', 'yes.', 'no!',
  'Ġ', 'Ċ', 'ĠĠ', 'café', 'cafe\u0301', 'Å', 'A\u030a', '😀👍🏽', '中文字符测试', 'こんにちは', '한국어', 'emoji🇩🇪flag', '\u0000', '\u00ad', '\ufeffbom',
  'https://example.com/a?b=c&d=e', 'snake_case camelCase', '!!!???', '...', '—–-', '«»', 'C++ #include <stdio.h>', 'def f(x):\n    return x * 2\n',
]
const PROMPTS = [
  [null, 'What is the capital of China?', 'The capital of China is Beijing.'],
  [null, 'Explain gravity', 'Gravity is a force that attracts two bodies towards each other.'],
  ['Given a question, retrieve passages that answer it', 'what is panda?', 'The giant panda is a bear species endemic to China.'],
  ['', 'q', 'd'], [null, '', ''], [null, 'yes', 'no'], [null, '<|im_end|>', '<think>'], ['指令', '中国的首都是哪里?', '北京是中国的政治中心和首都。'],
]

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

async function main() {
  const [corpusPath, dir = path.join(__dirname, '..', '..', 'tests', 'fixtures', 'bpe')] = process.argv.slice(2)
  if (!corpusPath) throw new Error('usage: golden.js CORPUS [FIXTURES_DIR]')
  const tokenizer = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'))
  tokenizer.disableTruncation()
  tokenizer.disablePadding()
  const ids = async (t) => (await tokenizer.encode(t, null, { addSpecialTokens: true })).getIds()
  const prefix = await ids(PREFIX)
  const suffix = await ids(SUFFIX)
  const corpus = fs.readFileSync(corpusPath, 'utf8').split('\n').filter((l) => l)
  const lines = []
  const single = shared.singles(lines, ids)
  const prompt = async (category, instruction, query, document, budget) => {
    const content = await ids(format(instruction, query, document))
    const out = { category, kind: 'prompt', query, document }
    if (instruction !== null) out.instruction = instruction
    if (budget !== undefined) out.max_length = budget + prefix.length + suffix.length
    out.ids = [...prefix, ...(budget === undefined ? content : content.slice(0, budget)), ...suffix]
    lines.push(out)
  }
  for (const c of shared.build(corpus)) {
    if (c.kind === 'single') await single(c.category, c.text, c.max_length)
    else await prompt(c.category, null, c.query, c.document, c.max_length)
  }
  for (const t of BPE_TEXTS) await single('bpe', t)
  for (const [i, q, d] of PROMPTS) await prompt('prompt', i, q, d)
  for (const [i, q, d] of PROMPTS.slice(0, 3)) for (const budget of [0, 1, 5, 17, 40]) await prompt('prompt_trunc', i, q, d, budget)
  const header = {
    generator: 'tools/bpe/golden.js',
    library: 'tokenizers (npm, Hugging Face Rust core)',
    tokenizers_version: require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers', 'package.json')).version,
    truncation_rule: 'keep the first max_length tokens (tokenizers <= 0.22, one sequence)',
    prompt: { prefix: PREFIX, suffix: SUFFIX, default_instruction: DEFAULT_INSTRUCTION, source: 'Qwen/Qwen3-Reranker-0.6B model card' },
    date: process.env.SOURCE_DATE_EPOCH ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000).toISOString() : new Date().toISOString(),
    tokenizer_json_sha256: sha256(path.join(dir, 'tokenizer.json')),
    cases: lines.length,
  }
  fs.writeFileSync(path.join(dir, 'golden.jsonl'), [header, ...lines].map((l) => JSON.stringify(l)).join('\n') + '\n')
  console.error(`${dir}/golden.jsonl: ${lines.length} cases`)
}

main().catch((e) => { console.error(e); process.exit(1) })
