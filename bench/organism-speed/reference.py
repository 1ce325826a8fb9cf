#!/usr/bin/env python3
"""PyTorch yardstick for the organism (the same GPT as src/organism/model.ts).

Reads a safetensors file written by run.ts (the organism's parameters under their Hugging Face GPT-2
names, weights [in, out] as in GPT-2's Conv1D, plus `check.tokens` and `check.logits`), checks that
PyTorch computes the same logits, then times a training step (forward + backward + gradient clipping +
AdamW) and batched sampling with the same shapes. Prints one JSON object on stdout.

Needs only Debian's python3-torch (1.13, CPU); the safetensors parser is written out with json/struct
because PyPI is out of reach here. Run with OpenBLAS (libopenblas0-pthread), not the reference BLAS.
"""
import argparse
import json
import math
import statistics
import struct
import sys
import time

import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n].decode("utf8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} has dtype {info['dtype']}, expected F32")
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(buf[base + b : base + e]), dtype=torch.float32)
        out[name] = t.reshape(info["shape"]) if info["shape"] else t.reshape(())
    return out


class Gpt(torch.nn.Module):
    """Pre-LayerNorm GPT-2: causal multi-head attention, tanh-GELU MLP, tied embeddings."""

    def __init__(self, cfg, tensors):
        super().__init__()
        self.cfg = cfg
        self.p = torch.nn.ParameterDict()
        for name, t in tensors.items():
            if name.startswith("check."):
                continue
            self.p[name.replace(".", "__")] = torch.nn.Parameter(t.clone())

    def w(self, name):
        return self.p[name.replace(".", "__")]

    def forward(self, tokens):
        B, T = tokens.shape
        d, H = self.cfg["nEmbd"], self.cfg["nHead"]
        hd = d // H
        x = self.w("wte.weight")[tokens] + self.w("wpe.weight")[:T]
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        for i in range(self.cfg["nLayer"]):
            n = f"h.{i}."
            h = F.layer_norm(x, (d,), self.w(n + "ln_1.weight"), self.w(n + "ln_1.bias"), 1e-5)
            qkv = h @ self.w(n + "attn.c_attn.weight") + self.w(n + "attn.c_attn.bias")
            q, k, v = qkv.split(d, dim=2)
            q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
            att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
            y = (att @ v).transpose(1, 2).reshape(B, T, d)
            x = x + y @ self.w(n + "attn.c_proj.weight") + self.w(n + "attn.c_proj.bias")
            h = F.layer_norm(x, (d,), self.w(n + "ln_2.weight"), self.w(n + "ln_2.bias"), 1e-5)
            f = F.gelu(h @ self.w(n + "mlp.c_fc.weight") + self.w(n + "mlp.c_fc.bias"), approximate="tanh")
            x = x + f @ self.w(n + "mlp.c_proj.weight") + self.w(n + "mlp.c_proj.bias")
        x = F.layer_norm(x, (d,), self.w("ln_f.weight"), self.w("ln_f.bias"), 1e-5)
        return x @ self.w("wte.weight").t()

    def decode(self, tokens, cache, start):
        """Tokens [B, t] at positions start..start+t-1, attending to the cache (preallocated [B, H, nCtx, hd]
        keys and values per layer, filled here): the KV-cached forward, the logits of the last position."""
        B, T = tokens.shape
        d, H = self.cfg["nEmbd"], self.cfg["nHead"]
        hd = d // H
        x = self.w("wte.weight")[tokens] + self.w("wpe.weight")[start : start + T]
        end = start + T
        mask = torch.ones(T, end, dtype=torch.bool).tril(diagonal=start)
        for i in range(self.cfg["nLayer"]):
            n = f"h.{i}."
            h = F.layer_norm(x, (d,), self.w(n + "ln_1.weight"), self.w(n + "ln_1.bias"), 1e-5)
            qkv = h @ self.w(n + "attn.c_attn.weight") + self.w(n + "attn.c_attn.bias")
            q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in qkv.split(d, dim=2))
            K, V = cache[i]
            K[:, :, start:end] = k
            V[:, :, start:end] = v
            att = (q @ K[:, :, :end].transpose(-2, -1)) * (1.0 / math.sqrt(hd))
            att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
            y = (att @ V[:, :, :end]).transpose(1, 2).reshape(B, T, d)
            x = x + y @ self.w(n + "attn.c_proj.weight") + self.w(n + "attn.c_proj.bias")
            h = F.layer_norm(x, (d,), self.w(n + "ln_2.weight"), self.w(n + "ln_2.bias"), 1e-5)
            f = F.gelu(h @ self.w(n + "mlp.c_fc.weight") + self.w(n + "mlp.c_fc.bias"), approximate="tanh")
            x = x + f @ self.w(n + "mlp.c_proj.weight") + self.w(n + "mlp.c_proj.bias")
        x = F.layer_norm(x[:, -1], (d,), self.w("ln_f.weight"), self.w("ln_f.bias"), 1e-5)
        return x @ self.w("wte.weight").t()


def median_ms(times):
    return statistics.median(times) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--config", required=True, help="JSON GptConfig")
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--seq", type=int, required=True)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sample-batch", type=int, default=64)
    ap.add_argument("--prompt", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--sample-reps", type=int, default=3)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = json.loads(a.config)
    tensors = load_safetensors(a.weights)
    model = Gpt(cfg, tensors)
    V = cfg["vocabSize"]

    # --- correctness: same weights, same tokens, same logits ---
    with torch.no_grad():
        tokens = tensors["check.tokens"].round().long()
        ours = tensors["check.logits"]
        logits = model(tokens).reshape(-1, V)
        max_diff = (logits - ours.reshape(-1, V)).abs().max().item()
        max_logit = ours.abs().max().item()

    # --- training step: forward + backward + clip + AdamW, as src/organism/train.ts ---
    decay = [p for n, p in model.p.items() if p.dim() >= 2]
    no_decay = [p for n, p in model.p.items() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=3e-4, betas=(0.9, 0.95), eps=1e-8,
    )
    B, T = a.batch, a.seq
    times = []
    for step in range(a.warmup + a.steps):
        ids = torch.randint(0, V, (B, T + 1))
        t0 = time.perf_counter()
        logits = model(ids[:, :T])
        loss = F.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)
    step_ms = median_ms(times)

    # --- sampling: greedy, full forward recomputed per new token (as the organism does) ---
    sample_times = []
    with torch.no_grad():
        for rep in range(a.sample_reps + 1):
            seq = torch.randint(0, V, (a.sample_batch, a.prompt))
            t0 = time.perf_counter()
            for _ in range(a.new_tokens):
                nxt = model(seq)[:, -1, :].argmax(dim=-1, keepdim=True)
                seq = torch.cat([seq, nxt], dim=1)
            if rep > 0:
                sample_times.append(time.perf_counter() - t0)
    sample_ms = median_ms(sample_times)

    # --- sampling with a KV cache: prefill the prompts once, then one position per new token ---
    d, H = cfg["nEmbd"], cfg["nHead"]
    kv_times = []
    kv_agree = None
    with torch.no_grad():
        for rep in range(a.sample_reps + 1):
            seq = torch.randint(0, V, (a.sample_batch, a.prompt))
            t0 = time.perf_counter()
            cache = [
                (torch.empty(a.sample_batch, H, cfg["nCtx"], d // H), torch.empty(a.sample_batch, H, cfg["nCtx"], d // H))
                for _ in range(cfg["nLayer"])
            ]
            out = [model.decode(seq, cache, 0).argmax(dim=-1, keepdim=True)]
            for k in range(a.new_tokens - 1):
                out.append(model.decode(out[-1], cache, a.prompt + k).argmax(dim=-1, keepdim=True))
            if rep > 0:
                kv_times.append(time.perf_counter() - t0)
            if rep == 0:
                # the cached path picks what the full forward picks
                full = seq
                for _ in range(4):
                    full = torch.cat([full, model(full)[:, -1, :].argmax(dim=-1, keepdim=True)], dim=1)
                kv_agree = bool((torch.cat(out[:4], dim=1) == full[:, a.prompt :]).all())
    kv_ms = median_ms(kv_times)
    blas = "mkl" if "BLAS_INFO=mkl" in torch.__config__.show() else "openblas" if "openblas" in open("/proc/self/maps").read() else "unknown"

    json.dump({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas,
        "logitsMaxAbsDiff": max_diff,
        "logitsMaxAbs": max_logit,
        "trainStepMs": step_ms,
        "trainTokensPerSecond": B * T / (step_ms / 1000),
        "sampleMs": sample_ms,
        "sampleTokensPerSecond": a.sample_batch * a.new_tokens / (sample_ms / 1000),
        "kvSampleMs": kv_ms,
        "kvSampleTokensPerSecond": a.sample_batch * a.new_tokens / (kv_ms / 1000),
        "kvAgreesWithFull": kv_agree,
    }, sys.stdout)
    print()


if __name__ == "__main__":
    main()
