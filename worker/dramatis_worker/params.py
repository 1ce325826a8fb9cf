"""Typed reading of request fields; every failure is an HTTP 400 naming the field."""

from __future__ import annotations

import math

from .errors import bad_request
from .sampling import SamplingParams

MAX_TOKENS_LIMIT = 1 << 16


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def get_int(body: dict, key: str, default, lo=None, hi=None):
    v = body.get(key, default)
    if v is None:
        return default
    if not is_int(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
        bounds = f" in [{lo}, {hi}]" if lo is not None and hi is not None else (f" >= {lo}" if lo is not None else "")
        raise bad_request(f"`{key}` must be an integer{bounds}, got {v!r}", key)
    return v


def get_float(body: dict, key: str, default, lo=None, hi=None, lo_open=False):
    v = body.get(key, default)
    if v is None:
        return default
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if ok and lo is not None:
        ok = v > lo if lo_open else v >= lo
    if ok and hi is not None:
        ok = v <= hi
    if not ok:
        raise bad_request(f"`{key}` must be a number{f' in ({lo}, {hi}]' if lo_open else f' in [{lo}, {hi}]'}, got {v!r}", key)
    return float(v)


def get_bool(body: dict, key: str, default: bool) -> bool:
    v = body.get(key, default)
    if v is None:
        return default
    if not isinstance(v, bool):
        raise bad_request(f"`{key}` must be a boolean", key)
    return v


def get_stop(body: dict, key: str = "stop") -> tuple[str, ...]:
    v = body.get(key)
    if v is None:
        return ()
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(s, str) and s for s in v):
        raise bad_request(f"`{key}` must be a non-empty string or a list of non-empty strings", key)
    return tuple(v)


def get_seed(body: dict, key: str = "seed"):
    v = body.get(key)
    if v is None:
        return None
    if not is_int(v):
        raise bad_request(f"`{key}` must be an integer", key)
    return v


def get_max_tokens(body: dict, default: int, *keys: str) -> int:
    for k in keys:
        if body.get(k) is not None:
            return get_int(body, k, default, 0, MAX_TOKENS_LIMIT)
    return default


def sampling_params(body: dict, default_max_tokens: int, top_logprobs: int = 0) -> SamplingParams:
    return SamplingParams(
        temperature=get_float(body, "temperature", 1.0, 0.0, 100.0),
        top_p=get_float(body, "top_p", 1.0, 0.0, 1.0, lo_open=True),
        max_tokens=get_max_tokens(body, default_max_tokens, "max_tokens", "max_completion_tokens"),
        stop=get_stop(body),
        top_logprobs=top_logprobs,
    )


def get_list(body: dict, key: str) -> list:
    v = body.get(key)
    if not isinstance(v, list) or not v:
        raise bad_request(f"`{key}` must be a non-empty list", key)
    return v


def get_seeds(body: dict, n: int) -> list[int]:
    seeds = body.get("seeds")
    if not isinstance(seeds, list) or len(seeds) != n or not all(is_int(s) for s in seeds):
        raise bad_request(f"`seeds` is required: a list of {n} integers, one per row", "seeds")
    return seeds
