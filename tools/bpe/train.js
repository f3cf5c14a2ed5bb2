#!/usr/bin/env node
// Trains the stand-in byte-level BPE (Qwen2/Qwen3 kind) with Hugging Face `tokenizers` (npm, the Rust core) on
// Debian text and writes tests/fixtures/bpe/ in the layout of Qwen3-Reranker's tokenizer files:
// tokenizer.json (NFC normalizer; Split on Qwen2's regex, Isolated, then ByteLevel without prefix space; BPE with
// no unk and no byte fallback; ByteLevel decoder and post-processor; the chat specials and <think></think> as
// added tokens), vocab.json + merges.txt (the slow files), tokenizer_config.json.
//
// Usage: node tools/bpe/train.js CORPUS [OUT_DIR]     (CORPUS: tools/out/debian_docs.txt from tools/wordpiece/make_corpus.py)
'use strict'

const fs = require('fs')
const os = require('os')
const path = require('path')
const tk = require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers'))
const cases = require(path.join(__dirname, '..', 'tokenizer', 'golden_cases'))

// Qwen2's pre-tokenizer regex, as in Qwen/Qwen3-Reranker-0.6B's tokenizer.json.
const QWEN_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
const MERGES = 6000
// The specials Qwen3-Reranker's prompt uses, numbered after the vocabulary as Qwen's are (<|endoftext|> first).
const ADDED = [
  ['<|endoftext|>', true], ['<|im_start|>', true], ['<|im_end|>', true], ['<|object_ref_start|>', true], ['<|object_ref_end|>', true],
  ['<tool_call>', false], ['</tool_call>', false], ['<think>', false], ['</think>', false],
]

function main() {
  const [corpus, out = path.join(__dirname, '..', '..', 'tests', 'fixtures', 'bpe')] = process.argv.slice(2)
  if (!corpus) throw new Error('usage: train.js CORPUS [OUT_DIR]')
  const extra = cases.build(fs.readFileSync(corpus, 'utf8').split('\n').filter((l) => l).slice(0, 200))
    .flatMap((c) => (c.kind === 'single' ? [c.text] : [c.query, c.document]))
  const trainFile = path.join(os.tmpdir(), `bpe-train-${process.pid}.txt`)
  // "yes" and "no" must be whole tokens, as in Qwen's vocabulary: the reranker reads their logits.
  fs.writeFileSync(trainFile, fs.readFileSync(corpus, 'utf8') + extra.join('\n') + '\n' + 'yes no\n'.repeat(2000))
  const trained = new tk.Tokenizer(tk.BPE.empty())
  trained.setNormalizer(tk.nfcNormalizer())
  // Training splits with GPT-2's regex (the binding's ByteLevel one); the file written below uses Qwen2's.
  trained.setPreTokenizer(tk.byteLevelPreTokenizer(false, true))
  trained.train([trainFile])
  const savedPath = path.join(os.tmpdir(), `bpe-trained-${process.pid}.json`)
  trained.save(savedPath)
  const saved = JSON.parse(fs.readFileSync(savedPath, 'utf8'))
  fs.unlinkSync(savedPath)
  fs.unlinkSync(trainFile)

  // A prefix of the merges is a smaller BPE of its own: the byte alphabet plus what those merges make.
  const merges = saved.model.merges.slice(0, MERGES).map((m) => (Array.isArray(m) ? m : m.split(' ')))
  const ids = new Map()
  for (const c of tk.byteLevelAlphabet().sort()) ids.set(c, ids.size)
  for (const [a, b] of merges) if (!ids.has(a + b)) ids.set(a + b, ids.size)
  for (const w of ['yes', 'no']) if (!ids.has(w)) throw new Error(`"${w}" is not a token; train longer`)
  const vocab = Object.fromEntries(ids)
  const first = ids.size
  const added = ADDED.map(([content, special], i) => ({ id: first + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special }))
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN_REGEX }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  }
  fs.mkdirSync(out, { recursive: true })
  fs.writeFileSync(path.join(out, 'tokenizer.json'), JSON.stringify(json, null, 1) + '\n')
  fs.writeFileSync(path.join(out, 'vocab.json'), JSON.stringify(vocab) + '\n')
  fs.writeFileSync(path.join(out, 'merges.txt'), '#version: 0.2\n' + merges.map(([a, b]) => `${a} ${b}`).join('\n') + '\n')
  const decoder = {}
  for (const t of added) decoder[t.id] = { content: t.content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: t.special }
  fs.writeFileSync(path.join(out, 'tokenizer_config.json'), JSON.stringify({
    add_bos_token: false, add_prefix_space: false, added_tokens_decoder: decoder, bos_token: null,
    clean_up_tokenization_spaces: false, eos_token: '<|im_end|>', errors: 'replace', model_max_length: 131072,
    pad_token: '<|endoftext|>', split_special_tokens: false, tokenizer_class: 'Qwen2Tokenizer', unk_token: null,
  }, null, 2) + '\n')
  console.error(`${out}: ${first} vocabulary entries, ${merges.length} merges, ${added.length} added tokens (yes=${vocab.yes}, no=${vocab.no})`)
}

main()
