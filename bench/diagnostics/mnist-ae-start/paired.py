# Paired pretraining, reference side: seed s's PyTorch initial weights are written for deepclust
# (init-s.safetensors), then the reference pretrains from them and scores AE + k-means.
import os, sys, json, struct, numpy as np, torch
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
sys.path.insert(0, os.path.join(ROOT, "bench", "reference"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dec_reference as R
import ref_ae
from sklearn.cluster import KMeans
seed, threads = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
Xn, y = ref_ae.load_mnist(); X = torch.from_numpy(Xn)
R.seed_everything(seed)
ae = R.AutoEncoder([784, 256, 32], True)
hdr, off, blobs = {"__metadata__": {"format": "deepclust-autoencoder", "dims": "[784,256,32]", "normalize_code": "true"}}, 0, []
for k, v in ae.state_dict().items():
    b = v.detach().numpy().astype(np.float32).tobytes(); hdr[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}; off += len(b); blobs.append(b)
h = json.dumps(hdr).encode(); h += b" " * ((8 - len(h) % 8) % 8)
open(f"init-{seed}.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
opt = torch.optim.Adam(ae.parameters(), lr=1e-3)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X), batch_size=256, shuffle=True)
for epoch in range(50):
    tot = 0.0
    for (xb,) in loader:
        opt.zero_grad(); loss = torch.nn.functional.mse_loss(ae(R.corrupt(xb, "mask", 0.3)), xb); loss.backward(); opt.step(); tot += loss.item() * xb.shape[0]
Z = R.encode(ae.encoder, X, 1024).numpy()
km = KMeans(n_clusters=10, n_init=20, random_state=seed).fit(Z)
print(json.dumps({"engine": "reference", "seed": seed, "loss": tot / len(X), "acc": R.scores(y, km.labels_)["acc"], "nmi": R.scores(y, km.labels_)["nmi"]}), flush=True)
