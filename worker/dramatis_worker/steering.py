"""Activation steering: add c * vector to the residual stream after a layer.

Layer convention (shared with activations.py): layer 0 is the embedding
output, layer l (1..L) the output of decoder block l. The addition happens at
every position of every forward pass made while the hooks are installed
(prompt, generated tokens, and padding, which is masked anyway).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import bad_request


@dataclass(frozen=True)
class Steer:
    layer: int
    vector: tuple[float, ...]
    coefficient: float

    def as_key(self) -> dict:
        """JSON form used in cache keys (finetune) - stable field order and values."""
        return {"layer": self.layer, "coefficient": self.coefficient, "vector": list(self.vector)}


def parse_steering(obj, n_layers: int, d_model: int, param: str = "steering") -> list[Steer]:
    """Validate `[{"layer", "vector", "coefficient"}]`; errors are HTTP 400."""
    if obj is None:
        return []
    if not isinstance(obj, list):
        raise bad_request(f"`{param}` must be a list of {{layer, vector, coefficient}}", param)
    out = []
    for i, s in enumerate(obj):
        where = f"{param}[{i}]"
        if not isinstance(s, dict):
            raise bad_request(f"`{where}` must be an object", param)
        layer = s.get("layer")
        if not isinstance(layer, int) or isinstance(layer, bool) or not 0 <= layer <= n_layers:
            raise bad_request(f"`{where}.layer` must be an integer in 0..{n_layers}, got {layer!r}", param)
        vec = s.get("vector")
        if not isinstance(vec, list) or len(vec) != d_model:
            got = len(vec) if isinstance(vec, list) else type(vec).__name__
            raise bad_request(f"`{where}.vector` must be a list of {d_model} numbers (d_model), got {got}", param)
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in vec):
            raise bad_request(f"`{where}.vector` must contain only finite numbers", param)
        coef = s.get("coefficient", 1.0)
        if not isinstance(coef, (int, float)) or isinstance(coef, bool) or not math.isfinite(coef):
            raise bad_request(f"`{where}.coefficient` must be a finite number", param)
        out.append(Steer(layer, tuple(float(x) for x in vec), float(coef)))
    return out


def layer_module(lm, layer: int):
    """The module whose forward output is the residual stream after `layer`."""
    return lm.embed if layer == 0 else lm.layers[layer - 1]


def _add_to_output(delta):
    def hook(_module, _inputs, output):
        # Decoder blocks return a tensor in recent transformers, a tuple in
        # older ones / other architectures: steer the hidden states either way.
        if isinstance(output, tuple):
            return (output[0] + delta,) + tuple(output[1:])
        return output + delta

    return hook


@contextmanager
def steering(lm, steers: list[Steer]):
    """Install forward hooks for `steers`; always removed on exit (try/finally),
    so a failed request cannot leave the model steered."""
    import torch

    handles = []
    try:
        for s in steers:
            delta = (torch.tensor(s.vector, dtype=torch.float32) * s.coefficient).to(device=lm.device, dtype=lm.dtype)
            handles.append(layer_module(lm, s.layer).register_forward_hook(_add_to_output(delta)))
        yield
    finally:
        for h in handles:
            h.remove()
