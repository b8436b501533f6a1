#!/usr/bin/env python3
"""Independent PyTorch baseline for `gdd-bench` (same machine, same configuration).

Written for this project from the architecture description in the reference spec (§7.1):
a DiT with rotary attention, adaLN-Zero and a zero-initialised output layer; an MDLM training
step (NELBO with weight 1/t, AdamW, global-norm clipping 1.0, EMA); and the reference's
per-step Python sampling loop (MDLM with and without the cache, UDLM, and AR: a causal DiT
without adaLN in the blocks, L - 1 forward passes over the growing prefix, no KV cache). fp32 on CPU.

    python3 scripts/bench/torch/bench_torch.py [--steps 10] [--batch 64] [--threads 2] [--json] ...

Prints the same lines as `gdd-bench` so the two can be compared as ratios; with `--json`, one JSON
object per line in the same schema as `gdd-bench --json` (what `scripts/bench/run.sh` parses).
"""
import argparse, json, math, time
import torch
import torch.nn as nn
import torch.nn.functional as F


def rotary(x, cos, sin):  # x [B, heads, L, d]
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class LN(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],)) * self.weight


class Block(nn.Module):
    def __init__(self, h, heads, cond, p, causal=False, adaln=True):
        super().__init__()
        self.heads = heads
        self.causal, self.adaln = causal, adaln
        self.n1, self.n2 = LN(h), LN(h)
        self.qkv = nn.Linear(h, 3 * h, bias=False)
        self.out = nn.Linear(h, h, bias=False)
        self.mlp = nn.Sequential(nn.Linear(h, 4 * h), nn.GELU(approximate="tanh"), nn.Linear(4 * h, h))
        self.ada = nn.Linear(cond, 6 * h)
        nn.init.zeros_(self.ada.weight); nn.init.zeros_(self.ada.bias)
        self.drop = nn.Dropout(p)

    def forward(self, x, c, cos, sin):
        b, l, h = x.shape
        if not self.adaln:  # the reference's AR model without labels: no modulation in the blocks
            y = self.n1(x)
            q, k, v = self.qkv(y).view(b, l, 3, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
            q, k = rotary(q, cos, sin), rotary(k, cos, sin)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal).transpose(1, 2).reshape(b, l, h)
            x = x + self.drop(self.out(a))
            return x + self.drop(self.mlp(self.n2(x)))
        sh1, sc1, g1, sh2, sc2, g2 = self.ada(c)[:, None].chunk(6, dim=2)
        y = self.n1(x) * (1 + sc1) + sh1
        q, k, v = self.qkv(y).view(b, l, 3, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
        q, k = rotary(q, cos, sin), rotary(k, cos, sin)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal).transpose(1, 2).reshape(b, l, h)
        x = x + g1 * self.drop(self.out(a))
        y = self.n2(x) * (1 + sc2) + sh2
        return x + g2 * self.drop(self.mlp(y))


class DiT(nn.Module):
    def __init__(self, n, h, blocks, heads, cond=128, p=0.1, causal=False, adaln=True):
        super().__init__()
        self.E = nn.Parameter(torch.empty(n, h))
        nn.init.kaiming_uniform_(self.E, a=math.sqrt(5))
        self.t1, self.t2 = nn.Linear(256, cond), nn.Linear(cond, cond)
        self.blocks = nn.ModuleList([Block(h, heads, cond, p, causal, adaln) for _ in range(blocks)])
        self.norm = LN(h)
        self.ada = nn.Linear(cond, 2 * h)
        self.lin = nn.Linear(h, n)
        for m in (self.ada, self.lin):
            nn.init.zeros_(m.weight); nn.init.zeros_(m.bias)
        self.heads = heads

    def forward(self, ids, sigma):
        b, l = ids.shape
        h = self.E.shape[1]
        freqs = torch.exp(-math.log(10000) * torch.arange(128) / 128)
        args = sigma[:, None] * freqs[None]
        c = F.silu(self.t2(F.silu(self.t1(torch.cat([args.cos(), args.sin()], -1)))))
        d = h // self.heads
        inv = 10000 ** (-torch.arange(0, d, 2).float() / d)
        ang = torch.arange(l).float()[:, None] * inv[None]
        cos, sin = ang.cos()[None, None], ang.sin()[None, None]
        x = self.E[ids]
        for blk in self.blocks:
            x = blk(x, c, cos, sin)
        sh, sc = self.ada(c)[:, None].chunk(2, dim=2)
        return self.lin(self.norm(x) * (1 + sc) + sh)


def subs(logits, z, mask):
    logits = logits.clone()
    logits[..., mask] = -1e6
    lp = logits.log_softmax(-1)
    unmasked = z != mask
    carry = torch.full_like(lp, -1e6)
    carry.scatter_(-1, z[..., None], 0.0)
    return torch.where(unmasked[..., None], carry, lp)


KINDS = ("mdlm", "mdlm-cache", "udlm", "ar")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq-len", type=int, default=32)
    ap.add_argument("--vocab", type=int, default=40)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--blocks", type=int, default=8)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--sample-steps", type=int, default=32)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--skip-sampling", action="store_true")
    ap.add_argument("--skip-training", action="store_true")
    ap.add_argument("--skip-guidance", action="store_true", help="accepted for gdd-bench parity (no guidance here)")
    ap.add_argument("--sample-kinds", default=",".join(KINDS),
                    help="comma-separated subset of mdlm,mdlm-cache,udlm,ar, or none")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    ap.add_argument("--json", action="store_true", help="one JSON object per line instead of text")
    ap.add_argument("--autocast-bf16", action="store_true",
                    help="training forward under torch.autocast('cpu', bfloat16) (mixed precision; fp32 master weights)")
    ap.add_argument("--gemm", default=None, help="M,K,N: only time an [M,K]@[K,N] fp32 matmul, GFLOP/s")
    a = ap.parse_args()
    kinds = [] if a.sample_kinds == "none" else [k.strip() for k in a.sample_kinds.split(",")]
    for k in kinds:
        if k not in KINDS:
            ap.error(f"--sample-kinds: `{k}` is not one of {', '.join(KINDS)}, none")
    if a.threads > 0:
        torch.set_num_threads(a.threads)

    def emit(human, record):
        print(json.dumps(record) if a.json else human, flush=True)

    torch.manual_seed(0)
    n, l, mask = a.vocab, a.seq_len, a.vocab - 1
    emit(f"config: backend=pytorch-{torch.__version__} batch={a.batch} L={l} vocab={n} hidden={a.hidden} "
         f"blocks={a.blocks} heads={a.heads} dropout={a.dropout} train_steps={a.steps} sample_T={a.sample_steps} "
         f"samples={a.samples} threads={torch.get_num_threads()}",
         {"bench": "config", "program": "bench_torch.py", "backend": f"pytorch-{torch.__version__}",
          "batch": a.batch, "L": l, "vocab": n, "hidden": a.hidden, "blocks": a.blocks, "heads": a.heads,
          "dropout": a.dropout, "train_steps": a.steps, "sample_T": a.sample_steps, "samples": a.samples,
          "threads": torch.get_num_threads()})
    if a.gemm:
        m_, k_, n_ = (int(d) for d in a.gemm.split(","))
        x, w = torch.rand(m_, k_) - 0.5, torch.rand(k_, n_) - 0.5
        times = []
        for i in range(23):
            t0 = time.perf_counter()
            x @ w
            if i >= 3:
                times.append(time.perf_counter() - t0)
        med = sorted(times)[len(times) // 2]
        gflops = 2 * m_ * k_ * n_ / med / 1e9
        emit(f"gemm {m_}x{k_}x{n_}: {gflops:.1f} GFLOP/s (median of 20)",
             {"bench": "gemm", "m": m_, "k": k_, "n": n_, "gflops": gflops})
        return
    model = DiT(n, a.hidden, a.blocks, a.heads, p=a.dropout)
    eps = 1e-3

    if not a.skip_training:
        ema = [p.detach().clone() for p in model.parameters()]
        opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
        data = torch.randint(0, n - 1, (a.batch * 4, l))

        def step(k):
            x = data[torch.randint(0, data.shape[0], (a.batch,))]
            u = (torch.rand(a.batch) / a.batch + torch.arange(a.batch) / a.batch) % 1
            t = (1 - eps) * u + eps
            move = (1 - eps) * t
            z = torch.where(torch.rand(a.batch, l) < move[:, None], torch.full_like(x, mask), x)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.autocast_bf16):
                logits = model(z, torch.zeros(a.batch))
            lp = subs(logits.float(), z, mask)
            loss = (-lp.gather(-1, x[..., None])[..., 0] / t[:, None]).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            d = min(0.9999, (1 + k) / (10 + k))
            with torch.no_grad():
                for e, p in zip(ema, model.parameters()):
                    e.sub_((1 - d) * (e - p))

        model.train()
        for k in range(3):
            step(k)
        times = []
        for k in range(a.steps):
            t0 = time.perf_counter()
            step(k + 3)
            times.append(time.perf_counter() - t0)
        med = sorted(times)[len(times) // 2]
        emit(f"train mdlm{' (autocast bf16)' if a.autocast_bf16 else ''}: {a.batch * l / med:.0f} tokens/s (median {1000 * med:.1f} ms/step over {a.steps} steps)",
             {"bench": "train", "model": "mdlm", "L": l, "vocab": n, "batch": a.batch, "steps": a.steps,
              "tokens_per_s": a.batch * l / med, "ms_per_step": 1000 * med, "autocast_bf16": a.autocast_bf16})
    if a.skip_sampling:
        return

    model.eval()
    nn.init.normal_(model.lin.weight, std=0.05)
    # AR: a causal DiT without adaLN in the blocks, random output weights like the others.
    ar_model = DiT(n, a.hidden, a.blocks, a.heads, p=a.dropout, causal=True, adaln=False).eval()
    nn.init.normal_(ar_model.lin.weight, std=0.05)
    T, s_eps = a.sample_steps, 1e-5
    bos = 0

    def alpha(t):
        return 1 - (1 - 1e-3) * t

    @torch.no_grad()
    def sample(kind, cache, b):
        if kind == "ar":
            # Position 0 = BOS, then L - 1 tokens one by one; each step re-runs the whole prefix
            # (no KV cache, as the reference and gdd-bench).
            z = torch.full((b, l), bos)
            for i in range(1, l):
                logits = ar_model(z[:, :i], torch.zeros(b))[:, i - 1]
                p = logits.log_softmax(-1).exp()
                e = 1e-10 - torch.log(torch.rand_like(p) + 1e-10)
                z[:, i] = (p / e).argmax(-1)
            return l - 1
        z = torch.full((b, l), mask) if kind == "mdlm" else torch.randint(0, n, (b, l))
        ts = torch.linspace(1, s_eps, T + 1)
        dt = (1 - s_eps) / T
        nfe, cached = 0, None
        for i in range(T):
            t = ts[i].item(); s = t - dt
            if kind == "mdlm":
                if cached is None:
                    xt = subs(model(z, torch.zeros(b)), z, mask).exp(); nfe += 1
                else:
                    xt = cached
                mt, ms = 1 - alpha(t), 1 - alpha(s)
                q = xt * (mt - ms) / mt
                q[..., mask] = ms / mt
                e = 1e-10 - torch.log(torch.rand_like(q) + 1e-10)
                zs = (q / e).argmax(-1)
                zs = torch.where(z != mask, z, zs)
                cached = xt if (cache and torch.equal(zs, z)) else None
            else:
                sig = -math.log(alpha(t))
                xt = model(z, torch.full((b,), sig)).log_softmax(-1).exp(); nfe += 1
                at, as_ = alpha(t), alpha(s)
                zo = F.one_hot(z, n).float()
                num = n * at * zo * xt + (at / as_ - at) * zo + (as_ - at) * xt + (as_ - at) * (1 - as_) / (n * as_)
                den = n * at * (zo * xt).sum(-1, keepdim=True) + 1 - at
                q = num / den
                e = 1e-10 - torch.log(torch.rand_like(q) + 1e-10)
                zs = (q / e).argmax(-1)
            z = zs
        return nfe

    for k in kinds:
        kind, cache = ("mdlm", True) if k == "mdlm-cache" else (k, False)
        sample(kind, cache, min(a.samples, 8))
        t0 = time.perf_counter()
        nfe = sample(kind, cache, a.samples)
        secs = time.perf_counter() - t0
        steps = l - 1 if kind == "ar" else T
        emit(f"sample {kind.capitalize()} cache={str(cache).lower()}: {a.samples / secs:.2f} samples/s "
             f"({1000 * secs / steps:.1f} ms/step, nfe={nfe})",
             {"bench": "sample", "model": kind, "cache": cache, "T": steps, "L": l, "samples": a.samples,
              "samples_per_s": a.samples / secs, "ms_per_step": 1000 * secs / steps, "nfe": nfe})


if __name__ == "__main__":
    main()
