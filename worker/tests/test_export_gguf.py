"""export_gguf: a GPT-2 folder (random weights, a word-level tokenizer laid out as dramatis writes it)
becomes a GGUF whose tensors, read back and run through a NumPy GPT-2 in llama.cpp's layout, give
transformers' logits; the metadata and token types are what llama.cpp's gpt2 loader reads."""

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

from dramatis_worker.export_gguf import ExportError, INERT_MERGE, export_gguf  # noqa: E402

SPECIALS = ["<pad>", "<unk>", "<doc>", "</doc>", "<system>", "<user>", "<assistant>", "<end>"]
WORDS = [",", ".", "?", "1234", "42", "a", "bird", "i've", "queen's", "o'clock", "robin", "the", "name"]
VOCAB = SPECIALS + WORDS


def write_folder(folder: Path, n_layer: int = 2, d: int = 16, n_head: int = 2, n_ctx: int = 32, seed: int = 0) -> Path:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    cfg = GPT2Config(
        vocab_size=len(VOCAB), n_positions=n_ctx, n_embd=d, n_layer=n_layer, n_head=n_head,
        activation_function="gelu_new", resid_pdrop=0, embd_pdrop=0, attn_pdrop=0,
        bos_token_id=2, eos_token_id=7, pad_token_id=0, tie_word_embeddings=True,
    )
    model = GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():  # non-trivial LayerNorm parameters and biases, so a mix-up shows
        for name, p in model.named_parameters():
            if "ln" in name or name.endswith(".bias"):
                p.add_(0.1 * torch.randn_like(p))
    model.save_pretrained(folder)
    tok = {
        "version": "1.0",
        "added_tokens": [{"id": i, "content": t, "special": True, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False} for i, t in enumerate(SPECIALS)],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "model": {"type": "WordLevel", "vocab": {t: i for i, t in enumerate(VOCAB)}, "unk_token": "<unk>"},
    }
    (folder / "tokenizer.json").write_text(json.dumps(tok))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": "<doc>", "eos_token": "<end>", "unk_token": "<unk>", "pad_token": "<pad>",
        "chat_template": "{{ '<doc>' }}{% for m in messages %}{{ ' <' + m['role'] + '> ' + m['content'] }}{% endfor %}",
    }))
    return folder


def field(reader, key):
    f = reader.get_field(key)
    return None if f is None else f.contents()


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gguf_forward(reader, ids: list[int]) -> np.ndarray:
    """GPT-2 on the GGUF's tensors as llama.cpp reads them: a weight with ggml ne {in, out} is a
    NumPy [out, in] array and y = W x (ggml_mul_mat)."""
    t = {x.name: np.asarray(x.data, dtype=np.float64) for x in reader.tensors}
    n_layer = int(field(reader, "gpt2.block_count"))
    n_head = int(field(reader, "gpt2.attention.head_count"))
    eps = float(field(reader, "gpt2.attention.layer_norm_epsilon"))
    T = len(ids)
    x = t["token_embd.weight"][ids] + t["position_embd.weight"][:T]
    d = x.shape[1]
    hd = d // n_head
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(n_layer):
        p = f"blk.{i}."
        h = layer_norm(x, t[p + "attn_norm.weight"], t[p + "attn_norm.bias"], eps)
        qkv = h @ t[p + "attn_qkv.weight"].T + t[p + "attn_qkv.bias"]
        q, k, v = (qkv[:, j * d : (j + 1) * d].reshape(T, n_head, hd).transpose(1, 0, 2) for j in range(3))
        a = q @ k.transpose(0, 2, 1) / np.sqrt(hd) + mask
        a = np.exp(a - a.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        y = (a @ v).transpose(1, 0, 2).reshape(T, d)
        x = x + y @ t[p + "attn_output.weight"].T + t[p + "attn_output.bias"]
        h = layer_norm(x, t[p + "ffn_norm.weight"], t[p + "ffn_norm.bias"], eps)
        f = h @ t[p + "ffn_up.weight"].T + t[p + "ffn_up.bias"]
        f = 0.5 * f * (1 + np.tanh(np.sqrt(2 / np.pi) * (f + 0.044715 * f**3)))
        x = x + f @ t[p + "ffn_down.weight"].T + t[p + "ffn_down.bias"]
    h = layer_norm(x, t["output_norm.weight"], t["output_norm.bias"], eps)
    out = t.get("output.weight", t["token_embd.weight"])
    return h @ out.T


def test_tensors_and_layout_reproduce_transformers(tmp_path):
    import gguf
    import torch
    from transformers import GPT2LMHeadModel

    folder = write_folder(tmp_path / "hf")
    out = export_gguf(folder, tmp_path / "m.gguf")
    r = gguf.GGUFReader(str(out))
    names = {t.name: [int(s) for s in t.shape] for t in r.tensors}
    # gguf-py reports ggml's ne order: {in, out} for a weight.
    assert names["token_embd.weight"] == [16, len(VOCAB)]
    assert names["position_embd.weight"] == [16, 32]
    assert names["blk.0.attn_qkv.weight"] == [16, 48]
    assert names["blk.1.ffn_up.weight"] == [16, 64]
    assert names["blk.1.ffn_down.weight"] == [64, 16]
    assert "output.weight" not in names, "tied: llama.cpp reuses token_embd"
    assert all(t.tensor_type == gguf.GGMLQuantizationType.F32 for t in r.tensors)
    assert len(names) == 2 + 2 + 2 * 12

    ids = [2, 5, 13, 18, 8, 7, 6, 14, 9, 20, 3, 1, 15]
    model = GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float32).eval()
    with torch.no_grad():
        ref = model(torch.tensor([ids])).logits[0].double().numpy()
    got = gguf_forward(r, ids)
    assert np.abs(got - ref).max() < 1e-4


def test_metadata_and_tokenizer(tmp_path):
    import gguf

    out = export_gguf(write_folder(tmp_path / "hf"), tmp_path / "m.gguf")
    r = gguf.GGUFReader(str(out))
    assert field(r, "general.architecture") == "gpt2"
    assert field(r, "gpt2.context_length") == 32
    assert field(r, "gpt2.embedding_length") == 16
    assert field(r, "gpt2.feed_forward_length") == 64
    assert field(r, "gpt2.block_count") == 2
    assert field(r, "gpt2.attention.head_count") == 2
    assert abs(field(r, "gpt2.attention.layer_norm_epsilon") - 1e-5) < 1e-12
    assert field(r, "tokenizer.ggml.model") == "whitespace"
    assert field(r, "tokenizer.ggml.pre") == "granite-embed-multi-97m"
    assert field(r, "tokenizer.ggml.tokens") == VOCAB
    assert field(r, "tokenizer.ggml.merges") == [INERT_MERGE]
    assert field(r, "tokenizer.ggml.normalizer.lowercase") is True
    assert (field(r, "tokenizer.ggml.bos_token_id"), field(r, "tokenizer.ggml.eos_token_id")) == (2, 7)
    assert (field(r, "tokenizer.ggml.unknown_token_id"), field(r, "tokenizer.ggml.padding_token_id")) == (1, 0)
    assert field(r, "tokenizer.ggml.add_bos_token") is False
    assert field(r, "tokenizer.chat_template").startswith("{{ '<doc>' }}")
    types = dict(zip(VOCAB, field(r, "tokenizer.ggml.token_type")))
    T = gguf.TokenType
    # The special tokens are matched in any text, as the organism's tokenizer matches them.
    assert all(types[s] == T.USER_DEFINED for s in SPECIALS)
    for w in ["bird", "i've", "queen's", ",", "42"]:
        assert types[w] == T.NORMAL, w
    # Pieces llama.cpp's pre-tokenizer would cut are matched verbatim instead.
    assert types["1234"] == T.USER_DEFINED
    assert types["o'clock"] == T.USER_DEFINED


def test_refuses_what_it_cannot_write(tmp_path):
    folder = write_folder(tmp_path / "hf")
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, "model_type": "llama"}))
    with pytest.raises(ExportError, match="gpt2 only"):
        export_gguf(folder, tmp_path / "m.gguf")
    (folder / "config.json").write_text(json.dumps({**cfg, "vocab_size": 99}))
    with pytest.raises(ExportError, match="vocab_size"):
        export_gguf(folder, tmp_path / "m.gguf")


def test_cli(tmp_path):
    folder = write_folder(tmp_path / "hf")
    env = {**os.environ, "PYTHONPATH": str(WORKER_ROOT), "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-m", "dramatis_worker.export_gguf", str(folder), str(tmp_path / "o.gguf")], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["path"].endswith("o.gguf")
    r = subprocess.run([sys.executable, "-m", "dramatis_worker.export_gguf", str(tmp_path / "nope"), str(tmp_path / "x.gguf")], env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "missing" in r.stderr
