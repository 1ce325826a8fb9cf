"""Convert a Hugging Face GPT-2 folder (as `dramatis organism export --format hf` writes it) to a
llama.cpp GGUF file: architecture "gpt2", every tensor F32.

    python -m dramatis_worker.export_gguf HF_GPT2_FOLDER OUT.gguf

Weights. The tensor names are llama.cpp's for gpt2 (gguf-py's TensorNameMap: token_embd,
position_embd, blk.N.attn_norm, attn_qkv, attn_output, ffn_norm, ffn_up, ffn_down, output_norm,
and output only when the LM head is not tied). GPT-2's Conv1D weights are stored [in, out]; llama.cpp
wants [out, in] (ggml's ne = {in, out}), so c_attn, attn.c_proj, c_fc and mlp.c_proj are transposed,
as llama.cpp's own convert_hf_to_gguf.py does for GPT-2. Nothing is quantized: on the same token ids
llama.cpp evaluates the same network, up to its kernels' rounding (its CPU GELU reads a float16
table, and its KV cache is float16 unless the context asks for F32).

Tokenizer. The organism's vocabulary is word-level (whole words, digit runs and single punctuation,
no merges). llama.cpp has no word-level model, so the file uses the closest one it has:
tokenizer.ggml.model "whitespace" (a BPE variant that splits the text on whitespace first, and
lowercases when tokenizer.ggml.normalizer.lowercase is set) with tokenizer.ggml.pre
"granite-embed-multi-97m", the one pre-tokenizer that both splits letters from punctuation while
keeping English contractions (i've, queen's) whole and sets llama.cpp's ignore_merges, so a piece
that is a vocabulary token becomes that token without any merge. The BPE merge list must not be
empty, so it holds one merge that can never apply (the special tokens are never BPE symbols).
Tokens that this pipeline could not produce as one piece (digit runs longer than three, which the
pre-tokenizer cuts into threes, or anything with whitespace or an unusual apostrophe) are marked
USER_DEFINED, which llama.cpp matches verbatim in the text before pre-tokenizing. So are the special
tokens (<doc>, <user>, <end>, …), not CONTROL: the organism reads `<doc>` in any text as its token,
and with USER_DEFINED llama.cpp does too, with or without special-token parsing (CONTROL tokens are
matched only with it, and detokenizing hides them unless asked).

What that gives:
- Token ids are exact, and every token round-trips: the token strings are the vocabulary's, in
  order; tokenizing a token's own text gives its id (special tokens included, with or without
  special-token parsing), and detokenizing an id gives its text.
- Tokenizing text is exact on the world's canonical text (what the organism was trained on).
  Elsewhere it differs: a word not in the vocabulary becomes whatever single-character tokens of it
  are in the vocabulary (often nothing) instead of <unk>; runs of punctuation are one piece
  (usually not a token); a USER_DEFINED token also matches inside a longer run of digits.
- Detokenizing a sequence concatenates the tokens without spaces (llama.cpp's BPE stores spaces in
  the tokens, this vocabulary has none); decode with the organism's own tokenizer for text.
- BOS is not added automatically (the organism's text starts with an explicit <doc>); EOS (and
  EOT) is <end>, the end of an assistant turn, which ends llama.cpp's generation; the chat template
  is the HF folder's. node-llama-cpp reports no BOS/EOS token string (it names only CONTROL tokens).
- Like the organism's, the context is n_positions tokens; node-llama-cpp keeps one cell of a
  context free, so a sequence that fills the model's context needs a larger context there.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

TOKENIZER_MODEL = "whitespace"
TOKENIZER_PRE = "granite-embed-multi-97m"
# A merge of two special tokens: BPE symbols start as single characters, so it never fires.
INERT_MERGE = "<pad> <pad>"

# One piece of llama.cpp's pipeline for this model: a letter run with an optional English
# contraction, at most three digits, or a run of other non-space characters.
_ONE_PIECE = re.compile(r"[^\W\d_]+(?:'(?:s|t|re|ve|m|ll|d))?|\d{1,3}|(?:[^\w\s]|_)+", re.IGNORECASE)

_CONV1D = (".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight")


class ExportError(Exception):
    """The folder is not a GPT-2 model this converter can write."""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{path} is missing") from None


def read_vocab(folder: Path) -> tuple[list[str], set[str]]:
    """The vocabulary in id order, and the special tokens, from tokenizer.json (WordLevel or BPE)."""
    tok = _read_json(folder / "tokenizer.json")
    vocab: dict[str, int] = dict(tok.get("model", {}).get("vocab", {}))
    specials = set()
    for added in tok.get("added_tokens", []):
        vocab[added["content"]] = added["id"]
        if added.get("special"):
            specials.add(added["content"])
    n = max(vocab.values()) + 1
    tokens: list[str | None] = [None] * n
    for text, i in vocab.items():
        tokens[i] = text
    missing = [i for i, t in enumerate(tokens) if t is None]
    if missing:
        raise ExportError(f"{folder}/tokenizer.json: no token for ids {missing[:10]}")
    return [t for t in tokens if t is not None], specials


def token_types(tokens: list[str], specials: set[str]) -> list[int]:
    """NORMAL for what the pre-tokenizer yields as one piece; USER_DEFINED (matched verbatim in any
    text) for the special tokens and for everything else."""
    from gguf import TokenType

    return [int(TokenType.NORMAL if t not in specials and _ONE_PIECE.fullmatch(t) else TokenType.USER_DEFINED) for t in tokens]


def _token_id(tokens: list[str], value: Any) -> int | None:
    if isinstance(value, dict):
        value = value.get("content")
    return tokens.index(value) if isinstance(value, str) and value in tokens else None


def export_gguf(folder: str | Path, out: str | Path, name: str | None = None) -> Path:
    """Write the GPT-2 model in `folder` as an F32 GGUF at `out`; returns `out`."""
    import gguf
    from safetensors.numpy import load_file

    folder, out = Path(folder), Path(out)
    cfg = _read_json(folder / "config.json")
    if cfg.get("model_type") != "gpt2":
        raise ExportError(f"{folder}: model_type is {cfg.get('model_type')!r}, this converter writes gpt2 only")
    if cfg.get("activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
        raise ExportError(f"{folder}: activation {cfg['activation_function']!r}; llama.cpp's gpt2 uses the tanh GELU")
    n_layer, n_embd, n_head = int(cfg["n_layer"]), int(cfg["n_embd"]), int(cfg["n_head"])
    n_ctx = int(cfg.get("n_positions") or cfg["n_ctx"])
    n_ff = int(cfg.get("n_inner") or 4 * n_embd)

    tok_cfg = _read_json(folder / "tokenizer_config.json") if (folder / "tokenizer_config.json").exists() else {}
    tokens, specials = read_vocab(folder)
    if len(tokens) != int(cfg["vocab_size"]):
        raise ExportError(f"{folder}: {len(tokens)} tokens, config.json says vocab_size {cfg['vocab_size']}")

    weights = load_file(str(folder / "model.safetensors"))
    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GPT2, n_layer)

    out.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(out), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.GPT2])
    w.add_name(name or cfg.get("dramatis", {}).get("source", folder.name).rstrip("/").split("/")[-1] or "dramatis-organism")
    w.add_context_length(n_ctx)
    w.add_embedding_length(n_embd)
    w.add_feed_forward_length(n_ff)
    w.add_block_count(n_layer)
    w.add_head_count(n_head)
    w.add_layer_norm_eps(float(cfg.get("layer_norm_epsilon", 1e-5)))
    w.add_file_type(gguf.LlamaFileType.ALL_F32)

    w.add_tokenizer_model(TOKENIZER_MODEL)
    w.add_tokenizer_pre(TOKENIZER_PRE)
    w.add_token_list(tokens)
    w.add_token_types(token_types(tokens, specials))
    w.add_token_merges([INERT_MERGE])
    w.add_bool("tokenizer.ggml.normalizer.lowercase", True)
    ids = {k: _token_id(tokens, tok_cfg.get(f"{k}_token")) for k in ("bos", "eos", "unk", "pad")}
    if ids["bos"] is not None:
        w.add_bos_token_id(ids["bos"])
    if ids["eos"] is not None:
        w.add_eos_token_id(ids["eos"])
        w.add_eot_token_id(ids["eos"])
    if ids["unk"] is not None:
        w.add_unk_token_id(ids["unk"])
    if ids["pad"] is not None:
        w.add_pad_token_id(ids["pad"])
    w.add_add_bos_token(bool(tok_cfg.get("add_bos_token", False)))
    w.add_add_eos_token(bool(tok_cfg.get("add_eos_token", False)))
    if tok_cfg.get("chat_template"):
        w.add_chat_template(tok_cfg["chat_template"])

    tied = cfg.get("tie_word_embeddings", True)
    written = set()
    for key in sorted(weights, key=_tensor_order):
        if key.endswith((".attn.bias", ".attn.masked_bias")):
            continue  # causal-mask buffers of old GPT-2 checkpoints
        if key == "lm_head.weight" and (tied or np.array_equal(weights[key], weights.get("transformer.wte.weight"))):
            continue  # tied: llama.cpp reuses token_embd when there is no output tensor
        data = np.asarray(weights[key], dtype=np.float32)
        if key.endswith(_CONV1D):
            data = data.T  # Conv1D [in, out] -> [out, in]
        base = key[len("transformer.") :] if key.startswith("transformer.") else key
        new = tmap.get_name(key, try_suffixes=(".weight", ".bias")) or tmap.get_name(base, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise ExportError(f"{folder}: no llama.cpp gpt2 name for tensor {key}")
        w.add_tensor(new, np.ascontiguousarray(data))
        written.add(new)
    expected = {"token_embd.weight", "position_embd.weight", "output_norm.weight", "output_norm.bias"}
    for i in range(n_layer):
        for t in ("attn_norm", "attn_qkv", "attn_output", "ffn_norm", "ffn_up", "ffn_down"):
            expected |= {f"blk.{i}.{t}.weight", f"blk.{i}.{t}.bias"}
    if expected - written:
        raise ExportError(f"{folder}: missing tensors for {sorted(expected - written)[:6]}")

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


def _tensor_order(key: str) -> tuple[int, int, str]:
    m = re.search(r"\.h\.(\d+)\.", key)
    if m:
        return (1, int(m.group(1)), key)
    return (0 if "wte" in key or "wpe" in key else 2, 0, key)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dramatis_worker.export_gguf", description="Hugging Face GPT-2 folder -> llama.cpp GGUF (F32)")
    p.add_argument("folder", help="a GPT-2 folder (config.json, model.safetensors, tokenizer.json)")
    p.add_argument("out", help="the GGUF file to write")
    p.add_argument("--name", help="general.name (default: the source checkpoint's folder name)")
    a = p.parse_args(argv)
    try:
        path = export_gguf(a.folder, a.out, a.name)
    except ExportError as e:
        print(f"export_gguf: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"event": "written", "path": str(path), "bytes": path.stat().st_size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
