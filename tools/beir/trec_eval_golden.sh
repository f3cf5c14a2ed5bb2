#!/usr/bin/env bash
# Golden metric values for the committed synthetic run, from NIST's trec_eval, so the C# metrics are checked
# against the reference implementation (tests need no trec_eval: the output is committed).
#
# Usage: tools/beir/trec_eval_golden.sh TREC_EVAL_SOURCE_DIR
#   TREC_EVAL_SOURCE_DIR  a checkout of github.com/usnistgov/trec_eval (built here with make; tested with 10.0-rc3)
# Writes tests/fixtures/beir-synthetic/trec_eval.tsv: "run<TAB>measure<TAB>query<TAB>value" for bm25.run and
# noisy.run, every query and "all", with recip_rank computed over the top 10 only (-M 10), i.e. MRR@10.
set -euo pipefail
src=${1:?usage: $0 TREC_EVAL_SOURCE_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
fixture=$root/tests/fixtures/beir-synthetic
out=$root/tools/out/trec_eval
mkdir -p "$out"
rm -rf "$out/src" && cp -r "$src" "$out/src"
make -s -C "$out/src" >/dev/null
bin=$out/src/trec_eval
version=$("$bin" -v 2>&1 | head -1)

# BEIR's qrels (header, query-id corpus-id score) as TREC qrels (qid iter docid rel).
tail -n +2 "$fixture/qrels/test.tsv" | awk -F'\t' '{print $1, 0, $2, $3}' > "$out/qrels.trec"

{
  echo "# trec_eval ($version) on qrels/test.tsv; tools/beir/trec_eval_golden.sh"
  for run in bm25.run noisy.run; do
    "$bin" -q -m ndcg_cut.10 -m recall.10,100 "$out/qrels.trec" "$fixture/$run" | awk -v r=$run '{print r "\t" $1 "\t" $2 "\t" $3}'
    "$bin" -q -M 10 -m recip_rank "$out/qrels.trec" "$fixture/$run" | awk -v r=$run '{print r "\t" $1 "_10\t" $2 "\t" $3}'
  done
} > "$fixture/trec_eval.tsv"
echo "wrote $fixture/trec_eval.tsv ($(wc -l < "$fixture/trec_eval.tsv") lines)"
