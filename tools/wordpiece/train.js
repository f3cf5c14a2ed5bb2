#!/usr/bin/env node
// Trains the stand-in WordPiece vocabularies with Hugging Face `tokenizers` (npm, the Rust core) on
// Debian text, and writes each fixture folder in the layout transformers' BertTokenizerFast saves:
// vocab.txt ([PAD]=0, [unused0..98], [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103, as bert-base-uncased),
// tokenizer.json (BertNormalizer, BertPreTokenizer, WordPiece, TemplateProcessing with type ids),
// tokenizer_config.json and special_tokens_map.json.
//
// Usage: node tools/wordpiece/train.js CORPUS [OUT_ROOT]
//   CORPUS    tools/out/debian_docs.txt (make_corpus.py)
//   OUT_ROOT  defaults to tests/fixtures/wordpiece; writes OUT_ROOT/uncased and OUT_ROOT/cased
// Needs `npm ci` in tools/tokenizer (the `tokenizers` package is resolved from there).
'use strict'

const fs = require('fs')
const os = require('os')
const path = require('path')
const tk = require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers'))
const cases = require(path.join(__dirname, '..', 'tokenizer', 'golden_cases'))

const SPECIALS = { '[PAD]': 0, '[UNK]': 100, '[CLS]': 101, '[SEP]': 102, '[MASK]': 103 }
const FIRST_LEARNED = 104

const VARIANTS = {
  // ms-marco-MiniLM's tokenizer (bert-base-uncased): lowercase, accents stripped (strip_accents null follows lowercase).
  uncased: { lowercase: true, stripAccents: null, size: 8000 },
  // A cased WordPiece (bert-base-cased, TinyBERT-cased): no lowercasing, accents kept.
  cased: { lowercase: false, stripAccents: null, size: 6000 },
}

function train(corpusFile, v) {
  const tokenizer = new tk.Tokenizer(tk.WordPiece.empty())
  tokenizer.setNormalizer(tk.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: v.stripAccents ?? undefined, lowercase: v.lowercase }))
  tokenizer.setPreTokenizer(tk.bertPreTokenizer())
  tokenizer.train([corpusFile])
  // The trainer lists the alphabet first, then pieces in the order their merges were learnt, so a prefix of
  // its vocabulary is itself a vocabulary a smaller training run would have produced.
  return Object.entries(tokenizer.getVocab(false)).sort((a, b) => a[1] - b[1]).map(([t]) => t)
}

function vocabList(learned, size) {
  const vocab = ['[PAD]']
  for (let i = 0; i < 99; i++) vocab.push(`[unused${i}]`)
  vocab.push('[UNK]', '[CLS]', '[SEP]', '[MASK]')
  for (const t of learned) {
    if (vocab.length >= size) break
    if (!(t in SPECIALS) && !/^\[unused\d+\]$/.test(t)) vocab.push(t)
  }
  return vocab
}

function tokenizerJson(vocab, v) {
  const added = Object.entries(SPECIALS).map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
  const sp = (id, type) => ({ SpecialToken: { id, type_id: type } })
  const seq = (id, type) => ({ Sequence: { id, type_id: type } })
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: v.stripAccents, lowercase: v.lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [sp('[CLS]', 0), seq('A', 0), sp('[SEP]', 0)],
      pair: [sp('[CLS]', 0), seq('A', 0), sp('[SEP]', 0), seq('B', 1), sp('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [SPECIALS['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [SPECIALS['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
    },
  }
}

function main() {
  const [corpus, outRoot = path.join(__dirname, '..', '..', 'tests', 'fixtures', 'wordpiece')] = process.argv.slice(2)
  if (!corpus) throw new Error('usage: train.js CORPUS [OUT_ROOT]')
  // The golden inputs' own texts join the Debian lines, so CJK and other scripts get some pieces too.
  const extra = cases.build(fs.readFileSync(corpus, 'utf8').split('\n').filter((l) => l).slice(0, 200))
    .flatMap((c) => (c.kind === 'single' ? [c.text] : [c.query, c.document]))
  const trainFile = path.join(os.tmpdir(), `wordpiece-train-${process.pid}.txt`)
  fs.writeFileSync(trainFile, fs.readFileSync(corpus, 'utf8') + extra.join('\n') + '\n')
  try {
    for (const [name, v] of Object.entries(VARIANTS)) {
      const vocab = vocabList(train(trainFile, v), v.size)
      const dir = path.join(outRoot, name)
      fs.mkdirSync(dir, { recursive: true })
      fs.writeFileSync(path.join(dir, 'vocab.txt'), vocab.join('\n') + '\n')
      fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson(vocab, v), null, 1) + '\n')
      fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({
        clean_up_tokenization_spaces: true, cls_token: '[CLS]', do_basic_tokenize: true, do_lower_case: v.lowercase,
        mask_token: '[MASK]', model_max_length: 512, never_split: null, pad_token: '[PAD]', sep_token: '[SEP]',
        strip_accents: v.stripAccents, tokenize_chinese_chars: true, tokenizer_class: 'BertTokenizer', unk_token: '[UNK]',
      }, null, 2) + '\n')
      fs.writeFileSync(path.join(dir, 'special_tokens_map.json'), JSON.stringify({
        cls_token: '[CLS]', mask_token: '[MASK]', pad_token: '[PAD]', sep_token: '[SEP]', unk_token: '[UNK]',
      }, null, 2) + '\n')
      console.error(`${dir}: ${vocab.length} ids`)
    }
  } finally {
    fs.unlinkSync(trainFile)
  }
}

main()
