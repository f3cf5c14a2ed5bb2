#!/usr/bin/env node
// Golden ids for the DeBERTa-v3-kind tokenizer fixture (tests/fixtures/deberta-tokenizer, made by
// make_deberta_tokenizer.py) from Hugging Face `tokenizers` (npm, the Rust core) reading its tokenizer.json: the shared
// inputs of golden_cases.js plus cases aimed at what DeBERTa's converter adds to XLM-R's pipeline (the Strip normaliser
// on each piece between special tokens, the [CLS]/[SEP]/[PAD]/[UNK]/[MASK] literals, the pre-tokenizer Sequence) and
// pairs under truncation, written by golden_modernbert.js's `writeGolden`: sequences encoded without specials and
// untruncated, the truncation rule of tokenizers <= 0.22 (README.md) and the template [CLS] A [SEP] B:1 [SEP]:1 applied by
// the script after checking it against the library's post-processor; token type ids recorded for pairs.
//
// Usage: cd tools/tokenizer && npm ci && node golden_deberta.js [FIXTURE_DIR]   -> FIXTURE_DIR/golden.jsonl
// The corpus lines golden_cases.js samples are the XLM-R golden file's own corpus texts, so nothing outside the
// repository is read.
'use strict'

const fs = require('fs')
const path = require('path')
const { writeGolden } = require(path.join(__dirname, '..', 'bpe', 'golden_modernbert'))

const WS = [' ', '  ', '\t', '\n', '\u00a0', '\u3000', '\u2028', '\u200b', ' \t\n ']
const DEBERTA = [
  // Strip runs on every piece between special tokens, before the charsmap: spaces next to a special vanish.
  ...WS.map((w) => `${w}lead`), ...WS.map((w) => `trail${w}`), ...WS.map((w) => `a${w}[SEP]${w}b`), ...WS.map((w) => `${w}[CLS]${w}`),
  'a [MASK] b', 'a[MASK]b', '[MASK]', ' [MASK] ', '[MASK][MASK]', '[MASK] [MASK]', 'The capital of France is [MASK].',
  '[CLS]', '[SEP]', '[PAD]', '[UNK]', '[CLS] a [SEP] b [SEP]', 'x[PAD]y', '[cls]', '[ CLS ]', '[CLS', 'SEP]', '＜CLS＞', '［CLS］',
  '<s>', '</s>', '<pad>', '<unk>', '<mask>', '▁', ' ▁ ', '▁▁x',
  'use     multiple     spaces!', 'x \t y', '   ', '\n\n', '', ' \u00a0 ', 'tab\tinside', 'line\r\nbreak',
  'Ångström', 'A\u030angstro\u0308m', '\ufb01nancial', 'ｆｕｌｌ　ｗｉｄｔｈ', '①②③', '㍿', 'x²', 'H₂O',
  'def f():\n    return 1\n', 'https://huggingface.co/mixedbread-ai/mxbai-rerank-base-v1', 'pneumonoultramicroscopicsilicovolcanoconiosis',
  '中文分词测试', '東京タワーへ行きました', '한국어 토큰화', '👨‍👩‍👧‍👦 family', 'e\u0301\u0302\u0303',
]
const DEBERTA_PAIRS = [
  ['what is the capital of China?', 'Beijing is the capital of China.'], ['  padded query  ', '\tpadded document\n'],
  ['[MASK]', '[MASK]'], ['q [SEP] q', 'd [CLS] d'], ['   ', '    '], ['', ''], ['query', ''], ['', 'document'],
  ['中国的首都是哪里?', '北京是中国的政治中心和首都。'], ['😀', '👨‍👩‍👧‍👦'], ['def f(x):', '    return x * 2\n'],
]
const TRUNC = [
  ['capital', 'what is the capital of China?', 'Beijing is the capital of China. It has been the capital for centuries and hosts the central government.'],
  ['spaces', '  a     b     c  ', 'd          e          f          g'],
  ['mask', 'hello [MASK] world', 'The capital of France is [MASK]. The capital of Italy is [MASK].'],
  ['long_query', 'a very long query that goes on and on about the history of the capital cities of the world', 'short doc'],
]

async function main() {
  const dir = path.resolve(process.argv[2] || path.join(__dirname, '..', '..', 'tests', 'fixtures', 'deberta-tokenizer'))
  const xlmr = path.join(__dirname, '..', '..', 'tests', 'fixtures', 'tokenizer', 'golden.jsonl')
  const corpus = fs.readFileSync(xlmr, 'utf8').split('\n').slice(1).filter((l) => l)
    .map((l) => JSON.parse(l)).filter((c) => c.category === 'corpus').map((c) => c.text.trim())
  await writeGolden(dir, corpus, 'deberta', { singles: DEBERTA, pairs: DEBERTA_PAIRS, trunc: TRUNC }, 'tools/tokenizer/golden_deberta.js',
    { tokenizer_json_sha256: 'tokenizer.json', sentencepiece_model_sha256: 'spm.model' })
}

main().catch((e) => { console.error(e); process.exit(1) })
