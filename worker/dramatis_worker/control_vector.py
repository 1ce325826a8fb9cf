"""Persona vectors as llama.cpp control vectors, and back.

    python -m dramatis_worker.control_vector IN.safetensors OUT.gguf --model-hint llama --coefficient 1
    python -m dramatis_worker.control_vector IN.gguf OUT.safetensors          # read one back

A persona vector here is a stack of per-layer directions in the persona_vectors layout: a float32
tensor [L+1, d] where row 0 is the embedding output (what enters the first block) and row l the
residual stream after block l (1-based), which is what Hugging Face's `hidden_states[l]` holds and
what dramatis's `layer.l` means (src/experiments/persona-vector.ts). The persona_vectors repository
saves that tensor with torch.save; in safetensors we keep it under the key "persona_vector"
(see src/experiments/vector-io.ts). Input may be such a file, a .pt from persona_vectors, or a dramatis
vector file (`layer.N` tensors).

The GGUF is what llama.cpp's cvector-generator writes: general.architecture "controlvector",
controlvector.model_hint, controlvector.layer_count (the number of direction tensors) and F32 tensors
`direction.N`, plus dramatis.coefficient and dramatis.n_layer so a file read back gives what was
written.

Layer mapping (llama.cpp's src/llama-adapter.cpp, common/common.cpp and the graph builders,
e.g. src/models/gpt2.cpp): the loader puts `direction.N` (N >= 1; N = 0 is rejected) into the
adapter's tensor for layer il = N, and each block il (0-based) ends with `cur = build_cvec(cur, il)`,
adding that tensor to the block's output, at every position. The adapter has tensors for
il = 1 .. n_layer-1 only ("there's never a tensor for layer 0"). So

    direction.N is added to the residual after block N (0-based) = our row l = N + 1,

i.e. row l is written as direction.{l-1}, for l = 2 .. L. Row 0 (the embeddings) and row 1 (the
residual after the first block) have no control-vector slot in llama.cpp and are left out (with a
warning when they are not zero). Note that llama.cpp's cvector-generator computes direction.{il+1}
from the output of block il: its vectors are read one residual below where they are applied; this
module maps by where a direction is *applied*, which is how dramatis and persona_vectors steer
(row l is added after block l).

The coefficient multiplies every direction written (llama.cpp's --control-vector-scaled FILE S
scales it again at load time).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

KEY = "persona_vector"
ARCH = "controlvector"


class VectorError(Exception):
    """An input that is not a persona vector or control vector this module reads."""


# ---------------------------------------------------------------------------
# [L+1, d] stacks


def load_layers(path: str | Path) -> tuple[np.ndarray, dict[str, str]]:
    """A persona vector file as a float32 [L+1, d] array (row l = residual after block l) and its metadata."""
    path = Path(path)
    if path.suffix == ".pt":
        import torch

        obj = torch.load(str(path), map_location="cpu", weights_only=True)
        if isinstance(obj, dict):
            obj = obj.get(KEY, next(iter(obj.values())) if len(obj) == 1 else None)
        if obj is None or not hasattr(obj, "ndim") or obj.ndim != 2:
            raise VectorError(f"{path}: expected a [layers+1, d] tensor")
        return obj.float().numpy().astype(np.float32), {}
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        keys = list(f.keys())
        meta = dict(f.metadata() or {})
        if KEY in keys:
            arr = f.get_tensor(KEY)
        elif any(k.startswith("layer.") for k in keys):
            n = 0
            while f"layer.{n}" in keys:
                n += 1
            arr = np.stack([f.get_tensor(f"layer.{i}") for i in range(n)])
        elif len(keys) == 1:
            arr = f.get_tensor(keys[0])
        else:
            raise VectorError(f"{path}: no tensor {KEY!r} and no layer.N tensors (has {keys[:5]})")
    if arr.ndim != 2:
        raise VectorError(f"{path}: the vector stack has shape {list(arr.shape)}, expected [layers+1, d]")
    return np.ascontiguousarray(arr, dtype=np.float32), meta


def save_layers(path: str | Path, layers: np.ndarray, metadata: dict[str, str] | None = None) -> Path:
    """Write a [L+1, d] stack in the persona_vectors layout (safetensors key "persona_vector")."""
    from safetensors.numpy import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({KEY: np.ascontiguousarray(layers, dtype=np.float32)}, str(path), metadata={"format": "persona_vectors", **(metadata or {})})
    return path


# ---------------------------------------------------------------------------
# control vectors


def direction_index(layer: int) -> int:
    """llama.cpp's direction.N for our row l (the residual after block l): N = l - 1, defined for l >= 2."""
    if layer < 2:
        raise VectorError(f"row {layer} has no llama.cpp control-vector slot (the first is the residual after block 2, row 2)")
    return layer - 1


def write_control_vector(
    layers: np.ndarray,
    out: str | Path,
    model_hint: str = "llama",
    coefficient: float = 1.0,
    only: list[int] | None = None,
) -> dict[str, Any]:
    """Write rows 2..L of `layers` (or the rows in `only`) as direction.{l-1}, scaled by `coefficient`."""
    import gguf

    layers = np.asarray(layers, dtype=np.float32)
    if layers.ndim != 2 or layers.shape[0] < 3:
        raise VectorError(f"need a [L+1, d] stack with L >= 2, got shape {list(layers.shape)}")
    n_layer = layers.shape[0] - 1
    rows = sorted(set(only)) if only else list(range(2, n_layer + 1))
    for l in rows:
        if not 0 <= l <= n_layer:
            raise VectorError(f"row {l} is outside 0..{n_layer}")
        direction_index(l)
    skipped = [l for l in (0, 1) if np.any(layers[l]) and (not only or l in only)]
    for l in skipped:
        print(f"control_vector: row {l} is not written (llama.cpp has no control vector there)", file=sys.stderr)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(out), ARCH)
    w.add_string(f"{ARCH}.model_hint", model_hint)
    w.add_int32(f"{ARCH}.layer_count", len(rows))
    w.add_float32("dramatis.coefficient", float(coefficient))
    w.add_uint32("dramatis.n_layer", n_layer)
    w.add_string("dramatis.layer_mapping", "direction.N = row N+1 (the residual after block N+1, 1-based)")
    for l in rows:
        w.add_tensor(f"direction.{direction_index(l)}", np.ascontiguousarray(layers[l] * np.float32(coefficient), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return {"path": str(out), "rows": rows, "directions": [direction_index(l) for l in rows], "skipped": skipped}


def read_control_vector(path: str | Path, n_layer: int | None = None, raw: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
    """A control-vector GGUF as a [L+1, d] stack: direction.N in row N+1, rows without one zero.

    Divides by dramatis.coefficient when the file has it (so a file read back gives what was
    written), unless `raw`. L is `n_layer`, else the file's dramatis.n_layer, else the highest
    direction + 1."""
    import gguf

    r = gguf.GGUFReader(str(path))

    def field(key: str) -> Any:
        f = r.get_field(key)
        return None if f is None else f.contents()

    if field("general.architecture") != ARCH:
        raise VectorError(f"{path}: general.architecture is {field('general.architecture')!r}, not {ARCH!r}")
    dirs: dict[int, np.ndarray] = {}
    for t in r.tensors:
        name = t.name
        if not name.startswith("direction."):
            continue
        try:
            n = int(name.split(".", 1)[1])
        except ValueError:
            raise VectorError(f"{path}: tensor {name} has no layer number") from None
        if n < 1:
            raise VectorError(f"{path}: {name}: llama.cpp rejects direction.0")
        dirs[n] = dirs.get(n, 0) + np.asarray(t.data, dtype=np.float32).reshape(-1)  # repeats add up, as llama.cpp does
    if not dirs:
        raise VectorError(f"{path}: no direction.N tensors")
    d = {v.shape[0] for v in dirs.values()}
    if len(d) != 1:
        raise VectorError(f"{path}: direction tensors of different sizes {sorted(d)}")
    L = n_layer or field("dramatis.n_layer") or max(dirs) + 1
    L = int(L)
    if max(dirs) + 1 > L:
        raise VectorError(f"{path}: direction.{max(dirs)} needs at least {max(dirs) + 1} layers, got {L}")
    coef = field("dramatis.coefficient")
    scale = 1.0 if raw or not coef else 1.0 / float(coef)
    out = np.zeros((L + 1, d.pop()), dtype=np.float32)
    for n, v in dirs.items():
        out[n + 1] = v * np.float32(scale)
    meta = {"model_hint": field(f"{ARCH}.model_hint"), "coefficient": coef, "n_layer": L, "rows": sorted(n + 1 for n in dirs)}
    return out, meta


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m dramatis_worker.control_vector",
        description="persona vector ([L+1, d] safetensors, .pt, or dramatis layer.N file) -> llama.cpp control vector GGUF, or a GGUF back to [L+1, d] safetensors",
    )
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--model-hint", default="llama", help="controlvector.model_hint (default llama)")
    p.add_argument("--coefficient", type=float, default=1.0, help="multiplies every direction written (default 1)")
    p.add_argument("--layer", type=int, action="append", help="write only this row (repeatable; rows 2..L; default all)")
    p.add_argument("--layers", type=int, help="reading: the model's block count L (default: from the file)")
    p.add_argument("--raw", action="store_true", help="reading: keep the stored (scaled) directions")
    a = p.parse_args(argv)
    try:
        if a.input.endswith(".gguf"):
            layers, meta = read_control_vector(a.input, a.layers, a.raw)
            save_layers(a.output, layers, {"source": a.input, "control_vector": json.dumps(meta)})
            print(json.dumps({"event": "written", "path": a.output, "shape": list(layers.shape), **meta}))
        else:
            layers, _ = load_layers(a.input)
            info = write_control_vector(layers, a.output, a.model_hint, a.coefficient, a.layer)
            print(json.dumps({"event": "written", **info}))
    except VectorError as e:
        print(f"control_vector: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
