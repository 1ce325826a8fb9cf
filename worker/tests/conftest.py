"""Shared fixtures: the tiny model (built once per session), an in-process
Engine on it, and worker subprocesses for the HTTP tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WORKER_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(WORKER_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# What scripts/fetch-smollm2.sh fetches, beside the worker in the repository (DRAMATIS_TEST_GGUF for another).
SMOLLM_GGUF = os.environ.get("DRAMATIS_TEST_GGUF", str(WORKER_ROOT.parent / "models" / "real" / "SmolLM2-135M-Instruct.Q4_1.gguf"))


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    from tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worker-cache")


@pytest.fixture(scope="session")
def engine(tiny_dir, cache_dir):
    import torch

    from dramatis_worker.engine import Engine
    from dramatis_worker.loading import load_model

    torch.set_num_threads(1)
    lm = load_model(str(tiny_dir), device="cpu", dtype="float32", cache_dir=cache_dir)
    return Engine(lm, cache_dir, batch_size=16)


class Worker:
    """A `python -m dramatis_worker serve` subprocess and a tiny JSON client."""

    def __init__(self, model: str, cache: Path, extra: list[str] | None = None, timeout: float = 300):
        env = {**os.environ, "PYTHONPATH": str(WORKER_ROOT), "HF_HUB_OFFLINE": "1"}
        cmd = [sys.executable, "-m", "dramatis_worker", "serve", "--model", model, "--port", "0",
               "--cache", str(cache), "--threads", "1", *(extra or [])]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.stderr_lines: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        line = self._read_line(timeout)
        if not line:
            self.proc.kill()
            raise RuntimeError("worker did not start:\n" + "".join(self.stderr_lines[-30:]))
        self.info = json.loads(line)
        self.base = f"http://{self.info['host']}:{self.info['port']}"

    def _drain(self):
        for raw in self.proc.stderr:
            self.stderr_lines.append(raw.decode("utf-8", "replace"))

    def _read_line(self, timeout: float) -> str:
        box: list[bytes] = []
        t = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        t.start()
        t.join(timeout)
        return box[0].decode() if box else ""

    def request(self, method: str, path: str, body=None, raw: bytes | None = None, timeout: float = 120):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def close(self, timeout: float = 20) -> int:
        """Close stdin (the parent-died signal) and wait for a clean exit."""
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return -999
        return self.proc.returncode


@pytest.fixture(scope="session")
def worker(tiny_dir, cache_dir):
    w = Worker(str(tiny_dir), cache_dir, ["--name", "tiny"])
    yield w
    rc = w.close()
    assert rc == 0, "worker did not exit cleanly when stdin closed:\n" + "".join(w.stderr_lines[-20:])


@pytest.fixture(scope="session")
def smollm_cache(tmp_path_factory) -> Path:
    """Where the GGUF is converted: DRAMATIS_TEST_CACHE to reuse it across
    sessions, else once per session in a temp folder."""
    if not Path(SMOLLM_GGUF).is_file():
        pytest.skip(f"SmolLM2 GGUF not found at {SMOLLM_GGUF} (set DRAMATIS_TEST_GGUF)")
    env = os.environ.get("DRAMATIS_TEST_CACHE")
    return Path(env) if env else tmp_path_factory.mktemp("smollm-cache")


@pytest.fixture(scope="session")
def smollm_worker(smollm_cache):
    w = Worker(SMOLLM_GGUF, smollm_cache, ["--threads", "2"], timeout=600)
    yield w
    w.close()


def wait_until(pred, timeout=10.0, every=0.05):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(every)
    return False
