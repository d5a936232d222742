"""The machinery behind `agentkit.spec`: YAML with source positions, `extends`, imports, inline schemas.

Kept apart from `spec.py` so that the public module reads as the spec's shape and the steps of
loading it, while these modules each answer one question (where was this written? what does this
import path name? which pydantic model does this schema describe?).
"""
