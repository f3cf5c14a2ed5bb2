#!/usr/bin/env python3
"""200 queries x 10 documents of real English text, for ranking agreement on trained weights (issue 24).

The text is Python's own standard library documentation: every public function or method docstring of the
modules under the interpreter's stdlib folder (PSF licence, on every machine that has Python). A query is the
first sentence of one docstring, asked as a question ("How do I return the ...?"); its ten documents are the
first paragraphs of ten docstrings of the same module, the query's own among them. Candidates from one module
share vocabulary, as a first-stage retriever's do, so the reranker has to tell close texts apart.

Deterministic for a given stdlib (the folder and Python version are printed in the first line of stderr); stdlib
only, so any python3 runs it:

    python3 tools/model/real_text_pairs.py --out /work/models/real-text/pairs.jsonl [--queries 200] [--docs 10]

Output: JSON Lines in `rerank score`'s input form, {"query": "...", "documents": ["...", ...]}.
"""
import argparse
import ast
import os
import random
import re
import sys
import sysconfig


def paragraphs(stdlib):
    """(module, docstring's first paragraph) for every documented public function, in a fixed order."""
    for root, dirs, files in os.walk(stdlib):
        dirs[:] = sorted(d for d in dirs if d not in ("test", "tests", "idlelib", "lib2to3", "site-packages", "dist-packages", "__pycache__"))
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(root, name)
            try:
                tree = ast.parse(open(path, encoding="utf-8").read())
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            module = os.path.relpath(path, stdlib)
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                    doc = ast.get_docstring(node)
                    if not doc:
                        continue
                    first = re.sub(r"\s+", " ", doc.split("\n\n")[0]).strip()
                    # Prose only: a sentence or more, not a signature line or a one-word stub.
                    if 8 <= len(first.split()) <= 120 and not first.startswith((">>>", "(")):
                        yield module, first


def question(text):
    sentence = re.split(r"(?<=[.!?])\s", text)[0].rstrip(".")
    words = sentence.split()
    # Docstrings say "Return the x"; a user asks "How do I return the x?" or "what returns the x".
    return f"How do I {words[0].lower()} {' '.join(words[1:])}?" if words[0].istitle() else f"What does {sentence}?"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--docs", type=int, default=10)
    p.add_argument("--seed", type=int, default=24)
    a = p.parse_args()
    stdlib = sysconfig.get_paths()["stdlib"]
    print(f"stdlib {stdlib}, Python {sys.version.split()[0]}", file=sys.stderr)
    by_module = {}
    for module, text in paragraphs(stdlib):
        texts = by_module.setdefault(module, [])
        if text not in texts:
            texts.append(text)
    modules = sorted(m for m, t in by_module.items() if len(t) >= a.docs)
    rng = random.Random(a.seed)
    lines = []
    while len(lines) < a.queries:
        module = rng.choice(modules)
        docs = rng.sample(by_module[module], a.docs)
        lines.append({"query": question(docs[0]), "documents": rng.sample(docs, a.docs)})
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(__import__("json").dumps(line, ensure_ascii=False) + "\n")
    print(f"{len(lines)} queries x {a.docs} documents from {len(modules)} modules -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
