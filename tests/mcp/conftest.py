"""Fixtures of the MCP tests: the test server over stdio and HTTP, and a check that no test leaves a
process behind (read from /proc: the children of this process, zombies included)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp_helpers import children

pytest.importorskip("mcp")

HERE = Path(__file__).resolve().parent
SERVER_SCRIPT = HERE / "mcp_test_server.py"


@pytest.fixture(autouse=True)
def no_process_left_behind() -> Iterator[None]:
    before = children()
    yield
    left = children() - before
    assert not left, f"processes left behind: {sorted(left)}"


@pytest.fixture
def stdio_args() -> list[str]:
    """`MCPServer.stdio(sys.executable, stdio_args)` runs the test server as a subprocess."""
    return [str(SERVER_SCRIPT)]


@pytest.fixture
def http_url() -> Iterator[str]:
    """The test server over streamable HTTP on a loopback port, served by uvicorn in a thread. The
    socket listens before the thread starts, so a client may connect at once."""
    import uvicorn
    from mcp_test_server import build

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    app = build("http-server").streamable_http_app()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
