#!/usr/bin/env python3
"""Intent-classification baseline for Kefu: char TF-IDF + logistic regression (scikit-learn).

Usage:
    intent-baseline.py FILE.tsv [--folds-out folds.json | --folds folds.json]
                       [--k 5] [--seed 13] [--json result.json]

FILE.tsv: `id<TAB>text<TAB>label` with a header line (Corpora/intents/*/*.tsv).

Cross-validation: stratified k-fold (default 5) with a fixed seed. The fold assignment is
written with --folds-out (JSON: {"file", "k", "seed", "folds": {id: fold}}) so that the Swift
side (Benchmarks/IntentEval) scores exactly the same splits; --folds reads one instead.

Folds are made here rather than with sklearn's StratifiedKFold so that labels with fewer
examples than folds are handled explicitly and without warnings: the examples of each label
(labels in sorted order) are shuffled with the seeded generator and dealt round-robin to the
folds, the dealer continuing from one label to the next. A label with m < k examples thus
appears in m different test folds, one example each; it is KEPT (dropping it would flatter
both systems), and when its only example is held out neither system can predict it, which
counts as an error for both.

Normalization, identical in Benchmarks/IntentEval: ASCII A-Z lowercased, nothing else.
(TfidfVectorizer's own lowercase=True is left at its default; on these corpora it changes
nothing more, as they contain no non-ASCII uppercase letters. Its whitespace collapsing is a
no-op too: no corpus has runs of whitespace.)

Metrics over the pooled out-of-fold predictions: accuracy, and macro-F1 = the mean over the
labels of the gold data of per-label F1 (a predicted label never in the gold data would only
add a zero; Kefu's "none" is such a prediction and counts as wrong).
"""

import argparse
import csv
import json
import sys
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression


def normalize(text):
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def read_tsv(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    header, body = rows[0], rows[1:]
    if header[:3] != ["id", "text", "label"]:
        sys.exit(f"{path}: expected header id<TAB>text<TAB>label, got {header}")
    ids = [r[0] for r in body]
    if len(set(ids)) != len(ids):
        sys.exit(f"{path}: duplicate ids")
    return ids, [normalize(r[1]) for r in body], [r[2] for r in body]


def make_folds(labels, k, seed):
    rng = np.random.RandomState(seed)
    fold = [0] * len(labels)
    dealer = 0
    for label in sorted(set(labels)):
        members = [i for i, y in enumerate(labels) if y == label]
        for i in rng.permutation(members):
            fold[int(i)] = dealer % k
            dealer += 1
    return fold


def macro_f1(gold, predicted):
    scores = []
    for label in sorted(set(gold)):
        tp = sum(1 for g, p in zip(gold, predicted) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted) if g == label and p != label)
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tsv")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--seed", type=int, default=13)
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--folds-out", help="write the fold assignment here")
    group.add_argument("--folds", help="read the fold assignment from here")
    ap.add_argument("--json", help="write the metrics here")
    args = ap.parse_args()

    ids, texts, labels = read_tsv(args.tsv)
    if args.folds:
        with open(args.folds, encoding="utf-8") as f:
            spec = json.load(f)
        k = spec["k"]
        fold = [spec["folds"][i] for i in ids]
    else:
        k = args.k
        fold = make_folds(labels, k, args.seed)
        if args.folds_out:
            with open(args.folds_out, "w", encoding="utf-8") as f:
                json.dump({"file": args.tsv, "k": k, "seed": args.seed,
                           "folds": dict(zip(ids, fold))}, f, ensure_ascii=False, indent=0)

    predicted = [None] * len(texts)
    train_seconds = []
    for f in range(k):
        train = [i for i in range(len(texts)) if fold[i] != f]
        test = [i for i in range(len(texts)) if fold[i] == f]
        if not test:
            continue
        start = time.perf_counter()
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        x_train = vectorizer.fit_transform([texts[i] for i in train])
        train_labels = [labels[i] for i in train]
        if len(set(train_labels)) == 1:  # LogisticRegression needs two classes
            for i in test:
                predicted[i] = train_labels[0]
            continue
        model = LogisticRegression(max_iter=1000)
        model.fit(x_train, train_labels)
        train_seconds.append(time.perf_counter() - start)
        for i, p in zip(test, model.predict(vectorizer.transform([texts[i] for i in test]))):
            predicted[i] = p

    accuracy = sum(1 for g, p in zip(labels, predicted) if g == p) / len(labels)
    f1 = macro_f1(labels, predicted)
    result = {"system": "baseline", "file": args.tsv, "examples": len(labels),
              "labels": len(set(labels)), "k": k, "accuracy": accuracy, "macro_f1": f1,
              "train_seconds_mean": sum(train_seconds) / max(len(train_seconds), 1)}
    print(f"{args.tsv}: {len(labels)} examples, {len(set(labels))} labels, {k} folds")
    print(f"baseline (char 1-3 TF-IDF + LogisticRegression): accuracy {accuracy:.4f}  macro-F1 {f1:.4f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
