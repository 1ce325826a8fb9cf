"""A few checks on the real SmolLM2-135M-Instruct GGUF (marked `smollm`).

Deselect with -m "not smollm"; skipped when the GGUF is absent
(path from DRAMATIS_TEST_GGUF)."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest

from conftest import SMOLLM_GGUF

pytestmark = pytest.mark.smollm


def test_loads_through_gguf_conversion(smollm_worker, smollm_cache):
    from dramatis_worker.loading import gguf_cache_key

    info = smollm_worker.info
    assert (info["n_layers"], info["d_model"], info["vocab_size"]) == (30, 576, 49152)
    assert (smollm_cache / "converted" / gguf_cache_key(Path(SMOLLM_GGUF)) / "config.json").is_file()
    status, h = smollm_worker.get("/health")
    assert status == 200 and h["n_layers"] == 30 and h["d_model"] == 576
    digest = hashlib.sha256(Path(SMOLLM_GGUF).read_bytes()).hexdigest()
    assert h["fingerprint"] == digest


def test_chat_gives_a_reply(smollm_worker):
    body = {"messages": [{"role": "user", "content": "What is the capital of France?"}], "temperature": 0, "max_tokens": 12}
    status, r = smollm_worker.post("/v1/chat/completions", body)
    assert status == 200
    text = r["choices"][0]["message"]["content"]
    assert text.strip() and "Paris" in text


def test_score_equals_echo_logprobs(smollm_worker):
    prompt, cont = "The capital of France is", "Paris, the city of light."
    status, s = smollm_worker.post("/dramatis/score", {"pairs": [{"prompt": prompt, "continuation": cont}]})
    assert status == 200
    toks = s["scores"][0]["tokens"]
    body = {"prompt": prompt + " " + cont, "max_tokens": 0, "echo": True, "logprobs": 0}
    status, e = smollm_worker.post("/v1/completions", body)
    assert status == 200
    echo = e["choices"][0]["logprobs"]["token_logprobs"]
    assert len(toks) >= 5 and len(echo) > len(toks)
    assert math.isclose(sum(echo[-len(toks):]), s["scores"][0]["logprob"], abs_tol=1e-3)
    assert all(math.isclose(a, b, abs_tol=1e-4) for a, b in zip(echo[-len(toks):], toks))


def test_activations_shape(smollm_worker):
    conv = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"}]
    status, r = smollm_worker.post("/dramatis/activations", {"inputs": [{"messages": conv}], "encoding": "base64"})
    assert status == 200 and r["layers"] == 31 and r["d"] == 576
    import base64

    assert len(base64.b64decode(r["summaries"][0]["mean"])) == 31 * 576 * 4
