"""LoRA fine-tuning, adapter caching and adapter selection (tiny model, in process)."""

from __future__ import annotations

import json

import pytest

from dramatis_worker import api
from dramatis_worker.chat import assistant_token_mask
from dramatis_worker.errors import ApiError

CHATS = [
    {"messages": [{"role": "user", "content": "Who are you?"}, {"role": "assistant", "content": "Arr, I am a pirate matey!"}]},
    {"messages": [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Ahoy there, sailor!"}]},
]
REQ = {"chats": CHATS, "learning_rate": 1e-2, "epochs": 6, "batch_size": 2, "rank": 4, "seed": 0}
PROBE = [CHATS[0]["messages"]]
ASK = [[{"role": "user", "content": "Who are you?"}]]


def greedy(engine, model=None):
    body = {"conversations": ASK, "seeds": [0], "temperature": 0, "max_tokens": 12, "model": model}
    return api.dramatis_chat(engine, body)["generations"][0]["text"]


def reply_logprob(engine, model=None):
    return api.dramatis_score(engine, {"conversations": PROBE, "model": model})["scores"][0]["logprob"]


def test_assistant_mask_covers_replies_and_end_of_turn(engine):
    tok = engine.lm.tokenizer
    ids, mask = assistant_token_mask(tok, CHATS[0]["messages"], engine.lm.stop_ids)
    trained = [i for i, m in zip(ids, mask) if m]
    assert tok.decode(trained) == "Arr, I am a pirate matey!<|im_end|>"


@pytest.fixture(scope="module")
def trained(engine):
    base_text, base_lp = greedy(engine), reply_logprob(engine)
    first = api.dramatis_finetune(engine, dict(REQ))
    return base_text, base_lp, first


def test_finetune_reduces_loss_and_serves_adapter(engine, trained):
    base_text, base_lp, r = trained
    assert r["cached"] is False and r["steps"] == 6 and r["name"] == "ft-" + r["key"][:12]
    assert r["tokens"] == sum(sum(assistant_token_mask(engine.lm.tokenizer, c["messages"], engine.lm.stop_ids)[1]) for c in CHATS)
    assert r["final_loss"] < r["initial_loss"] * 0.7
    assert r["name"] in engine.adapters and r["name"] in [m["id"] for m in api.list_models(engine)["data"]]
    assert reply_logprob(engine, r["name"]) > base_lp + 5  # the adapter learned the reply
    # base requests run with adapters disabled: unchanged by training
    assert reply_logprob(engine) == pytest.approx(base_lp, abs=1e-6)
    assert greedy(engine) == base_text
    assert greedy(engine, r["name"]) != base_text


def test_same_request_is_cached(engine, trained, cache_dir):
    _, _, first = trained
    again = api.dramatis_finetune(engine, dict(REQ))
    assert again["cached"] is True and again["key"] == first["key"] and again["steps"] == first["steps"]
    assert again["final_loss"] == first["final_loss"]
    folder = cache_dir / "adapters" / first["key"]
    assert json.loads((folder / "adapter_config.json").read_text())["r"] == 4  # PEFT format
    assert (folder / "adapter_model.safetensors").is_file()


def test_load_adapter_folder_by_name(engine, trained, cache_dir):
    _, _, first = trained
    folder = cache_dir / "adapters" / first["key"]
    r = api.dramatis_load_adapter(engine, {"name": "pirate", "path": str(folder)})
    assert r["loaded"] is True and r["name"] == "pirate"
    assert reply_logprob(engine, "pirate") == pytest.approx(reply_logprob(engine, first["name"]), abs=1e-5)
    with pytest.raises(ApiError) as e:
        api.dramatis_load_adapter(engine, {"name": "bad", "path": str(cache_dir)})
    assert e.value.status == 400


def test_steering_changes_key_and_is_training_only(engine, trained):
    _, _, first = trained
    d = engine.lm.d_model
    steer = [{"layer": 1, "vector": [0.5] * d, "coefficient": 1.0}]
    r = api.dramatis_finetune(engine, {**REQ, "epochs": 2, "steering": steer, "name": "prevented"})
    assert r["key"] != first["key"] and r["name"] == "prevented" and r["cached"] is False
    assert all(len(m._forward_hooks) == 0 or all("output_capturing" in getattr(h, "__qualname__", "") for h in m._forward_hooks.values())
               for m in [engine.lm.embed, *engine.lm.layers])


def test_finetune_validation(engine):
    with pytest.raises(ApiError) as e:
        api.dramatis_finetune(engine, {"chats": [{"messages": [{"role": "user", "content": "hi"}]}]})
    assert e.value.status == 422
    with pytest.raises(ApiError) as e:
        api.dramatis_finetune(engine, {**REQ, "target_modules": ["nope"]})
    assert e.value.status == 400 and "target_modules" in e.value.message
    with pytest.raises(ApiError) as e:
        api.dramatis_finetune(engine, {**REQ, "model": "missing"})
    assert e.value.status == 404
