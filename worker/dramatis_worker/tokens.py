"""Token ids -> exact bytes / text.

OpenAI's logprobs report each token's text and UTF-8 `bytes`. tokenizer.decode
of a single id cannot give those faithfully (a token may hold half of a UTF-8
character; SentencePiece strips a leading space at the start of a decode), so
we map ids to their raw bytes once, then build text by joining bytes. The
mapping is verified against tokenizer.decode at start-up; for a tokenizer we do
not understand we fall back to decode-based text.
"""

from __future__ import annotations

import re
from functools import lru_cache

_HEX_BYTE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's bytes_to_unicode (the ByteLevel pre-tokenizer alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


_PROBE = "Hello world, ça va? 日本語 test\n  two  spaces\tand ümlauts — done."


class TokenTable:
    """Exact bytes of each token id, and text assembled from them."""

    def __init__(self, tokenizer):
        self.tok = tokenizer
        self._special = {i: t.content for i, t in getattr(tokenizer, "added_tokens_decoder", {}).items()}
        self._cache: dict[int, bytes] = {}
        self.mode = "decode"
        ids = tokenizer(_PROBE, add_special_tokens=False)["input_ids"]
        ref = self._decode(ids)
        for mode in ("bytelevel", "sentencepiece"):
            self.mode = mode
            self._cache.clear()
            try:
                joined = self.join(ids)
            except Exception:
                continue
            if joined == ref or (mode == "sentencepiece" and joined.startswith(" ") and joined[1:] == ref):
                break
        else:
            self.mode = "decode"
            self._cache.clear()

    def _decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def bytes_of(self, tid: int) -> bytes:
        b = self._cache.get(tid)
        if b is None:
            b = self._compute(tid)
            self._cache[tid] = b
        return b

    def _compute(self, tid: int) -> bytes:
        if tid in self._special:
            return self._special[tid].encode("utf-8")
        if self.mode == "decode":
            return self._decode([tid]).encode("utf-8")
        piece = self.tok.convert_ids_to_tokens(tid)
        if piece is None:
            return b""
        if self.mode == "bytelevel":
            table = _byte_decoder()
            try:
                return bytes(table[c] for c in piece)
            except KeyError:
                return self._decode([tid]).encode("utf-8")
        m = _HEX_BYTE.match(piece)  # SentencePiece byte-fallback token
        if m:
            return bytes([int(m.group(1), 16)])
        return piece.replace("\u2581", " ").encode("utf-8")

    def text_of(self, tid: int) -> str:
        return self.bytes_of(tid).decode("utf-8", errors="replace")

    def join(self, ids: list[int]) -> str:
        """Text of a generated continuation. Joining bytes (rather than decoding
        the ids alone) keeps a leading space that belongs to the continuation."""
        if self.mode == "decode":
            return self._decode(list(ids))
        return b"".join(self.bytes_of(i) for i in ids).decode("utf-8", errors="replace")

    def char_offsets(self, ids: list[int]) -> list[int]:
        """Character offset, within join(ids), at which each token starts.

        A token that begins in the middle of a UTF-8 character gets the offset
        of that character (the partial bytes are ignored when counting)."""
        out = []
        acc = b""
        for i in ids:
            out.append(len(acc.decode("utf-8", errors="ignore")))
            acc += self.bytes_of(i)
        return out

    def tokens_covering(self, ids: list[int], n_chars: int, text: str) -> int:
        """Smallest m such that the first m tokens cover text[:n_chars] (used
        to trim the token list when a stop string cuts the text)."""
        need = len(text[:n_chars].encode("utf-8"))
        if need == 0:
            return 0
        acc = 0
        for m, i in enumerate(ids, start=1):
            acc += len(self.bytes_of(i))
            if acc >= need:
                return m
        return len(ids)
