"""`agentkit dev-server` / `python -m agentkit.testing serve`: an offline Messages API to try things on.

The loopback `MessagesServer` on a fixed port, answered by a small model that needs no key and
no network: scripted replies first (`--reply`), then the playground model below. It prints the
two `export` lines that point the SDK (and so the `agentkit` CLI) at it, and serves until Ctrl-C.

The playground model, so every README example has something sensible to show:

- an unknown model id is a 404 `not_found_error`, as the API answers it (a date suffix is fine);
- a forced tool (`tool_choice: {"type": "tool"}`, agentkit's typed output) is called with an
  example of its input schema;
- a prompt that names one of the offered tools calls it once, string arguments taken from the
  prompt's last word; the tools' results are then echoed back as the answer;
- anything else is echoed: `echo: <the prompt>`.
"""

from __future__ import annotations

import re
import signal
import sys
import threading
from collections.abc import Sequence
from typing import IO, Any

from agentkit._known_models import is_known
from agentkit.testing._script import Fault, Reply, Request, text, tool_use
from agentkit.testing._server import TEST_API_KEY, MessagesServer

__all__ = ["DEFAULT_PORT", "playground_model", "serve"]

DEFAULT_PORT = 8765


def playground_model(request: Request) -> Reply | Fault:
    """The playground's answer to one `/v1/messages` request (see the module docstring)."""
    if not is_known(request.model):
        return Fault("status", "not_found_error", detail=f"model: {request.model}")
    choice = request.body.get("tool_choice") or {}
    tools = {str(t["name"]): t for t in request.tools if isinstance(t, dict) and t.get("name")}
    if choice.get("type") == "tool" and choice.get("name") in tools:
        name = str(choice["name"])
        return Reply([tool_use(name, example(tools[name].get("input_schema") or {}, request.last_user_text))])
    if request.tool_results:
        answers = "; ".join(_result_text(r) for r in request.tool_results)
        return Reply.text(f"echo: the tools answered: {answers}")
    prompt = request.last_user_text
    named = [n for n in tools if re.search(rf"\b{re.escape(n)}\b", prompt)]
    if named and choice.get("type") != "none":
        schema = tools[named[0]].get("input_schema") or {}
        return Reply([text(f"Calling {named[0]}. "), tool_use(named[0], example(schema, prompt))])
    return Reply.text(f"echo: {prompt}" if prompt else "echo: (no text in the prompt)")


def example(schema: dict[str, Any], prompt: str = "") -> Any:
    """A value matching a JSON Schema's required fields; strings come from the prompt's last word."""
    words = re.findall(r"[\w-]+", prompt)
    word = words[-1] if words else "example"
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return example(schema[key][0], prompt)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        required = schema.get("required") or list(properties)
        return {name: example(properties.get(name) or {}, prompt) for name in required}
    if kind == "array":
        return [example(schema.get("items") or {}, prompt)] * max(1, int(schema.get("minItems", 1)))
    return {"integer": 1, "number": 1.0, "boolean": True, "null": None}.get(str(kind), word)


def _result_text(result: dict[str, Any]) -> str:
    content = result.get("content")
    if isinstance(content, list):
        return " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content)


def serve(
    *,
    port: int = DEFAULT_PORT,
    replies: Sequence[str] = (),
    latency: float = 0.0,
    out: IO[str] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve the playground on 127.0.0.1:`port` until Ctrl-C, SIGTERM or `stop` is set.

    Args:
        port: The port to listen on; 0 picks a free one (the printed lines say which).
        replies: Texts to answer the first requests with, in order, before the playground model.
        latency: Seconds to wait before each answer (to watch the CLI's spinner).
        out: Where the `export` lines go (default stdout); the banner goes to stderr.
        stop: An event that stops the server when set (for embedding it in a program or a test).
    """
    out = out or sys.stdout
    server = MessagesServer([Reply.text(r) for r in replies], latency=latency)
    server.respond_with(playground_model)
    try:
        server.start(port=port)
    except OSError as exc:
        problem = f"agentkit dev-server: cannot listen on 127.0.0.1:{port}: {exc.strerror}; try another --port"
        raise SystemExit(problem) from exc
    done = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        # Both stop it, also when started with `&` from a script (which starts it with SIGINT ignored).
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: done.set())
    print(
        f"agentkit dev-server: an offline Messages API on {server.url}, answered by an echoing model "
        "(no key, no network). Ctrl-C stops it. In another shell:",
        file=sys.stderr,
        flush=True,
    )
    print(f"export ANTHROPIC_BASE_URL={server.url}", file=out)
    print(f"export ANTHROPIC_API_KEY={TEST_API_KEY}", file=out, flush=True)
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print(f"agentkit dev-server: stopped after {len(server.requests)} requests", file=sys.stderr, flush=True)
