"""The live loop guard's protocol: a streamed /dramatis/chat (`progress_every`) that reports each
row's text every few tokens, and POST /dramatis/cut, which stops rows while the batch goes on.

On the tiny random model: in process (the Watch, the API's Streamed) and over HTTP (chunked NDJSON,
a cut sent on a second connection while the first is streaming)."""

from __future__ import annotations

import http.client
import json

import pytest

from dramatis_worker import api
from dramatis_worker.errors import ApiError
from dramatis_worker.params import sampling_params
from dramatis_worker.sampling import Watch, generate

HELLO = [{"role": "user", "content": "Hello"}]
PIRATE = [{"role": "system", "content": "You are a pirate."}, {"role": "user", "content": "Ahoy there"}]


def body(**kw):
    return {"conversations": [HELLO, PIRATE, HELLO], "seeds": [1, 2, 3], "max_tokens": 40, "temperature": 1.0,
            "with_tokens": True, "top_logprobs": 2, **kw}


def same_row(a, b) -> bool:
    """The same sample: tokens, text and finish exactly; log-probabilities up to float rounding (a batch
    that loses a row computes the others with other shapes, as when a row ends by itself)."""
    if {k: v for k, v in a.items() if "logprobs" not in k} != {k: v for k, v in b.items() if "logprobs" not in k}:
        return False
    return all(abs(x - y) < 1e-5 for x, y in zip(a.get("token_logprobs", []), b.get("token_logprobs", [])))


def run_streamed(engine, b, on_line=lambda line: None):
    """The lines a streamed request emits (the last one being what run returns)."""
    s = api.dramatis_chat(engine, b)
    assert isinstance(s, api.Streamed)
    lines = []

    def emit(obj):
        lines.append(json.loads(json.dumps(obj)))
        on_line(lines[-1])

    lines.append(s.run(emit))
    return lines


def test_without_cuts_the_stream_ends_with_the_plain_response(engine):
    plain = api.dramatis_chat(engine, body())
    lines = run_streamed(engine, body(progress_every=8, request_id="r-plain"))
    assert lines[0] == {"event": "start", "request_id": "r-plain", "rows": 3}
    assert lines[-1] == {"event": "done", **plain}
    progress = [l for l in lines if l["event"] == "progress"]
    assert progress and all(l["tokens"] % 8 == 0 for l in progress)
    for l in progress:  # each report is the decoding of the row's first `tokens` tokens
        g = plain["generations"][l["row"]]
        assert l["tokens"] <= g["tokens"] and g["text"].startswith(l["text"])
    assert not engine._watches, "the request is unregistered when it ends"


def test_a_cut_row_keeps_its_first_tokens_and_the_others_go_on(engine):
    plain = api.dramatis_chat(engine, body())["generations"]
    assert plain[0]["tokens"] > 16, "the tiny model must run past 16 tokens on this seed"

    def on_line(line):
        if line["event"] == "progress" and line["row"] == 0 and line["tokens"] == 8:
            assert engine.cut("r-cut", {0: 8}) is True

    lines = run_streamed(engine, body(progress_every=8, request_id="r-cut"), on_line)
    gens = lines[-1]["generations"]
    cut = gens[0]
    assert cut["finish_reason"] == "cut" and cut["tokens"] == 8
    assert cut["token_ids"] == plain[0]["token_ids"][:8]
    assert cut["token_logprobs"] == plain[0]["token_logprobs"][:8]
    assert cut["top_logprobs"] == plain[0]["top_logprobs"][:8]
    assert cut["text"] == next(l["text"] for l in lines if l["event"] == "progress" and l["row"] == 0)
    for g, p in zip(gens[1:], plain[1:]):  # the other rows of the batch go on as they would have
        assert same_row(g, p)
    assert not [l for l in lines if l["event"] == "progress" and l["row"] == 0 and l["tokens"] > 8], "row 0 stopped at once"
    assert engine.cut("r-cut", {1: 8}) is False, "a finished request is no longer running"


def test_a_row_that_ended_before_its_cut_arrived_is_cut_all_the_same(engine):
    """Rows in separate sub-batches: row 0 has finished when the cut for it comes in, during row 1."""
    from dramatis_worker.chat import prompt_ids

    lm, t = engine.lm, engine.table
    prompts = [prompt_ids(lm.tokenizer, HELLO)] * 2
    params = sampling_params({"max_tokens": 24, "temperature": 1.0}, 64)
    plain = generate(lm, t, prompts, [5, 6], params, [], 16)
    seen = []
    watch = None

    def emit(row, n, text):
        seen.append((row, n))
        if row == 1 and n == 8:
            watch.cut({0: 16})

    watch = Watch(8, emit)
    got = generate(lm, t, prompts, [5, 6], params, [], 1, watch)
    assert (0, 16) in seen and (1, 8) in seen
    assert got[0].finish_reason == "cut" and got[0].token_ids == plain[0].token_ids[:16]
    assert got[0].text == t.join(plain[0].token_ids[:16])
    assert (got[1].token_ids, got[1].finish_reason, got[1].text) == (plain[1].token_ids, plain[1].finish_reason, plain[1].text)


def test_request_fields_are_checked(engine):
    for bad in ({"progress_every": 0}, {"progress_every": "8"}, {"request_id": "x"}, {"progress_every": 8, "request_id": ""}):
        with pytest.raises(ApiError) as e:
            api.dramatis_chat(engine, body(**bad))
        assert e.value.status == 400
    for bad in ({"rows": []}, {"request_id": "x"}, {"request_id": "x", "rows": [{"row": -1, "tokens": 8}]},
                {"request_id": "x", "rows": [{"row": 0}]}, {"request_id": "x", "rows": [3]}):
        with pytest.raises(ApiError) as e:
            api.dramatis_cut(engine, bad)
        assert e.value.status == 400
    assert api.dramatis_cut(engine, {"request_id": "nobody", "rows": [{"row": 0, "tokens": 8}]}) == {"request_id": "nobody", "running": False}


def test_over_http_a_cut_on_a_second_connection_stops_a_row_of_a_streaming_request(worker):
    host, port = worker.info["host"], worker.info["port"]
    b = {"conversations": [HELLO, PIRATE], "seeds": [1, 2], "max_tokens": 400, "temperature": 0}
    status, plain = worker.post("/dramatis/chat", b)
    assert status == 200 and [g["tokens"] for g in plain["generations"]] == [400, 400]
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request("POST", "/dramatis/chat", json.dumps({**b, "progress_every": 4, "request_id": "h1"}), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("application/x-ndjson")
    assert resp.getheader("Transfer-Encoding") == "chunked"
    lines, answer = [], None
    while True:
        raw = resp.readline()
        if not raw:
            break
        line = json.loads(raw)
        lines.append(line)
        if line["event"] == "progress" and line["row"] == 1 and line["tokens"] == 4:
            status, answer = worker.post("/dramatis/cut", {"request_id": "h1", "rows": [{"row": 1, "tokens": 4}]}, timeout=5)
    conn.close()
    assert status == 200 and answer == {"request_id": "h1", "running": True}
    assert lines[0]["event"] == "start" and lines[-1]["event"] == "done"
    gens = lines[-1]["generations"]
    assert gens[1]["finish_reason"] == "cut" and gens[1]["tokens"] == 4
    assert plain["generations"][1]["text"].startswith(gens[1]["text"])
    assert same_row(gens[0], plain["generations"][0])
    row1 = [l["tokens"] for l in lines if l["event"] == "progress" and l["row"] == 1]
    assert max(row1) < 100, f"row 1 went on to {max(row1)} tokens after its cut"
    # The connection-level protocol is unchanged for everything else: a plain request right after.
    status, again = worker.post("/dramatis/chat", b)
    assert status == 200 and again == plain
    status, e = worker.get("/dramatis/cut")
    assert status == 405


def test_over_http_a_client_that_goes_away_ends_the_request(worker):
    import time

    from conftest import wait_until

    host, port = worker.info["host"], worker.info["port"]
    b = {"conversations": [HELLO] * 4, "seeds": [1, 2, 3, 4], "max_tokens": 900, "temperature": 0}
    t0 = time.time()
    status, _ = worker.post("/dramatis/chat", b)
    whole = time.time() - t0
    assert status == 200
    conn = http.client.HTTPConnection(host, port, timeout=60)
    t0 = time.time()
    conn.request("POST", "/dramatis/chat", json.dumps({**b, "progress_every": 1}), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert json.loads(resp.readline())["event"] == "start"
    conn.sock.shutdown(2)
    conn.close()
    assert wait_until(lambda: worker.get("/health")[1]["busy"] is False, timeout=60)
    assert time.time() - t0 < whole * 0.8 or whole < 0.5, f"stopped after {time.time() - t0:.2f} s; the whole request takes {whole:.2f} s"
    status, r = worker.post("/dramatis/chat", {**b, "max_tokens": 4})
    assert status == 200 and len(r["generations"]) == 4
