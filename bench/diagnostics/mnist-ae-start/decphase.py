# Controlled DEC-phase comparison: the reference's DEC loop from a given (reference-pretrained) AE.
import os, sys, json, struct, copy, time, numpy as np, torch
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
sys.path.insert(0, os.path.join(ROOT, "bench", "reference"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dec_reference as R
from sklearn.cluster import KMeans
import ref_ae
seed = int(sys.argv[1]); threads = int(sys.argv[2])
torch.set_num_threads(threads)
from threadpoolctl import threadpool_limits
threadpool_limits(threads)
Xn, y = ref_ae.load_mnist(); X = torch.from_numpy(Xn)
ae = R.AutoEncoder([784, 256, 32], True); ae.load_state_dict(torch.load(f"ref-ae-{seed}.pth"))
# also write the AE as safetensors for deepclust
tensors = {k: v.detach().numpy().astype(np.float32) for k, v in ae.state_dict().items()}
hdr, off, blobs = {"__metadata__": {"format": "deepclust-autoencoder", "dims": "[784,256,32]", "normalize_code": "true"}}, 0, []
for k, v in tensors.items():
    b = v.tobytes(); hdr[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}; off += len(b); blobs.append(b)
h = json.dumps(hdr).encode(); h += b" " * ((8 - len(h) % 8) % 8)
open(f"ref-ae-{seed}.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
R.seed_everything(seed)
Z = R.encode(ae.encoder, X, 1024).numpy()
km = KMeans(n_clusters=10, n_init=20, random_state=seed); init = km.fit_predict(Z)
init_acc = R.scores(y, init)["acc"]
model = R.DEC(ae.encoder, km.cluster_centers_, 1.0)
opt = torch.optim.Adam([{"params": model.encoder.parameters(), "lr": 1e-6}, {"params": model.assignment.parameters(), "lr": 1e-5}])
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X), batch_size=256, shuffle=False)
accs = []
for epoch in range(100):
    for (xb,) in loader:
        q = model(xb); p = R.target_distribution(q).detach()
        loss = torch.nn.functional.kl_div(q.log(), p, reduction="batchmean")
        opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
    accs.append(R.scores(y, R.infer_embeddings(model, X))["acc"])
print(json.dumps({"engine": "reference", "seed": seed, "init_acc": init_acc, "inertia": float(km.inertia_), "best": max(accs), "traj": [accs[i] for i in [0, 9, 24, 49, 74, 99]]}), flush=True)
