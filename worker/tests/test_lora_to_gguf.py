"""lora_to_gguf: a PEFT adapter on the tiny random llama becomes a llama.cpp GGUF LoRA whose metadata,
tensor names and shapes are what llama.cpp's loader checks, and whose delta, read back the way
llama.cpp applies it (alpha / rank times lora_b @ lora_a), is peft's delta in llama.cpp's row order:
transformers' own GGUF q/k un-permutation gives peft's delta back exactly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(WORKER_ROOT))

from dramatis_worker.lora_to_gguf import ConvertError, convert, permute_rows  # noqa: E402

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
GGUF_NAMES = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
              "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down"}


def make_adapter(tiny_dir: Path, folder: Path, **lora_kw):
    """A peft adapter with random (non-zero) A and B on every projection; -> (folder, peft model)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaForCausalLM

    torch.manual_seed(3)
    model = LlamaForCausalLM.from_pretrained(str(tiny_dir), dtype=torch.float32)
    cfg = LoraConfig(r=lora_kw.pop("r", 4), lora_alpha=lora_kw.pop("lora_alpha", 8), target_modules=TARGETS,
                     init_lora_weights=False, task_type="CAUSAL_LM", **lora_kw)
    pm = get_peft_model(model, cfg)
    pm.save_pretrained(str(folder))
    return folder, pm


def read(path: Path):
    import gguf

    r = gguf.GGUFReader(str(path))
    meta = {f.name: f.contents() for f in r.fields.values()}
    return meta, {t.name: t for t in r.tensors}


def lora_delta(t, i: int, module: str, alpha: float) -> np.ndarray:
    """What llama.cpp adds to blk.i.<name>.weight (scale 1): alpha / rank * B @ A, rank = b.ne[0]."""
    a = np.asarray(t[f"blk.{i}.{GGUF_NAMES[module]}.weight.lora_a"].data, dtype=np.float64)  # [r, in]
    b = np.asarray(t[f"blk.{i}.{GGUF_NAMES[module]}.weight.lora_b"].data, dtype=np.float64)  # [out, r]
    return alpha / b.shape[1] * (b @ a)


def peft_delta(pm, i: int, module: str) -> np.ndarray:
    part = "self_attn" if module.endswith(("q_proj", "k_proj", "v_proj", "o_proj")) else "mlp"
    layer = getattr(pm.base_model.model.model.layers[i], part)
    return getattr(layer, module).get_delta_weight("default").detach().double().numpy()


def hf_order(delta: np.ndarray, module: str, n_head: int, n_kv: int) -> np.ndarray:
    """transformers' un-permutation of a GGUF attn_q / attn_k (what made the HF folder from the GGUF)."""
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    undo = LlamaTensorProcessor(config={})._reverse_permute_weights
    if module == "q_proj":
        return undo(delta, n_head, n_head)
    if module == "k_proj":
        return undo(delta, n_head, n_kv)
    return delta


def test_names_shapes_metadata_and_deltas(tiny_dir, tmp_path):
    folder, pm = make_adapter(tiny_dir, tmp_path / "adapter")
    out = convert(folder, tmp_path / "a.gguf")  # base found through adapter_config's base_model_name_or_path
    meta, t = read(out)
    assert meta["general.type"] == "adapter"
    assert meta["general.architecture"] == "llama"
    assert meta["adapter.type"] == "lora"
    assert meta["adapter.lora.alpha"] == pytest.approx(8.0)
    cfg = json.loads((tiny_dir / "config.json").read_text())
    d, ff, n_head, n_kv = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    kv = d // n_head * n_kv
    outs = {"q_proj": d, "k_proj": kv, "v_proj": kv, "o_proj": d, "gate_proj": ff, "up_proj": ff, "down_proj": d}
    ins = {m: (ff if m == "down_proj" else d) for m in TARGETS}
    expected = {f"blk.{i}.{GGUF_NAMES[m]}.weight.lora_{x}" for i in range(2) for m in TARGETS for x in "ab"}
    assert set(t) == expected
    for i in range(2):
        for m in TARGETS:
            a, b = t[f"blk.{i}.{GGUF_NAMES[m]}.weight.lora_a"], t[f"blk.{i}.{GGUF_NAMES[m]}.weight.lora_b"]
            # ggml ne order: what llama.cpp checks against the base tensor's ne = {in, out}
            assert tuple(a.shape) == (ins[m], 4) and tuple(b.shape) == (4, outs[m]), m
            assert a.tensor_type.name == "F32" and b.tensor_type.name == "F32"
            mine = lora_delta(t, i, m, meta["adapter.lora.alpha"])
            ref = peft_delta(pm, i, m)
            np.testing.assert_allclose(hf_order(mine, m, n_head, n_kv), ref, rtol=1e-5, atol=1e-6, err_msg=f"{i} {m}")
            if m in ("q_proj", "k_proj"):  # really permuted: the rows of lora_b moved, lora_a did not
                assert not np.allclose(mine, ref, atol=1e-6)
                np.testing.assert_array_equal(
                    np.asarray(a.data), pm.state_dict()[f"base_model.model.model.layers.{i}.self_attn.{m}.lora_A.default.weight"].numpy()
                )


def test_permutation_round_trip():
    """permute_rows is convert_hf_to_gguf's permute; transformers' GGUF loader inverts it exactly."""
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    undo = LlamaTensorProcessor(config={})._reverse_permute_weights
    rng = np.random.default_rng(0)
    for n_head, n_kv, head_dim, cols in ((4, 4, 16, 3), (9, 3, 64, 5)):  # tiny; SmolLM2's q (9 heads) and k (3)
        q = rng.standard_normal((n_head * head_dim, cols))
        k = rng.standard_normal((n_kv * head_dim, cols))
        np.testing.assert_array_equal(undo(permute_rows(q, n_head), n_head, n_head), q)
        np.testing.assert_array_equal(undo(permute_rows(k, n_kv), n_head, n_kv), k)
    # within one head of 4 dims: HF rows (r0 r1 | r2 r3) = halves of the rotary pairs -> llama.cpp interleaves them
    assert permute_rows(np.arange(4.0)[:, None], 1)[:, 0].tolist() == [0.0, 2.0, 1.0, 3.0]


def test_rslora_and_alpha_pattern_fold_into_alpha_and_lora_b(tiny_dir, tmp_path):
    folder, pm = make_adapter(tiny_dir, tmp_path / "rs", r=4, lora_alpha=6, use_rslora=True,
                              alpha_pattern={"down_proj": 2.0})
    out = convert(folder, tmp_path / "rs.gguf", base=tiny_dir, outtype="f16")
    meta, t = read(out)
    assert meta["adapter.lora.alpha"] == pytest.approx(6 / 2 * 4)  # alpha / sqrt(r), as llama.cpp's alpha / r
    cfg = json.loads((tiny_dir / "config.json").read_text())
    for m in ("q_proj", "down_proj"):
        assert t[f"blk.1.{GGUF_NAMES[m]}.weight.lora_b"].tensor_type.name == "F16"
        mine = hf_order(lora_delta(t, 1, m, meta["adapter.lora.alpha"]), m, cfg["num_attention_heads"], cfg["num_key_value_heads"])
        np.testing.assert_allclose(mine, peft_delta(pm, 1, m), rtol=2e-3, atol=2e-3 * np.abs(peft_delta(pm, 1, m)).max())


def test_cli_and_errors(tiny_dir, tmp_path):
    folder, _ = make_adapter(tiny_dir, tmp_path / "cli")
    env = {**os.environ, "PYTHONPATH": str(WORKER_ROOT), "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-m", "dramatis_worker.lora_to_gguf", str(folder), str(tmp_path / "c.gguf")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["event"] == "written"
    cfg = json.loads((folder / "adapter_config.json").read_text())
    (folder / "adapter_config.json").write_text(json.dumps({**cfg, "base_model_name_or_path": "/nowhere"}))
    with pytest.raises(ConvertError, match="give the base with --base"):
        convert(folder, tmp_path / "x.gguf")
    (folder / "adapter_config.json").write_text(json.dumps({**cfg, "use_dora": True}))
    r = subprocess.run([sys.executable, "-m", "dramatis_worker.lora_to_gguf", str(folder), str(tmp_path / "d.gguf")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "DoRA" in r.stderr
