#!/usr/bin/env node
// Golden ids for the Gemma-kind tokenizer (tests/fixtures/gemma-tokenizer, tools/bpe/train_gemma.py) from Hugging Face
// `tokenizers` (npm, the Rust core):
//  - "single": a text's ids without special tokens (as FlagEmbedding tokenizes every piece), optionally cut to max_length;
//  - "prompt": bge-reranker-v2-gemma's input as FlagEmbedding's FlagLLMReranker.compute_score builds it
//    (FlagEmbedding/inference/reranker/decoder_only/base.py @ dfdace38): [bos] + ids("A: " + query) cut to
//    max_length * 3 // 4, ids("\n") + ids("B: " + passage) cut to max_length, the pair cut only_second to
//    max_length + |sep| + |prompt| (the end of the passage goes), then ids("\n") + ids(prompt); "reference_max_length"
//    is FlagEmbedding's max_length (absent: untruncated), the instruction (if any) its prompt.
// Usage: node tools/bpe/golden_gemma.js CORPUS
'use strict'

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const { Tokenizer } = require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers'))
const shared = require(path.join(__dirname, '..', 'tokenizer', 'golden_cases'))

const DIR = path.join(__dirname, '..', '..', 'tests', 'fixtures', 'gemma-tokenizer')
const PROMPT = "Given a query A and a passage B, determine whether the passage contains an answer to the query by providing a prediction of either 'Yes' or 'No'."

const GEMMA_TEXTS = [
  'Yes', 'No', ' Yes', 'yes', 'A: ', 'B: ', '\n', '\n\n', '\n\n\n\n', 'a\nb', 'a\n\nb', '\t', 'a\tb', '  ', '   ', '    ', '     x',
  '▁', '▁▁', '▁▁▁x', 'a▁b', ' ▁ ', '<start_of_turn>user\nhi<end_of_turn>', '<start_of_turn', '<table><h1>x</h1></table>', '<mask>',
  '<bos>', '<eos>', '<pad>', '<unk>', 'a<bos>b', '<0x41>', '<0xE4>', '12345', '3.14159', '١٢٣', 'x²', '😀', '👍🏽', '🇩🇪', '中文字符测试',
  'こんにちは世界', '한국어', 'Ελληνικά', 'עברית', 'café', 'cafe\u0301', '\u0000', '\u00ad', '\ufeff', '\u200b', '\r\n', 'end ',
  ' start', 'https://example.com/a?b=c', 'def f(x):\n    return x * 2\n', 'HELLO hello HeLLo', 'unbelievably', 'ſ', 'ﬁ',
]
const PROMPTS = [
  [null, 'What is the capital of China?', 'The capital of China is Beijing.'],
  [null, 'what is panda?', 'hi'],
  [null, 'what is panda?', 'The giant panda (Ailuropoda melanoleuca), sometimes called a panda bear or simply panda, is a bear species endemic to China.'],
  ['Judge whether the passage is about animals', 'panda', 'The giant panda is a bear.'],
  [null, '', ''], [null, 'Yes', 'No'], [null, '<bos>', '<eos>'], [null, '中国的首都是哪里?', '北京是中国的政治中心和首都。'],
  [null, 'q\n\nq', 'd  d\td'],
]

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')

async function main() {
  const [corpusPath] = process.argv.slice(2)
  if (!corpusPath) throw new Error('usage: golden_gemma.js CORPUS')
  const tokenizer = Tokenizer.fromFile(path.join(DIR, 'tokenizer.json'))
  tokenizer.disableTruncation()
  tokenizer.disablePadding()
  const ids = async (t) => (await tokenizer.encode(t, null, { addSpecialTokens: false })).getIds()
  const bos = tokenizer.tokenToId('<bos>')
  const sep = await ids('\n')
  const corpus = fs.readFileSync(corpusPath, 'utf8').split('\n').filter((l) => l)
  const lines = []
  const single = shared.singles(lines, ids)
  const prompt = async (category, instruction, query, document, L) => {
    const task = await ids(instruction || PROMPT)
    let q = await ids(`A: ${query}`)
    let p = await ids(`B: ${document}`)
    let second = [...sep, ...p]
    if (L !== undefined) {
      q = q.slice(0, Math.floor(L * 3 / 4))
      p = p.slice(0, L)
      second = [...sep, ...p]
      const over = 1 + q.length + second.length - (L + sep.length + task.length)
      if (over > 0) second = second.slice(0, second.length - over)
    }
    const out = { category, kind: 'prompt', query, document }
    if (instruction !== null) out.instruction = instruction
    if (L !== undefined) out.reference_max_length = L
    out.ids = [bos, ...q, ...second, ...sep, ...task]
    lines.push(out)
  }
  for (const c of shared.build(corpus)) {
    if (c.kind === 'single') await single(c.category, c.text, c.max_length)
    else if (c.max_length === undefined) await prompt(c.category, null, c.query, c.document)
    else if (c.max_length >= 6 && c.truncation === 'only_second') await prompt(c.category, null, c.query, c.document, c.max_length)
  }
  for (const t of GEMMA_TEXTS) await single('gemma', t)
  for (const [i, q, d] of PROMPTS) await prompt('prompt', i, q, d)
  for (const [i, q, d] of PROMPTS.slice(0, 4)) for (const L of [6, 7, 8, 12, 20, 40, 512]) await prompt('prompt_trunc', i, q, d, L)
  // Prompts of corpus lines: a short query against a passage, some cut (FlagEmbedding's default max_length is 512).
  for (let k = 0; k < 240; k++) {
    const query = corpus[(k * 104729) % corpus.length].slice(0, 60)
    const passage = corpus[(k * 7919 + 13) % corpus.length] + (k % 5 === 0 ? ' ' + corpus[(k * 31 + 7) % corpus.length] : '')
    await prompt('corpus_prompt', null, query, passage, k % 4 === 0 ? 16 + (k % 48) : undefined)
  }
  const header = {
    generator: 'tools/bpe/golden_gemma.js',
    library: 'tokenizers (npm, Hugging Face Rust core)',
    tokenizers_version: require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers', 'package.json')).version,
    prompt: { default_prompt: PROMPT, sep: '\n', source: 'FlagEmbedding decoder_only/base.py @ dfdace38 (FlagLLMReranker)' },
    date: process.env.SOURCE_DATE_EPOCH ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000).toISOString() : new Date().toISOString(),
    tokenizer_json_sha256: sha256(path.join(DIR, 'tokenizer.json')),
    cases: lines.length,
  }
  fs.writeFileSync(path.join(DIR, 'golden.jsonl'), [header, ...lines].map((l) => JSON.stringify(l)).join('\n') + '\n')
  console.error(`${DIR}/golden.jsonl: ${lines.length} cases`)
}

main().catch((e) => { console.error(e); process.exit(1) })
