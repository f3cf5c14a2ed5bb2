// jina-reranker-v3's input, built the way its modeling.py (hub revision named in docs/models.md) builds it, on Hugging
// Face `tokenizers` (npm, the Rust core of the fast tokenizer). Written from reading that code, not copied:
//  - _truncate_texts: each document and the query tokenized alone (Qwen's tokenizer adds no special tokens) with
//    truncation to max_doc_length / max_query_length; a text whose ids reach the limit (>=) is replaced by the decode of
//    its cut ids (skip_special_tokens false; Qwen's clean_up_tokenization_spaces is false, so nothing else happens);
//    the lengths are the cut id counts;
//  - rerank(): blocks: capacity = model_max_length - 2·query_length; each document is appended, its length taken off,
//    and the block is closed when it holds block_size (125) documents or the capacity is <= max_doc_length; the rest is
//    the last block;
//  - format_docs_prompts_func: the marker texts removed from the query and each document (<|rerank_token|> first, then
//    <|embed_token|>: the order of its special_tokens dict), then the system prefix, "I will provide you with {k}
//    passages…", an optional <instruct> block, the passages each closed by the document marker, the query closed by the
//    query marker, and the assistant suffix with an empty think block; the whole prompt tokenized as one text.
'use strict'

const PREFIX = '<|im_start|>system\n'
  + 'You are a search relevance expert who can determine a ranking of the passages based on how relevant they are to the query. '
  + 'If the query is a question, how relevant a passage is depends on how well it answers the question. '
  + 'If not, try to analyze the intent of the query and assess how well each passage satisfies the intent. '
  + 'If an instruction is provided, you should follow the instruction when determining the ranking.'
  + '<|im_end|>\n<|im_start|>user\n'
const SUFFIX = '<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n'
const QUERY_MARKER = '<|rerank_token|>'
const DOC_MARKER = '<|embed_token|>'
const BLOCK_SIZE = 125

// Python's str.replace, every occurrence, left to right, in the dict order of the reference.
const sanitize = (text) => text.split(QUERY_MARKER).join('').split(DOC_MARKER).join('')

function format(query, docs, instruction) {
  query = sanitize(query)
  docs = docs.map(sanitize)
  let prompt = `I will provide you with ${docs.length} passages, each indicated by a numerical identifier. `
    + `Rank the passages based on their relevance to query: ${query}\n`
  if (instruction) prompt += `<instruct>\n${instruction}\n</instruct>\n`
  prompt += docs.map((d, i) => `<passage id="${i}">\n${d}${DOC_MARKER}\n</passage>`).join('\n') + '\n'
  prompt += `<query>\n${query}${QUERY_MARKER}\n</query>`
  return PREFIX + prompt + SUFFIX
}

async function ids(tokenizer, text) {
  return (await tokenizer.encode(text, null, { addSpecialTokens: true })).getIds()
}

async function truncate(tokenizer, text, max) {
  const all = await ids(tokenizer, text)
  const kept = all.slice(0, max)
  return { text: kept.length >= max ? await tokenizer.decode(kept, false) : text, length: kept.length }
}

// The blocks of one rerank() call: which documents each holds and the ids the model sees.
async function blocks(tokenizer, query, documents, { maxQueryLength = 512, maxDocLength = 2048, modelMaxLength, instruction = null }) {
  const docs = []
  for (const d of documents) docs.push(await truncate(tokenizer, d, maxDocLength))
  const q = await truncate(tokenizer, query, maxQueryLength)
  const out = []
  let block = []
  let capacity = modelMaxLength - 2 * q.length
  const close = async () => {
    out.push({ documents: block, input_ids: await ids(tokenizer, format(q.text, block.map((i) => docs[i].text), instruction)) })
    block = []
    capacity = modelMaxLength - 2 * q.length
  }
  for (let i = 0; i < docs.length; i++) {
    block.push(i)
    capacity -= docs[i].length
    if (block.length >= BLOCK_SIZE || capacity <= maxDocLength) await close()
  }
  if (block.length > 0) await close()
  return { query_length: q.length, doc_lengths: docs.map((d) => d.length), blocks: out }
}

module.exports = { blocks, format, sanitize, PREFIX, SUFFIX, QUERY_MARKER, DOC_MARKER, BLOCK_SIZE }
