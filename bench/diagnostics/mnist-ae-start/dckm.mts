// deepclust's k-means (20 restarts, seeds 0..4) on the code of every AE in dc-*/ and ref AEs exported to npy code
import * as L from "../../../src/index.js";
import { existsSync } from "node:fs";
const X = L.readNpy("mnist70k.npy");
const y = Array.from(L.readNpy("labels32.npy").data);
for (const s of [0, 1, 2, 3, 4]) {
  const f = `dc-${s}/autoencoder.safetensors`;
  if (!existsSync(f)) continue;
  const ae = L.loadAutoencoder(f, new L.Rng(0), { threads: 1 });
  const Z = await ae.encode(X);
  const km = await new L.KMeans({ k: 10, nInit: 20, seed: s, threads: 1 }).fit(Z);
  const sc = L.evaluateClustering(y, Array.from(km.labels));
  console.log(JSON.stringify({ ae: `dc-${s}`, km: "deepclust", acc: sc.acc, nmi: sc.nmi, inertia: km.inertia }));
}
