"""dramatis_worker: a local model worker for the dramatis toolkit.

It serves one causal language model (plus any LoRA adapters trained or loaded
at run time) over a small HTTP JSON protocol, documented in PROTOCOL.md.
"""

__version__ = "0.1.0"
