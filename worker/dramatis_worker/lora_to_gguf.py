"""Convert a PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors) trained on a
llama-architecture model into llama.cpp's GGUF LoRA adapter format.

    python -m dramatis_worker.lora_to_gguf ADAPTER_DIR OUT.gguf [--base HF_FOLDER|BASE.gguf] [--outtype f32|f16]

The format (what llama.cpp's src/llama-adapter.cpp reads):
- metadata: general.type "adapter", general.architecture "llama" (must equal the base model's),
  adapter.type "lora", adapter.lora.alpha (float32);
- for each adapted weight, two tensors named after the base model's GGUF tensor with `.lora_a` and
  `.lora_b` appended (blk.{i}.attn_q.weight.lora_a, ...). peft's lora_A is [r, in] and lora_B is
  [out, r] (row-major, torch's layout); written as they are, ggml reads them as ne = {in, r} and
  {r, out}, which is what llama.cpp checks against the base tensor (ne = {in, out}): a.ne[0] = in,
  b.ne[1] = out, a.ne[1] = b.ne[0] = r. Nothing is transposed.

Scaling. llama.cpp computes W x + scale * B (A x) with scale = adapter_scale * alpha / rank, rank
read from the tensor (b.ne[0] = r), alpha from adapter.lora.alpha (adapter_scale: the scale the
context is given, 1 by default; an alpha of 0 means scale = adapter_scale). peft uses
lora_alpha / r (lora_alpha / sqrt(r) with use_rslora), per module when rank_pattern / alpha_pattern
say so. So lora_b is not pre-scaled: the file carries alpha = lora_alpha (lora_alpha * sqrt(r) with
rsLoRA), and only a module whose own peft scale differs from what that alpha gives llama.cpp at its
rank gets its lora_b multiplied by the ratio.

Q/K rows. llama.cpp's GGUF for llama stores attn_q / attn_k with their rows permuted relative to
Hugging Face's q_proj / k_proj (convert_hf_to_gguf's LlamaModel.permute: within each head, the
interleaved rotary pairs (0,1), (2,3), ... become the halves [0, 2, 4, ...], [1, 3, 5, ...]; per
key/value head for k). transformers undoes it when it loads a GGUF (LlamaTensorProcessor), so a
LoRA trained on the dequantized folder lives in Hugging Face's row order: the delta B A of q_proj
and k_proj gets the same row permutation, that is lora_b's rows (lora_a acts on the input side and
is left alone).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# peft's module names (the last path component) -> llama.cpp's tensor names in block i.
LLAMA_MODULES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_KEY = re.compile(r"^(?:base_model\.model\.)?model\.layers\.(?P<i>\d+)\.(?P<module>[a-z_]+\.[a-z_]+)\.lora_(?P<ab>[AB])(?:\.[^.]+)?\.weight$")


class ConvertError(Exception):
    """The adapter (or its base) is not something this converter can write."""


@dataclass
class BaseShape:
    """What the conversion needs to know about the base model."""

    n_layer: int
    n_head: int
    n_head_kv: int
    # GGUF tensor name -> ne (ggml order), when the base is a GGUF file: checked against the adapter
    tensors: dict[str, tuple[int, ...]] | None = None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConvertError(f"{path} is missing") from None


def base_shape(base: str | Path) -> BaseShape:
    """Head counts (and, for a GGUF, tensor shapes) of the base: a Hugging Face folder or a GGUF file."""
    base = Path(base)
    if base.is_dir():
        cfg = _read_json(base / "config.json")
        if cfg.get("model_type") not in ("llama", "mistral"):
            raise ConvertError(f"{base}: model_type {cfg.get('model_type')!r}; this converter writes llama adapters only")
        n_head = int(cfg["num_attention_heads"])
        return BaseShape(int(cfg["num_hidden_layers"]), n_head, int(cfg.get("num_key_value_heads") or n_head))
    if base.is_file():
        import gguf

        r = gguf.GGUFReader(str(base))

        def val(key):
            f = r.get_field(key)
            return None if f is None else f.contents()

        arch = val("general.architecture")
        if arch != "llama":
            raise ConvertError(f"{base}: general.architecture {arch!r}; this converter writes llama adapters only")
        n_head = int(val("llama.attention.head_count"))
        n_kv = val("llama.attention.head_count_kv")
        tensors = {t.name: tuple(int(x) for x in t.shape) for t in r.tensors}
        return BaseShape(int(val("llama.block_count")), n_head, int(n_kv) if n_kv is not None else n_head, tensors)
    raise ConvertError(f"no base model at {base} (a Hugging Face folder with config.json, or a GGUF file)")


def permute_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """Hugging Face row order -> llama.cpp's for attn_q (n_head = query heads) or attn_k (n_head =
    key/value heads): convert_hf_to_gguf's permute, on the first axis of any [out, ...] array."""
    out = w.shape[0]
    if out % (2 * n_head):
        raise ConvertError(f"{out} rows do not split into {n_head} heads of rotary pairs")
    return w.reshape(n_head, 2, out // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _pattern_value(pattern: dict, module_path: str, default):
    """peft's rank_pattern / alpha_pattern lookup (peft.utils.other.get_pattern_key): the first key
    that matches the end of the module path as a regex, after a `.`, else the default."""
    for key, value in (pattern or {}).items():
        if re.match(rf"(.*\.)?({key})$", module_path):
            return value
    return default


def convert(adapter_dir: str | Path, out: str | Path, base: str | Path | None = None, outtype: str = "f32") -> Path:
    """Write the PEFT adapter in `adapter_dir` as a llama.cpp GGUF LoRA at `out`; returns `out`."""
    import gguf
    from safetensors.numpy import load_file

    adapter_dir, out = Path(adapter_dir), Path(out)
    if outtype not in ("f32", "f16"):
        raise ConvertError(f"outtype {outtype!r}: f32 or f16")
    cfg = _read_json(adapter_dir / "adapter_config.json")
    if str(cfg.get("peft_type", "LORA")).upper() != "LORA":
        raise ConvertError(f"{adapter_dir}: peft_type {cfg.get('peft_type')!r}, not LORA")
    for flag, why in (("use_dora", "DoRA"), ("fan_in_fan_out", "fan_in_fan_out (Conv1D) weights")):
        if cfg.get(flag):
            raise ConvertError(f"{adapter_dir}: {why} adapters are not supported")
    if cfg.get("bias", "none") != "none":
        raise ConvertError(f"{adapter_dir}: bias {cfg['bias']!r}; llama.cpp LoRA adapters carry no biases")
    if cfg.get("modules_to_save"):
        raise ConvertError(f"{adapter_dir}: modules_to_save {cfg['modules_to_save']} (full copies of modules) cannot be a LoRA adapter")
    if base is None:
        guess = cfg.get("base_model_name_or_path")
        if not guess or not (Path(guess) / "config.json").is_file():
            raise ConvertError(f"{adapter_dir}: its base_model_name_or_path {guess!r} is not a local folder: give the base with --base")
        base = guess
    shape = base_shape(base)

    r0, alpha0 = int(cfg["r"]), float(cfg["lora_alpha"])
    rslora = bool(cfg.get("use_rslora"))

    def peft_scale(r: int, alpha: float) -> float:
        return alpha / math.sqrt(r) if rslora else alpha / r

    if alpha0 <= 0:
        raise ConvertError(f"{adapter_dir}: lora_alpha {alpha0}; a positive one is needed")
    # llama.cpp: scale = alpha / rank. This alpha gives the default rank its peft scale exactly.
    file_alpha = peft_scale(r0, alpha0) * r0

    weights_path = adapter_dir / "adapter_model.safetensors"
    if not weights_path.is_file():
        raise ConvertError(f"{weights_path} is missing (only safetensors adapters are read)")
    tensors = load_file(str(weights_path))
    pairs: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    for key, value in tensors.items():
        m = _KEY.match(key)
        if not m:
            raise ConvertError(f"{adapter_dir}: tensor {key} is not a lora_A/lora_B of a decoder-block projection")
        if m["module"] not in LLAMA_MODULES:
            raise ConvertError(f"{adapter_dir}: tensor {key} adapts {m['module']}, which llama has no GGUF name for")
        pairs.setdefault((int(m["i"]), m["module"]), {})[m["ab"]] = value
    if not pairs:
        raise ConvertError(f"{adapter_dir}: no LoRA tensors")

    out.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(out), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    w.add_type(gguf.GGUFType.ADAPTER)
    w.add_string(gguf.Keys.Adapter.TYPE, "lora")
    w.add_float32(gguf.Keys.Adapter.LORA_ALPHA, file_alpha)
    w.add_name(adapter_dir.name)
    w.add_file_type(gguf.LlamaFileType.ALL_F32 if outtype == "f32" else gguf.LlamaFileType.MOSTLY_F16)
    dtype = np.float32 if outtype == "f32" else np.float16
    for (i, module), ab in sorted(pairs.items()):
        if set(ab) != {"A", "B"}:
            raise ConvertError(f"{adapter_dir}: layer {i} {module} has lora_{''.join(ab)} only")
        if i >= shape.n_layer:
            raise ConvertError(f"{adapter_dir}: layer {i} of {module}; the base has {shape.n_layer} layers")
        a = np.asarray(ab["A"], dtype=np.float32)  # [r, in]
        b = np.asarray(ab["B"], dtype=np.float32)  # [out, r]
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[1]:
            raise ConvertError(f"{adapter_dir}: layer {i} {module}: lora_A {a.shape} and lora_B {b.shape} do not chain")
        r = a.shape[0]
        path = f"model.layers.{i}.{module}"
        want = peft_scale(int(_pattern_value(cfg.get("rank_pattern"), path, r0)), float(_pattern_value(cfg.get("alpha_pattern"), path, alpha0)))
        ratio = want / (file_alpha / r)
        if abs(ratio - 1) > 1e-6:
            b = b * np.float32(ratio)
        name = LLAMA_MODULES[module]
        if name == "attn_q":
            b = permute_rows(b, shape.n_head)
        elif name == "attn_k":
            b = permute_rows(b, shape.n_head_kv)
        target = f"blk.{i}.{name}.weight"
        if shape.tensors is not None:
            ne = shape.tensors.get(target)
            if ne is None:
                raise ConvertError(f"the base has no tensor {target}")
            if tuple(ne[:2]) != (a.shape[1], b.shape[0]):
                raise ConvertError(f"{target}: base ne {ne}, adapter in {a.shape[1]} out {b.shape[0]}")
        w.add_tensor(f"{target}.lora_a", np.ascontiguousarray(a, dtype=dtype))
        w.add_tensor(f"{target}.lora_b", np.ascontiguousarray(b, dtype=dtype))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dramatis_worker.lora_to_gguf", description="PEFT LoRA adapter folder (llama) -> llama.cpp GGUF LoRA adapter")
    p.add_argument("adapter", help="the adapter folder (adapter_config.json, adapter_model.safetensors)")
    p.add_argument("out", help="the GGUF file to write")
    p.add_argument("--base", help="the base model: its Hugging Face folder or its GGUF (default: the adapter's base_model_name_or_path)")
    p.add_argument("--outtype", choices=["f32", "f16"], default="f32")
    a = p.parse_args(argv)
    try:
        path = convert(a.adapter, a.out, a.base, a.outtype)
    except ConvertError as e:
        print(f"lora_to_gguf: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"event": "written", "path": str(path), "bytes": path.stat().st_size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
