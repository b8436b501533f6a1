#!/usr/bin/env python3
"""Independent float64 forward of the reference UDLM DiT (spec §7.1) from a Hugging Face layout
checkpoint (`model.safetensors` + `config.json`, tensor names `backbone.…` of the reference
`UDLM` module), used to produce the test vector of `crates/diffusion-core/tests/hf_checkpoint.rs`.

It is a from-scratch re-implementation of the equations (not the reference code): token table
lookup; c = SiLU(MLP(sinusoid(σ))) (+ SiLU(label table[y])); per block
  h = LN1(x)(1 + scale_msa) + shift_msa, fused qkv (rows ordered q/k/v, head, dim),
  rotate-half rotary on q and k, softmax(q kᵀ / √d) v, x += gate_msa · W_out(attn),
  h = LN2(x)(1 + scale_mlp) + shift_mlp, x += gate_mlp · W2(GELU_tanh(W1 h + b1)) + …;
final LN, (shift, scale) modulation, linear to logits. LayerNorm: no bias, eps 1e-5.
PyTorch Linear weights are [out, in]: y = x Wᵀ + b.

Usage:
  HF_FIXTURE_OUT=/tmp/hf-fixture cargo test -p diffusion-core --test hf_checkpoint -- --ignored
  python3 scripts/hf_reference_forward.py /tmp/hf-fixture

Only torch and numpy are needed (the safetensors file is parsed here directly).
Input (fixed, as `reference_input` in the test): ids[b, l] = (13 b + 7 l + 3) mod N for
b < 2, l < model_length; σ = [0.7, 2.5]; labels [1, 2] when the model is class-conditional.
"""

import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
import torch

DT = torch.float64
POSITIONS = [0, 5, 31]


def read_safetensors(path):
    buf = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    base = 8 + n
    dtypes = {"F32": "<f4", "F64": "<f8"}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        arr = np.frombuffer(buf[base + start : base + end], dtype=dtypes[info["dtype"]])
        out[name] = torch.from_numpy(arr.astype(np.float64).reshape(info["shape"]))
    return out


def linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def layer_norm(x, w):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + 1e-5) * w


def silu(x):
    return x * torch.sigmoid(x)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def sinusoid(sigma, dim=256):
    half = dim // 2
    k = torch.arange(half, dtype=DT)
    freqs = torch.exp(-math.log(10000.0) * k / half)
    a = sigma[:, None] * freqs[None, :]
    return torch.cat([torch.cos(a), torch.sin(a)], dim=-1)


def rotate(x):
    """x [B, L, heads, d], rotate-half convention, angle = pos · 10000^(−2j/d)."""
    _, length, _, d = x.shape
    half = d // 2
    j = torch.arange(half, dtype=DT)
    inv = 10000.0 ** (-2.0 * j / d)
    ang = torch.arange(length, dtype=DT)[:, None] * inv[None, :]
    cos, sin = torch.cos(ang)[None, :, None, :], torch.sin(ang)[None, :, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def forward(t, cfg, ids, sigma, labels):
    p = "backbone." if "backbone.vocab_embed.embedding" in t else ""
    g = lambda name: t[p + name]
    hdim, heads = cfg["hidden_dim"], cfg["n_heads"]
    d = hdim // heads
    if not cfg.get("time_conditioning", True):
        sigma = torch.zeros_like(sigma)
    c = silu(
        linear(
            silu(linear(sinusoid(sigma), g("sigma_map.mlp.0.weight"), g("sigma_map.mlp.0.bias"))),
            g("sigma_map.mlp.2.weight"),
            g("sigma_map.mlp.2.bias"),
        )
    )
    if cfg.get("cfg", False):
        c = c + silu(g("cond_map.embedding_table.weight")[labels])
    x = g("vocab_embed.embedding")[ids]  # [B, L, H]
    bsz, length, _ = x.shape
    for i in range(cfg["n_blocks"]):
        q = lambda name: g(f"blocks.{i}.{name}")
        mods = linear(c, q("adaLN_modulation.weight"), q("adaLN_modulation.bias"))
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = [
            m[:, None, :] for m in mods.chunk(6, dim=-1)
        ]
        h = layer_norm(x, q("norm1.weight")) * (1 + scale_msa) + shift_msa
        qkv = linear(h, q("attn_qkv.weight")).view(bsz, length, 3, heads, d)
        qq, kk, vv = rotate(qkv[:, :, 0]), rotate(qkv[:, :, 1]), qkv[:, :, 2]
        scores = torch.einsum("blhd,bmhd->bhlm", qq, kk) / math.sqrt(d)
        att = torch.einsum("bhlm,bmhd->blhd", torch.softmax(scores, dim=-1), vv)
        att = att.reshape(bsz, length, hdim)
        x = x + gate_msa * linear(att, q("attn_out.weight"))
        h = layer_norm(x, q("norm2.weight")) * (1 + scale_mlp) + shift_mlp
        mlp = linear(
            gelu_tanh(linear(h, q("mlp.0.weight"), q("mlp.0.bias"))),
            q("mlp.2.weight"),
            q("mlp.2.bias"),
        )
        x = x + gate_mlp * mlp
    shift, scale = [
        m[:, None, :]
        for m in linear(
            c, g("output_layer.adaLN_modulation.weight"), g("output_layer.adaLN_modulation.bias")
        ).chunk(2, dim=-1)
    ]
    x = layer_norm(x, g("output_layer.norm_final.weight")) * (1 + scale) + shift
    return linear(x, g("output_layer.linear.weight"), g("output_layer.linear.bias"))


def main():
    d = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/hf-fixture")
    cfg = json.loads((d / "config.json").read_text())
    t = read_safetensors(d / "model.safetensors")
    n, length = cfg["vocab_size"], cfg["model_length"]
    ids = torch.tensor([[(b * 13 + l * 7 + 3) % n for l in range(length)] for b in range(2)])
    sigma = torch.tensor([0.7, 2.5], dtype=DT)
    labels = torch.tensor([1, 2])
    with torch.no_grad():
        out = forward(t, cfg, ids, sigma, labels)  # [2, L, N]
    print(f"// torch {torch.__version__}, float64, from {d}")
    print(f"const REFERENCE_LOGITS: [[f64; N]; {2 * len(POSITIONS)}] = [")
    for b in range(2):
        for pos in POSITIONS:
            vals = ", ".join(f"{v:.8e}" for v in out[b, pos].tolist())
            print(f"    [{vals}],")
    print("];")
    sums = ", ".join(f"{out[b].sum().item():.10e}" for b in range(2))
    sumsq = ", ".join(f"{(out[b] ** 2).sum().item():.10e}" for b in range(2))
    print(f"const REFERENCE_SUM: [f64; 2] = [{sums}];")
    print(f"const REFERENCE_SUMSQ: [f64; 2] = [{sumsq}];")


if __name__ == "__main__":
    main()
