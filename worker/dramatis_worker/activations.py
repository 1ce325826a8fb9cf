"""Residual-stream summaries per layer (what persona vectors are built from).

Layer l in 0..L is read from a forward hook on the same module steering uses
(steering.layer_module): the embedding module for 0, decoder block l for l>=1.
For l < L this equals transformers' output_hidden_states[l]; for l = L it is
the raw output of the last block BEFORE the final norm (output_hidden_states[L]
is after the norm in most architectures, which would make layer L unlike the
others). Readers are registered after any steering hooks, so with steering
they see the steered stream, i.e. what the next block receives.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from .chat import encode, normalize_messages, prompt_ids, reply_span
from .errors import bad_request, unprocessable
from .steering import layer_module, steering


@dataclass
class ActItem:
    ids: list[int]
    mean_start: int  # the mean is over ids[mean_start:mean_end]
    mean_end: int
    at: int  # index of the single token read for "at"


def build_item(lm, inp, i: int) -> ActItem:
    """Which tokens an input is summarised over (see PROTOCOL.md)."""
    tok = lm.tokenizer
    where = f"inputs[{i}]"
    if not isinstance(inp, dict) or ("messages" in inp) == ("text" in inp):
        raise bad_request(f"`{where}` must be an object with exactly one of `messages` or `text`", "inputs")
    if "text" in inp:
        if not isinstance(inp["text"], str):
            raise bad_request(f"`{where}.text` must be a string", "inputs")
        ids = encode(tok, inp["text"], True)
        if not ids:
            raise unprocessable(f"`{where}.text` encodes to zero tokens", "inputs")
        return ActItem(ids, 0, len(ids), len(ids) - 1)
    msgs = normalize_messages(inp["messages"], f"{where}.messages")
    if msgs[-1]["role"] == "assistant":
        span = reply_span(tok, msgs)
        if span.start == 0:
            raise unprocessable(f"`{where}`: no prompt token before the reply", "inputs")
        # An empty reply has no tokens to average: its mean falls back to the "at" token.
        if span.end > span.start:
            return ActItem(span.ids, span.start, span.end, span.start - 1)
        return ActItem(span.ids, span.start - 1, span.start, span.start - 1)
    ids = prompt_ids(tok, msgs)
    return ActItem(ids, len(ids) - 1, len(ids), len(ids) - 1)


@contextmanager
def _readers(lm, weights, at_idx, means: list, ats: list):
    """Hooks that reduce each layer's output to per-row mean and at vectors on
    the fly, so memory stays O(batch * layers * d) instead of O(tokens)."""
    import torch

    handles = []
    rows = torch.arange(weights.shape[0], device=weights.device)

    def make(l):
        def hook(_m, _i, out):
            h = (out[0] if isinstance(out, tuple) else out).float()
            means[l] = torch.einsum("bt,btd->bd", weights, h)
            ats[l] = h[rows, at_idx]

        return hook

    try:
        for l in range(lm.n_layers + 1):
            handles.append(layer_module(lm, l).register_forward_hook(make(l)))
        yield
    finally:
        for h in handles:
            h.remove()


def summarize(lm, items: list[ActItem], steers, batch_size: int):
    """-> list of (mean, at), each a float32 numpy array [L+1, d]."""
    import numpy as np
    import torch

    out = []
    for b0 in range(0, len(items), batch_size):
        chunk = items[b0 : b0 + batch_size]
        T = max(len(it.ids) for it in chunk)
        B = len(chunk)
        # Right padding: with causal attention real tokens never see the pads,
        # so a row's activations do not depend on its batch.
        ids = torch.full((B, T), lm.pad_id, dtype=torch.long)
        mask = torch.zeros((B, T), dtype=torch.long)
        weights = torch.zeros((B, T), dtype=torch.float32)
        for r, it in enumerate(chunk):
            ids[r, : len(it.ids)] = torch.tensor(it.ids)
            mask[r, : len(it.ids)] = 1
            weights[r, it.mean_start : it.mean_end] = 1.0 / (it.mean_end - it.mean_start)
        at_idx = torch.tensor([it.at for it in chunk], device=lm.device)
        weights = weights.to(lm.device)
        means: list = [None] * (lm.n_layers + 1)
        ats: list = [None] * (lm.n_layers + 1)
        with torch.inference_mode(), steering(lm, steers), _readers(lm, weights, at_idx, means, ats):
            lm.model(input_ids=ids.to(lm.device), attention_mask=mask.to(lm.device), use_cache=False, logits_to_keep=1)
        m = torch.stack(means, dim=1).cpu().numpy().astype(np.float32)  # [B, L+1, d]
        a = torch.stack(ats, dim=1).cpu().numpy().astype(np.float32)
        for r in range(B):
            out.append((m[r], a[r]))
    return out
