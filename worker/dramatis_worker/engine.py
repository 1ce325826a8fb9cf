"""The served model, its adapters, and the lock that serialises work on them.

One Engine per process. Requests take `engine.lock` for their whole
computation (the model, its hooks and the active adapter are shared state);
/health and /v1/models read only immutable or atomically-replaced fields and
never take it, so they answer while a long request runs.
"""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from pathlib import Path

from .errors import ApiError, bad_request, model_not_found
from .finetune import linear_module_names
from .loading import LoadedModel, log
from .tokens import TokenTable

_ADAPTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,127}$")


class Engine:
    def __init__(self, lm: LoadedModel, cache_dir: Path, batch_size: int = 16):
        self.lm = lm
        self.table = TokenTable(lm.tokenizer)
        self.cache_dir = Path(cache_dir)
        self.batch_size = max(1, int(batch_size))
        self.lock = threading.Lock()
        # name -> adapter folder. Replaced (never mutated) so readers without the lock see a consistent dict.
        self.adapters: dict[str, str] = {}
        self.peft = None  # peft.PeftModel wrapping lm.model once the first adapter exists
        # LoRA targets, listed before peft injects its own Linear modules.
        self.linear_names = linear_module_names(lm)
        # request_id -> the Watch of a running streamed generation (POST /dramatis/cut reaches it without the lock).
        self._watches: dict = {}
        self._watch_lock = threading.Lock()

    # -- streamed generations (the live loop guard) -----------------------------

    @contextmanager
    def watching(self, request_id: str, watch):
        with self._watch_lock:
            self._watches[request_id] = watch
        try:
            yield
        finally:
            with self._watch_lock:
                if self._watches.get(request_id) is watch:
                    del self._watches[request_id]

    def cut(self, request_id: str, rows: dict[int, int]) -> bool:
        """Ask the running request `request_id` to cut rows (row -> tokens kept). -> False if it is not running."""
        with self._watch_lock:
            watch = self._watches.get(request_id)
        if watch is None:
            return False
        watch.cut(rows)
        return True

    # -- naming -------------------------------------------------------------

    def model_names(self) -> list[str]:
        return [self.lm.name, *self.adapters]

    def check_adapter_name(self, name) -> str:
        if not isinstance(name, str) or not _ADAPTER_NAME.match(name):
            raise bad_request("adapter `name` must match [A-Za-z0-9][A-Za-z0-9_-]{0,127}", "name")
        if name == self.lm.name:
            raise bad_request(f"adapter name `{name}` is the base model's name", "name")
        return name

    def resolve(self, name) -> str | None:
        """Requested model name -> None (base model) or an adapter name; 404 otherwise."""
        if name is None or name == self.lm.name:
            return None
        if not isinstance(name, str):
            raise bad_request("`model` must be a string", "model")
        if name in self.adapters:
            return name
        raise model_not_found(name)

    @contextmanager
    def using(self, name):
        """Run the block on the base model or on one adapter. Caller holds the lock.

        Requests for the base model run with all adapters disabled (peft's
        disable_adapter), so training an adapter never changes base outputs."""
        adapter = self.resolve(name)
        if self.peft is None:
            yield
        elif adapter is None:
            with self.peft.disable_adapter():
                yield
        else:
            self.peft.set_adapter(adapter, inference_mode=True)  # frozen: no grads at inference
            yield

    # -- adapters -----------------------------------------------------------

    def add_adapter(self, name: str, config):
        """Create a fresh (untrained) LoRA adapter in memory; returns the PeftModel."""
        from peft import get_peft_model

        if name in self.adapters or (self.peft is not None and name in self.peft.peft_config):
            self.remove_adapter(name)
        if self.peft is None:
            # Injects LoRA layers into lm.model in place: the decoder-layer and
            # embedding modules that hooks use stay the same objects.
            self.peft = get_peft_model(self.lm.model, config, adapter_name=name)
        else:
            self.peft.add_adapter(name, config)
        self.peft.set_adapter(name)
        return self.peft

    def register(self, name: str, path: str) -> None:
        self.adapters = {**self.adapters, name: str(path)}

    def remove_adapter(self, name: str) -> None:
        if self.peft is not None and name in self.peft.peft_config:
            self.peft.delete_adapter(name)
        if name in self.adapters:
            self.adapters = {k: v for k, v in self.adapters.items() if k != name}

    def load_adapter(self, name: str, path) -> bool:
        """Serve the PEFT adapter folder `path` as `name`. -> False if already served from there."""
        from peft import PeftModel

        p = Path(path).expanduser()
        if not (p / "adapter_config.json").is_file():
            raise bad_request(f"not a PEFT adapter folder (no adapter_config.json): {p}", "path")
        p = p.resolve()
        if self.adapters.get(name) == str(p):
            return False
        if name in self.adapters:
            self.remove_adapter(name)
        try:
            if self.peft is None:
                self.peft = PeftModel.from_pretrained(self.lm.model, str(p), adapter_name=name, is_trainable=False)
            else:
                self.peft.load_adapter(str(p), adapter_name=name, is_trainable=False)
        except Exception as e:
            if self.peft is not None and name in self.peft.peft_config:
                self.peft.delete_adapter(name)
            raise ApiError(422, f"cannot load adapter from {p}: {e}", "unprocessable_error", "path") from e
        self.peft.eval()
        self.register(name, str(p))
        log("adapter_loaded", name=name, path=str(p))
        return True
