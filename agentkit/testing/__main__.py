"""`python -m agentkit.testing serve`: the offline playground, as `agentkit dev-server` starts it."""

from __future__ import annotations

import argparse

from agentkit.testing._playground import DEFAULT_PORT, serve


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve.

    Args:
        argv: The arguments after `python -m agentkit.testing` (default: `sys.argv[1:]`).
    """
    parser = argparse.ArgumentParser(prog="python -m agentkit.testing", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("serve", help="an offline Messages API on 127.0.0.1 with an echoing model")
    port_help = f"port to listen on (default {DEFAULT_PORT}; 0: any free one)"
    sub.add_argument("--port", type=int, default=DEFAULT_PORT, help=port_help)
    sub.add_argument("--reply", action="append", default=[], metavar="TEXT", help="answer a request with TEXT first")
    sub.add_argument("--latency", type=float, default=0.0, metavar="SECONDS", help="wait before each answer")
    args = parser.parse_args(argv)
    serve(port=args.port, replies=args.reply, latency=args.latency)


if __name__ == "__main__":
    main()
