"""control_vector: [L+1, d] persona vectors to llama.cpp control-vector GGUFs and back, with the
layer mapping llama.cpp applies (direction.N is added after block N, 0-based = our row N+1)."""

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

from dramatis_worker.control_vector import (  # noqa: E402
    VectorError,
    direction_index,
    load_layers,
    read_control_vector,
    save_layers,
    write_control_vector,
)

L, D = 4, 8


def stack(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((L + 1, D)).astype(np.float32)


def test_mapping_is_where_llama_cpp_adds_the_direction():
    assert direction_index(2) == 1  # row 2 = after block 2 (1-based) = block il 1 (0-based)
    assert direction_index(L) == L - 1
    for row in (0, 1):
        with pytest.raises(VectorError):
            direction_index(row)


def test_write_then_read_back(tmp_path, capsys):
    import gguf

    v = stack()
    info = write_control_vector(v, tmp_path / "cv.gguf", model_hint="gpt2", coefficient=2.5)
    assert info["rows"] == [2, 3, 4] and info["directions"] == [1, 2, 3] and info["skipped"] == [0, 1]
    assert "row 0" in capsys.readouterr().err

    r = gguf.GGUFReader(str(tmp_path / "cv.gguf"))
    assert r.get_field("general.architecture").contents() == "controlvector"
    assert r.get_field("controlvector.model_hint").contents() == "gpt2"
    assert r.get_field("controlvector.layer_count").contents() == 3
    t = {x.name: np.asarray(x.data) for x in r.tensors}
    assert sorted(t) == ["direction.1", "direction.2", "direction.3"]
    np.testing.assert_array_equal(t["direction.1"], v[2] * np.float32(2.5))

    back, meta = read_control_vector(tmp_path / "cv.gguf")
    assert back.shape == (L + 1, D) and meta["rows"] == [2, 3, 4] and meta["n_layer"] == L
    np.testing.assert_allclose(back[2:], v[2:], rtol=1e-6)
    assert not back[:2].any()
    raw, _ = read_control_vector(tmp_path / "cv.gguf", raw=True)
    np.testing.assert_array_equal(raw[3], v[3] * np.float32(2.5))


def test_selected_rows_only(tmp_path):
    v = stack(1)
    write_control_vector(v, tmp_path / "cv.gguf", only=[3])
    back, meta = read_control_vector(tmp_path / "cv.gguf")
    assert meta["rows"] == [3]
    np.testing.assert_array_equal(back[3], v[3])
    assert not np.delete(back, 3, axis=0).any()
    with pytest.raises(VectorError):
        write_control_vector(v, tmp_path / "bad.gguf", only=[1])
    with pytest.raises(VectorError):
        write_control_vector(v, tmp_path / "bad.gguf", only=[L + 1])


def test_foreign_file_as_cvector_generator_writes_it(tmp_path):
    import gguf

    w = gguf.GGUFWriter(str(tmp_path / "f.gguf"), "controlvector")
    w.add_string("controlvector.model_hint", "llama")
    w.add_int32("controlvector.layer_count", 2)
    w.add_tensor("direction.1", np.full(D, 1.0, np.float32))
    w.add_tensor("direction.5", np.full(D, 5.0, np.float32))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    back, meta = read_control_vector(tmp_path / "f.gguf")
    assert back.shape == (7, D) and meta["coefficient"] is None
    assert back[2, 0] == 1.0 and back[6, 0] == 5.0
    back, _ = read_control_vector(tmp_path / "f.gguf", n_layer=8)
    assert back.shape == (9, D)
    with pytest.raises(VectorError):
        read_control_vector(tmp_path / "f.gguf", n_layer=3)


def test_inputs_in_every_layout(tmp_path):
    import torch
    from safetensors.numpy import save_file

    v = stack(2)
    save_layers(tmp_path / "pv.safetensors", v, {"trait": "evil"})
    got, meta = load_layers(tmp_path / "pv.safetensors")
    np.testing.assert_array_equal(got, v)
    assert meta["format"] == "persona_vectors" and meta["trait"] == "evil"
    # dramatis's own files: one tensor per layer
    save_file({f"layer.{i}": v[i] for i in range(L + 1)}, str(tmp_path / "dramatis.safetensors"), metadata={"format": "dramatis-persona-vector"})
    np.testing.assert_array_equal(load_layers(tmp_path / "dramatis.safetensors")[0], v)
    # persona_vectors' torch.save output
    torch.save(torch.from_numpy(v), tmp_path / "evil_response_avg_diff.pt")
    np.testing.assert_array_equal(load_layers(tmp_path / "evil_response_avg_diff.pt")[0], v)
    save_file({"a": v[0], "b": v[1]}, str(tmp_path / "other.safetensors"))
    with pytest.raises(VectorError):
        load_layers(tmp_path / "other.safetensors")


def test_cli_both_ways(tmp_path):
    v = stack(3)
    save_layers(tmp_path / "pv.safetensors", v)
    env = {**os.environ, "PYTHONPATH": str(WORKER_ROOT)}
    run = lambda *a: subprocess.run([sys.executable, "-m", "dramatis_worker.control_vector", *a], env=env, capture_output=True, text=True)
    r = run(str(tmp_path / "pv.safetensors"), str(tmp_path / "cv.gguf"), "--model-hint", "llama", "--coefficient", "1")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["directions"] == [1, 2, 3]
    r = run(str(tmp_path / "cv.gguf"), str(tmp_path / "back.safetensors"))
    assert r.returncode == 0, r.stderr
    back, meta = load_layers(tmp_path / "back.safetensors")
    np.testing.assert_array_equal(back[2:], v[2:])
    assert json.loads(meta["control_vector"])["rows"] == [2, 3, 4]
    r = run(str(tmp_path / "missing.gguf"), str(tmp_path / "x.safetensors"))
    assert r.returncode != 0
