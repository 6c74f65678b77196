#!/usr/bin/env python3
"""PyTorch eager reference for bench_train: the same T5 step as gensar's bare model step.

Same architecture as core/model (T5 with relative position bias, RMS norm, ReLU FFN, untied LM
head, dropout on embeddings, attention probabilities, FFN hidden units and residual branches),
same shapes, same AdamW, on the same Debian LibTorch kernels (python3-torch). Prints one JSON
line: {"eager_samples_per_s": ..., "step_s": ..., ...}. Written here, for this benchmark only.

  /usr/bin/python3 bench/t5_eager_reference.py --batch 64 --src 169 --tgt 6 --vocab 10000 \
      --steps 5 --threads 1
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def bucket(rel, bidirectional, num_buckets=32, max_distance=128):
    out = torch.zeros_like(rel)
    if bidirectional:
        num_buckets //= 2
        out = out + (rel > 0).long() * num_buckets
        dist = rel.abs()
    else:
        dist = -torch.clamp(rel, max=0)
    max_exact = num_buckets // 2
    small = dist < max_exact
    large = max_exact + (torch.log(dist.clamp(min=1).float() / max_exact)
                         / math.log(max_distance / max_exact) * (num_buckets - max_exact)).long()
    large = torch.clamp(large, max=num_buckets - 1)
    return out + torch.where(small, dist, large)


class Attention(nn.Module):
    def __init__(self, d, heads, dkv, p):
        super().__init__()
        inner = heads * dkv
        self.q, self.k, self.v = (nn.Linear(d, inner, bias=False) for _ in range(3))
        self.o = nn.Linear(inner, d, bias=False)
        self.h, self.dkv, self.p = heads, dkv, p

    def split(self, x):
        return x.view(x.size(0), x.size(1), self.h, self.dkv).transpose(1, 2)

    def forward(self, x, mem, bias):
        src = x if mem is None else mem
        q, k, v = self.split(self.q(x)), self.split(self.k(src)), self.split(self.v(src))
        scores = torch.matmul(q, k.transpose(-1, -2)) + bias
        probs = F.dropout(torch.softmax(scores, -1), self.p, self.training)
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(x.size(0), x.size(1), -1)
        return self.o(ctx)


class Block(nn.Module):
    def __init__(self, d, heads, dkv, ff, p, decoder):
        super().__init__()
        self.n1, self.att = RMSNorm(d), Attention(d, heads, dkv, p)
        self.cross = Attention(d, heads, dkv, p) if decoder else None
        self.n2 = RMSNorm(d) if decoder else None
        self.n3 = RMSNorm(d)
        self.wi, self.wo = nn.Linear(d, ff, bias=False), nn.Linear(ff, d, bias=False)
        self.p = p

    def forward(self, x, bias, mem=None, cross_bias=None):
        drop = lambda t: F.dropout(t, self.p, self.training)
        x = x + drop(self.att(self.n1(x), None, bias))
        if self.cross is not None:
            x = x + drop(self.cross(self.n2(x), mem, cross_bias))
        h = F.dropout(F.relu(self.wi(self.n3(x))), self.p, self.training)
        return x + drop(self.wo(h))


class T5(nn.Module):
    def __init__(self, vocab, d=128, heads=6, dkv=64, ff=1024, layers=4, p=0.1):
        super().__init__()
        self.shared = nn.Embedding(vocab, d)
        self.enc = nn.ModuleList(Block(d, heads, dkv, ff, p, False) for _ in range(layers))
        self.dec = nn.ModuleList(Block(d, heads, dkv, ff, p, True) for _ in range(layers))
        self.enc_bias, self.dec_bias = nn.Embedding(32, heads), nn.Embedding(32, heads)
        self.enc_norm, self.dec_norm = RMSNorm(d), RMSNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.p = p

    def rel_bias(self, emb, q, k, bidirectional):
        rel = torch.arange(k)[None, :] - torch.arange(q)[:, None]
        return emb(bucket(rel, bidirectional)).permute(2, 0, 1).unsqueeze(0)

    def forward(self, ids, mask, dec_ids, labels):
        drop = lambda t: F.dropout(t, self.p, self.training)
        pad = ((1.0 - mask.float()) * -1e9)[:, None, None, :]
        s, t = ids.size(1), dec_ids.size(1)
        h = drop(self.shared(ids))
        bias = self.rel_bias(self.enc_bias, s, s, True) + pad
        for blk in self.enc:
            h = blk(h, bias)
        mem = drop(self.enc_norm(h))
        causal = torch.triu(torch.full((t, t), -1e9), 1)
        dbias = self.rel_bias(self.dec_bias, t, t, False) + causal
        x = drop(self.shared(dec_ids))
        for blk in self.dec:
            x = blk(x, dbias, mem, pad)
        logits = self.lm_head(drop(self.dec_norm(x)))
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1),
                               ignore_index=-100)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--src", type=int, default=169)
    ap.add_argument("--tgt", type=int, default=6)
    ap.add_argument("--vocab", type=int, default=10000)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = T5(a.vocab)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids = torch.randint(2, a.vocab, (a.batch, a.src))
    mask = torch.ones(a.batch, a.src, dtype=torch.long)
    labels = torch.randint(2, a.vocab, (a.batch, a.tgt))
    dec = torch.cat([torch.zeros(a.batch, 1, dtype=torch.long), labels[:, :-1]], 1)

    def step():
        opt.zero_grad()
        loss = model(ids, mask, dec, labels)
        loss.backward()
        opt.step()

    step()  # warm-up, as the C++ side
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = (time.perf_counter() - t0) / a.steps
    print(json.dumps({"eager_samples_per_s": a.batch / dt, "step_s": dt, "batch": a.batch,
                      "src": a.src, "tgt": a.tgt, "vocab": a.vocab, "threads": a.threads,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
