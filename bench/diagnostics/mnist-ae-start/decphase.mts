// deepclust's reference-config DEC phase from the same reference-pretrained AE
import * as L from "../../../src/index.js";
const seed = Number(process.argv[2]),
  threads = Number(process.argv[3]);
const X = L.readNpy("mnist70k.npy");
const y = Array.from(L.readNpy("labels32.npy").data);
const ae = L.loadAutoencoder(`ref-ae-${seed}.safetensors`, new L.Rng(0), { threads });
const dec = await new L.DEC({
  k: 10,
  hidden: [256, 32],
  threads,
  seed,
  nInit: 20,
  target: "batch",
  optimizer: { type: "adam", lr: 1e-5 },
  groupLr: { encoder: 1e-6 },
  clipNorm: 1,
  shuffle: false,
  batchSize: 256,
  updateInterval: 274,
  tol: 0,
  maxIter: 27400,
  selectBestByLabels: true,
}).fit(X, { labels: y, autoencoder: ae });
const accs = dec.history.map((h) => h.metrics!.acc);
console.log(
  JSON.stringify({
    engine: "deepclust",
    seed,
    init_acc: dec.initMetrics!.acc,
    best: dec.metrics!.acc,
    traj: [1, 10, 25, 50, 75, 100].map((e) => accs[e]),
  }),
);
