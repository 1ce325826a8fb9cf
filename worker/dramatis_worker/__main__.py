"""Command line: `python -m dramatis_worker serve|check`.

stdout is reserved for machine-readable lines (the single "listening" line of
`serve`, the JSON of `check`); everything else goes to stderr. During `serve`
sys.stdout is pointed at stderr so a stray print in a library cannot corrupt
the protocol line the parent process waits for.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path


def _check() -> int:
    import platform
    from importlib import metadata

    out: dict = {"python": platform.python_version()}
    for pkg in ("torch", "transformers", "peft", "safetensors", "gguf", "numpy"):
        try:
            __import__(pkg)
            out[pkg] = metadata.version(pkg)
        except Exception as e:  # ImportError, or a broken install raising anything else
            print(json.dumps({"ok": False, "missing": pkg, "error": f"{type(e).__name__}: {e}"}), flush=True)
            return 1
    import torch

    out["cuda"] = bool(torch.cuda.is_available())
    print(json.dumps({"ok": True, **out}), flush=True)
    return 0


def _watch_stdin(stop: threading.Event) -> None:
    """Set `stop` when stdin reaches EOF: the parent closed its end or died,
    so the worker must not outlive it."""
    try:
        fd = sys.stdin.fileno()
        while os.read(fd, 65536):
            pass
    except (OSError, ValueError, AttributeError):
        pass
    stop.set()


def _serve(args) -> int:
    real_stdout = sys.stdout
    sys.stdout = sys.stderr
    import warnings

    # Library deprecation chatter (e.g. peft calling renamed transformers APIs)
    # would interleave non-JSON lines into the JSON-lines log on stderr.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from .loading import LoadError, default_cache_dir, load_model, log

    if not Path(args.model).expanduser().exists():
        print(f"dramatis-worker: model path does not exist: {args.model}", file=sys.stderr, flush=True)
        return 2
    import torch

    torch.set_num_threads(max(1, args.threads or os.cpu_count() or 1))
    cache = Path(args.cache).expanduser() if args.cache else default_cache_dir()
    try:
        lm = load_model(args.model, device=args.device, dtype=args.dtype, cache_dir=cache, name=args.name)
    except LoadError as e:
        print(f"dramatis-worker: {e}", file=sys.stderr, flush=True)
        return 2

    from .engine import Engine
    from .server import WorkerServer

    engine = Engine(lm, cache, batch_size=args.batch_size)
    try:
        server = WorkerServer(engine, args.host, args.port)
    except OSError as e:
        print(f"dramatis-worker: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr, flush=True)
        return 1

    stop = threading.Event()
    reason = {"why": "signal"}

    def on_signal(signum, _frame):
        reason["why"] = signal.Signals(signum).name
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if not args.ignore_stdin:
        threading.Thread(target=_watch_stdin, args=(stop,), name="stdin-watch", daemon=True).start()
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()

    host, port = server.server_address[:2]
    line = {
        "event": "listening",
        "host": host,
        "port": port,
        "model": lm.name,
        "device": str(lm.device),
        "n_layers": lm.n_layers,
        "d_model": lm.d_model,
        "vocab_size": lm.vocab_size,
    }
    real_stdout.write(json.dumps(line) + "\n")
    real_stdout.flush()
    log("ready", **{k: v for k, v in line.items() if k != "event"}, dtype=lm.dtype_name, fingerprint=lm.fingerprint, threads=torch.get_num_threads())

    # Event.wait with a timeout keeps the main thread responsive to signals.
    while not stop.wait(0.5):
        pass
    if reason["why"] == "signal":
        reason["why"] = "stdin closed"
    log("shutdown", reason=reason["why"])
    server.shutdown()
    server.server_close()
    sys.stderr.flush()
    real_stdout.flush()
    # os._exit: a request thread may still be inside torch; waiting for it (or
    # for interpreter teardown racing it) would delay or crash the exit.
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dramatis_worker", description="dramatis model worker")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="load a model and serve the HTTP JSON protocol (see PROTOCOL.md)")
    s.add_argument("--model", required=True, help="Hugging Face folder (config.json + safetensors) or a .gguf file")
    s.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    s.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"],
                   help="auto = float32 on CPU, bfloat16 on CUDA")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=0, help="0 = any free port (reported in the listening line)")
    s.add_argument("--cache", default=None, help="cache folder (default ~/.cache/dramatis/worker)")
    s.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: os.cpu_count())")
    s.add_argument("--batch-size", type=int, default=16, help="max rows per forward pass for batched endpoints")
    s.add_argument("--name", default=None, help="model name to serve under (default: folder / file name)")
    s.add_argument("--ignore-stdin", action="store_true",
                   help="do not exit when stdin closes (for running by hand with stdin redirected)")
    sub.add_parser("check", help="print package versions as JSON; exit 1 naming a missing package")
    args = p.parse_args(argv)
    if args.cmd == "check":
        return _check()
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
