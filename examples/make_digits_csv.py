#!/usr/bin/python3
"""Write test/fixtures/digits.csv: scikit-learn's digits dataset (load_digits,
1797 x 64, 8x8 images with pixel values 0..16, 10 classes) in the reference
pipeline's CSV format.

Format: header `id,embeddings,labels`; `id` is the row index (0..1796),
`embeddings` the 64 pixel values divided by 16 (so in [0, 1]) as a compact JSON
array string ("[0.0,0.3125,...]"; k/16 is exact in at most 4 decimals),
`labels` the integer class 0..9. Written with Python's csv module (the
embeddings field is quoted because it contains commas), "\n" line endings,
rows in load_digits order. Deterministic: no randomness involved.

Run: /usr/bin/python3 examples/make_digits_csv.py [OUT]
"""
import csv
import json
import os
import sys

from sklearn.datasets import load_digits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "test", "fixtures", "digits.csv")


def main():
    data = load_digits()
    X, y = data.data, data.target
    assert X.shape == (1797, 64) and X.min() >= 0 and X.max() <= 16
    with open(OUT, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "embeddings", "labels"])
        for i, (row, label) in enumerate(zip(X, y)):
            vals = [round(float(v) / 16.0, 4) for v in row]
            assert all(v * 16.0 == float(r) for v, r in zip(vals, row))
            w.writerow([i, json.dumps(vals, separators=(",", ":")), int(label)])
    print(f"wrote {OUT}: {X.shape[0]} rows x {X.shape[1]} dims, "
          f"{len(set(y.tolist()))} classes ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
