#!/usr/bin/env python3
"""Writes tests/fixtures/beir-synthetic: a small BEIR-format dataset and a first-stage run to rerank.

Usage: python3 tools/beir/make_synthetic.py [OUT_DIR]   (stdlib only; the same bytes every run)

- corpus.jsonl   48 documents: 4 per topic over 12 topics, a few of them long (the answer sits past the
                 first 512 tokens, behind paragraphs of on-topic filler) and a few with a title
- queries.jsonl  14 queries: 12 topical, one whose only judged documents are non-relevant, one without judgements
- qrels/test.tsv graded: 2 = answers the query, 1 = on topic, 0 = judged not relevant
- bm25.run       TREC run, top 20 per query by a small BM25 over lower-cased words, scores rounded to
                 2 decimals so that some candidates tie (trec_eval then orders them by document id)
- noisy.run      the same candidates with Gaussian noise on the scores, rounded to whole numbers: a worse
                 first stage with many ties among relevant documents, for checking the metrics against trec_eval
"""
import json
import math
import os
import random
import re
import sys

SEED = 20241125
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "beir-synthetic")

TOPICS = [
    ("bread", "How long should sourdough bread proof before baking?", "Sourdough dough should proof for four to six hours at room temperature before baking.",
     ["flour", "starter", "oven", "crust", "dough", "yeast", "loaf", "knead"]),
    ("comet", "When will the comet return to the inner solar system?", "The comet returns to the inner solar system every seventy-six years, next in 2061.",
     ["orbit", "telescope", "nucleus", "tail", "astronomers", "ice", "sun", "perihelion"]),
    ("bees", "Why do honey bees dance in the hive?", "Honey bees dance to tell other workers the direction and distance of flowers.",
     ["hive", "nectar", "pollen", "queen", "colony", "comb", "workers", "swarm"]),
    ("tides", "What causes ocean tides?", "Ocean tides are caused mainly by the gravity of the moon pulling on the water.",
     ["moon", "coast", "harbor", "waves", "shore", "gravity", "sea", "current"]),
    ("violin", "How often should violin strings be replaced?", "Violin strings should be replaced every six to twelve months for a player who practises daily.",
     ["bow", "rosin", "bridge", "tuning", "luthier", "concert", "scroll", "pegs"]),
    ("glacier", "How fast do glaciers move?", "Most glaciers move between a few centimetres and a few metres each day.",
     ["ice", "valley", "moraine", "crevasse", "snow", "mountain", "melt", "climate"]),
    ("rust", "How can iron be protected from rust?", "Iron is protected from rust by paint, oil or a coating of zinc that keeps out water and air.",
     ["iron", "oxygen", "corrosion", "steel", "moisture", "metal", "bridge", "coating"]),
    ("tea", "At what temperature should green tea be brewed?", "Green tea should be brewed with water at about seventy to eighty degrees Celsius.",
     ["leaves", "kettle", "cup", "steep", "flavour", "bitter", "pot", "harvest"]),
    ("chess", "What is castling in chess?", "Castling moves the king two squares towards a rook and puts the rook on the other side of the king.",
     ["king", "rook", "board", "pawn", "opening", "bishop", "knight", "tournament"]),
    ("volcano", "Why do volcanoes erupt?", "Volcanoes erupt when pressure from gas and magma beneath the crust becomes too great.",
     ["lava", "magma", "ash", "crater", "eruption", "crust", "island", "ridge"]),
    ("bicycle", "How do you fix a flat bicycle tyre?", "To fix a flat tyre, remove the tube, find the hole, patch it and pump the tyre up again.",
     ["wheel", "tube", "pump", "chain", "saddle", "brake", "spoke", "pedal"]),
    ("owl", "How do owls hunt at night?", "Owls hunt at night using sharp hearing and silent flight to catch mice in the dark.",
     ["feathers", "wings", "prey", "forest", "talons", "eyes", "barn", "mice"]),
]

COMMON = ["the", "a", "of", "and", "in", "many", "people", "often", "also", "some", "very", "old", "new", "small", "large",
          "every", "with", "near", "about", "from", "after", "before", "during", "still", "usually"]


def sentence(rng, words):
    picked = [rng.choice(words) for _ in range(rng.randint(6, 12))]
    filler = [rng.choice(COMMON) for _ in range(rng.randint(3, 6))]
    mixed = picked + filler
    rng.shuffle(mixed)
    text = " ".join(mixed)
    return text[0].upper() + text[1:] + "."


def paragraph(rng, words, sentences):
    return " ".join(sentence(rng, words) for _ in range(sentences))


def main():
    rng = random.Random(SEED)
    corpus = []
    queries = []
    qrels = []
    for t, (name, query, answer, words) in enumerate(TOPICS):
        qid = f"q{t + 1:02d}"
        queries.append({"_id": qid, "text": query})
        for k in range(4):
            did = f"{name}-{k}"
            if k == 0:
                # The answer, short or (every third topic) long with the answer deep inside.
                if t % 3 == 0:
                    text = paragraph(rng, words, 28) + " " + answer + " " + paragraph(rng, words, 6)
                else:
                    text = paragraph(rng, words, 2) + " " + answer + " " + paragraph(rng, words, 1)
                grade = 2
            elif k == 1:
                text = paragraph(rng, words, 4)
                grade = 1
            elif k == 2:
                other = TOPICS[(t + 1) % len(TOPICS)][3]
                text = paragraph(rng, words[:3] + other, 4)
                grade = 0
            else:
                text = paragraph(rng, words, 3)
                grade = None
            doc = {"_id": did, "title": name.capitalize() if k == 1 else "", "text": text}
            corpus.append(doc)
            if grade is not None:
                qrels.append((qid, did, grade))
    # A query whose judged documents are all non-relevant, and one without judgements (not evaluated).
    queries.append({"_id": "q13", "text": "Which bakery sells the best comet-shaped biscuits?"})
    qrels += [("q13", "bread-3", 0), ("q13", "comet-3", 0)]
    queries.append({"_id": "q14", "text": "Unjudged question about owls and tea."})

    write_jsonl(os.path.join(OUT, "corpus.jsonl"), corpus)
    write_jsonl(os.path.join(OUT, "queries.jsonl"), queries)
    os.makedirs(os.path.join(OUT, "qrels"), exist_ok=True)
    with open(os.path.join(OUT, "qrels", "test.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for qid, did, grade in qrels:
            f.write(f"{qid}\t{did}\t{grade}\n")
    with open(os.path.join(OUT, "bm25.run"), "w", encoding="utf-8", newline="\n") as f:
        for q in queries:
            ranked = bm25(q["text"], corpus)[:20]
            for rank, (did, score) in enumerate(ranked, start=1):
                f.write(f"{q['_id']} Q0 {did} {rank} {score:.2f} bm25\n")
    noise = random.Random(SEED + 1)
    with open(os.path.join(OUT, "noisy.run"), "w", encoding="utf-8", newline="\n") as f:
        for q in queries:
            ranked = bm25(q["text"], corpus)[:20]
            for rank, (did, score) in enumerate(ranked, start=1):
                f.write(f"{q['_id']} Q0 {did} {rank} {round(score + noise.gauss(0, 2.5)):.0f} noisy\n")
    print(f"wrote {len(corpus)} documents, {len(queries)} queries, {len(qrels)} judgements to {os.path.normpath(OUT)}")


def words_of(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def bm25(query, corpus, k1=0.9, b=0.4):
    docs = [(d["_id"], words_of(d["title"] + " " + d["text"])) for d in corpus]
    average = sum(len(w) for _, w in docs) / len(docs)
    df = {}
    for _, w in docs:
        for term in set(w):
            df[term] = df.get(term, 0) + 1
    scores = []
    for did, w in docs:
        score = 0.0
        for term in set(words_of(query)):
            tf = w.count(term)
            if tf == 0:
                continue
            idf = math.log(1 + (len(docs) - df[term] + 0.5) / (df[term] + 0.5))
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(w) / average))
        scores.append((did, round(score, 2)))
    # Ties in rank order by id, as trec_eval reads them; the run's scores keep the ties.
    return sorted(scores, key=lambda p: (-p[1], tuple(-ord(c) for c in p[0])))


def write_jsonl(path, items):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
