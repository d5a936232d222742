"""`python -m agentkit`: the `agentkit` command, for environments without the console script."""

import os
import sys

# `python -m` puts the current directory first on sys.path, where a stray `anthropic.py` or
# `sqlite3.py` would replace the SDK or the standard library. The console script does not, and
# neither does this (spec-local modules are loaded by file path, see agentkit/_spec/imports.py).
if sys.path and sys.path[0] in ("", os.getcwd()) and not sys.flags.safe_path:
    del sys.path[0]

from agentkit.cli import main  # after the sys.path fix above

main()
