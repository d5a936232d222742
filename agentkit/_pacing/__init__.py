"""The pacer's parts (see `agentkit.pacing`): headers, the per-model pacer, one run's pacing."""
