"""Conventions and semantics on the tiny random model, in process (no HTTP)."""

from __future__ import annotations

import base64
import math

import numpy as np
import pytest
import torch

from dramatis_worker import api
from dramatis_worker.activations import ActItem, summarize
from dramatis_worker.chat import encode, prompt_ids, reply_span
from dramatis_worker.errors import ApiError
from dramatis_worker.scoring import ScoreItem, pair_item, score
from dramatis_worker.steering import parse_steering

HELLO = [{"role": "user", "content": "Hello"}]


def chat(engine, convs, seeds, **kw):
    body = {"conversations": convs, "seeds": seeds, "max_tokens": 24, "with_tokens": True, **kw}
    return api.dramatis_chat(engine, body)["generations"]


def _hook_ids(lm):
    # transformers installs its own (passive) output-capturing hooks the first
    # time output_hidden_states is used; only hooks beyond those are ours.
    return [tuple(m._forward_hooks) for m in [lm.embed, *lm.layers]]


def no_hooks(lm) -> bool:
    """True when no steering/reading hook is left on the layer modules."""
    now = _hook_ids(lm)
    ours = [
        [h for h in ids if "output_capturing" not in getattr(m._forward_hooks[h], "__qualname__", "")]
        for ids, m in zip(now, [lm.embed, *lm.layers])
    ]
    return all(not o for o in ours)


# -- sampling -------------------------------------------------------------------


def test_row_seed_is_independent_of_batch(engine):
    others = [
        [{"role": "user", "content": "The quick brown fox jumps over the lazy dog, again and again."}],
        [{"role": "user", "content": "x"}],
        [{"role": "system", "content": "You are a pirate."}, {"role": "user", "content": "Ahoy there"}],
    ]
    alone = chat(engine, [HELLO], [7], temperature=1.0)[0]
    in_batch = chat(engine, [others[0], HELLO, others[1], others[2]], [1, 7, 2, 3], temperature=1.0)
    last = chat(engine, [*others, HELLO], [4, 5, 6, 7], temperature=1.0)
    assert alone["tokens"] > 0
    assert in_batch[1]["token_ids"] == alone["token_ids"]
    assert in_batch[1]["text"] == alone["text"]
    assert last[3]["token_ids"] == alone["token_ids"]
    # and the seed matters
    assert chat(engine, [HELLO], [8], temperature=1.0)[0]["token_ids"] != alone["token_ids"]


def test_same_request_same_output(engine):
    body = {"conversations": [HELLO, HELLO], "seeds": [1, 2], "temperature": 0.9, "top_p": 0.9, "max_tokens": 16}
    assert api.dramatis_chat(engine, body) == api.dramatis_chat(engine, body)


def test_greedy_and_tiny_top_p_agree(engine):
    greedy = chat(engine, [HELLO], [0], temperature=0)[0]
    nucleus = chat(engine, [HELLO], [123], temperature=1.0, top_p=1e-9)[0]
    assert greedy["token_ids"] == nucleus["token_ids"]
    assert greedy["finish_reason"] == "length" and greedy["tokens"] == 24


def test_stop_string_cuts_text(engine):
    full = chat(engine, [HELLO], [0], temperature=0, max_tokens=40)[0]
    # a printable ASCII token text from the middle of the greedy output
    cands = [t for t in full["token_texts"][3:] if t.strip() and t.isascii() and t.isprintable()]
    assert cands, full
    stop = cands[0]
    cut = full["text"].find(stop)
    got = chat(engine, [HELLO], [0], temperature=0, max_tokens=40, stop=[stop, "\u0000never"])[0]
    assert got["finish_reason"] == "stop"
    assert got["text"] == full["text"][:cut]
    assert got["token_ids"] == full["token_ids"][: got["tokens"]]
    assert got["tokens"] < full["tokens"]


def test_eos_ends_row_and_steering_is_removed(engine):
    lm = engine.lm
    eos = lm.tokenizer.eos_token_id
    # Pushing the last block's output along the EOS unembedding row makes EOS
    # the argmax: the row must end at once, without the EOS in the text.
    vec = lm.model.get_output_embeddings().weight[eos].detach().float().tolist()
    steer = [{"layer": lm.n_layers, "vector": vec, "coefficient": 50.0}]
    before = chat(engine, [HELLO], [0], temperature=0)[0]
    ended = chat(engine, [HELLO], [0], temperature=0, steering=steer)[0]
    assert ended == {**ended, "text": "", "finish_reason": "stop", "tokens": 0}
    assert no_hooks(lm)
    assert chat(engine, [HELLO], [0], temperature=0)[0] == before


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_steering_changes_output_at_every_layer(engine, layer):
    lm = engine.lm
    rng = np.random.default_rng(layer)
    vec = rng.standard_normal(lm.d_model).tolist()
    base = chat(engine, [HELLO], [0], temperature=0)[0]
    steered = chat(engine, [HELLO], [0], temperature=0, steering=[{"layer": layer, "vector": vec, "coefficient": 8.0}])[0]
    assert steered["token_ids"] != base["token_ids"]
    assert no_hooks(lm)


def test_steering_validation(engine):
    L, d = engine.lm.n_layers, engine.lm.d_model
    for bad in (
        [{"layer": 1, "vector": [0.0] * (d - 1), "coefficient": 1}],
        [{"layer": L + 1, "vector": [0.0] * d, "coefficient": 1}],
        [{"layer": -1, "vector": [0.0] * d}],
        [{"layer": 1, "vector": [0.0] * d, "coefficient": "x"}],
        {"layer": 1},
    ):
        with pytest.raises(ApiError) as e:
            parse_steering(bad, L, d)
        assert e.value.status == 400
    with pytest.raises(ApiError) as e:
        api.dramatis_chat(engine, {"conversations": [HELLO], "seeds": [0], "steering": [{"layer": 1, "vector": [1.0]}]})
    assert e.value.status == 400 and "vector" in e.value.message
    assert no_hooks(engine.lm)


def test_token_logprobs_are_untempered(engine):
    """Generated-token logprobs are the model's own (temperature 1) distribution."""
    r = api.completions(engine, {"prompt": "Hello world", "max_tokens": 8, "temperature": 2.5, "seed": 3, "logprobs": 0})
    lp = r["choices"][0]["logprobs"]
    ids = encode(engine.lm.tokenizer, "Hello world", True)
    # the same row through /dramatis/complete (same seed) exposes the token ids
    g = api.dramatis_complete(
        engine, {"prompts": ["Hello world"], "seeds": [3], "max_tokens": 8, "temperature": 2.5, "with_tokens": True}
    )["generations"][0]
    assert g["token_logprobs"] == lp["token_logprobs"]
    (tf, _), = score(engine.lm, [ScoreItem(ids + g["token_ids"], len(ids), len(ids) + len(g["token_ids"]))], [], 16)
    assert np.allclose(tf, g["token_logprobs"], atol=1e-4)


def test_n_choices_use_consecutive_seeds(engine):
    body = {"messages": HELLO, "max_tokens": 10, "temperature": 1.0}
    three = api.chat_completions(engine, {**body, "n": 3, "seed": 5})
    one = api.chat_completions(engine, {**body, "n": 1, "seed": 6})
    assert [c["index"] for c in three["choices"]] == [0, 1, 2]
    assert three["choices"][1]["message"] == one["choices"][0]["message"]
    assert three["usage"]["prompt_tokens"] == one["usage"]["prompt_tokens"] > 0
    assert three["usage"]["completion_tokens"] <= 30


# -- scoring ----------------------------------------------------------------------


def manual_logprobs(lm, ids, start):
    with torch.inference_mode():
        logits = lm.model(input_ids=torch.tensor([ids])).logits[0].double().log_softmax(-1)
    return [logits[k - 1, ids[k]].item() for k in range(start, len(ids))]


def test_score_definition_matches_manual(engine):
    lm, tok = engine.lm, engine.lm.tokenizer
    pairs = [("The quick", "brown fox"), ("The quick ", "brown"), ("Hello", ""), ("Ahoy", "there, sailor!")]
    res = api.dramatis_score(engine, {"pairs": [{"prompt": p, "continuation": c} for p, c in pairs]})["scores"]
    for (p, c), got in zip(pairs, res):
        sep = "" if (p[-1:].isspace() or c == "") else " "
        ids_p, ids_f = encode(tok, p, True), encode(tok, p + sep + c, True)
        k = next((i for i in range(min(len(ids_p), len(ids_f))) if ids_p[i] != ids_f[i]), min(len(ids_p), len(ids_f)))
        start = max(k, 1)
        want = manual_logprobs(lm, ids_f, start)
        assert len(got["tokens"]) == len(want)
        assert np.allclose(got["tokens"], want, atol=1e-4)
        assert math.isclose(got["logprob"], sum(want), abs_tol=1e-3)
    # "The quick " ends in a space token that merges into " brown": scoring starts at it
    it = pair_item(tok, "The quick ", "brown")
    assert it.start < len(encode(tok, "The quick ", True))
    assert res[2] == {"logprob": 0.0, "tokens": []}


def test_score_is_batch_invariant(engine):
    pairs = [{"prompt": "Hello", "continuation": "world"}, {"prompt": "The quick brown fox jumps over", "continuation": "the lazy dog"}]
    both = api.dramatis_score(engine, {"pairs": pairs})["scores"]
    for p, b in zip(pairs, both):
        alone = api.dramatis_score(engine, {"pairs": [p]})["scores"][0]
        assert np.allclose(alone["tokens"], b["tokens"], atol=1e-5)


def test_score_conversation_span(engine):
    lm, tok = engine.lm, engine.lm.tokenizer
    conv = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there, sailor"}]
    span = reply_span(tok, conv)
    assert tok.decode(span.ids[span.start : span.end]) == "Hello there, sailor"
    assert span.ids[span.end] == tok.convert_tokens_to_ids("<|im_end|>")  # end-of-turn excluded
    assert span.ids[: span.start] == prompt_ids(tok, conv[:1])
    got = api.dramatis_score(engine, {"conversations": [conv]})["scores"][0]
    want = manual_logprobs(lm, span.ids[: span.end], span.start)
    assert np.allclose(got["tokens"], want, atol=1e-4)


# -- activations ------------------------------------------------------------------


def hidden(lm, ids):
    with torch.inference_mode():
        out = lm.model(input_ids=torch.tensor([ids]), output_hidden_states=True)
    return [h[0].float() for h in out.hidden_states]


def test_layer_convention_last_layer_is_before_final_norm(engine):
    lm = engine.lm
    ids = encode(lm.tokenizer, "Hello world", True)
    (mean, at), = summarize(lm, [ActItem(ids, 0, len(ids), len(ids) - 1)], [], 16)
    hs = hidden(lm, ids)
    assert mean.shape == (lm.n_layers + 1, lm.d_model) and mean.dtype == np.float32
    for l in range(lm.n_layers):  # 0 = embeddings, l = output of block l
        assert np.allclose(at[l], hs[l][-1].numpy(), atol=1e-5)
        assert np.allclose(mean[l], hs[l].mean(0).numpy(), atol=1e-5)
    L = lm.n_layers
    assert not np.allclose(at[L], hs[L][-1].numpy(), atol=1e-3)  # transformers' last entry is normed
    normed = lm.model.model.norm(torch.tensor(at[L])).detach().numpy()
    assert np.allclose(normed, hs[L][-1].numpy(), atol=1e-4)


def test_activation_spans(engine):
    lm, tok = engine.lm, engine.lm.tokenizer
    conv = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there, sailor"}]
    r = api.dramatis_activations(engine, {"inputs": [{"messages": conv}, {"messages": conv[:1]}, {"text": "Hello world"}]})
    assert r["layers"] == lm.n_layers + 1 and r["d"] == lm.d_model and len(r["summaries"]) == 3
    reply, user, text = [(np.array(s["mean"]), np.array(s["at"])) for s in r["summaries"]]
    span = reply_span(tok, conv)
    hs = hidden(lm, span.ids)
    for l in range(lm.n_layers):
        assert np.allclose(reply[0][l], hs[l][span.start : span.end].mean(0).numpy(), atol=1e-5)
        assert np.allclose(reply[1][l], hs[l][span.start - 1].numpy(), atol=1e-5)
    p = prompt_ids(tok, conv[:1])
    hp = hidden(lm, p)
    assert np.array_equal(user[0], user[1])  # user-final chat: read at the generation prompt
    assert np.allclose(user[1][1], hp[1][-1].numpy(), atol=1e-5)
    ids = encode(tok, "Hello world", True)
    ht = hidden(lm, ids)
    assert np.allclose(text[0][1], ht[1].mean(0).numpy(), atol=1e-5)
    # base64: little-endian float32 [L+1, d], same numbers as the JSON lists
    one = {"inputs": [{"text": "Hello world"}]}
    j = np.array(api.dramatis_activations(engine, one)["summaries"][0]["mean"])
    b = api.dramatis_activations(engine, {**one, "encoding": "base64"})
    arr = np.frombuffer(base64.b64decode(b["summaries"][0]["mean"]), dtype="<f4").reshape(lm.n_layers + 1, lm.d_model)
    assert np.array_equal(arr, j.astype(np.float32))  # JSON decimals round-trip to the same float32


def test_activations_see_steering(engine):
    lm = engine.lm
    vec = [1.0] * lm.d_model
    plain = api.dramatis_activations(engine, {"inputs": [{"text": "Hello"}]})["summaries"][0]["at"]
    steered = api.dramatis_activations(
        engine, {"inputs": [{"text": "Hello"}], "steering": [{"layer": 1, "vector": vec, "coefficient": 2.0}]}
    )["summaries"][0]["at"]
    assert np.allclose(np.array(steered[1]) - np.array(plain[1]), 2.0, atol=1e-5)  # read after the addition
    assert np.allclose(steered[0], plain[0])  # earlier layers untouched
    assert no_hooks(lm)


# -- OpenAI shapes -----------------------------------------------------------------


def test_completions_echo_logprobs(engine):
    r = api.completions(engine, {"prompt": "Hello world", "max_tokens": 3, "echo": True, "logprobs": 2, "seed": 1})
    c = r["choices"][0]
    lp = c["logprobs"]
    n_prompt = r["usage"]["prompt_tokens"]
    assert lp["token_logprobs"][0] is None and lp["top_logprobs"][0] is None
    assert len(lp["tokens"]) == n_prompt + r["usage"]["completion_tokens"]
    assert "".join(lp["tokens"]) == c["text"] and c["text"].startswith("Hello world")
    for tok_text, off in zip(lp["tokens"], lp["text_offset"]):
        assert c["text"][off : off + len(tok_text)] == tok_text
    assert all(len(d) <= 2 for d in lp["top_logprobs"][1:])
    zero = api.completions(engine, {"prompt": "Hello world", "max_tokens": 0, "echo": True, "logprobs": 0})
    assert zero["choices"][0]["text"] == "Hello world" and zero["usage"]["completion_tokens"] == 0
    assert zero["choices"][0]["logprobs"]["token_logprobs"][1:] == lp["token_logprobs"][1:n_prompt]


def test_chat_completion_shape(engine):
    r = api.chat_completions(engine, {"messages": HELLO, "max_tokens": 4, "seed": 0, "logprobs": True, "top_logprobs": 3})
    assert r["object"] == "chat.completion" and r["id"].startswith("chatcmpl-")
    (c,) = r["choices"]
    assert c["message"]["role"] == "assistant" and c["finish_reason"] in ("stop", "length")
    content = c["logprobs"]["content"]
    assert len(content) == r["usage"]["completion_tokens"]
    for e in content:
        assert set(e) == {"token", "logprob", "bytes", "top_logprobs"} and len(e["top_logprobs"]) == 3
    assert b"".join(bytes(e["bytes"]) for e in content).decode("utf-8", "replace") == c["message"]["content"]
    with pytest.raises(ApiError) as e:
        api.chat_completions(engine, {"messages": HELLO, "stream": True})
    assert e.value.status == 400 and "stream is not supported" in e.value.message
    with pytest.raises(ApiError) as e:
        api.chat_completions(engine, {"messages": HELLO, "model": "nope"})
    assert e.value.status == 404 and e.value.type == "model_not_found"
