#!/usr/bin/python3
"""PyTorch peer for the sentence-embedding benchmark (bench/embed-throughput.ts): the reference
implementation's embedding step, mean-pooled BERT, in plain PyTorch (Debian's python3-torch; no
transformers here).

Reads a model folder in the Hugging Face layout: config.json (BertModel's sizes), tokenizer.json
(a WordPiece vocabulary: BERT, MiniLM, bge; lower-casing as its normalizer says) and the weights
under BertModel's names in pytorch_model.bin or model.safetensors. Tokenises with BERT's rules
(clean, lower-case and strip accents, split on whitespace and punctuation, greedy WordPiece),
truncates to --max-length keeping [SEP], batches by length as deepclust does, and mean-pools the
last hidden state over the real tokens. Prints ONE JSON line: texts, seconds (tokenising included),
texts per second. --out writes the embeddings (.npy) for a check against deepclust's.

  /usr/bin/python3 bench/reference/embed_torch.py --model DIR --texts texts.txt [--threads 1]
"""
import argparse
import json
import math
import os
import struct
import time
import unicodedata

import numpy as np
import torch


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--texts", required=True, help="one text per line")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads; 0: torch's default")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=0, help="0: the model's limit")
    p.add_argument("--out", default=None)
    return p.parse_args()


def load_weights(folder):
    bin_file = os.path.join(folder, "pytorch_model.bin")
    if os.path.exists(bin_file):
        return torch.load(bin_file, map_location="cpu")
    st = os.path.join(folder, "model.safetensors")
    with open(st, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F32": np.float32, "F16": np.float16, "BF16": None}
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=dtypes[t["dtype"]]).reshape(t["shape"]).astype(np.float32)
        out[name.removeprefix("bert.")] = torch.from_numpy(arr.copy())
    return out


class Bert(torch.nn.Module):
    def __init__(self, c, w):
        super().__init__()
        self.c, self.w = c, {k.removeprefix("bert."): v for k, v in w.items()}
        self.heads = c["num_attention_heads"]
        self.eps = c.get("layer_norm_eps", 1e-12)

    def ln(self, x, p):
        return torch.nn.functional.layer_norm(x, x.shape[-1:], self.w[p + ".weight"], self.w[p + ".bias"], self.eps)

    def lin(self, x, p):
        return torch.nn.functional.linear(x, self.w[p + ".weight"], self.w[p + ".bias"])

    def forward(self, ids, mask):
        b, n = ids.shape
        w = self.w
        pos = torch.arange(n).unsqueeze(0).expand(b, n)
        h = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][pos]
        h = h + w["embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)]
        h = self.ln(h, "embeddings.LayerNorm")
        bias = (1.0 - mask[:, None, None, :].to(h.dtype)) * -10000.0
        d = h.shape[-1] // self.heads
        for i in range(self.c["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            split = lambda x: x.view(b, n, self.heads, d).transpose(1, 2)
            q, k, v = (split(self.lin(h, p + "attention.self." + s)) for s in ("query", "key", "value"))
            ctx = (torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, -1) @ v).transpose(1, 2).reshape(b, n, -1)
            h = self.ln(h + self.lin(ctx, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            up = torch.nn.functional.gelu(self.lin(h, p + "intermediate.dense"))
            h = self.ln(h + self.lin(up, p + "output.dense"), p + "output.LayerNorm")
        return h


def is_punct(ch):
    cp = ord(ch)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or unicodedata.category(ch).startswith("P")


class WordPiece:
    def __init__(self, tok):
        m = tok["model"]
        assert m["type"] == "WordPiece", f"{m['type']} tokenizers are not supported by this peer"
        self.vocab = m["vocab"]
        self.lower = (tok.get("normalizer") or {}).get("lowercase", True)
        self.cls, self.sep, self.unk = self.vocab["[CLS]"], self.vocab["[SEP]"], self.vocab["[UNK]"]

    def words(self, text):
        chars = []
        for ch in text:
            if ord(ch) in (0, 0xFFFD) or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
                continue
            chars.append(" " if ch in "\t\n\r" or unicodedata.category(ch) == "Zs" else ch)
        text = "".join(chars)
        if self.lower:
            text = "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")
        out = []
        for chunk in text.split():
            cur = ""
            for ch in chunk:
                if is_punct(ch):
                    if cur:
                        out.append(cur)
                    out.append(ch)
                    cur = ""
                else:
                    cur += ch
            if cur:
                out.append(cur)
        return out

    def encode(self, text, max_length):
        ids = [self.cls]
        for w in self.words(text):
            start, pieces = 0, []
            while start < len(w):
                end = len(w)
                while end > start and (w[start:end] if start == 0 else "##" + w[start:end]) not in self.vocab:
                    end -= 1
                if end == start:
                    pieces = [self.unk]
                    break
                pieces.append(self.vocab[w[start:end] if start == 0 else "##" + w[start:end]])
                start = end
            ids += pieces
        ids.append(self.sep)
        return ids if len(ids) <= max_length else ids[: max_length - 1] + [self.sep]


def main():
    a = parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    with open(os.path.join(a.model, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(a.model, "tokenizer.json")) as f:
        tokenizer = WordPiece(json.load(f))
    with open(os.path.join(a.model, "tokenizer_config.json")) as f:
        declared = json.load(f).get("model_max_length", 10**9)
    max_length = a.max_length or min(int(declared) if declared < 10**6 else 10**9, config["max_position_embeddings"])
    model = Bert(config, load_weights(a.model)).eval()
    with open(a.texts, encoding="utf-8") as f:
        texts = f.read().split("\n")
    if texts and texts[-1] == "":
        texts.pop()
    t0 = time.perf_counter()
    ids = [tokenizer.encode(t, max_length) for t in texts]
    order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), i))
    out = np.zeros((len(ids), config["hidden_size"]), dtype=np.float32)
    with torch.inference_mode():
        for s in range(0, len(order), a.batch_size):
            batch = order[s : s + a.batch_size]
            n = max(len(ids[i]) for i in batch)
            x = torch.tensor([ids[i] + [0] * (n - len(ids[i])) for i in batch])
            m = torch.tensor([[1] * len(ids[i]) + [0] * (n - len(ids[i])) for i in batch])
            h = model(x, m)
            mf = m.unsqueeze(-1).to(h.dtype)
            out[batch] = ((h * mf).sum(1) / mf.sum(1)).numpy()
    seconds = time.perf_counter() - t0
    if a.out:
        np.save(a.out, out)
    print(json.dumps({"texts": len(texts), "seconds": seconds, "textsPerSecond": len(texts) / seconds,
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
