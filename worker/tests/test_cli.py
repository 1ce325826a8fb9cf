"""The command line: check, load errors (exit 2), SIGTERM and stdin-EOF exits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from conftest import WORKER_ROOT, Worker

ENV = {**os.environ, "PYTHONPATH": str(WORKER_ROOT), "HF_HUB_OFFLINE": "1"}


def run(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "dramatis_worker", *args], capture_output=True, text=True,
                          env=ENV, timeout=timeout, stdin=subprocess.DEVNULL)


def test_check_prints_versions():
    p = run("check")
    assert p.returncode == 0
    info = json.loads(p.stdout)
    assert info["ok"] is True and {"torch", "transformers", "peft"} <= set(info)


def test_missing_model_exits_2(tmp_path):
    p = run("serve", "--model", str(tmp_path / "nope"), "--cache", str(tmp_path))
    assert p.returncode == 2 and p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1 and "does not exist" in p.stderr


def test_not_a_model_exits_2(tmp_path):
    (tmp_path / "empty").mkdir()
    p = run("serve", "--model", str(tmp_path / "empty"), "--cache", str(tmp_path), "--threads", "1")
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip().splitlines() == [f"dramatis-worker: not a model: {tmp_path / 'empty'} has no config.json"]
    (tmp_path / "junk.gguf").write_bytes(b"not a gguf at all")
    p = run("serve", "--model", str(tmp_path / "junk.gguf"), "--cache", str(tmp_path), "--threads", "1")
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "not a GGUF file" in p.stderr


def test_sigterm_exits_cleanly(tiny_dir, cache_dir):
    w = Worker(str(tiny_dir), cache_dir)
    status, _ = w.get("/health")
    assert status == 200
    w.proc.send_signal(signal.SIGTERM)
    assert w.proc.wait(30) == 0
