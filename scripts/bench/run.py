#!/usr/bin/env python3
"""Benchmark suite: `gdd-bench` (Rust) against the PyTorch twin, same machine, same threads.

    scripts/bench/run.sh [--threads 2] [--quick] [--only train,sample,guidance] [--no-torch] ...

Builds `gdd-bench` in release, prints the machine (cores, CPU model, backends), then runs every
configuration below twice — `gdd-bench --json` and `scripts/bench/torch/bench_torch.py --json` —
each as its own process under `/usr/bin/time -v` (peak resident memory), with the same thread count
for both (RAYON_NUM_THREADS for Rust; OMP_NUM_THREADS, MKL_NUM_THREADS and torch.set_num_threads for
PyTorch). It writes the Markdown table to scripts/bench/results.md (`--out`) and prints it.

The suite (full settings; `--quick` keeps the model sizes and cuts steps and samples so a run
checks the machinery in a few minutes; its figures are not measurements):

  train-qm9       MDLM training step (forward, backward, clipping, AdamW, EMA), tokens/s, median of
                  10 steps after 3 warm-up steps; L 32, vocab 40, hidden 256, 8 blocks, 8 heads,
                  dropout 0.1, batch 64                                     (quick: 1 step)
  train-genomics  the same at L 1024, vocab 8, batch 4                       (quick: 1 step, batch 1)
  sample-*        samples/s drawing 64 samples (after an 8-sample warm-up) from an untrained
                  QM9-sized model with random output weights: MDLM without and with the cache, UDLM,
                  at T = 32 and T = 128                                      (quick: 4 samples, T 4, 8)
  sample-ar       AR: causal DiT, L - 1 = 31 forward passes over the growing prefix with no KV cache
                  in either program, so the same for every T; 64 samples     (quick: 4 samples)
  guidance        Rust only: per-step cost of guided UDLM sampling (class-conditional QM9-sized
                  model, T = 32, 64 samples, gamma 2; noisy DiT classifier with 3 blocks) relative
                  to unguided: D-CFG, first-order D-CBG, exact D-CBG (2 samples, 2 timed steps,
                  per sample-step)                                           (quick: 4 samples, T 4, 1 exact sample)

  gemm-*          the compute ceiling: GFLOP/s of one fp32 matmul at the DiT's MLP shapes for a QM9
                  batch of 64 ([2048, 256]·[256, 1024] and [2048, 1024]·[1024, 256]), burn and torch

Below the table, "Compute" converts the training and uncached sampling figures to model GFLOP/s
(analytic forward FLOPs per token: blocks · (24 H² + 4 L H) + 2 H N, multiply-add = 2; training
counts 3× forward; a sample costs L tokens × T network calls) and compares them with the matmul
ceiling measured in the same run. A full run (all groups, not --quick, default --out) also copies
the result into README.md between the `bench-results` markers (`--no-readme` to skip).

The PyTorch interpreter is $PYTHON (default `python3`); it needs `torch` (see
scripts/bench/torch/README.md).
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TORCH_TWIN = os.path.join("scripts", "bench", "torch", "bench_torch.py")

QM9 = dict(seq_len=32, vocab=40, hidden=256, blocks=8, heads=8)
GENOMICS = dict(seq_len=1024, vocab=8, hidden=256, blocks=8, heads=8)


def fwd_flops_per_token(d):
    """Analytic forward FLOPs per token of the DiT (see the module docs)."""
    h, l = d["hidden"], d["seq_len"]
    return d["blocks"] * (24 * h * h + 4 * l * h) + 2 * h * d["vocab"]


GEMMS = [(2048, 256, 1024, "MLP up-projection"), (2048, 1024, 256, "MLP down-projection")]


def suite(quick):
    """The fixed configurations: (id, group, label, flags for both programs, rust-only flags, torch?)."""
    steps = 1 if quick else 10
    samples = 4 if quick else 64
    t_lo, t_hi = (4, 8) if quick else (32, 128)
    gen_batch = 1 if quick else 4
    model = lambda d: ["--seq-len", str(d["seq_len"]), "--vocab", str(d["vocab"]), "--hidden",
                       str(d["hidden"]), "--blocks", str(d["blocks"]), "--heads", str(d["heads"])]
    out = [
        dict(id="train-qm9", group="train",
             label=f"training, QM9 size (L 32, vocab 40, batch 64), tokens/s",
             args=model(QM9) + ["--batch", "64", "--steps", str(steps), "--skip-sampling"], torch=True,
             flops=3 * fwd_flops_per_token(QM9)),
        dict(id="train-genomics", group="train",
             label=f"training, genomics size (L 1024, vocab 8, batch {gen_batch}), tokens/s",
             args=model(GENOMICS) + ["--batch", str(gen_batch), "--steps", str(steps), "--skip-sampling"],
             torch=True, flops=3 * fwd_flops_per_token(GENOMICS)),
    ]
    for m, k, n, what in GEMMS:
        out.append(dict(id=f"gemm-{m}x{k}x{n}", group="gemm",
                        label=f"matmul [{m}×{k}]·[{k}×{n}] fp32 (QM9 batch, {what}), GFLOP/s",
                        args=["--gemm", f"{m},{k},{n}"], torch=True))
    names = {"mdlm": "MDLM, no cache", "mdlm-cache": "MDLM, cache", "udlm": "UDLM"}
    for t in (t_lo, t_hi):
        for kind in ("mdlm", "mdlm-cache", "udlm"):
            out.append(dict(id=f"sample-{kind}-T{t}", group="sample",
                            label=f"sampling {names[kind]}, T = {t}, {samples} samples, samples/s",
                            args=model(QM9) + ["--skip-training", "--skip-guidance", "--sample-kinds", kind,
                                               "--sample-steps", str(t), "--samples", str(samples)],
                            torch=True,
                            flops=None if kind == "mdlm-cache" else fwd_flops_per_token(QM9) * QM9["seq_len"] * t))
    out.append(dict(id="sample-ar", group="sample",
                    label=f"sampling AR (L − 1 = 31 passes, no KV cache; any T), {samples} samples, samples/s",
                    args=model(QM9) + ["--skip-training", "--skip-guidance", "--sample-kinds", "ar",
                                       "--samples", str(samples)],
                    torch=True))
    out.append(dict(id="guidance", group="guidance", label=None,
                    args=model(QM9) + ["--skip-training", "--sample-kinds", "none", "--sample-steps", str(t_lo),
                                       "--samples", str(samples)],
                    rust_args=["--exact-samples", "1" if quick else "2"], torch=False))
    return out


def machine():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return os.cpu_count() or 1, model


def run_measured(cmd, env, cwd):
    """Runs `cmd`, returns (rc, stdout, stderr, peak RSS in KiB or None)."""
    time_bin = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    if time_bin:
        with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as tf:
            tpath = tf.name
        try:
            p = subprocess.run([time_bin, "-v", "-o", tpath] + cmd, env=env, cwd=cwd,
                               capture_output=True, text=True)
            with open(tpath) as f:
                m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read())
            return p.returncode, p.stdout, p.stderr, int(m.group(1)) if m else None
        finally:
            os.unlink(tpath)
    # No GNU time: wait4 gives the child's rusage (ru_maxrss in KiB on Linux).
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=fo, stderr=fe, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        return p.returncode, fo.read(), fe.read(), usage.ru_maxrss


def parse_json_lines(text):
    recs = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                recs.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return recs


def fmt_num(x, digits=None):
    if x is None:
        return "–"
    if digits is None:
        digits = 0 if x >= 100 else (1 if x >= 10 else 2)
    return f"{x:,.{digits}f}"


def fmt_rss(kib):
    return "–" if kib is None else f"{kib / 1024:,.0f} MiB"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", "2")),
                    help="threads for both programs (default 2, or $BENCH_THREADS)")
    ap.add_argument("--quick", action="store_true", help="few steps and samples: checks the runner, not figures")
    ap.add_argument("--only", default="train,gemm,sample,guidance",
                    help="comma-separated groups or configuration ids to run (default: all)")
    ap.add_argument("--backend", default=None, help="gdd-bench --backend (default: its own default)")
    ap.add_argument("--no-build", action="store_true", help="use the existing release gdd-bench")
    ap.add_argument("--no-torch", action="store_true", help="Rust only; PyTorch columns say –")
    ap.add_argument("--out", default=os.path.join("scripts", "bench", "results.md"))
    ap.add_argument("--no-readme", action="store_true", help="do not copy a full run's result into README.md")
    a = ap.parse_args()
    os.chdir(ROOT)
    command_line = "scripts/bench/run.sh" + "".join(" " + shlex.quote(x) for x in sys.argv[1:])
    python = os.environ.get("PYTHON", "python3")
    started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    # Build.
    if not a.no_build:
        build = ["cargo", "build", "--release", "-p", "diffusion-core", "--bin", "gdd-bench"]
        print("+ " + " ".join(build), flush=True)
        if subprocess.run(build).returncode != 0:
            sys.exit("bench: cargo build failed")
    meta = json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                                     check=True, capture_output=True, text=True).stdout)
    rust_bin = os.path.join(meta["target_directory"], "release", "gdd-bench")
    if not os.access(rust_bin, os.X_OK):
        sys.exit(f"bench: {rust_bin} not found (build it, or drop --no-build)")

    torch_version = None
    if not a.no_torch:
        p = subprocess.run([python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"bench: `{python}` cannot import torch (set $PYTHON, see scripts/bench/torch/README.md, "
                     f"or pass --no-torch):\n{p.stderr.strip()}")
        torch_version = p.stdout.strip()

    cores, cpu = machine()
    env_rust = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    env_torch = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))
    selected = set(x.strip() for x in a.only.split(",") if x.strip())
    configs = [c for c in suite(a.quick) if c["group"] in selected or c["id"] in selected]
    if not configs:
        sys.exit(f"bench: --only {a.only} selects nothing")

    rust_backend = None
    print(f"machine: {cores} cores, {cpu}; threads per program: {a.threads}", flush=True)

    rows, failures, measured = [], [], {}
    for c in configs:
        rust_cmd = [rust_bin, "--json"] + c["args"] + c.get("rust_args", [])
        if a.backend:
            rust_cmd += ["--backend", a.backend]
        print(f"+ RAYON_NUM_THREADS={a.threads} {' '.join(shlex.quote(x) for x in rust_cmd)}", flush=True)
        rc, out, err, rss = run_measured(rust_cmd, env_rust, ROOT)
        rust = dict(recs=parse_json_lines(out), rss=rss, ok=rc == 0, ran=True)
        if rc != 0:
            failures.append(f"{c['id']} (Rust, exit {rc}): {err.strip()[-500:]}")
        for r in rust["recs"]:
            if r.get("bench") == "config":
                rust_backend = r.get("backend")
                if r.get("threads") != a.threads:
                    failures.append(f"{c['id']}: gdd-bench reports {r.get('threads')} threads, not {a.threads}")
        torch = dict(recs=[], rss=None, ok=False, ran=False)
        if c["torch"] and not a.no_torch:
            torch_cmd = [python, TORCH_TWIN, "--json", "--threads", str(a.threads)] + c["args"]
            print(f"+ OMP_NUM_THREADS={a.threads} {' '.join(shlex.quote(x) for x in torch_cmd)}", flush=True)
            rc, out, err, rss = run_measured(torch_cmd, env_torch, ROOT)
            torch = dict(recs=parse_json_lines(out), rss=rss, ok=rc == 0, ran=True)
            if rc != 0:
                failures.append(f"{c['id']} (PyTorch, exit {rc}): {err.strip()[-500:]}")
            for r in torch["recs"]:
                if r.get("bench") == "config" and r.get("threads") != a.threads:
                    failures.append(f"{c['id']}: PyTorch reports {r.get('threads')} threads, not {a.threads}")
        rows.extend(table_rows(c, rust, torch))
        measured[c["id"]] = (c, headline(c, rust), headline(c, torch))

    finished = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    md = render(a, command_line, started, finished, cores, cpu, rust_backend, torch_version, rows,
                compute_lines(measured), failures)
    with open(a.out, "w") as f:
        f.write(md)
    print()
    print(md, end="")
    print(f"\n(written to {a.out})")
    full = (not a.quick and not failures and selected == set(ap.get_default("only").split(","))
            and a.out == ap.get_default("out"))
    if full and not a.no_readme:
        update_readme(md)
        print(f"(copied into README.md between the {README_BEGIN} markers)")
    if failures:
        sys.exit(1)


README_BEGIN = "<!-- bench-results:begin -->"
README_END = "<!-- bench-results:end -->"


def readme_block(md):
    """What README.md holds between the markers: results.md without its title."""
    body = md.split("\n", 1)[1].strip("\n")
    return f"{README_BEGIN}\n{body}\n{README_END}"


def update_readme(md):
    path = os.path.join(ROOT, "README.md")
    with open(path) as f:
        text = f.read()
    i, j = text.find(README_BEGIN), text.find(README_END)
    if i < 0 or j < i:
        sys.exit(f"bench: README.md has no {README_BEGIN} … {README_END} block")
    text = text[:i] + readme_block(md) + text[j + len(README_END):]
    with open(path, "w") as f:
        f.write(text)


def headline(c, side):
    """The configuration's main figure from one program's records (None if absent)."""
    key = {"train": "tokens_per_s", "sample": "samples_per_s", "gemm": "gflops"}.get(c["group"])
    r = pick(side["recs"], bench=c["group"]) if key else None
    return r.get(key) if r else None


def compute_lines(measured):
    """Model GFLOP/s of training and uncached sampling against the matmul ceiling of this run."""
    ceil = {side: max((v[1 + side] or 0) for k, v in measured.items() if k.startswith("gemm-"))
            if any(k.startswith("gemm-") for k in measured) else 0 for side in (0, 1)}
    rows = []
    for cid, (c, rv, tv) in measured.items():
        if not c.get("flops") or (rv is None and tv is None):
            continue
        r = rv * c["flops"] / 1e9 if rv else None
        t = tv * c["flops"] / 1e9 if tv else None
        pct = lambda x, side: f"{100 * x / ceil[side]:.0f} %" if x and ceil[side] else "–"
        rows.append(f"| {c['label'].rsplit(',', 1)[0]} | {fmt_num(r)} ({pct(r, 0)}) | {fmt_num(t)} ({pct(t, 1)}) |")
    if not rows:
        return []
    out = ["", "Compute: model GFLOP/s (analytic FLOPs, see `scripts/bench/run.py`) and, in brackets, the share of "
           f"the program's best matmul rate in this run (burn {fmt_num(ceil[0] or None)}, torch "
           f"{fmt_num(ceil[1] or None)} GFLOP/s).", "",
           "| config | Rust GFLOP/s | PyTorch GFLOP/s |", "|---|---|---|"] + rows
    two_x = [2 * tv * c["flops"] / 1e9 for (c, rv, tv) in measured.values()
             if c.get("flops") and c["group"] == "sample" and tv]
    if two_x and ceil[0]:
        out += ["", f"Twice the PyTorch sampling rate needs {fmt_num(min(two_x))}–{fmt_num(max(two_x))} model "
                f"GFLOP/s: {100 * min(two_x) / ceil[0]:.0f}–{100 * max(two_x) / ceil[0]:.0f} % of burn's best plain "
                "matmul in this run, with nothing else (attention, norms, sampling) taking any time."]
    return out


def pick(recs, **kw):
    for r in recs:
        if all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


def table_rows(c, rust, torch):
    """[config, Rust, PyTorch, ratio, RSS Rust, RSS PyTorch] rows for one configuration."""
    err = lambda side: "error" if side["ran"] and not side["ok"] else "–"
    if c["group"] in ("train", "sample", "gemm"):
        rv, tv = headline(c, rust), headline(c, torch)
        ratio = f"{rv / tv:.2f}" if rv and tv else "–"
        return [[c["label"],
                 fmt_num(rv) if rv is not None else err(rust),
                 fmt_num(tv) if tv is not None else err(torch),
                 ratio, fmt_rss(rust["rss"]), fmt_rss(torch["rss"])]]
    # Guidance: Rust only, one process for all modes (the ratios need the unguided run).
    recs = {r["mode"]: r for r in rust["recs"] if r.get("bench") == "guidance"}
    gc = pick(rust["recs"], bench="guidance_config") or {}
    base = recs.get("unguided")
    if not base:
        return [["guided sampling (UDLM)", err(rust), "–", "–", fmt_rss(rust["rss"]), "–"]]
    head = (f"UDLM, T = {base['T']}, {base['samples']} samples, classifier {gc.get('classifier_blocks', '?')} "
            f"blocks, γ = 2")
    rss = fmt_rss(rust["rss"]) + " (one process)"
    out = [[f"guided sampling: unguided (conditional), {head}, ms/step", fmt_num(base["ms_per_step"]),
            "–", "–", rss, "–"]]
    for mode, name in (("cfg", "D-CFG (batched branches)"), ("cbg_first_order", "D-CBG first-order")):
        g = recs.get(mode)
        cell = f"{fmt_num(g['ms_per_step'])} ms/step = {g['x_unguided']:.2f}× unguided" if g else err(rust)
        out.append([f"guided sampling: {name}, ms/step", cell, "–", "–", rss, "–"])
    g = recs.get("cbg_exact")
    if g:
        cell = (f"{fmt_num(g['ms_per_sample_step'])} ms per sample-step = {g['x_unguided_per_sample']:,.0f}× "
                f"unguided per sample ({g['samples']} sample{'s' if g['samples'] != 1 else ''} × {g['timed_steps']} steps timed; 1,024 samples × "
                f"{g['T']} steps ≈ {fmt_num(g['extrapolated_1024_samples_min'])} min)")
    else:
        cell = err(rust)
    out.append(["guided sampling: D-CBG exact (L·N edits per sample-step), per sample", cell, "–", "–", rss, "–"])
    return out


def render(a, command_line, started, finished, cores, cpu, rust_backend, torch_version, rows, compute, failures):
    lines = [
        "# Benchmark results",
        "",
        f"- command: `{command_line}`" + (" (QUICK MODE: checks the runner; these figures are not measurements)"
                                          if a.quick else ""),
        f"- started {started.isoformat()}, finished {finished.isoformat()}",
        f"- machine: {cores} cores, {cpu}, {platform.system()} {platform.release()}",
        f"- threads per program: {a.threads} (RAYON_NUM_THREADS for Rust; OMP_NUM_THREADS, MKL_NUM_THREADS and "
        f"torch.set_num_threads for PyTorch)",
        f"- Rust: `gdd-bench`, release build, backend {rust_backend or '?'}; PyTorch: "
        f"`{TORCH_TWIN}`, " + (f"torch {torch_version}, fp32 CPU" if torch_version else "not run"),
        "- each configuration is one process per program, run once; peak RSS from `/usr/bin/time -v`",
        "- ratio = Rust / PyTorch (throughput: above 1 means Rust is faster)",
        "",
        "| config | Rust | PyTorch | Rust / PyTorch | peak RSS Rust | peak RSS PyTorch |",
        "|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += compute
    if failures:
        lines += ["", "Failures:", ""] + [f"- {f}" for f in failures]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
