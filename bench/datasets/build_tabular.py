#!/usr/bin/python3
"""The quality suite's tabular and synthetic sets, as CSV (embeddings: JSON arrays; labels).

scikit-learn's wine (178 x 13, 3 classes), breast cancer (569 x 30, 2) and iris (150 x 4, 3), with
the values as published (no scaling: the suite judges what a user gets on the file they have).

Synthetic Gaussian mixtures with a known k, seeded (numpy RandomState), each component with a
random anisotropic covariance (eigenvalues log-uniform over a 1:25 range, random rotation):
  gmm-balanced:    6,000 x 32, k = 8, equal sizes, centres 4 sd apart on average;
  gmm-imbalanced: 10,000 x 64, k = 20, sizes ∝ 0.85^j (largest/smallest ≈ 22), 6 sd apart;
  gmm-overlap:     4,000 x 10, k = 5, equal sizes, centres 3 sd apart (heavy overlap);
  gmm-large-k:    20,000 x 16, k = 40, equal sizes, 5 sd apart.
Usage: build_tabular.py <out dir>
"""
import json
import os
import sys

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris, load_wine

out = sys.argv[1]


def write(name, X, y):
    path = os.path.join(out, name + ".csv")
    with open(path + ".tmp", "w") as f:
        f.write("id,embeddings,labels\n")
        for i, (row, label) in enumerate(zip(X, y)):
            f.write('%d,"%s",%s\n' % (i, json.dumps([float("%.6g" % v) for v in row]), label))
    os.replace(path + ".tmp", path)
    print(path, X.shape, len(set(y)))


for name, loader in [("wine", load_wine), ("breast-cancer", load_breast_cancer), ("iris", load_iris)]:
    d = loader()
    write(name, d.data, d.target)


def mixture(name, n, d, k, sep, decay, seed):
    rng = np.random.RandomState(seed)
    w = decay ** np.arange(k)
    sizes = np.floor(n * w / w.sum()).astype(int)
    sizes[0] += n - sizes.sum()
    centres = rng.normal(size=(k, d))
    centres *= sep / np.sqrt(2 * d) / np.std(centres)  # mean pairwise distance ≈ sep, in within-cluster sd
    X, y = [], []
    for j in range(k):
        Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        sd = np.exp(rng.uniform(np.log(0.2), np.log(1.0), size=d))  # 1:25 in variance
        sd /= np.sqrt(np.mean(sd ** 2))
        X.append(centres[j] + (rng.normal(size=(sizes[j], d)) * sd) @ Q.T)
        y += [j] * sizes[j]
    X = np.concatenate(X)
    perm = rng.permutation(n)
    write(name, X[perm], np.array(y)[perm])


mixture("gmm-balanced", 6000, 32, 8, 4.0, 1.0, 1)
mixture("gmm-imbalanced", 10000, 64, 20, 6.0, 0.85, 2)
mixture("gmm-overlap", 4000, 10, 5, 3.0, 1.0, 3)
mixture("gmm-large-k", 20000, 16, 40, 5.0, 1.0, 4)
