// Paired pretraining, deepclust side: from the reference's initial weights of seed s (init-s.safetensors).
import * as L from "../../../src/index.js";
const seed = Number(process.argv[2]),
  threads = Number(process.argv[3]);
const X = L.readNpy("mnist70k.npy");
const y = Array.from(L.readNpy("labels32.npy").data);
const rng = new L.Rng(seed);
const ae = L.loadAutoencoder(`init-${seed}.safetensors`, rng, { threads });
const h = await L.pretrainAutoencoder(ae, X, rng, {
  epochs: 50,
  batchSize: 256,
  optimizer: { type: "adam", lr: 1e-3 },
  noise: { kind: "mask", factor: 0.3 },
});
const km = await new L.KMeans({ k: 10, nInit: 20, seed, threads }).fit(await ae.encode(X));
const s = L.evaluateClustering(y, Array.from(km.labels));
console.log(JSON.stringify({ engine: "deepclust", seed, loss: h.at(-1)!.loss, acc: s.acc, nmi: s.nmi }));
