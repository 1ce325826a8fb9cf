"""Chat templating and the token spans of assistant replies.

Rendering goes through tokenizer.apply_chat_template(tokenize=False) and the
rendered text is tokenized with add_special_tokens=False, which is exactly what
apply_chat_template(tokenize=True) does; doing it in two steps gives us the
character offsets needed to locate a reply's tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import bad_request

Message = dict  # {"role": str, "content": str}


def normalize_messages(obj, param: str = "messages") -> list[Message]:
    """Validate a message list; OpenAI content-part lists are flattened to text."""
    if not isinstance(obj, list) or not obj:
        raise bad_request(f"`{param}` must be a non-empty list of messages", param)
    out = []
    for i, m in enumerate(obj):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise bad_request(f"`{param}[{i}]` must be an object with a string `role`", param)
        content = m.get("content")
        if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
            parts = []
            for part in content:
                if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                    raise bad_request(f"`{param}[{i}].content` parts must be text parts", param)
                parts.append(part["text"])
            content = "".join(parts)
        if content is None:
            content = ""
        if not isinstance(content, str):
            raise bad_request(f"`{param}[{i}].content` must be a string", param)
        out.append({"role": m["role"], "content": content})
    return out


def render(tok, messages: list[Message], add_generation_prompt: bool) -> str:
    if not getattr(tok, "chat_template", None):
        raise bad_request("this model's tokenizer has no chat template; use a raw-text endpoint")
    try:
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
    except Exception as e:  # jinja errors (e.g. templates that enforce role alternation)
        raise bad_request(f"chat template rejected the messages: {e}") from e


def encode(tok, text: str, add_special_tokens: bool) -> list[int]:
    return list(tok(text, add_special_tokens=add_special_tokens)["input_ids"])


def prompt_ids(tok, messages: list[Message]) -> list[int]:
    """Tokens of a chat prompt ready for the assistant's next turn."""
    return encode(tok, render(tok, messages, add_generation_prompt=True), False)


@dataclass
class ReplySpan:
    ids: list[int]  # the whole conversation, rendered with add_generation_prompt=False
    start: int  # first token of the last assistant message's content
    end: int  # one past its last content token (the end-of-turn token is excluded)


def _content_char_span(tok, messages: list[Message], i: int) -> tuple[str, int, int]:
    """(full rendered text of messages[:i+1], char start, char end) of messages[i]'s content.

    The content starts where the prompt-with-generation-prompt of messages[:i]
    ends; it is found again in the rendered text (templates may trim it)."""
    prefix = render(tok, messages[:i], add_generation_prompt=True) if i > 0 else None
    full = render(tok, messages[: i + 1], add_generation_prompt=False)
    if prefix is None:
        prefix = ""
    if not full.startswith(prefix):
        # A template that renders earlier turns differently once a reply exists:
        # fall back to the longest common prefix.
        n = 0
        while n < min(len(prefix), len(full)) and prefix[n] == full[n]:
            n += 1
        prefix = full[:n]
    content = messages[i]["content"]
    start = len(prefix)
    for needle in (content, content.strip()):
        if needle and full.find(needle, start) >= 0:
            s = full.find(needle, start)
            return full, s, s + len(needle)
    return full, start, start  # empty (or unfindable) content: an empty span


def _char_to_token_span(tok, text: str, c0: int, c1: int, prefix_len_tokens: int | None) -> tuple[list[int], int, int]:
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    offsets = enc["offset_mapping"]
    start = prefix_len_tokens if prefix_len_tokens is not None else sum(1 for a, _ in offsets if a < c0)
    end = sum(1 for a, _ in offsets if a < c1)
    return ids, start, max(start, end)


def reply_span(tok, messages: list[Message]) -> ReplySpan:
    """Token span of the last assistant message's content (conversation must end with it)."""
    if messages[-1]["role"] != "assistant":
        raise bad_request("the conversation must end with an assistant message")
    i = len(messages) - 1
    full, c0, c1 = _content_char_span(tok, messages, i)
    p_ids = encode(tok, render(tok, messages[:i], add_generation_prompt=True), False) if i > 0 else []
    enc_full = encode(tok, full, False)
    # The documented rule: the span starts at the end of the prompt-with-generation-prompt,
    # when that prompt's tokens are a prefix of the full conversation's tokens.
    pref = len(p_ids) if i > 0 and p_ids == enc_full[: len(p_ids)] else None
    ids, start, end = _char_to_token_span(tok, full, c0, c1, pref)
    return ReplySpan(ids, start, end)


def assistant_token_mask(tok, messages: list[Message], stop_ids: frozenset) -> tuple[list[int], list[bool]]:
    """Tokens of a whole conversation and which of them are trained on.

    Every assistant message's content tokens are trained on, plus the
    end-of-turn token right after each one, so the fine-tuned model also learns
    where its reply ends.
    """
    full = render(tok, messages, add_generation_prompt=False)
    enc = tok(full, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    offsets = enc["offset_mapping"]
    mask = [False] * len(ids)
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        part, c0, c1 = _content_char_span(tok, messages, i)
        if not full.startswith(part):
            continue  # template renders this turn differently in the full chat: skip it
        last = -1
        for k, (a, _) in enumerate(offsets):
            if c0 <= a < c1:
                mask[k] = True
                last = k
        if last >= 0 and last + 1 < len(ids) and ids[last + 1] in stop_ids:
            mask[last + 1] = True
    return ids, mask


def end_of_turn_id(tok) -> int | None:
    """The special token a chat template writes right after an assistant reply."""
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]
    span = reply_span(tok, msgs)
    if span.end < len(span.ids):
        tid = span.ids[span.end]
        if tid in getattr(tok, "added_tokens_decoder", {}):
            return int(tid)
    return None
