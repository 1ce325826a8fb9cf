"""Endpoint logic: JSON body in, JSON-able dict out (no HTTP here).

Field names and shapes are the contract with the TypeScript side and with
OpenAI clients; PROTOCOL.md documents them.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid

from . import __version__
from .activations import build_item, summarize
from .chat import encode, normalize_messages, prompt_ids
from .errors import bad_request, unprocessable
from .finetune import finetune, parse_finetune
from .params import get_bool, get_int, get_list, get_seed, get_seeds, sampling_params
from .sampling import Watch, generate
from .scoring import ScoreItem, conversation_item, pair_item, score
from .steering import parse_steering


class Streamed:
    """A response sent as newline-delimited JSON while it is computed: server.py
    sends the headers, then calls run(emit) (under the model lock), writing one
    line per emit(obj) and the object run returns as the last line."""

    def __init__(self, run):
        self.run = run


def _steers(engine, obj, param="steering"):
    return parse_steering(obj, engine.lm.n_layers, engine.lm.d_model, param)


def _no_stream(body):
    if body.get("stream"):
        raise bad_request("stream is not supported", "stream")


def _default_seed(body):
    # OpenAI semantics: no seed means a fresh random sample each call.
    seed = get_seed(body)
    return secrets.randbits(62) if seed is None else seed


# -- informational (no lock) --------------------------------------------------


def health(engine) -> dict:
    lm = engine.lm
    return {
        "ok": True,
        "model": lm.name,
        "device": str(lm.device),
        "dtype": lm.dtype_name,
        "n_layers": lm.n_layers,
        "d_model": lm.d_model,
        "vocab_size": lm.vocab_size,
        "fingerprint": lm.fingerprint,
        "adapters": list(engine.adapters),
        "busy": engine.lock.locked(),
        "worker_version": __version__,
    }


def list_models(engine) -> dict:
    return {
        "object": "list",
        "data": [{"id": n, "object": "model", "owned_by": "dramatis-worker"} for n in engine.model_names()],
    }


# -- OpenAI-compatible ----------------------------------------------------------


def _content_logprobs(engine, g) -> dict:
    t = engine.table

    def entry(tid, lp):
        return {"token": t.text_of(tid), "logprob": lp, "bytes": list(t.bytes_of(tid))}

    return {
        "content": [
            {**entry(tid, lp), "top_logprobs": [entry(a, b) for a, b in tops]}
            for tid, lp, tops in zip(g.token_ids, g.token_logprobs, g.top_logprobs)
        ]
    }


def _openai_response(engine, id_prefix: str, obj: str, model, choices: list, prompt_tokens: int, gens) -> dict:
    """The envelope both OpenAI endpoints share: id, object, created, model, fingerprint, usage."""
    completion = sum(len(g.token_ids) for g in gens)
    return {
        "id": id_prefix + uuid.uuid4().hex,
        "object": obj,
        "created": int(time.time()),
        "model": model or engine.lm.name,
        "system_fingerprint": "dramatis-" + engine.lm.fingerprint[:12],
        "choices": choices,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion},
    }


def chat_completions(engine, body: dict) -> dict:
    _no_stream(body)
    model = body.get("model")
    engine.resolve(model)
    messages = normalize_messages(body.get("messages"))
    n = get_int(body, "n", 1, 1, 256)
    want_lp = get_bool(body, "logprobs", False)
    top = get_int(body, "top_logprobs", 0, 0, 20)
    params = sampling_params(body, 64, top if want_lp else 0)
    seed = _default_seed(body)
    dramatis = body.get("dramatis") or {}
    if not isinstance(dramatis, dict):
        raise bad_request("`dramatis` must be an object", "dramatis")
    steers = _steers(engine, dramatis.get("steering"), "dramatis.steering")
    prompt = prompt_ids(engine.lm.tokenizer, messages)
    with engine.using(model):
        gens = generate(engine.lm, engine.table, [prompt] * n, [seed + i for i in range(n)], params, steers, engine.batch_size)
    choices = [
        {
            "index": i,
            "message": {"role": "assistant", "content": g.text},
            "finish_reason": g.finish_reason,
            "logprobs": _content_logprobs(engine, g) if want_lp else None,
        }
        for i, g in enumerate(gens)
    ]
    return _openai_response(engine, "chatcmpl-", "chat.completion", model, choices, len(prompt), gens)


def _prompt_offsets(engine, prompt: str, ids: list[int]) -> list[int]:
    tok = engine.lm.tokenizer
    try:
        enc = tok(prompt, add_special_tokens=True, return_offsets_mapping=True)
        if list(enc["input_ids"]) == ids:
            return [a for a, _ in enc["offset_mapping"]]
    except (NotImplementedError, ValueError, TypeError):  # slow tokenizers have no offsets
        pass
    return engine.table.char_offsets(ids)


def completions(engine, body: dict) -> dict:
    _no_stream(body)
    model = body.get("model")
    engine.resolve(model)
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise bad_request("`prompt` must be a string", "prompt")
    echo = get_bool(body, "echo", False)
    k = body.get("logprobs")
    if k is not None:
        k = get_int(body, "logprobs", 0, 0, 20)
    n = get_int(body, "n", 1, 1, 256)
    params = sampling_params(body, 16, k or 0)
    seed = _default_seed(body)
    steers = _steers(engine, body.get("steering"))
    ids = encode(engine.lm.tokenizer, prompt, True)
    if not ids:
        raise unprocessable("`prompt` encodes to zero tokens", "prompt")
    t = engine.table
    with engine.using(model):
        gens = generate(engine.lm, t, [ids] * n, [seed + i for i in range(n)], params, steers, engine.batch_size)
        echo_lp = None
        if echo and k is not None:
            echo_lp = score(engine.lm, [ScoreItem(ids, 1, len(ids))], steers, engine.batch_size, top_k=k)[0]
    choices = []
    for i, g in enumerate(gens):
        lp_obj = None
        if k is not None:
            tokens, lps, tops, offs = [], [], [], []
            if echo:
                p_lps, p_tops = echo_lp
                tokens += [t.text_of(x) for x in ids]
                lps += [None] + p_lps
                rows = p_tops if k > 0 else [[] for _ in p_lps]
                tops += [None] + [{t.text_of(a): b for a, b in row} for row in rows]
                offs += _prompt_offsets(engine, prompt, ids)
            tokens += [t.text_of(x) for x in g.token_ids]
            lps += g.token_logprobs
            tops += [{t.text_of(a): b for a, b in row} for row in g.top_logprobs]
            offs += [len(prompt) + o for o in t.char_offsets(g.token_ids)]
            lp_obj = {"tokens": tokens, "token_logprobs": lps, "top_logprobs": tops, "text_offset": offs}
        choices.append(
            {"text": (prompt if echo else "") + g.text, "index": i, "logprobs": lp_obj, "finish_reason": g.finish_reason}
        )
    return _openai_response(engine, "cmpl-", "text_completion", model, choices, len(ids), gens)


# -- dramatis batched endpoints ---------------------------------------------------


def _generations(engine, body: dict, prompts: list[list[int]]):
    seeds = get_seeds(body, len(prompts))
    k = get_int(body, "top_logprobs", 0, 0, 20)
    with_tokens = get_bool(body, "with_tokens", False)
    params = sampling_params(body, 64, k)
    steers = _steers(engine, body.get("steering"))
    every = get_int(body, "progress_every", None, 1, 1 << 16)
    if every is None:
        if body.get("request_id") is not None:
            raise bad_request("`request_id` goes with `progress_every` (a streamed, cuttable request)", "request_id")
        with engine.using(body.get("model")):
            gens = generate(engine.lm, engine.table, prompts, seeds, params, steers, engine.batch_size)
        return _wire(engine, gens, k, with_tokens)
    request_id = body.get("request_id")
    if request_id is None:
        request_id = uuid.uuid4().hex
    elif not isinstance(request_id, str) or not 1 <= len(request_id) <= 200:
        raise bad_request("`request_id` must be a string of 1 to 200 characters", "request_id")

    def run(emit):
        watch = Watch(every, lambda row, n, text: emit({"event": "progress", "row": row, "tokens": n, "text": text}))
        with engine.watching(request_id, watch):
            emit({"event": "start", "request_id": request_id, "rows": len(prompts)})
            with engine.using(body.get("model")):
                gens = generate(engine.lm, engine.table, prompts, seeds, params, steers, engine.batch_size, watch)
        return {"event": "done", **_wire(engine, gens, k, with_tokens)}

    return Streamed(run)


def _wire(engine, gens, k: int, with_tokens: bool) -> dict:
    t = engine.table
    out = []
    for g in gens:
        d = {"text": g.text, "finish_reason": g.finish_reason, "tokens": len(g.token_ids), "prompt_tokens": g.prompt_tokens}
        if with_tokens:
            d["token_ids"] = g.token_ids
            d["token_texts"] = [t.text_of(x) for x in g.token_ids]
            d["token_logprobs"] = g.token_logprobs
        if k > 0:
            d["top_logprobs"] = [[{"token": t.text_of(a), "logprob": b, "id": a} for a, b in row] for row in g.top_logprobs]
        out.append(d)
    return {"generations": out}


def dramatis_chat(engine, body: dict) -> dict:
    engine.resolve(body.get("model"))
    convs = get_list(body, "conversations")
    tok = engine.lm.tokenizer
    prompts = [prompt_ids(tok, normalize_messages(c, f"conversations[{i}]")) for i, c in enumerate(convs)]
    return _generations(engine, body, prompts)


def dramatis_complete(engine, body: dict) -> dict:
    engine.resolve(body.get("model"))
    texts = get_list(body, "prompts")
    prompts = []
    for i, p in enumerate(texts):
        if not isinstance(p, str):
            raise bad_request(f"`prompts[{i}]` must be a string", "prompts")
        ids = encode(engine.lm.tokenizer, p, True)
        if not ids:
            raise unprocessable(f"`prompts[{i}]` encodes to zero tokens", "prompts")
        prompts.append(ids)
    return _generations(engine, body, prompts)


def dramatis_cut(engine, body: dict) -> dict:
    """Cut rows of a running streamed request (no model lock: it runs beside that request)."""
    request_id = body.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        raise bad_request("`request_id` must be a non-empty string", "request_id")
    rows = body.get("rows")
    cuts: dict[int, int] = {}
    if not isinstance(rows, list):
        raise bad_request("`rows` must be a list of {row, tokens}", "rows")
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            raise bad_request(f"`rows[{i}]` must be {{row, tokens}}", "rows")
        row = get_int(r, "row", None, 0)
        n = get_int(r, "tokens", None, 0)
        if row is None or n is None:
            raise bad_request(f"`rows[{i}]` must be {{row: integer >= 0, tokens: integer >= 0}}", "rows")
        cuts[row] = n
    return {"request_id": request_id, "running": engine.cut(request_id, cuts)}


def dramatis_score(engine, body: dict) -> dict:
    engine.resolve(body.get("model"))
    tok = engine.lm.tokenizer
    if sum(k in body for k in ("pairs", "conversations", "ids")) != 1:
        raise bad_request("give exactly one of `pairs`, `conversations` or `ids`")
    items = []
    top_k = body.get("top_k", 0)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or not 0 <= top_k <= 100:
        raise bad_request("`top_k` must be an integer from 0 to 100", "top_k")
    if "ids" in body:
        # Token ids as given (parity checks against another runtime on the very same sequence).
        for i, seq in enumerate(get_list(body, "ids")):
            if not isinstance(seq, list) or len(seq) < 2 or not all(isinstance(t, int) and not isinstance(t, bool) and 0 <= t < engine.lm.vocab_size for t in seq):
                raise bad_request(f"`ids[{i}]` must be a list of at least 2 token ids below {engine.lm.vocab_size}", "ids")
            items.append(ScoreItem(ids=seq, start=1, end=len(seq)))
    elif "pairs" in body:
        for i, p in enumerate(get_list(body, "pairs")):
            if not isinstance(p, dict) or not isinstance(p.get("prompt"), str) or not isinstance(p.get("continuation"), str):
                raise bad_request(f"`pairs[{i}]` must be {{prompt: string, continuation: string}}", "pairs")
            items.append(pair_item(tok, p["prompt"], p["continuation"]))
    else:
        for i, c in enumerate(get_list(body, "conversations")):
            msgs = normalize_messages(c, f"conversations[{i}]")
            if msgs[-1]["role"] != "assistant":
                raise bad_request(f"`conversations[{i}]` must end with an assistant message", "conversations")
            items.append(conversation_item(tok, msgs))
    steers = _steers(engine, body.get("steering"))
    with engine.using(body.get("model")):
        res = score(engine.lm, items, steers, engine.batch_size, top_k)
    return {
        "scores": [
            {"logprob": float(sum(lps)), "tokens": lps, **({"top": [[[t, lp] for t, lp in pos] for pos in tops]} if top_k else {})}
            for lps, tops in res
        ]
    }


def _f32_list(arr):
    """float32 array -> nested lists of the shortest decimals that round-trip to
    the same float32 (about half the JSON of printing them as float64)."""
    import numpy as np

    return arr.astype(str).astype(np.float64).tolist()


def dramatis_activations(engine, body: dict) -> dict:
    import numpy as np

    engine.resolve(body.get("model"))
    inputs = get_list(body, "inputs")
    encoding = body.get("encoding", "json")
    if encoding not in ("json", "base64"):
        raise bad_request("`encoding` must be \"json\" or \"base64\"", "encoding")
    items = [build_item(engine.lm, inp, i) for i, inp in enumerate(inputs)]
    steers = _steers(engine, body.get("steering"))
    with engine.using(body.get("model")):
        sums = summarize(engine.lm, items, steers, engine.batch_size)
    if encoding == "base64":
        enc = lambda a: base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")  # noqa: E731
    else:
        enc = _f32_list
    return {
        "layers": engine.lm.n_layers + 1,
        "d": engine.lm.d_model,
        "encoding": encoding,
        "summaries": [{"mean": enc(m), "at": enc(a)} for m, a in sums],
    }


def dramatis_finetune(engine, body: dict) -> dict:
    if engine.resolve(body.get("model")) is not None:
        raise bad_request("fine-tuning starts from the base model; `model` must be the base model's name", "model")
    cfg = parse_finetune(body, engine)
    return finetune(engine, cfg)


def dramatis_load_adapter(engine, body: dict) -> dict:
    name = engine.check_adapter_name(body.get("name"))
    path = body.get("path")
    if not isinstance(path, str) or not path:
        raise bad_request("`path` must be a folder path", "path")
    loaded = engine.load_adapter(name, path)
    return {"name": name, "path": engine.adapters[name], "loaded": loaded}
