#!/usr/bin/env node
// Prompt ids for text pairs from Hugging Face `tokenizers` (npm, the Rust core), built piece by piece as the reference
// packages build them, untruncated, as golden input for tools/model/decoder.py:
//   mxbai  mxbai-rerank's MxbaiRerankV2.prepare_inputs (mixedbread-ai/mxbai-rerank, mxbai_rerank_v2.py @ 03324ea9):
//          prefix + ids("query: q") (or ids("instruction: i\nquery: q")) + ids("\n") + ids("document: d") + ids("\n")
//          + ids(task) + ids(suffix); score tokens ids("1")[0], ids("0")[0]
//   bge    FlagEmbedding's FlagLLMReranker (decoder_only/base.py @ dfdace38): [bos] + ids("A: q") + ids("\n")
//          + ids("B: d") + ids("\n") + ids(prompt, the instruction if given); score token ids("Yes")[0]
// Usage: node encode_decoder_prompts.js mxbai|bge TOKENIZER_JSON PAIRS_JSON > out.jsonl   (pairs may carry "instruction")
'use strict'

const fs = require('fs')
const path = require('path')
const { Tokenizer } = require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers'))

const MXBAI = {
  prefix: '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n',
  suffix: '<|im_end|>\n<|im_start|>assistant\n',
  task: 'You are a search relevance expert who evaluates how well documents match search queries. For each query-document pair, carefully analyze the semantic relationship between them, then provide your binary relevance judgment (0 for not relevant, 1 for relevant).\nRelevance:',
}
const BGE_PROMPT = "Given a query A and a passage B, determine whether the passage contains an answer to the query by providing a prediction of either 'Yes' or 'No'."

async function main() {
  const [family, tokenizerPath, pairsPath] = process.argv.slice(2)
  const tokenizer = Tokenizer.fromFile(tokenizerPath)
  const ids = async (t) => (await tokenizer.encode(t, null, { addSpecialTokens: false })).getIds()
  const sep = await ids('\n')
  for (const p of JSON.parse(fs.readFileSync(pairsPath, 'utf8'))) {
    let input_ids, score
    if (family === 'mxbai') {
      const query = p.instruction ? `instruction: ${p.instruction}\nquery: ${p.query}` : `query: ${p.query}`
      input_ids = [...(await ids(MXBAI.prefix)), ...(await ids(query)), ...sep, ...(await ids(`document: ${p.document}`)),
        ...sep, ...(await ids(MXBAI.task)), ...(await ids(MXBAI.suffix))]
      score = { true_id: (await ids('1'))[0], false_id: (await ids('0'))[0] }
    } else if (family === 'bge') {
      input_ids = [tokenizer.tokenToId('<bos>'), ...(await ids(`A: ${p.query}`)), ...sep, ...(await ids(`B: ${p.document}`)),
        ...sep, ...(await ids(p.instruction || BGE_PROMPT))]
      score = { true_id: (await ids('Yes'))[0], false_id: null }
    } else {
      throw new Error(`family ${family}: expected mxbai or bge`)
    }
    process.stdout.write(JSON.stringify({ ...p, input_ids, ...score }) + '\n')
  }
}

main().catch((e) => { console.error(e.message); process.exit(1) })
