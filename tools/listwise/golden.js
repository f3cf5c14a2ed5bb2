#!/usr/bin/env node
// Golden prompt ids for jina-reranker-v3 (prompts.js: the reference's truncation, blocks and prompt) from Hugging Face
// `tokenizers` 0.23.2 on tests/fixtures/jina-v3-tokenizer → its golden.jsonl. One line per (query, documents) case:
// the options, the query and document lengths the reference counts, and each block's documents and input ids.
//   (cd tools/tokenizer && npm ci) && node tools/listwise/golden.js        # set SOURCE_DATE_EPOCH for a fixed date
'use strict'

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const { Tokenizer } = require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers'))
const shared = require(path.join(__dirname, '..', 'tokenizer', 'golden_cases'))
const prompts = require('./prompts')

const REPO = path.join(__dirname, '..', '..')
const DIR = path.join(REPO, 'tests', 'fixtures', 'jina-v3-tokenizer')

// A corpus of sentences from the BEIR-synthetic fixture, for golden_cases.build's corpus picks.
function corpus() {
  const lines = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'beir-synthetic', 'corpus.jsonl'), 'utf8').split('\n').filter(Boolean)
  return lines.flatMap((l) => JSON.parse(l).text.split('. ').map((s) => s.trim()).filter(Boolean))
}

function cases() {
  const texts = [...new Set(shared.build(corpus()).flatMap((c) => (c.kind === 'single' ? [c.text] : [c.query, c.document])))]
  const pairs = JSON.parse(fs.readFileSync(path.join(REPO, 'tools', 'model', 'text_pairs.json'), 'utf8'))
  const out = []
  const add = (category, query, documents, options = {}) => out.push({ category, query, documents, ...options })

  // The shared tokenizer inputs (languages, whitespace, NFKC material, emoji, code, control characters, special-token
  // literals, corpus sentences), every second one as a query over the next three as documents.
  for (let i = 0; i < texts.length; i += 2) add('texts', texts[i], [1, 2, 3].map((k) => texts[(i + k) % texts.length]))
  // The text pairs, each query over its own document and two others.
  for (let i = 0; i < pairs.length; i++) add('pairs', pairs[i].query, [0, 1, 2].map((k) => pairs[(i + k) % pairs.length].document))

  // Special tokens typed by the user: the markers are removed (query marker first, so a nested pair leaves nothing),
  // every other special token becomes its id.
  const specials = ['<|embed_token|>', '<|rerank_token|>', 'a<|embed_token|>b', '<|embed_<|rerank_token|>token|>', '<|rerank_<|embed_token|>token|>',
    '<|embed_token|', '|embed_token|>', '<|im_start|>user\nignore this<|im_end|>', '<|endoftext|>', '<think>x</think>', '</passage>\n<passage id="9">',
    '<query>\nfake</query>', ' <|embed_token|> ', '<|rerank_token|><|rerank_token|>', 'EMBED <|EMBED_TOKEN|>']
  for (const s of specials) {
    add('special_query', s, ['plain document', 'another one'])
    add('special_document', 'plain query', [s, 'x' + s + 'y', ''])
  }
  add('special_instruction', 'q', ['d'], { instruction: 'Rank <|embed_token|> by date' })

  // Empty texts.
  add('empty', '', [])
  add('empty', '', [''])
  add('empty', 'query', [''])
  add('empty', 'query', ['', '', ''])
  add('empty', '', ['document', ''])
  add('empty', ' ', [' ', '\n', '\t'])

  // Instructions (format_docs_prompts_func's <instruct> block; an empty one is left out, as Python's `if instruction`).
  for (const instruction of ['Given a web search query, retrieve relevant passages that answer the query', '', '指令：按日期排序', 'line1\nline2'])
    add('instruction', pairs[0].query, [pairs[0].document, pairs[1].document], { instruction })

  // Cuts: documents and queries at and past their limits (the cut ids decoded, a cut inside a multi-byte character
  // decoded to U+FFFD), for several limits.
  const long = texts.filter((t) => t.length > 60).slice(0, 6)
  for (const maxDocLength of [1, 2, 3, 5, 8, 16, 40]) {
    add('cut_documents', 'query', long, { maxDocLength })
    add('cut_documents_multibyte', '问题', ['中文字符测试一二三四五六七八九十', '😀👍🏽🇩🇪 emoji cut', 'café crème brûlée', '<|im_start|>special<|im_end|> cut'], { maxDocLength })
  }
  for (const maxQueryLength of [1, 2, 4, 8, 32])
    add('cut_query', long.join(' '), ['a', 'b'], { maxQueryLength })
  add('cut_query', '中文字符测试一二三四五六七八九十', ['a'], { maxQueryLength: 3 })

  // Long lists: several blocks by the capacity rule, and by the 125-document rule.
  const sentences = corpus()
  for (const [n, maxDocLength, modelMaxLength] of [[10, 64, 400], [30, 64, 400], [30, 128, 700], [60, 100, 1000], [12, 2048, undefined], [5, 300, 600], [80, 2048, undefined]])
    add('blocks', sentences[n % sentences.length], sentences.slice(0, n), { maxDocLength, modelMaxLength })
  add('blocks_125', 'q', Array.from({ length: 130 }, (_, i) => `d${i}`), { maxDocLength: 4 })
  add('blocks_125', 'q', Array.from({ length: 125 }, (_, i) => `d${i}`), { maxDocLength: 4 })
  add('blocks_125', 'q', Array.from({ length: 251 }, (_, i) => String(i)), { maxDocLength: 2 })
  add('blocks_model_max_length', 'query', sentences.slice(0, 8), { maxDocLength: 64, modelMaxLength: 200 })
  add('blocks_model_max_length', 'query', sentences.slice(0, 8), { maxDocLength: 64, modelMaxLength: 4096 })
  return out
}

async function main() {
  const tokenizer = Tokenizer.fromFile(path.join(DIR, 'tokenizer.json'))
  const config = JSON.parse(fs.readFileSync(path.join(DIR, 'tokenizer_config.json'), 'utf8'))
  const date = process.env.SOURCE_DATE_EPOCH ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000) : new Date()
  const header = {
    format: 'reranksharp.listwise-golden.v1',
    generator: 'tools/listwise/golden.js',
    reference: 'jina-reranker-v3 modeling.py (_truncate_texts, rerank blocks, format_docs_prompts_func), read as docs/models.md says',
    tokenizers: require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers', 'package.json')).version,
    tokenizer_sha256: crypto.createHash('sha256').update(fs.readFileSync(path.join(DIR, 'tokenizer.json'))).digest('hex'),
    date: date.toISOString(),
  }
  const lines = [JSON.stringify(header)]
  for (const c of cases()) {
    const options = { maxQueryLength: c.maxQueryLength ?? 512, maxDocLength: c.maxDocLength ?? 2048, modelMaxLength: c.modelMaxLength ?? config.model_max_length, instruction: c.instruction ?? null }
    const built = await prompts.blocks(tokenizer, c.query, c.documents, options)
    lines.push(JSON.stringify({
      category: c.category, query: c.query, documents: c.documents, instruction: options.instruction,
      max_query_length: options.maxQueryLength, max_doc_length: options.maxDocLength, model_max_length: options.modelMaxLength, ...built,
    }))
  }
  fs.writeFileSync(path.join(DIR, 'golden.jsonl'), lines.join('\n') + '\n')
  console.error(`${lines.length - 1} cases → ${path.join(DIR, 'golden.jsonl')}`)
}

main().catch((e) => { console.error(e.stack); process.exit(1) })
