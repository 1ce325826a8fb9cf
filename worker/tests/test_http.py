"""The HTTP protocol against a real `python -m dramatis_worker serve` subprocess."""

from __future__ import annotations

import http.client
import threading
import time

HELLO = [{"role": "user", "content": "Hello"}]


def test_health_and_models(worker):
    assert worker.info["event"] == "listening" and worker.info["model"] == "tiny"
    assert (worker.info["n_layers"], worker.info["d_model"]) == (2, 64)
    status, h = worker.get("/health")
    assert status == 200 and h["ok"] is True
    for k in ("model", "device", "dtype", "n_layers", "d_model", "vocab_size", "fingerprint", "adapters"):
        assert k in h
    assert len(h["fingerprint"]) == 64 and h["dtype"] == "float32"
    status, m = worker.get("/v1/models")
    assert status == 200 and m["object"] == "list"
    assert m["data"][0] == {"id": "tiny", "object": "model", "owned_by": "dramatis-worker"}


def test_chat_completions_and_errors(worker):
    status, r = worker.post("/v1/chat/completions", {"model": "tiny", "messages": HELLO, "max_tokens": 5, "seed": 1, "n": 2})
    assert status == 200 and r["object"] == "chat.completion" and len(r["choices"]) == 2
    assert set(r["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    status, again = worker.post("/v1/chat/completions", {"model": "tiny", "messages": HELLO, "max_tokens": 5, "seed": 1, "n": 2})
    assert [c["message"] for c in again["choices"]] == [c["message"] for c in r["choices"]]

    status, e = worker.post("/v1/chat/completions", {"model": "nope", "messages": HELLO})
    assert status == 404 and e["error"]["type"] == "model_not_found"
    status, e = worker.post("/v1/chat/completions", {"messages": HELLO, "stream": True})
    assert status == 400 and e["error"]["message"] == "stream is not supported"
    bad = {"messages": HELLO, "dramatis": {"steering": [{"layer": 1, "vector": [1.0, 2.0], "coefficient": 1}]}}
    status, e = worker.post("/v1/chat/completions", bad)
    assert status == 400 and "64" in e["error"]["message"] and e["error"]["type"] == "invalid_request_error"
    status, e = worker.request("POST", "/v1/chat/completions", raw=b'{"messages": [')
    assert status == 400 and e["error"]["message"].startswith("malformed JSON")
    status, e = worker.request("POST", "/v1/chat/completions", raw=b"[1, 2]")
    assert status == 400 and "object" in e["error"]["message"]
    status, e = worker.get("/nowhere")
    assert status == 404 and e["error"]["type"] == "not_found_error"
    status, e = worker.post("/dramatis/chat", {"conversations": [HELLO]})
    assert status == 400 and "seeds" in e["error"]["message"]


def test_body_over_64mb_is_413(worker):
    host, port = worker.info["host"], worker.info["port"]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.putrequest("POST", "/dramatis/chat")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(64 * 1024 * 1024 + 1))
    conn.endheaders()  # the body is never sent: the server must answer without reading it
    resp = conn.getresponse()
    assert resp.status == 413
    conn.close()


def test_completions_echo(worker):
    body = {"prompt": "Hello world", "max_tokens": 2, "echo": True, "logprobs": 1, "seed": 0, "temperature": 0}
    status, r = worker.post("/v1/completions", body)
    assert status == 200 and r["object"] == "text_completion"
    c = r["choices"][0]
    assert c["text"].startswith("Hello world") and c["logprobs"]["token_logprobs"][0] is None
    assert c["logprobs"]["text_offset"][0] == 0


def test_dramatis_endpoints(worker):
    status, r = worker.post("/dramatis/chat", {"conversations": [HELLO, HELLO], "seeds": [1, 2], "max_tokens": 6,
                                               "top_logprobs": 2, "with_tokens": True})
    assert status == 200
    g = r["generations"][0]
    assert {"text", "finish_reason", "tokens", "prompt_tokens", "token_texts", "token_logprobs", "top_logprobs"} <= set(g)
    assert len(g["top_logprobs"]) == g["tokens"] and set(g["top_logprobs"][0][0]) >= {"token", "logprob"}
    status, r = worker.post("/dramatis/complete", {"prompts": ["Once upon", "The"], "seeds": [1, 2], "max_tokens": 4})
    assert status == 200 and len(r["generations"]) == 2
    status, r = worker.post("/dramatis/score", {"pairs": [{"prompt": "Hello", "continuation": "world"}]})
    assert status == 200 and len(r["scores"][0]["tokens"]) >= 1
    conv = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Ahoy"}]
    status, r = worker.post("/dramatis/activations", {"inputs": [{"messages": conv}, {"text": "Hello"}]})
    assert status == 200 and r["layers"] == 3 and r["d"] == 64
    assert len(r["summaries"][0]["mean"]) == 3 and len(r["summaries"][0]["at"][0]) == 64


def test_health_answers_during_long_finetune(worker):
    chats = [{"messages": [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Ahoy there, sailor!"}]}]
    body = {"chats": chats, "learning_rate": 1e-3, "epochs": 300, "batch_size": 1, "rank": 2, "name": "long"}
    box = {}
    t = threading.Thread(target=lambda: box.update(r=worker.post("/dramatis/finetune", body, timeout=300)))
    t.start()
    try:
        busy_seen = False
        t0 = time.time()
        while t.is_alive() and time.time() - t0 < 120:
            s0 = time.time()
            status, h = worker.get("/health", timeout=5)
            assert status == 200 and time.time() - s0 < 2.0  # answered while the model lock is held
            busy_seen = busy_seen or h["busy"]
            if busy_seen:
                break
            time.sleep(0.05)
        assert busy_seen, "finetune finished before /health could be observed during it"
    finally:
        t.join(300)
    status, r = box["r"]
    assert status == 200 and r["name"] == "long" and r["steps"] == 300
    status, h = worker.get("/health")
    assert "long" in h["adapters"]
    status, m = worker.get("/v1/models")
    assert "long" in [d["id"] for d in m["data"]]
    status, c = worker.post("/v1/chat/completions", {"model": "long", "messages": HELLO, "max_tokens": 3, "seed": 0})
    assert status == 200 and c["model"] == "long"
