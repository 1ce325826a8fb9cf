"""Log-probabilities of given tokens (teacher forcing): /dramatis/score and echo.

Always the model's own distribution (log-softmax at temperature 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from .chat import encode, reply_span
from .steering import steering

# Upper bound on logits materialised at once (batch * kept positions * vocab),
# 2^27 floats = 512 MiB in float32; sub-batches shrink to stay under it.
LOGIT_BUDGET = 1 << 27


@dataclass
class ScoreItem:
    ids: list[int]
    start: int  # tokens ids[start:end] are scored, each given everything before it
    end: int


def pair_item(tok, prompt: str, continuation: str) -> ScoreItem:
    """The documented score definition for a (prompt, continuation) pair.

    full = prompt + sep + continuation, sep = "" when the prompt ends in
    whitespace or the continuation is empty, else " ". The continuation's tokens
    are those of tokenize(full) from the first index where it differs from
    tokenize(prompt) (the prompt's length if it is a prefix), at least 1:
    tokenizing the full text, rather than the two parts separately, scores the
    tokens the model would actually see when a BPE merge spans the boundary.
    """
    sep = "" if (prompt[-1:].isspace() or continuation == "") else " "
    full = prompt + sep + continuation
    ids_p = encode(tok, prompt, True)
    ids_f = encode(tok, full, True)
    start = min(len(ids_p), len(ids_f))
    for k in range(start):
        if ids_f[k] != ids_p[k]:
            start = k
            break
    start = max(start, 1)
    return ScoreItem(ids_f, min(start, len(ids_f)), len(ids_f))


def conversation_item(tok, messages) -> ScoreItem:
    span = reply_span(tok, messages)
    return ScoreItem(span.ids, max(span.start, 1), max(span.end, max(span.start, 1)))


def _groups(items: list[ScoreItem], batch_size: int, vocab: int):
    group: list[int] = []
    for i, it in enumerate(items):
        cand = group + [i]
        T = max(len(items[j].ids) for j in cand)
        keep = T - min(items[j].start for j in cand) + 1
        if group and (len(cand) > batch_size or len(cand) * keep * vocab > LOGIT_BUDGET):
            yield group
            group = [i]
        else:
            group = cand
    if group:
        yield group


def score(lm, items: list[ScoreItem], steers, batch_size: int, top_k: int = 0):
    """-> per item (logprobs of ids[start:end], top-k [(id, logprob)] at each of those positions)."""
    import torch

    results: list = [None] * len(items)
    todo = []
    for i, it in enumerate(items):
        if it.end <= it.start:
            results[i] = ([], [])
        else:
            todo.append(i)
    sub = [items[i] for i in todo]
    for group in _groups(sub, batch_size, lm.vocab_size):
        chunk = [sub[g] for g in group]
        B = len(chunk)
        T = max(len(it.ids) for it in chunk)
        ids = torch.full((B, T), lm.pad_id, dtype=torch.long)
        mask = torch.zeros((B, T), dtype=torch.long)
        for r, it in enumerate(chunk):
            ids[r, : len(it.ids)] = torch.tensor(it.ids)
            mask[r, : len(it.ids)] = 1
        # Only positions from the earliest start-1 onward need logits.
        first = min(it.start for it in chunk) - 1
        keep = T - first
        with torch.inference_mode(), steering(lm, steers):
            logits = lm.model(
                input_ids=ids.to(lm.device), attention_mask=mask.to(lm.device), use_cache=False, logits_to_keep=keep
            ).logits
            for r, it in enumerate(chunk):
                # logits[:, j] predicts the token at position first + j + 1
                rows = logits[r, it.start - 1 - first : it.end - 1 - first].float().log_softmax(-1)
                tgt = torch.tensor(it.ids[it.start : it.end], device=rows.device)
                lps = rows.gather(1, tgt[:, None])[:, 0].double().cpu().tolist()
                tops: list = []
                if top_k > 0:
                    v, ix = rows.topk(top_k, dim=-1)
                    tops = [list(zip(a, b)) for a, b in zip(ix.cpu().tolist(), v.double().cpu().tolist())]
                results[todo[group[r]]] = (lps, tops)
    return results
