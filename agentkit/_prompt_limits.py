"""The bounds on a system prompt, apart from the Jinja sandbox that enforces some of them (so that
`prompts` and `_jinja` share them without importing each other)."""

MAX_RENDERED = 2_000_000
"""Characters a system prompt may render to (the largest context window holds fewer)."""
MAX_TEMPLATE_BYTES = 2_000_000
"""Bytes a template file may have."""
