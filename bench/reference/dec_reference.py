#!/usr/bin/python3
"""The reference DEC pipeline in PyTorch, written from section 1 of the spec.

/work/shared/reference/dec-reference.md, section 1 ("the practitioner's workflow") describes a
PyTorch study implementation of DEC used on sentence embeddings. This script is that workflow,
written from the description (not from anyone's source), so that deepclust can be measured
end to end against it (bench/reference-e2e.ts):

  1. load a CSV (an `embeddings` column of JSON arrays, a `labels` column of class ids or names);
  2. denoising autoencoder pretraining: encoder d->256->ReLU->32, mirrored decoder, noise on
     the input only (mask: keep each value with probability 1-f; gaussian: add
     N(0, (f*std_j)^2) with std_j the batch's per-feature std), MSE against the clean input,
     Adam lr 1e-3, shuffled batches of 256; the autoencoder's forward pass L2-normalises the
     code before the decoder (the reference's quirk, on by default here because the reference
     does it; --no-normalize-code turns it off), the encoder used afterwards never normalises;
  3. encode all data (batches of 1024, no grad), k-means (k-means++, 20 restarts, best
     inertia) on the code, centres and labels from it, "init ACC";
  4. DEC: q_ij = (1 + |z_i - mu_j|^2 / alpha)^(-(alpha+1)/2) normalised over j; the target P is
     recomputed from the *current batch's* q at every step (detached); loss KL(P||Q)
     batch-mean; Adam with two parameter groups (encoder 1e-6, centres 1e-5); global gradient
     norm clipped to 1.0; batches in the data's fixed order (no shuffling); after every epoch
     ACC on the whole training set against the labels, and a deep copy of the best-ACC model is
     kept (supervised model selection: label leakage) and is the final model;
  5. persistence (with --out): the whole pickled module and the state_dict
     (encoder.0.weight [256, d], ..., assignment.cluster_centers [k, 32]);
  6. inference: infer_embeddings(model, X) in batches of 1024, encoder -> q -> argmax.

Metrics: ACC (Hungarian one-to-one mapping), NMI (scikit-learn, arithmetic normalisation), ARI.

Prints ONE JSON object on stdout (progress goes to stderr). "metrics" are those of the model the
reference ends with: the best-ACC epoch's state ("metrics_of": "best_acc_epoch"); the last
epoch's state and the k-means start are reported too.

Quirks kept from the reference: update_interval is only a logging interval (here: the mean KL
loss is logged every update_interval epochs), tol is declared and never used.

Example (the reference's own configuration on 768-d embeddings with 100 topics):
  OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/reference/dec_reference.py \
      --data train.csv --k 100 --threads 2 --seed 0
"""
import argparse
import os
import sys
import time

T_START = time.perf_counter()

# libgomp (torch's and scikit-learn's OpenMP) spin-waits by default, which starves OpenBLAS's
# own threads on a small machine (see bench/reference/README.md). Read when libgomp loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import copy  # noqa: E402
import csv  # noqa: E402
import ctypes  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

T_IMPORTED = time.perf_counter()

# The reference's configuration (spec section 1). dims[0] is replaced by the data's dimension.
CONFIG = {
    "dims": [768, 256, 32],
    "n_clusters": 100,
    "pretrain_epochs": 50,
    "soft_dist_epochs": 100,
    "update_interval": 10,  # only a logging interval in the reference
    "batch_size": 256,
    "tol": 0.001,  # declared, never used by the reference
    "alpha": 1.0,
    "pretrain_lr": 1e-3,
    "encoder_lr": 1e-6,
    "centers_lr": 1e-5,
    "clip": 1.0,
    "noise": "mask",
    "noise_factor": 0.3,
    "n_init": 20,
    "encode_batch_size": 1024,
    "infer_batch_size": 1024,
}


def log(*a):
    print("dec_reference:", *a, file=sys.stderr, flush=True)


def parse_args():
    c = CONFIG
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", required=True, help="training CSV: 'embeddings' (JSON arrays) and 'labels' columns")
    p.add_argument("--test", default=None,
                   help="CSV of the same format to run infer_embeddings on (default: the training data)")
    p.add_argument("--embeddings-column", default="embeddings")
    p.add_argument("--labels-column", default="labels")
    p.add_argument("--k", type=int, default=c["n_clusters"], help="n_clusters")
    p.add_argument("--hidden", default=",".join(str(d) for d in c["dims"][1:]),
                   help="layer sizes after the input (dims[1:]); the input size comes from the data")
    p.add_argument("--pretrain-epochs", type=int, default=c["pretrain_epochs"])
    p.add_argument("--epochs", type=int, default=c["soft_dist_epochs"], help="DEC (KL) epochs: soft_dist_epochs")
    p.add_argument("--update-interval", type=int, default=c["update_interval"],
                   help="logging interval in epochs (the reference uses it for nothing else)")
    p.add_argument("--batch-size", type=int, default=c["batch_size"])
    p.add_argument("--tol", type=float, default=c["tol"], help="declared and unused, as in the reference")
    p.add_argument("--alpha", type=float, default=c["alpha"])
    p.add_argument("--pretrain-lr", type=float, default=c["pretrain_lr"])
    p.add_argument("--encoder-lr", type=float, default=c["encoder_lr"])
    p.add_argument("--centers-lr", type=float, default=c["centers_lr"])
    p.add_argument("--clip", type=float, default=c["clip"], help="global gradient-norm clip of the DEC phase (0: none)")
    p.add_argument("--noise", choices=["mask", "gaussian", "none"], default=c["noise"])
    p.add_argument("--noise-factor", type=float, default=c["noise_factor"])
    p.add_argument("--no-normalize-code", dest="normalize_code", action="store_false",
                   help="do not L2-normalise the code in the autoencoder's forward pass (the reference does)")
    p.add_argument("--freeze-encoder", action="store_true",
                   help="the reference's variant: train the cluster centres only")
    p.add_argument("--n-init", type=int, default=c["n_init"], help="k-means restarts")
    p.add_argument("--infer-repeats", type=int, default=3,
                   help="times infer_embeddings is timed (the first and the best are reported)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="threads for torch, OpenBLAS and scikit-learn's OpenMP")
    p.add_argument("--out", default=None,
                   help="directory for the pickled module (dec_model.pt) and the state_dict (dec_state_dict.pth)")
    args = p.parse_args()
    args.dims = [int(v) for v in args.hidden.split(",") if v.strip()]
    if not args.dims or min(args.dims) <= 0:
        p.error("--hidden needs at least one positive layer size")
    for name in ("k", "batch_size", "threads", "n_init", "update_interval", "infer_repeats"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    if args.epochs < 0 or args.pretrain_epochs < 0:
        p.error("--epochs and --pretrain-epochs must be >= 0")
    return args


# ---------------------------------------------------------------------------------------------
# Threads and BLAS


def setup_threads(threads):
    """torch's threads, OpenBLAS's own pool (which ignores torch's setting) and the OpenMP
    pools scikit-learn uses, all to `threads`. Returns a description for the summary."""
    torch.set_num_threads(threads)
    torch.ones(2, 2) @ torch.ones(2, 2)  # make sure the BLAS library is loaded
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if re.search(r"openblas", line.split()[-1], re.I)})
    core = None
    for lib in libs:
        try:
            ob = ctypes.CDLL(lib)
            ob.openblas_set_num_threads(threads)
            ob.openblas_get_corename.restype = ctypes.c_char_p
            core = ob.openblas_get_corename().decode()
            break
        except (OSError, AttributeError):
            continue
    limits = threadpool_limits(limits=threads)
    return {"torch_threads": torch.get_num_threads(), "openblas_core": core,
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY")}, limits


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ---------------------------------------------------------------------------------------------
# Data


def load_csv(path, emb_col, lab_col):
    """The reference's CSV: each row's vector is a JSON array string; labels are integers."""
    csv.field_size_limit(1 << 30)
    rows, labels = [], []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or emb_col not in reader.fieldnames:
            sys.exit(f"{path}: no '{emb_col}' column (columns: {reader.fieldnames})")
        has_labels = lab_col in reader.fieldnames
        for r in reader:
            rows.append(json.loads(r[emb_col]))
            if has_labels:
                labels.append(r[lab_col])
    X = np.asarray(rows, dtype=np.float32)
    if X.ndim != 2:
        sys.exit(f"{path}: the embeddings do not all have the same dimension")
    if not has_labels:
        return X, None
    try:  # the reference's integer class ids
        return X, np.asarray([int(v) for v in labels], dtype=np.int64)
    except ValueError:  # class names (e.g. the Reuters example's topics): only compared for equality
        return X, np.asarray(labels, dtype=object)


# ---------------------------------------------------------------------------------------------
# Metrics


def cluster_acc(y_true, y_pred):
    """Best one-to-one mapping of predicted to true labels (Hungarian algorithm on the
    contingency matrix). Returns (ACC, mapping predicted -> true)."""
    classes, t = np.unique(np.asarray(y_true), return_inverse=True)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    n = max(y_pred.max(), t.max()) + 1
    w = np.zeros((n, n), dtype=np.int64)
    np.add.at(w, (y_pred, t), 1)
    rows, cols = linear_sum_assignment(-w)
    mapping = {int(r): classes[c].item() if hasattr(classes[c], "item") else classes[c]
               for r, c in zip(rows, cols) if c < len(classes)}
    return float(w[rows, cols].sum() / y_pred.size), mapping


def scores(y_true, y_pred):
    acc, _ = cluster_acc(y_true, y_pred)
    return {"acc": acc,
            "nmi": float(normalized_mutual_info_score(y_true, y_pred)),
            "ari": float(adjusted_rand_score(y_true, y_pred))}


# ---------------------------------------------------------------------------------------------
# Model


def mlp(sizes):
    """Linear layers with ReLU between them; the last layer is linear."""
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class AutoEncoder(nn.Module):
    def __init__(self, dims, normalize_code):
        super().__init__()
        self.encoder = mlp(dims)
        self.decoder = mlp(dims[::-1])
        self.normalize_code = normalize_code

    def forward(self, x):
        z = self.encoder(x)
        if self.normalize_code:  # the reference's quirk: only here, never for clustering
            z = F.normalize(z, p=2, dim=1)
        return self.decoder(z)


class ClusterAssignment(nn.Module):
    """Student-t soft assignment to trainable centres."""

    def __init__(self, centers, alpha):
        super().__init__()
        self.alpha = alpha
        self.cluster_centers = nn.Parameter(torch.as_tensor(centers, dtype=torch.float32).clone())

    def forward(self, z):
        d2 = torch.sum((z.unsqueeze(1) - self.cluster_centers) ** 2, dim=2)
        q = (1.0 + d2 / self.alpha) ** (-(self.alpha + 1.0) / 2.0)
        return q / q.sum(dim=1, keepdim=True)


class DEC(nn.Module):
    def __init__(self, encoder, centers, alpha):
        super().__init__()
        self.encoder = encoder
        self.assignment = ClusterAssignment(centers, alpha)

    def forward(self, x):
        return self.assignment(self.encoder(x))


def target_distribution(q):
    w = q ** 2 / q.sum(dim=0)
    return w / w.sum(dim=1, keepdim=True)


def corrupt(x, kind, factor):
    if kind == "mask":  # keep each value with probability 1 - factor
        return x * (torch.rand_like(x) >= factor).to(x.dtype)
    if kind == "gaussian":  # N(0, (factor * std_j)^2), std_j of this batch's feature j
        if x.shape[0] < 2:
            return x
        return x + torch.randn_like(x) * factor * x.std(dim=0, keepdim=True)
    return x


@torch.no_grad()
def encode(encoder, X, batch_size):
    encoder.eval()
    return torch.cat([encoder(X[i:i + batch_size]) for i in range(0, X.shape[0], batch_size)])


@torch.no_grad()
def infer_embeddings(model, X, batch_size=1024):
    """encoder -> q -> argmax, in batches of 1024: int labels (N,)."""
    model.eval()
    out = [model(X[i:i + batch_size]).argmax(dim=1) for i in range(0, X.shape[0], batch_size)]
    return torch.cat(out).numpy()


# ---------------------------------------------------------------------------------------------


def main():
    args = parse_args()
    threads, _limits = setup_threads(args.threads)
    seed_everything(args.seed)
    timings = {"startup_s": T_IMPORTED - T_START}

    # 1. Load.
    t = time.perf_counter()
    X_np, y = load_csv(args.data, args.embeddings_column, args.labels_column)
    X = torch.from_numpy(X_np)
    n, d = X.shape
    if args.k > n:
        sys.exit(f"--k {args.k} is larger than the number of rows ({n})")
    X_test = None
    y_test = None
    if args.test:
        X_test_np, y_test = load_csv(args.test, args.embeddings_column, args.labels_column)
        if X_test_np.shape[1] != d:
            sys.exit(f"{args.test}: dimension {X_test_np.shape[1]}, the training data has {d}")
        X_test = torch.from_numpy(X_test_np)
    timings["load_s"] = time.perf_counter() - t
    dims = [d] + args.dims
    log(f"{n} x {d} from {args.data}, k = {args.k}, autoencoder {dims}, torch {torch.__version__}, {threads}")

    # 2. Denoising autoencoder pretraining.
    t = time.perf_counter()
    ae = AutoEncoder(dims, args.normalize_code)
    opt = torch.optim.Adam(ae.parameters(), lr=args.pretrain_lr)
    loader = DataLoader(TensorDataset(X), batch_size=args.batch_size, shuffle=True)
    pretrain_losses = []
    ae.train()
    for epoch in range(1, args.pretrain_epochs + 1):
        total = 0.0
        for (xb,) in loader:
            opt.zero_grad()
            loss = F.mse_loss(ae(corrupt(xb, args.noise, args.noise_factor)), xb)
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        pretrain_losses.append(total / n)
        if epoch % args.update_interval == 0 or epoch == args.pretrain_epochs:
            log(f"pretrain epoch {epoch}/{args.pretrain_epochs}: loss {total / n:.6f}")
    timings["pretrain_s"] = time.perf_counter() - t

    # 3. Cluster-centre initialisation: k-means on the (unnormalised) code.
    t = time.perf_counter()
    encoder = ae.encoder
    Z = encode(encoder, X, CONFIG["encode_batch_size"]).numpy()
    km = KMeans(n_clusters=args.k, n_init=args.n_init, random_state=args.seed)
    init_pred = km.fit_predict(Z)
    timings["kmeans_s"] = time.perf_counter() - t
    init_metrics = scores(y, init_pred) if y is not None else None
    if init_metrics:
        log(f"init (AE + k-means) ACC {init_metrics['acc']:.4f} NMI {init_metrics['nmi']:.4f} ARI {init_metrics['ari']:.4f}")

    # 4. DEC training: per-batch target, Adam with two groups, clipping, fixed order,
    #    per-epoch ACC and best-ACC model selection.
    t = time.perf_counter()
    model = DEC(encoder, km.cluster_centers_, args.alpha)
    if args.freeze_encoder:
        for prm in model.encoder.parameters():
            prm.requires_grad_(False)
        opt = torch.optim.Adam([{"params": model.assignment.parameters(), "lr": args.centers_lr}])
    else:
        opt = torch.optim.Adam([
            {"params": model.encoder.parameters(), "lr": args.encoder_lr},
            {"params": model.assignment.parameters(), "lr": args.centers_lr},
        ])
    loader = DataLoader(TensorDataset(X), batch_size=args.batch_size, shuffle=False)
    best = {"acc": -1.0, "epoch": None, "model": None}
    epochs_log = []
    eval_s = 0.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        total, steps = 0.0, 0
        for (xb,) in loader:
            q = model(xb)
            p = target_distribution(q).detach()
            loss = F.kl_div(q.log(), p, reduction="batchmean")
            opt.zero_grad()
            loss.backward()
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            total += loss.item()
            steps += 1
        rec = {"epoch": epoch, "loss": total / steps}
        if y is not None:
            te = time.perf_counter()
            rec.update(scores(y, infer_embeddings(model, X, CONFIG["infer_batch_size"])))
            eval_s += time.perf_counter() - te
            if rec["acc"] > best["acc"]:
                best = {"acc": rec["acc"], "epoch": epoch, "model": copy.deepcopy(model)}
        epochs_log.append(rec)
        if epoch % args.update_interval == 0 or epoch == args.epochs:
            log(f"DEC epoch {epoch}/{args.epochs}: KL {rec['loss']:.6f}" + (f", ACC {rec['acc']:.4f}" if y is not None else ""))
    last_model = model
    if best["model"] is not None:
        model = best["model"]
    timings["clustering_s"] = time.perf_counter() - t
    timings["clustering_eval_s"] = eval_s

    last_metrics = scores(y, infer_embeddings(last_model, X)) if y is not None and args.epochs > 0 else None
    final_pred = infer_embeddings(model, X)
    final_metrics = scores(y, final_pred) if y is not None else None

    # 5. Persistence.
    t = time.perf_counter()
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        torch.save(model, os.path.join(args.out, "dec_model.pt"))
        torch.save(model.state_dict(), os.path.join(args.out, "dec_state_dict.pth"))
    timings["save_s"] = time.perf_counter() - t

    # 6. Inference on new vectors (the test file) or the training data.
    X_inf = X_test if X_test is not None else X
    runs = []
    for _ in range(args.infer_repeats):
        t = time.perf_counter()
        inf_pred = infer_embeddings(model, X_inf, CONFIG["infer_batch_size"])
        runs.append(time.perf_counter() - t)
    timings["inference_s"] = runs[0]
    test_metrics = scores(y_test, inf_pred) if y_test is not None else None
    timings["total_s"] = time.perf_counter() - T_START

    sizes = np.bincount(final_pred, minlength=args.k).tolist()
    print(json.dumps({
        "engine": "pytorch-reference",
        "torch": torch.__version__,
        "data": os.path.abspath(args.data),
        "rows": int(n),
        "dims": dims,
        "k": args.k,
        "seed": args.seed,
        "threads": threads,
        "config": {
            "pretrain_epochs": args.pretrain_epochs, "soft_dist_epochs": args.epochs,
            "update_interval": args.update_interval, "batch_size": args.batch_size, "tol": args.tol,
            "alpha": args.alpha, "pretrain_lr": args.pretrain_lr, "encoder_lr": args.encoder_lr,
            "centers_lr": args.centers_lr, "clip": args.clip, "noise": args.noise,
            "noise_factor": args.noise_factor, "normalize_code": args.normalize_code,
            "freeze_encoder": args.freeze_encoder, "n_init": args.n_init,
            "infer_batch_size": CONFIG["infer_batch_size"],
        },
        "metrics_of": "best_acc_epoch" if best["model"] is not None else "last_epoch",
        "metrics": final_metrics,
        "best_epoch": best["epoch"],
        "init_metrics": init_metrics,
        "last_epoch_metrics": last_metrics,
        "test_metrics": test_metrics,
        "kmeans_inertia": float(km.inertia_),
        "pretrain_final_loss": pretrain_losses[-1] if pretrain_losses else None,
        "epochs": epochs_log,
        "cluster_sizes": sizes,
        "non_empty_clusters": int(sum(1 for s in sizes if s > 0)),
        "timings": timings,
        "inference": {
            "rows": int(X_inf.shape[0]),
            "data": os.path.abspath(args.test) if args.test else os.path.abspath(args.data),
            "batch_size": CONFIG["infer_batch_size"],
            "seconds": runs,
            "rows_per_s_first": X_inf.shape[0] / runs[0],
            "rows_per_s_best": X_inf.shape[0] / min(runs),
        },
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
