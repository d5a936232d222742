"""`python -m agentkit`: the `agentkit` command, for environments without the console script."""

from agentkit.cli import main

main()
