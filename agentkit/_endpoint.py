"""The server a client talks to, as the text key that learned facts and pacers are kept under."""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

_TEXTS: WeakKeyDictionary[Any, tuple[Any, str]] = WeakKeyDictionary()  # client -> (its base_url, as text)


def base_url_of(client: Any) -> str:
    """`str(client.base_url)`, remembered per client: the SDK's URL object rebuilds its text on each `str()`,
    and every request asks. A client whose `base_url` is set anew is read anew."""
    url = getattr(client, "base_url", "")
    try:
        known = _TEXTS.get(client)
    except TypeError:  # not weak-referenceable: just read it
        return str(url)
    if known is None or known[0] is not url:
        known = _TEXTS[client] = (url, str(url))
    return known[1]
