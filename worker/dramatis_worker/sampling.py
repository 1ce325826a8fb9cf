"""Batched sampling with one random generator per row.

The loop is written by hand because transformers' generate() draws all rows
from one global RNG: a row's sample would then depend on which other rows
share its batch. Here row r draws its uniforms from torch.Generator seeded
with seeds[r] (one draw per generated token), so the same prompt and seed give
the same text alone or inside any batch, in any position.

A Watch (the live loop guard) sees each running row's text every few tokens
and can cut rows while the batch goes on: a cut row keeps its first n tokens
and ends with finish_reason "cut"; the other rows are not affected.

Rows are left padded (so every row's next token is predicted at the last
column) with an attention mask and explicit position ids (so padding does not
shift positions); decoding reuses the KV cache. Finished rows are dropped from
the batch and cache as soon as they finish.
"""

from __future__ import annotations

import inspect
import threading
from dataclasses import dataclass, field
from typing import Callable

from .steering import steering

SEED_MOD = 1 << 64  # torch.Generator.manual_seed accepts 64-bit seeds


@dataclass
class SamplingParams:
    temperature: float = 1.0  # 0 = greedy
    top_p: float = 1.0
    max_tokens: int = 64
    stop: tuple[str, ...] = ()
    top_logprobs: int = 0


@dataclass
class Generation:
    text: str
    finish_reason: str  # "stop" (EOS / end-of-turn / stop string), "length", or "cut" (by a Watch)
    prompt_tokens: int
    token_ids: list[int] = field(default_factory=list)  # excludes the EOS that ended the row
    token_logprobs: list[float] = field(default_factory=list)  # temperature-1 log-probs
    top_logprobs: list[list[tuple[int, float]]] = field(default_factory=list)


class Watch:
    """Progress out, cuts in, for one request (the live loop guard).

    After each step, every row still running whose token count is a multiple
    of `every` is reported as emit(row, tokens, text), text = the decoding of
    those tokens (rows numbered within the request). cut({row: n}), from any
    thread, stops a row once it has n tokens (at once if it has them already;
    one that ended by itself with at least n tokens is trimmed when the
    request ends): it keeps its first n tokens and its finish_reason is
    "cut". The first cut asked for a row stands. Which tokens a row draws
    never depends on the watch, so a cut row is a prefix of its unwatched
    sample, and the other rows equal theirs."""

    def __init__(self, every: int, emit: Callable[[int, int, str], None]):
        self.every = max(1, int(every))
        self.emit = emit
        self._lock = threading.Lock()
        self._cuts: dict[int, int] = {}

    def cut(self, rows: dict[int, int]) -> None:
        with self._lock:
            cuts = dict(self._cuts)
            for r, n in rows.items():
                cuts.setdefault(int(r), int(n))
            self._cuts = cuts  # replaced, never mutated: cuts() reads it without the lock

    def cuts(self) -> dict[int, int]:
        return self._cuts


def _cut(g: "Generation", n: int, table) -> None:
    del g.token_ids[n:], g.token_logprobs[n:], g.top_logprobs[n:]
    g.text = table.join(g.token_ids)
    g.finish_reason = "cut"


def cache_kwarg(model) -> str:
    """transformers 5.x renamed `past_key_values` to `cache` (old name deprecated)."""
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in params else "past_key_values"


def _out_cache(out):
    c = getattr(out, "cache", None)
    return c if c is not None else getattr(out, "past_key_values", None)


def choose(logits, gens, params: SamplingParams):
    """Pick one token per row. -> (token ids [A], their logprobs [A], top-k list per row).

    Sampling runs on the CPU in float64, so it does not depend on the device's
    kernels; reported logprobs are the untempered log-softmax."""
    import torch

    x = logits.detach().to("cpu", torch.float64)
    lp = x.log_softmax(-1)
    if params.temperature == 0:
        chosen = x.argmax(-1)
    else:
        probs = (x / params.temperature).softmax(-1)
        order = None
        if params.top_p < 1.0:
            probs, order = torch.sort(probs, dim=-1, descending=True, stable=True)
            cum = probs.cumsum(-1)
            # Nucleus: keep the most likely tokens until their mass reaches top_p
            # (the token that crosses top_p is kept; the first token always is).
            drop = (cum - probs) >= params.top_p
            drop[:, 0] = False
            probs = probs.masked_fill(drop, 0.0)
        cdf = probs.cumsum(-1)
        u = torch.stack([torch.rand((), generator=g, dtype=torch.float64) for g in gens]) * cdf[:, -1]
        j = torch.searchsorted(cdf, u[:, None], right=True).clamp(max=x.shape[-1] - 1)[:, 0]
        chosen = order.gather(1, j[:, None])[:, 0] if order is not None else j
    chosen_lp = lp.gather(1, chosen[:, None])[:, 0]
    tops: list = [[] for _ in range(x.shape[0])]
    if params.top_logprobs > 0:
        v, ix = lp.topk(params.top_logprobs, dim=-1)
        tops = [list(zip(a, b)) for a, b in zip(ix.tolist(), v.tolist())]
    return chosen.tolist(), chosen_lp.tolist(), tops


def _first_stop(text: str, stops: tuple[str, ...]) -> int:
    best = -1
    for s in stops:
        i = text.find(s)
        if i >= 0 and (best < 0 or i < best):
            best = i
    return best


def _generate_batch(lm, table, prompts, seeds, params: SamplingParams, ckw: str, row0: int = 0, watch: Watch | None = None) -> list[Generation]:
    import torch

    B = len(prompts)
    gens = [torch.Generator(device="cpu").manual_seed(int(s) % SEED_MOD) for s in seeds]
    res = [Generation("", "length", len(p)) for p in prompts]
    if params.max_tokens == 0:
        return res
    T = max(len(p) for p in prompts)
    ids = torch.full((B, T), lm.pad_id, dtype=torch.long)
    mask = torch.zeros((B, T), dtype=torch.long)
    for r, p in enumerate(prompts):
        ids[r, T - len(p) :] = torch.tensor(p)
        mask[r, T - len(p) :] = 1
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    dev = lm.device
    mask, ids, pos = mask.to(dev), ids.to(dev), pos.to(dev)
    out = lm.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, logits_to_keep=1)
    cache = _out_cache(out)
    logits = out.logits[:, -1, :]
    next_pos = pos[:, -1] + 1
    active = list(range(B))  # batch slot -> row
    cut_rows: set[int] = set()
    for _step in range(params.max_tokens):
        chosen, lps, tops = choose(logits, [gens[r] for r in active], params)
        keep = []
        for slot, r in enumerate(active):
            g = res[r]
            t = chosen[slot]
            if t in lm.stop_ids:
                g.finish_reason = "stop"
                continue
            g.token_ids.append(t)
            g.token_logprobs.append(lps[slot])
            g.top_logprobs.append(tops[slot])
            if params.stop:
                text = table.join(g.token_ids)
                cut = _first_stop(text, params.stop)
                if cut >= 0:
                    m = table.tokens_covering(g.token_ids, cut, text)
                    del g.token_ids[m:], g.token_logprobs[m:], g.top_logprobs[m:]
                    g.text = text[:cut]
                    g.finish_reason = "stop"
                    cut_rows.add(r)  # its text is final (cut), not re-joined below
                    continue
            if len(g.token_ids) >= params.max_tokens:
                g.finish_reason = "length"
                continue
            keep.append(slot)
        if watch is not None:
            keep = _watched(watch, keep, active, res, row0, table, cut_rows)
        if not keep:
            break
        step_ids = torch.tensor(chosen, dtype=torch.long, device=dev)
        if len(keep) < len(active):
            idx = torch.tensor(keep, dtype=torch.long, device=dev)
            cache.batch_select_indices(idx)
            mask, next_pos, step_ids = mask[idx], next_pos[idx], step_ids[idx]
            active = [active[s] for s in keep]
        mask = torch.cat([mask, torch.ones((len(active), 1), dtype=mask.dtype, device=dev)], dim=1)
        out = lm.model(
            input_ids=step_ids[:, None],
            attention_mask=mask,
            position_ids=next_pos[:, None],
            use_cache=True,
            **{ckw: cache},
        )
        cache = _out_cache(out)
        logits = out.logits[:, -1, :]
        next_pos = next_pos + 1
    for r, g in enumerate(res):
        if r not in cut_rows:
            g.text = table.join(g.token_ids)
    return res


def _watched(watch: Watch, keep: list[int], active: list[int], res: list[Generation], row0: int, table, cut_rows: set[int]) -> list[int]:
    """One step's watch: cut the running rows it was asked to (-> the slots that go on), report the others."""
    cuts = watch.cuts()
    if cuts:
        going = []
        for slot in keep:
            r = active[slot]
            n = cuts.get(row0 + r)
            if n is not None and len(res[r].token_ids) >= n:
                _cut(res[r], n, table)
                cut_rows.add(r)
            else:
                going.append(slot)
        keep = going
    for slot in keep:
        r = active[slot]
        ids = res[r].token_ids
        if len(ids) % watch.every == 0:
            watch.emit(row0 + r, len(ids), table.join(ids))
    return keep


def generate(lm, table, prompts: list[list[int]], seeds: list[int], params: SamplingParams, steers, batch_size: int, watch: Watch | None = None):
    """Sample one continuation per prompt, in sub-batches of at most batch_size rows."""
    import torch

    ckw = cache_kwarg(lm.model)
    out: list[Generation] = []
    with torch.inference_mode(), steering(lm, steers):
        for b0 in range(0, len(prompts), batch_size):
            out.extend(_generate_batch(lm, table, prompts[b0 : b0 + batch_size], seeds[b0 : b0 + batch_size], params, ckw, b0, watch))
    if watch is not None:
        # Rows that ended by themselves before their cut arrived: cut all the same (the guard's word stands).
        for r, n in watch.cuts().items():
            if 0 <= r < len(out) and out[r].finish_reason != "cut" and len(out[r].token_ids) >= n:
                _cut(out[r], n, table)
    return out
