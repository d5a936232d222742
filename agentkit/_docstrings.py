"""Split a docstring into the tool's description and its parameters' descriptions.

Google (`Args:`), Sphinx (`:param x:`) and numpy (`Parameters` + dashes) styles are read by
`docstring-parser` (a dependency of the SDK already), so whichever a codebase uses reaches the model
without being rewritten. What is ours: the description is the text before the first section,
kept as written (the library splits it into short and long parts); a parameter's description is
joined onto one line, as the model reads it; and the leading `*` of `*args`/`**kwargs` is dropped.
"""

from __future__ import annotations

import inspect

import docstring_parser

__all__ = ["parse_docstring"]


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Return the text before the first section, and a description per documented parameter.

    Args:
        doc: A docstring in Google, Sphinx or numpy style (or none).
    """
    if not doc:
        return "", {}
    text = inspect.cleandoc(doc)
    try:
        parsed = docstring_parser.parse(text)
    except docstring_parser.ParseError:  # a malformed section: keep the text, document no parameter
        return text.strip(), {}
    params: dict[str, str] = {}
    for param in parsed.params:
        name = param.arg_name.split()[-1].lstrip("*") if param.arg_name.strip() else ""
        if name and name not in params:
            params[name] = " ".join((param.description or "").split())
    return _description(parsed), params


def _description(parsed: docstring_parser.Docstring) -> str:
    """The short and long descriptions, with the blank line between them as written."""
    short, long = parsed.short_description or "", parsed.long_description or ""
    if not long:
        return short.strip()
    gap = "\n\n" if parsed.blank_after_short_description else "\n"
    return f"{short}{gap}{long}".strip()
