"""Benchmarks: agentkit side by side with the raw SDK, the SDK's tool runner and pydantic-ai.

    make bench                                  # everything, as docs/performance.md quotes it
    .venv/bin/python -m bench --quick           # everything, small sizes
    .venv/bin/python -m bench.agent_loop        # time, CPU, memory, concurrency per contender
    .venv/bin/python -m bench.startup           # import and CLI start-up
    .venv/bin/python -m bench.history           # preparing a request, 10-1,000 turns of history
    .venv/bin/python -m bench.cost              # prompt caching: agentkit and pydantic-ai

All of it runs offline, against `agentkit.testing.MessagesServer` on 127.0.0.1.
"""
