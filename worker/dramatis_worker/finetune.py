"""LoRA fine-tuning on chats (loss on assistant tokens only), cached by request.

The adapter folder is <cache>/adapters/<key>/ where key = sha256 of the base
fingerprint, the chats and every hyperparameter (steering included), so the
same request trains once; a repeat loads the saved adapter (cached: true).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .chat import assistant_token_mask, normalize_messages
from .errors import bad_request, unprocessable
from .loading import log
from .steering import Steer, parse_steering, steering

KEY_VERSION = 1  # bump when training semantics change, to invalidate old cache entries


@dataclass
class FinetuneConfig:
    chats: list[list[dict]]
    learning_rate: float = 1e-4
    epochs: float = 1.0
    batch_size: int = 4
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    target_modules: list[str] = field(default_factory=list)
    seed: int = 0
    steering: list[Steer] = field(default_factory=list)
    name: str | None = None

    def steps(self) -> int:
        # round half up, at least one step
        return max(1, math.floor(self.epochs * len(self.chats) / self.batch_size + 0.5))


def linear_module_names(lm) -> list[str]:
    """Names (last path component) of the nn.Linear modules inside the decoder
    blocks: q/k/v/o and gate/up/down projections for llama-like models."""
    import torch.nn as nn

    names = set()
    for layer in lm.layers:
        for n, m in layer.named_modules():
            # peft's injected pieces (base_layer, lora_A.<name>, ...) are not targets
            if isinstance(m, nn.Linear) and n and "lora_" not in n and not n.endswith("base_layer"):
                names.add(n.split(".")[-1])
    return sorted(names)


def _num(body, key, default, lo=None, hi=None, integer=False, lo_open=False):
    v = body.get(key, default)
    if v is None:
        v = default
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if integer:
        ok = ok and isinstance(v, int)
    if ok and lo is not None:
        ok = v > lo if lo_open else v >= lo
    if ok and hi is not None:
        ok = v <= hi
    if not ok:
        rng = f" in {'(' if lo_open else '['}{lo}, {hi if hi is not None else 'inf'}]" if lo is not None else ""
        raise bad_request(f"`{key}` must be {'an integer' if integer else 'a number'}{rng}", key)
    return v


def parse_finetune(body: dict, engine) -> FinetuneConfig:
    lm = engine.lm
    chats_in = body.get("chats")
    if not isinstance(chats_in, list) or not chats_in:
        raise bad_request("`chats` must be a non-empty list of {messages: [...]}", "chats")
    chats = []
    for i, c in enumerate(chats_in):
        if not isinstance(c, dict) or "messages" not in c:
            raise bad_request(f"`chats[{i}]` must be an object with `messages`", "chats")
        chats.append(normalize_messages(c["messages"], f"chats[{i}].messages"))
    rank = _num(body, "rank", 8, 1, 4096, integer=True)
    available = engine.linear_names
    targets = body.get("target_modules")
    if targets is None:
        targets = available
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise bad_request("`target_modules` must be a non-empty list of module names", "target_modules")
    unknown = sorted(set(targets) - set(available))
    if unknown:
        raise bad_request(f"unknown target_modules {unknown}; available: {available}", "target_modules")
    name = body.get("name")
    if name is not None:
        name = engine.check_adapter_name(name)
    return FinetuneConfig(
        chats=chats,
        learning_rate=float(_num(body, "learning_rate", 1e-4, 0, 10, lo_open=True)),
        epochs=float(_num(body, "epochs", 1.0, 0, 1e6, lo_open=True)),
        batch_size=_num(body, "batch_size", 4, 1, 1 << 16, integer=True),
        rank=rank,
        alpha=float(_num(body, "alpha", 2 * rank, 0, 1e6, lo_open=True)),
        dropout=float(_num(body, "dropout", 0.0, 0, 0.99)),
        target_modules=sorted(set(targets)),
        seed=_num(body, "seed", 0, integer=True),
        steering=parse_steering(body.get("steering"), lm.n_layers, lm.d_model),
        name=name,
    )


def request_key(fingerprint: str, cfg: FinetuneConfig) -> str:
    """sha256 of everything that determines the trained weights (not the name)."""
    blob = {
        "v": KEY_VERSION,
        "base": fingerprint,
        "chats": cfg.chats,
        "learning_rate": cfg.learning_rate,
        "epochs": cfg.epochs,
        "batch_size": cfg.batch_size,
        "rank": cfg.rank,
        "alpha": cfg.alpha,
        "dropout": cfg.dropout,
        "target_modules": cfg.target_modules,
        "seed": cfg.seed,
        "steering": [s.as_key() for s in cfg.steering],
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _examples(lm, chats):
    out = []
    for i, msgs in enumerate(chats):
        ids, mask = assistant_token_mask(lm.tokenizer, msgs, lm.stop_ids)
        if not any(mask):
            raise unprocessable(f"`chats[{i}]` has no assistant tokens to train on", "chats")
        out.append((ids, mask))
    return out


def _collate(lm, batch):
    import torch

    T = max(len(ids) for ids, _ in batch)
    ids_t = torch.full((len(batch), T), lm.pad_id, dtype=torch.long)
    att = torch.zeros((len(batch), T), dtype=torch.long)
    labels = torch.full((len(batch), T), -100, dtype=torch.long)  # -100 = ignored by the loss
    for r, (ids, mask) in enumerate(batch):
        ids_t[r, : len(ids)] = torch.tensor(ids)
        att[r, : len(ids)] = 1
        labels[r, : len(ids)] = torch.tensor([t if m else -100 for t, m in zip(ids, mask)])
    return ids_t.to(lm.device), att.to(lm.device), labels.to(lm.device)


def _train(engine, cfg: FinetuneConfig, name: str, examples) -> dict:
    import torch
    from peft import LoraConfig

    lm = engine.lm
    config = LoraConfig(
        r=cfg.rank,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=cfg.target_modules,
        bias="none",
        task_type="CAUSAL_LM",
    )
    steps = cfg.steps()
    devices = [lm.device.index or 0] if lm.device.type == "cuda" else []
    t0 = time.time()
    # fork_rng: the seed fixes the LoRA init and dropout without disturbing the
    # process-wide RNG (sampling has its own generators anyway).
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(cfg.seed)
        peft_model = engine.add_adapter(name, config)
        for pname, p in peft_model.named_parameters():
            p.requires_grad_(f".{name}." in pname and "lora_" in pname)
        params = [p for p in peft_model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=cfg.learning_rate)
        order_gen = torch.Generator().manual_seed(cfg.seed % (1 << 64))
        stream: list[int] = []
        losses = []
        lm.model.train()
        try:
            with steering(lm, cfg.steering):  # preventative steering: training only
                for step in range(steps):
                    while len(stream) < cfg.batch_size:  # shuffled epochs, back to back
                        stream.extend(torch.randperm(len(examples), generator=order_gen).tolist())
                    idx, stream = stream[: cfg.batch_size], stream[cfg.batch_size :]
                    ids, att, labels = _collate(lm, [examples[i] for i in idx])
                    loss = lm.model(input_ids=ids, attention_mask=att, labels=labels, use_cache=False).loss
                    loss.backward()
                    opt.step()
                    opt.zero_grad(set_to_none=True)
                    losses.append(float(loss.detach()))
                    log("finetune_step", name=name, step=step + 1, steps=steps, loss=round(losses[-1], 6))
        finally:
            lm.model.eval()
            for p in params:
                p.requires_grad_(False)
    return {"steps": steps, "initial_loss": losses[0], "final_loss": losses[-1], "train_seconds": time.time() - t0}


def _save(engine, name: str, target: Path, meta: dict) -> None:
    """Save the adapter in PEFT format at target/, atomically (tmp dir + rename)."""
    tmp = target.parent / f"{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    engine.peft.save_pretrained(str(tmp), selected_adapters=[name])
    # peft writes a non-"default" adapter into a subfolder named after it.
    src = tmp if (tmp / "adapter_config.json").is_file() else tmp / name
    (src / "dramatis_finetune.json").write_text(json.dumps(meta, indent=1))
    try:
        os.replace(src, target)
    except OSError:
        if not (target / "adapter_config.json").is_file():
            raise
    shutil.rmtree(tmp, ignore_errors=True)


def finetune(engine, cfg: FinetuneConfig) -> dict:
    """Train (or reuse) the adapter for cfg and serve it by name. Caller holds the lock."""
    t0 = time.time()
    key = request_key(engine.lm.fingerprint, cfg)
    name = cfg.name or f"ft-{key[:12]}"
    target = engine.cache_dir / "adapters" / key
    if (target / "adapter_config.json").is_file() and (target / "dramatis_finetune.json").is_file():
        meta = json.loads((target / "dramatis_finetune.json").read_text())
        engine.load_adapter(name, target)
        log("finetune_cached", name=name, key=key)
        return {
            "name": name,
            "key": key,
            "steps": meta["steps"],
            "tokens": meta["tokens"],
            "final_loss": meta["final_loss"],
            "initial_loss": meta.get("initial_loss"),
            "seconds": time.time() - t0,
            "cached": True,
        }
    examples = _examples(engine.lm, cfg.chats)
    tokens = sum(sum(m) for _, m in examples)
    log("finetune_start", name=name, key=key, chats=len(examples), tokens=tokens, steps=cfg.steps())
    try:
        stats = _train(engine, cfg, name, examples)
        meta = {"name": name, "key": key, "tokens": tokens, **stats, "base_fingerprint": engine.lm.fingerprint}
        target.parent.mkdir(parents=True, exist_ok=True)
        _save(engine, name, target, meta)
    except BaseException:
        engine.remove_adapter(name)  # never serve a half-trained adapter
        raise
    engine.peft.eval()
    engine.register(name, str(target.resolve()))
    log("finetune_done", name=name, key=key, final_loss=stats["final_loss"], seconds=round(time.time() - t0, 3))
    return {
        "name": name,
        "key": key,
        "steps": stats["steps"],
        "tokens": tokens,
        "final_loss": stats["final_loss"],
        "initial_loss": stats["initial_loss"],
        "seconds": time.time() - t0,
        "cached": False,
    }
