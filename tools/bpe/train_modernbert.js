#!/usr/bin/env node
// Trains the stand-in byte-level BPE of the ModernBERT kind (answerdotai/ModernBERT-base, the OLMo / GPT-NeoX-20B
// tokenizer with a BERT template, which Alibaba-NLP/gte-reranker-modernbert-base and the Ettin models reuse) with
// Hugging Face `tokenizers` (npm, the Rust core) on Debian text, and writes tests/fixtures/modernbert-tokenizer/ in the
// layout of the published files:
//   tokenizer.json          NFC normalizer; ByteLevel pre-tokenizer (no prefix space, trim_offsets, GPT-2 regex);
//                           BPE without unk, dropout or byte fallback; TemplateProcessing "[CLS] $A [SEP]" and
//                           "[CLS] $A [SEP] $B:1 [SEP]:1"; ByteLevel decoder; the added tokens numbered as the real
//                           file numbers them (see below)
//   tokenizer_config.json   PreTrainedTokenizerFast, added_tokens_decoder, model_max_length 8192
//   special_tokens_map.json
//
// Id layout, as ModernBERT-base's (tokenizer_config.json's added_tokens_decoder, 0..50367):
//   0 |||IP_ADDRESS||| (normalized, not special)   1 <|padding|> (special)
//   2 .. n-1              the BPE vocabulary: the 256 byte symbols, then one token per merge
//   n .. n+22             runs of 24 down to 2 spaces (normalized, not special), as 50254..50276
//   then |||EMAIL_ADDRESS|||, |||PHONE_NUMBER||| (normalized), <|endoftext|> (special),
//   [UNK] [CLS] [SEP] [PAD] [MASK] (special; [MASK] has lstrip: true), then [unused0].. (normalized, not special)
//   up to a multiple of 64 ids (ModernBERT pads 50285 to 50368 the same way).
//
// Usage: node tools/bpe/train_modernbert.js CORPUS [OUT_DIR]   (CORPUS: tools/out/debian_docs.txt, tools/wordpiece/make_corpus.py)
'use strict'

const fs = require('fs')
const os = require('os')
const path = require('path')
const tk = require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers'))
const cases = require(path.join(__dirname, '..', 'tokenizer', 'golden_cases'))

// 2,500 merges keep the vocabulary at 2,816 ids, so a float32 model fixture of hidden size 48 stays well under 1 MB.
const MERGES = 2500
const LOW = ['|||IP_ADDRESS|||', '<|padding|>']
const SPACE_RUNS = Array.from({ length: 23 }, (_, i) => ' '.repeat(24 - i))
const PAD_TO = 64

function addedToken(id, content, { special = false, normalized = !special, lstrip = false } = {}) {
  return { id, content, single_word: false, lstrip, rstrip: false, normalized, special }
}

function main() {
  const [corpus, out = path.join(__dirname, '..', '..', 'tests', 'fixtures', 'modernbert-tokenizer')] = process.argv.slice(2)
  if (!corpus) throw new Error('usage: train_modernbert.js CORPUS [OUT_DIR]')
  const text = fs.readFileSync(corpus, 'utf8')
  const extra = cases.build(text.split('\n').filter((l) => l).slice(0, 200))
    .flatMap((c) => (c.kind === 'single' ? [c.text] : [c.query, c.document]))
  const trainFile = path.join(os.tmpdir(), `mb-bpe-train-${process.pid}.txt`)
  fs.writeFileSync(trainFile, text + extra.join('\n') + '\n')
  const trained = new tk.Tokenizer(tk.BPE.empty())
  trained.setNormalizer(tk.nfcNormalizer())
  trained.setPreTokenizer(tk.byteLevelPreTokenizer(false, true))
  trained.train([trainFile])
  const savedPath = path.join(os.tmpdir(), `mb-bpe-trained-${process.pid}.json`)
  trained.save(savedPath)
  const saved = JSON.parse(fs.readFileSync(savedPath, 'utf8'))
  fs.unlinkSync(savedPath)
  fs.unlinkSync(trainFile)

  // A prefix of the merges is a smaller BPE of its own: the byte alphabet plus what those merges make.
  const merges = saved.model.merges.slice(0, MERGES).map((m) => (Array.isArray(m) ? m : m.split(' ')))
  if (merges.length !== MERGES) throw new Error(`only ${merges.length} merges trained`)
  const vocab = new Map()
  for (const t of LOW) vocab.set(t, vocab.size)
  for (const c of tk.byteLevelAlphabet().sort()) vocab.set(c, vocab.size)
  for (const [a, b] of merges) if (!vocab.has(a + b)) vocab.set(a + b, vocab.size)
  const n = vocab.size

  const added = [addedToken(0, LOW[0]), addedToken(1, LOW[1], { special: true })]
  let id = n
  for (const run of SPACE_RUNS) added.push(addedToken(id++, run))
  added.push(addedToken(id++, '|||EMAIL_ADDRESS|||'), addedToken(id++, '|||PHONE_NUMBER|||'), addedToken(id++, '<|endoftext|>', { special: true }))
  const specials = {}
  for (const s of ['[UNK]', '[CLS]', '[SEP]', '[PAD]', '[MASK]']) {
    specials[s] = id
    added.push(addedToken(id++, s, { special: true, lstrip: s === '[MASK]' }))
  }
  for (let u = 0; id % PAD_TO !== 0; u++) added.push(addedToken(id++, `[unused${u}]`))
  const total = id

  const template = (withPair) => {
    const t = [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }]
    if (withPair) t.push({ Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } })
    return t
  }
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'NFC' },
    pre_tokenizer: byteLevel,
    post_processor: {
      type: 'TemplateProcessing',
      single: template(false),
      pair: template(true),
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [specials['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [specials['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: Object.fromEntries(vocab), merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  }
  fs.mkdirSync(out, { recursive: true })
  fs.writeFileSync(path.join(out, 'tokenizer.json'), JSON.stringify(json, null, 1) + '\n')

  const flags = (t) => ({ content: t.content, lstrip: t.lstrip, normalized: t.normalized, rstrip: t.rstrip, single_word: t.single_word, special: t.special })
  const decoder = {}
  for (const t of added) decoder[t.id] = flags(t)
  fs.writeFileSync(path.join(out, 'tokenizer_config.json'), JSON.stringify({
    added_tokens_decoder: decoder, clean_up_tokenization_spaces: true, cls_token: '[CLS]', mask_token: '[MASK]',
    model_input_names: ['input_ids', 'attention_mask'], model_max_length: 8192, pad_token: '[PAD]', sep_token: '[SEP]',
    tokenizer_class: 'PreTrainedTokenizerFast', unk_token: '[UNK]',
  }, null, 2) + '\n')
  const mapEntry = (s) => { const { content, lstrip, normalized, rstrip, single_word } = flags(added.find((t) => t.content === s)); return { content, lstrip, normalized, rstrip, single_word } }
  fs.writeFileSync(path.join(out, 'special_tokens_map.json'), JSON.stringify({
    cls_token: mapEntry('[CLS]'), mask_token: mapEntry('[MASK]'), pad_token: mapEntry('[PAD]'), sep_token: mapEntry('[SEP]'), unk_token: mapEntry('[UNK]'),
  }, null, 2) + '\n')
  console.error(`${out}: ${n} vocabulary entries (${merges.length} merges), ${added.length} added tokens, ${total} ids; ` +
    Object.entries(specials).map(([k, v]) => `${k}=${v}`).join(' '))
}

main()
