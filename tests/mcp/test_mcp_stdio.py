"""The test server as a real subprocess over stdio: one process per session, shared by its users,
reaped when the last one leaves, also after a crash, an error or a cancellation."""

from __future__ import annotations

import sys

import anyio
import pytest
from mcp_helpers import call, children, exists

from agentkit.mcp import MCPServer, MCPServerError
from agentkit.tools import ToolResult

pytestmark = pytest.mark.anyio


async def server_pid(server: MCPServer) -> int:
    result = await call(await server.list_tools(), "pid")
    return int(str(result.content))


async def test_list_and_call_over_stdio_and_the_process_is_reaped_on_exit(stdio_args: list[str]) -> None:
    server = MCPServer.stdio(sys.executable, stdio_args, env={"GREETING": "hi"}, name="files")
    async with server:
        tools = await server.list_tools()
        assert await call(tools, "add", {"a": 40, "b": 2}) == ToolResult("42")
        assert (await call(tools, "pixel")).content[0]["type"] == "image"  # type: ignore[index]
        pid = await server_pid(server)
        assert pid in children()
    assert not exists(pid)
    assert not server.running


async def test_concurrent_users_share_one_process_until_the_last_leaves(stdio_args: list[str]) -> None:
    server = MCPServer.stdio(sys.executable, stdio_args)
    first_left = anyio.Event()
    pids: list[int] = []

    async def first() -> None:
        async with server:
            pids.append(await server_pid(server))
        first_left.set()

    async def second() -> None:
        async with server:
            await first_left.wait()  # the user that started the process has left
            pids.append(await server_pid(server))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(second)
            group.start_soon(first)

    assert len(pids) == 2
    assert pids[0] == pids[1]
    assert not exists(pids[0])


async def test_a_crash_mid_call_is_an_error_result_and_the_next_call_restarts_it(stdio_args: list[str]) -> None:
    async with MCPServer.stdio(sys.executable, stdio_args, name="fragile") as server:
        tools = await server.list_tools()
        before = await server_pid(server)
        crashed = await call(tools, "crash")
        assert crashed.is_error
        assert "MCP server 'fragile' stopped during the call to 'crash'" in str(crashed.content)
        assert not exists(before)  # reaped before the result came back

        assert await call(tools, "add", {"a": 1, "b": 2}) == ToolResult("3")
        after = await server_pid(server)
        assert after != before
    assert not exists(after)


async def test_cancelling_a_call_in_flight_then_leaving_reaps_the_process(stdio_args: list[str]) -> None:
    server = MCPServer.stdio(sys.executable, stdio_args)
    with anyio.CancelScope() as scope:
        async with server:
            pid = await server_pid(server)
            tools = await server.list_tools()
            async with anyio.create_task_group() as group:
                group.start_soon(call, tools, "hang")
                await anyio.wait_all_tasks_blocked()  # the call is sent and waiting for its answer
                scope.cancel()
    assert scope.cancelled_caught
    assert not exists(pid)


async def test_an_error_inside_the_block_still_stops_the_server(stdio_args: list[str]) -> None:
    server = MCPServer.stdio(sys.executable, stdio_args)
    pids: list[int] = []

    async def fails() -> None:
        async with server:
            pids.append(await server_pid(server))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fails()
    assert not exists(pids[0])


async def test_a_missing_command_is_an_error_naming_the_server() -> None:
    server = MCPServer.stdio("no-such-mcp-server-command", ["--flag"])
    with pytest.raises(MCPServerError, match=r"MCP server 'no-such-mcp-server-command --flag' could not be started"):
        async with server:
            pass
    assert not server.running


async def test_a_server_that_exits_at_once_is_an_error_naming_it() -> None:
    server = MCPServer.stdio(sys.executable, ["-c", "pass"], name="quitter")
    with pytest.raises(MCPServerError, match=r"MCP server 'quitter' could not be started: .*onnection closed"):
        async with server:
            pass


async def test_a_server_slow_to_start_times_out_and_is_not_left_running() -> None:
    before = children()
    slow = "import time; time.sleep(60)"  # never answers the handshake
    server = MCPServer.stdio(sys.executable, ["-c", slow], name="sleepy", startup_timeout=0.5)
    with pytest.raises(MCPServerError, match=r"MCP server 'sleepy' did not finish starting within 0.5s"):
        async with server:
            pass
    assert children() == before  # killed and reaped


def test_one_server_object_serves_one_event_loop_after_another(stdio_args: list[str]) -> None:
    server = MCPServer.stdio(sys.executable, stdio_args)

    async def use() -> str:
        async with server:
            return str((await call(await server.list_tools(), "add", {"a": 1, "b": 1})).content)

    assert [anyio.run(use), anyio.run(use)] == ["2", "2"]  # as run_sync makes a new loop per call
