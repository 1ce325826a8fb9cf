"""Find, convert (GGUF -> HF folder, cached), fingerprint and load a model.

Only this module knows where models come from; everything else receives a
LoadedModel with the handles it needs (decoder layers, embedding, stop ids).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MiB = 1 << 20


class LoadError(Exception):
    """The model path is missing or is not a loadable model (CLI exit code 2)."""


def log(event: str, **fields: Any) -> None:
    """All worker logs are JSON lines on stderr: stdout carries only the 'listening' line."""
    print(json.dumps({"event": event, **fields}), file=sys.stderr, flush=True)


def default_cache_dir() -> Path:
    return Path(os.path.expanduser("~/.cache/dramatis/worker"))


# ---------------------------------------------------------------------------
# Hashing


def gguf_cache_key(path: Path) -> str:
    """Cheap identity of a (possibly multi-GB) GGUF file for the conversion cache.

    sha256 over: the first MiB, the last MiB, then the decimal size in bytes.
    Reading 2 MiB instead of the whole file keeps start-up fast; the size and
    the two ends (header/metadata and the last tensors) make collisions between
    different real checkpoints implausible.
    """
    size = path.stat().st_size
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read(MiB))
        f.seek(max(0, size - MiB))
        h.update(f.read(MiB))
    h.update(str(size).encode())
    return h.hexdigest()


def sha256_files(paths: list[Path], cache_dir: Path | None) -> str:
    """sha256 over the bytes of `paths` concatenated in the given order.

    For one file it equals `sha256sum file`. Hashing several GB takes a while,
    so results are memoised in <cache>/fingerprints.json keyed by the absolute
    paths, sizes and mtimes.
    """
    ident = json.dumps([[str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns] for p in paths])
    memo_path = cache_dir / "fingerprints.json" if cache_dir else None
    memo: dict[str, str] = {}
    if memo_path and memo_path.is_file():
        try:
            memo = json.loads(memo_path.read_text())
        except (OSError, ValueError):
            memo = {}
    if ident in memo:
        return memo[ident]
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(16 * MiB), b""):
                h.update(chunk)
    digest = h.hexdigest()
    if memo_path:
        try:
            memo[ident] = digest
            memo_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = memo_path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(memo))
            os.replace(tmp, memo_path)
        except OSError:
            pass  # the memo is an optimisation only
    return digest


def weight_files(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        files = sorted(folder.glob("*.bin"))  # legacy PyTorch checkpoints
    if not files:
        raise LoadError(f"no *.safetensors (or *.bin) weight files in {folder}")
    return files


# ---------------------------------------------------------------------------
# GGUF conversion


def convert_gguf(gguf_path: Path, cache_dir: Path) -> Path:
    """Dequantize a GGUF once into <cache>/converted/<gguf_cache_key>/ (HF format).

    transformers can read GGUF directly, but that dequantizes every tensor on
    every start (~20 s for 135M parameters); loading the saved float folder
    takes well under a second. The folder is written under a temporary name and
    renamed, so a crash never leaves a half-written cache entry behind.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = cache_dir / "converted" / gguf_cache_key(gguf_path)
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f"{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    t0 = time.time()
    log("gguf_convert_start", path=str(gguf_path), target=str(target))
    folder, name = str(gguf_path.parent), gguf_path.name
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    # The weights are already dequantized to float32; dropping the GGUF
    # "quantizer" is what lets save_pretrained write a plain checkpoint.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / "dramatis_source.json").write_text(json.dumps({"gguf": str(gguf_path.resolve())}))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # e.g. disk full: leave no half-written folder
        raise
    del model
    try:
        os.replace(tmp, target)
    except OSError:
        # Another process finished the same conversion first; theirs is as good.
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / "config.json").is_file():
            raise
    log("gguf_convert_done", target=str(target), seconds=round(time.time() - t0, 2))
    return target


# ---------------------------------------------------------------------------
# Loading


@dataclass
class LoadedModel:
    """A causal LM plus what the rest of the worker needs to know about it.

    `model` is the transformers module itself. When adapters exist, peft
    injects LoRA layers into it in place (see engine.py); the decoder-layer and
    embedding modules kept here stay the same objects, so hooks keep working.
    """

    model: Any
    tokenizer: Any
    name: str
    source: str
    hf_dir: Path
    device: Any  # torch.device
    dtype: Any  # torch.dtype
    n_layers: int
    d_model: int
    vocab_size: int
    fingerprint: str
    embed: Any  # the input embedding module (steering/reading at layer 0)
    layers: list = field(default_factory=list)  # decoder blocks 1..L (list index l-1)
    stop_ids: frozenset = frozenset()  # token ids that end a generated row
    pad_id: int = 0

    @property
    def dtype_name(self) -> str:
        return str(self.dtype).replace("torch.", "")


def resolve_device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise LoadError("--device cuda requested but CUDA is not available")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise LoadError(f"unknown device {name!r}")
    return torch.device(name)


def resolve_dtype(name: str, device):
    import torch

    if name == "auto":
        # float32 on CPU: bf16 matmuls are slow there and less reproducible.
        return torch.float32 if device.type == "cpu" else torch.bfloat16
    table = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if name not in table:
        raise LoadError(f"unknown dtype {name!r}")
    return table[name]


def find_decoder_layers(model, n_layers: int) -> list:
    """The list of decoder blocks, found generically.

    Most architectures keep them in `model.model.layers`, others elsewhere
    (`transformer.h`, `gpt_neox.layers`); the first ModuleList with exactly
    num_hidden_layers entries is the one.
    """
    import torch.nn as nn

    for _, mod in model.named_modules():
        if isinstance(mod, nn.ModuleList) and len(mod) == n_layers:
            return list(mod)
    raise LoadError("could not find the decoder layers of this model")


_END_TOKEN_NAMES = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>", "</s>", "<|eom_id|>")


def find_stop_ids(model, tok) -> frozenset:
    """Token ids that end a generated row: EOS, generation_config EOS ids, and
    the chat template's end-of-turn token (found by rendering a probe chat)."""
    ids: set[int] = set()

    def add(x):
        if isinstance(x, int):
            ids.add(x)
        elif isinstance(x, (list, tuple)):
            for y in x:
                add(y)

    add(tok.eos_token_id)
    gc = getattr(model, "generation_config", None)
    if gc is not None:
        add(gc.eos_token_id)
    vocab = tok.get_vocab()
    for name in _END_TOKEN_NAMES:
        if name in vocab and name in tok.added_tokens_encoder:
            ids.add(vocab[name])
    if tok.chat_template:
        try:
            from .chat import end_of_turn_id

            eot = end_of_turn_id(tok)
            if eot is not None:
                ids.add(eot)
        except Exception:  # a template that rejects the probe chat: no extra id
            pass
    return frozenset(ids)


def load_model(
    path: str,
    device: str = "cpu",
    dtype: str = "auto",
    cache_dir: Path | None = None,
    name: str | None = None,
) -> LoadedModel:
    """Load PATH (an HF folder with config.json, or a .gguf file). Raises LoadError."""
    p = Path(path).expanduser()
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    if not p.exists():
        raise LoadError(f"model path does not exist: {p}")
    is_gguf = False
    if p.is_file():
        with open(p, "rb") as f:
            is_gguf = f.read(4) == b"GGUF"  # the GGUF magic, whatever the file is called
        if not is_gguf:
            what = "not a GGUF file (bad magic bytes)" if p.suffix.lower() == ".gguf" else "neither a .gguf file nor a folder with config.json"
            raise LoadError(f"not a model: {p} is {what}")
    if p.is_dir() and not (p / "config.json").is_file():
        raise LoadError(f"not a model: {p} has no config.json")

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # progress bars would flood the stderr log
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    try:
        if is_gguf:
            hf_dir = convert_gguf(p, cache_dir)
            fingerprint = sha256_files([p], cache_dir)
            default_name = p.name[: -len(".gguf")] if p.name.lower().endswith(".gguf") else p.name
        else:
            hf_dir = p
            fingerprint = sha256_files(weight_files(p), cache_dir)
            default_name = p.resolve().name
        tok = AutoTokenizer.from_pretrained(str(hf_dir))
        model = AutoModelForCausalLM.from_pretrained(str(hf_dir), dtype=dt)
    except LoadError:
        raise
    except Exception as e:  # anything transformers raises means "not a model we can load"
        raise LoadError(f"cannot load model from {p}: {type(e).__name__}: {e}".replace("\n", " ")) from e
    model.to(dev)
    model.eval()
    cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    n_layers = int(cfg.num_hidden_layers)
    d_model = int(cfg.hidden_size)
    out_emb = model.get_output_embeddings()
    vocab_size = int(out_emb.weight.shape[0]) if out_emb is not None else int(cfg.vocab_size)
    layers = find_decoder_layers(model, n_layers)
    pad = tok.pad_token_id
    if pad is None:
        pad = tok.eos_token_id if tok.eos_token_id is not None else 0
    return LoadedModel(
        model=model,
        tokenizer=tok,
        name=name or default_name,
        source=str(p),
        hf_dir=Path(hf_dir),
        device=dev,
        dtype=dt,
        n_layers=n_layers,
        d_model=d_model,
        vocab_size=vocab_size,
        fingerprint=fingerprint,
        embed=model.get_input_embeddings(),
        layers=layers,
        stop_ids=find_stop_ids(model, tok),
        pad_id=int(pad),
    )
