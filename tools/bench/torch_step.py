#!/usr/bin/python3
"""tools/bench/torch_step.py - one MLM training update of the seed's encoder in PyTorch, timed.

WHAT
  A PyTorch implementation, written for this benchmark from /work/shared/SPEC.md (not the seed's
  code, not HuggingFace's), of the encoder that subspace.h trains: the seed's three configs
  (configs/mha_rope_baseline.json, best_mla.json, best_mla-o.json) and the other options of the
  config schema (dense leading layers, attention biases, decomposed FFN, vocabulary subspace).
  It times what `ss bench train` times: one full update = forward, backward, global-norm
  gradient clipping at 1.0 and AdamW, at batch 32 x 128, with the masked-LM loss scored on about
  15% of the positions and the tied 256 x 30522 output projection computed on those rows only.

  Model (SPEC section 1): token embedding E [V, D] (no position embeddings: RoPE), pre-norm
  blocks h += Attn(RMSNorm(h)); h += FFN(RMSNorm(h)), no final norm; RMSNorm eps 1e-6 with unit
  gains; MHA = fused qkv_proj D -> 3*H*Dh + o_proj; MLA = qkv_a_proj D -> Cq+Ckv, RMSNorm on each
  latent, q_b_proj Cq -> H*Dh, kv_b_proj Ckv -> 2*H*Dh (all keys, then all values), o_proj;
  MLA-o = MLA with o_a_proj H*Dh -> Co and o_b_proj Co -> D; rotate-half RoPE on the first Dr
  dims of every q and k head; softmax(q k^T / sqrt(Dh)) v with dropout 0.1 on the probabilities
  (training mode, as `ss bench train` runs); SwiGLU FFN SiLU(W_in x) * W_gate x -> W_out, all
  with biases; the MLM head is the tied embedding, no bias. Init N(0, 0.02^2), zero biases.
  Module names are the seed's, so named_parameters() prints the same names and shapes as
  `ss params` (SPEC section 8): the shell script compares the two lists line by line.

  Data: random ids uniform in [0, 30522) (seeded), each position a target with probability 0.15
  (Bernoulli, as `ss bench train` and HF's collator draw it); by default the inputs are left
  unchanged at the target positions, exactly like `ss bench train`. --mask-8010 applies BERT's
  80/10/10 rule to the inputs instead ([MASK] = 103 / a random id / unchanged); the FLOPs are the
  same. The batch is drawn once and reused every update (as `ss bench train` does).
  Optimizer: torch.optim.AdamW (0.9, 0.999, 1e-8), lr 5e-4, weight decay 0.01 on every weight
  matrix and the embedding, none on biases and RMSNorm gains (as ss_adamw_step). Gradients are
  reset with zero_grad(set_to_none=True) (torch 2's default; cheaper than zero-filling).

HOW
  /usr/bin/python3 tools/bench/torch_step.py --config configs/best_mla.json --threads 2 \
      [--warmup 3] [--steps 10] [--batch 32] [--seq 128] [--seed 0] [--mask-8010] [--foreach]
  prints a few '# ' comment lines and then ONE line of JSON (the last line of stdout) with the
  median ms per update, tokens/s, peak RSS (getrusage of this process: interpreter and torch
  included, so the RSS right after `import torch` is reported beside it), the parameter count,
  the loss of the first and last update, and what BLAS and thread settings were in force.
  --params-only prints the `ss params`-style table (name, shape, count) and the total, no timing.
  tools/bench/torch_compare.sh runs this next to `ss bench train`; it is a benchmark run by hand
  (or on the device machine), never part of `make test`.

ENVIRONMENT
  Thread count: torch.set_num_threads(T) sets torch's OpenMP pool. Debian's torch does its matrix
  products in the system BLAS (libblas.so.3 -> OpenBLAS, pthread build), which has its own
  thread pool that torch.set_num_threads does not reach, so this script also calls
  openblas_set_num_threads(T) when it finds OpenBLAS loaded (the shell script sets
  OPENBLAS_NUM_THREADS=T as well). The "tuned" environment the shell script sets up, and why, is
  explained in torch_compare.sh.
"""
import argparse
import ctypes
import json
import math
import os
import resource
import sys
import time


def rss_now_mib():
    """Current resident set size of this process in MiB (from /proc/self/statm)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def parse_args():
    p = argparse.ArgumentParser(description="time one MLM training update of the seed's encoder")
    p.add_argument("--config", required=True, help="a seed-format JSON config (model block read)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--warmup", type=int, default=3, help="untimed updates first (default 3)")
    p.add_argument("--steps", type=int, default=10, help="timed updates, median reported (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mask-8010", action="store_true",
                   help="apply the 80/10/10 replacement to the inputs at target positions")
    p.add_argument("--foreach", action="store_true",
                   help="AdamW(foreach=True): one multi-tensor update instead of a loop over tensors")
    p.add_argument("--params-only", action="store_true",
                   help="print every parameter (name, shape, count) and the total; no timing")
    p.add_argument("--label", default="", help="a free-form tag copied into the JSON line")
    return p.parse_args()


ARGS = parse_args()
RSS_BEFORE_TORCH = rss_now_mib()
import torch  # noqa: E402  (after argparse so --help is fast)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
RSS_AFTER_IMPORT = rss_now_mib()


# ------------------------------------------------------------------------------------------------
# The model (SPEC section 1)

class RMSNorm(nn.Module):
    """y = g * x / sqrt(mean(x^2) + eps), gains initialised to 1, no bias (SPEC 1.4)."""

    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(rope_dims, max_pos, theta):
    """cos/sin [max_pos, Dr] for rotate-half RoPE: emb = cat(freqs, freqs) (SPEC 1.6)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, rope_dims, 2, dtype=torch.float32) / rope_dims))
    t = torch.arange(max_pos, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x, cos, sin, rope_dims):
    """Rotate pairs (j, j + Dr/2) of the first Dr dims of every head; x is [B, H, T, Dh]."""
    head_dim = x.shape[-1]
    xr = x if rope_dims == head_dim else x[..., :rope_dims]
    half = rope_dims // 2
    rotated = torch.cat((-xr[..., half:], xr[..., :half]), dim=-1)
    out = xr * cos + rotated * sin
    if rope_dims == head_dim:
        return out
    return torch.cat((out, x[..., rope_dims:]), dim=-1)


class Attention(nn.Module):
    """MHA (dense layer), MLA, or MLA-o, chosen by the layer index and the config (SPEC 1.5, 1.9)."""

    def __init__(self, m, layer_idx):
        super().__init__()
        D, H, Dh = m["hidden_size"], m["num_attention_heads"], m["head_dim"]
        bias = bool(m["attention_bias"])
        self.H, self.Dh = H, Dh
        self.rope_dims = m["rope_dims"]
        self.p_drop = m["attention_dropout_prob"]
        self.dense = layer_idx < m["num_dense_layers"]
        self.output_subspace = (not self.dense) and bool(m["output_subspace"])
        if self.dense:
            self.qkv_proj = nn.Linear(D, 3 * H * Dh, bias=bias)
        else:
            self.Cq, self.Ckv = m["q_latent_dim"], m["kv_latent_dim"]
            self.qkv_a_proj = nn.Linear(D, self.Cq + self.Ckv, bias=bias)
            self.q_a_norm = RMSNorm(self.Cq, m["rms_norm_eps"])
            self.kv_a_norm = RMSNorm(self.Ckv, m["rms_norm_eps"])
            self.q_b_proj = nn.Linear(self.Cq, H * Dh, bias=False)
            self.kv_b_proj = nn.Linear(self.Ckv, 2 * H * Dh, bias=False)
        if self.output_subspace:
            self.o_a_proj = nn.Linear(H * Dh, m["o_latent_dim"], bias=False)
            self.o_b_proj = nn.Linear(m["o_latent_dim"], D, bias=bias)
        else:
            self.o_proj = nn.Linear(H * Dh, D, bias=bias)

    def heads(self, x, B, T):
        return x.view(B, T, self.H, self.Dh).transpose(1, 2)  # [B, H, T, Dh]

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        HDh = self.H * self.Dh
        if self.dense:
            q, k, v = self.qkv_proj(x).split(HDh, dim=-1)
        else:
            q_lat, kv_lat = self.qkv_a_proj(x).split((self.Cq, self.Ckv), dim=-1)
            q = self.q_b_proj(self.q_a_norm(q_lat))
            k, v = self.kv_b_proj(self.kv_a_norm(kv_lat)).split(HDh, dim=-1)
        q, k, v = self.heads(q, B, T), self.heads(k, B, T), self.heads(v, B, T)
        q = apply_rope(q, cos, sin, self.rope_dims)
        k = apply_rope(k, cos, sin, self.rope_dims)
        p = self.p_drop if self.training else 0.0
        if hasattr(F, "scaled_dot_product_attention"):  # torch >= 2.0
            ctx = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
        else:  # torch 1.13 (Debian bookworm): the same computation written out
            scores = torch.matmul(q, k.transpose(-2, -1)) * (self.Dh ** -0.5)
            probs = F.dropout(scores.softmax(dim=-1), p=p, training=p > 0)
            ctx = torch.matmul(probs, v)
        ctx = ctx.transpose(1, 2).reshape(B, T, HDh)  # head-major concat
        if self.output_subspace:
            return self.o_b_proj(self.o_a_proj(ctx))
        return self.o_proj(ctx)


class FFN(nn.Module):
    """SwiGLU with biases, SiLU on the W_in branch; decomposed (low rank) when asked (SPEC 1.8)."""

    def __init__(self, m, layer_idx):
        super().__init__()
        D, Fd = m["hidden_size"], m["intermediate_size"]
        self.decomposed = bool(m["ffn_decompose"]) and layer_idx >= m["num_dense_layers"]
        if self.decomposed:
            r, eps = m["ffn_rank"], m["rms_norm_eps"]
            self.W_in_shared = nn.Linear(D, r, bias=False)
            self.W_in_shared_norm = RMSNorm(r, eps)
            self.W_in = nn.Linear(r, Fd, bias=True)
            self.W_gate_shared = nn.Linear(D, r, bias=False)
            self.W_gate_shared_norm = RMSNorm(r, eps)
            self.W_gate = nn.Linear(r, Fd, bias=True)
            self.W_out = nn.Linear(Fd, r, bias=False)
            self.W_out_shared = nn.Linear(r, D, bias=True)
        else:
            self.W_in = nn.Linear(D, Fd, bias=True)
            self.W_gate = nn.Linear(D, Fd, bias=True)
            self.W_out = nn.Linear(Fd, D, bias=True)

    def forward(self, x):
        if self.decomposed:
            a = self.W_in(self.W_in_shared_norm(self.W_in_shared(x)))
            g = self.W_gate(self.W_gate_shared_norm(self.W_gate_shared(x)))
            return self.W_out_shared(self.W_out(F.silu(a) * g))
        return self.W_out(F.silu(self.W_in(x)) * self.W_gate(x))


class Layer(nn.Module):
    def __init__(self, m, layer_idx):
        super().__init__()
        self.attn_input_norm = RMSNorm(m["hidden_size"], m["rms_norm_eps"])
        self.self_attn = Attention(m, layer_idx)
        self.ffn_input_norm = RMSNorm(m["hidden_size"], m["rms_norm_eps"])
        self.ffn = FFN(m, layer_idx)

    def forward(self, h, cos, sin):
        h = h + self.self_attn(self.attn_input_norm(h), cos, sin)
        return h + self.ffn(self.ffn_input_norm(h))


class Encoder(nn.Module):
    def __init__(self, m):
        super().__init__()
        V, D = m["vocab_size"], m["hidden_size"]
        self.vocab_subspace = bool(m["vocab_subspace"])
        if self.vocab_subspace:
            self.vocab_embed = nn.Embedding(V, m["vocab_rank"])
            self.vocab_proj = nn.Linear(m["vocab_rank"], D, bias=False)
        else:
            self.vocab_embed = nn.Embedding(V, D)
        self.layers = nn.ModuleList(Layer(m, i) for i in range(m["num_hidden_layers"]))
        cos, sin = rope_tables(m["rope_dims"], m["max_position_embeddings"], m["rope_theta"])
        self.register_buffer("rope_cos", cos, persistent=False)  # buffers, not parameters
        self.register_buffer("rope_sin", sin, persistent=False)

    def forward(self, ids):
        T = ids.shape[1]
        h = self.vocab_embed(ids)
        if self.vocab_subspace:
            h = self.vocab_proj(h)
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]
        for layer in self.layers:
            h = layer(h, cos, sin)
        return h  # no final norm (SPEC 1.3)


class MaskedLM(nn.Module):
    """Encoder + tied MLM head, logits only for the scored rows (SPEC 1.12, 1.14)."""

    def __init__(self, m):
        super().__init__()
        self.encoder_model = Encoder(m)
        std = m["initializer_range"]
        for mod in self.modules():  # BERT-style init (SPEC 1.11); RMSNorm gains stay 1
            if isinstance(mod, nn.Linear):
                nn.init.normal_(mod.weight, mean=0.0, std=std)
                if mod.bias is not None:
                    nn.init.zeros_(mod.bias)
            elif isinstance(mod, nn.Embedding):
                nn.init.normal_(mod.weight, mean=0.0, std=std)

    def forward(self, ids, rows, row_targets):
        h = self.encoder_model(ids)
        h = h.reshape(-1, h.shape[-1]).index_select(0, rows)  # only the ~15% scored rows
        enc = self.encoder_model
        if enc.vocab_subspace:
            logits = torch.matmul(h, enc.vocab_proj.weight).matmul(enc.vocab_embed.weight.t())
        else:
            logits = torch.matmul(h, enc.vocab_embed.weight.t())
        return F.cross_entropy(logits, row_targets)


# ------------------------------------------------------------------------------------------------
# Threads and BLAS

def find_openblas():
    """The OpenBLAS this process loaded (through libblas.so.3), as a ctypes handle, or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/" in line}
    except OSError:
        return None, ""
    for path in sorted(paths):
        base = os.path.basename(path)
        if base.startswith(("libblas.so", "libopenblas")):
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_set_num_threads  # noqa: B018  (raises if not OpenBLAS)
                return lib, path
            except (OSError, AttributeError):
                continue
    return None, ""


def set_threads(n):
    torch.set_num_threads(n)
    info = {"torch_threads": torch.get_num_threads()}
    lib, path = find_openblas()
    if lib is not None:
        lib.openblas_set_num_threads(ctypes.c_int(n))
        info["blas"] = path
        try:
            lib.openblas_get_num_threads.restype = ctypes.c_int
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            info["blas_threads"] = lib.openblas_get_num_threads()
            info["blas_core"] = lib.openblas_get_corename().decode()
            info["blas_config"] = lib.openblas_get_config().decode().strip()
        except AttributeError:
            pass
    else:
        info["blas"] = "not OpenBLAS (threads left to the library)"
    return info


def preloaded_allocator():
    pre = os.environ.get("LD_PRELOAD", "")
    return "jemalloc" if "jemalloc" in pre else ("glibc malloc" if not pre else pre)


# ------------------------------------------------------------------------------------------------

def load_model_block(path):
    with open(path) as f:
        cfg = json.load(f)
    m = dict(cfg["model"])
    if m["num_dense_layers"] is None:
        m["num_dense_layers"] = 0
    return m


def shape_str(t):
    return "(" + ", ".join(str(s) for s in t.shape) + ")"


def main():
    args = ARGS
    m = load_model_block(args.config)
    torch.manual_seed(args.seed)
    model = MaskedLM(m)
    n_params = sum(p.numel() for p in model.parameters())
    if args.params_only:
        print("| tensor | shape | parameters |\n|---|---|---:|")
        for name, p in model.named_parameters():
            print("| %s | %s | %d |" % (name, shape_str(p), p.numel()))
        print("\n%s: %d parameters" % (args.config, n_params))
        return 0

    thread_info = set_threads(args.threads)
    B, T, V = args.batch, args.seq, m["vocab_size"]
    g = torch.Generator().manual_seed(args.seed + 1)
    ids = torch.randint(0, V, (B, T), generator=g)
    scored = torch.rand(B, T, generator=g) < 0.15
    targets = ids.clone()
    if args.mask_8010:
        u = torch.rand(B, T, generator=g)
        ids = torch.where(scored & (u < 0.8), torch.full_like(ids, 103), ids)
        ids = torch.where(scored & (u >= 0.8) & (u < 0.9), torch.randint(0, V, (B, T), generator=g), ids)
    rows = scored.reshape(-1).nonzero().squeeze(1)
    row_targets = targets.reshape(-1).index_select(0, rows)

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if name.endswith("bias") or name.endswith("norm.weight") else decay).append(p)
    opt_kw = {"lr": 5e-4, "betas": (0.9, 0.999), "eps": 1e-8}
    if args.foreach:
        opt_kw["foreach"] = True
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], **opt_kw)
    params = list(model.parameters())
    model.train()

    times, losses = [], []
    for step in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(ids, rows, row_targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        losses.append(loss.item())
        if step >= args.warmup:
            times.append(dt)
    times.sort()
    k = len(times)
    med = times[k // 2] if k % 2 else 0.5 * (times[k // 2 - 1] + times[k // 2])
    out = {
        "impl": "torch",
        "label": args.label,
        "config": args.config,
        "threads": args.threads,
        "batch": B,
        "seq": T,
        "params": n_params,
        "scored_rows": int(rows.numel()),
        "warmup": args.warmup,
        "steps": args.steps,
        "ms_median": 1e3 * med,
        "ms_min": 1e3 * times[0],
        "ms_max": 1e3 * times[-1],
        "tokens_per_s": B * T / med,
        "peak_rss_mib": peak_rss_mib(),
        "rss_before_torch_mib": RSS_BEFORE_TORCH,
        "rss_after_import_mib": RSS_AFTER_IMPORT,
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "mask_rule": "80/10/10" if args.mask_8010 else "targets only (inputs unchanged)",
        "adamw_foreach": bool(args.foreach),
        "torch": torch.__version__,
        "allocator": preloaded_allocator(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "malloc_conf": os.environ.get("MALLOC_CONF", ""),
        "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE", ""),
        "openblas_l2_size_env": os.environ.get("OPENBLAS_L2_SIZE", ""),
    }
    out.update(thread_info)
    print("# %s, %d threads: %.1f ms/update, loss %.4f -> %.4f" %
          (args.config, args.threads, out["ms_median"], losses[0], losses[-1]))
    print(json.dumps(out, sort_keys=True))
    if not all(math.isfinite(x) for x in losses):
        print("torch_step.py: non-finite loss", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
