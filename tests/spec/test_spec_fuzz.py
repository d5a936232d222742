"""Fuzzed specs: random mutations of the example specs and of the test suite's spec fixtures.

Each case is a folder holding a mutated `agent.yaml` (beside unmutated copies of the files it
names: a base spec, a tools module, a template). `agentkit validate` runs in a child process on a
batch of cases at once, with a timeout as the hang detector, and every case must end one of two
ways: `ok` on stdout (the mutation left a valid spec), or one or more `file:line:column: ...`
lines on stderr naming a file of that case. A traceback, a line that names no case, another exit
code, or a timeout fails the batch, which is then run case by case to name the culprit.

About 25 cases run in the default suite; `make test-all` runs the `slow` one (400 cases).
Reproduce a case with its seed: `mutate(seed)` returns its text and the mutations applied.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "agents"
BATCH = 25
BATCH_TIMEOUT = 180  # seconds for a batch: each case validates in well under one, a hang never ends

# The spec fixtures of tests/spec and tests/cli, and the examples: each is (agent.yaml, {aux name: text}).
TOOLS = 'def lookup(order_id: str) -> str:\n    """Look up an order."""\n    return "shipped"\n'
SEEDS: list[tuple[str, dict[str, str]]] = [
    (
        (EXAMPLES / "support.yaml").read_text(),
        {"base.yaml": (EXAMPLES / "base.yaml").read_text(), "tools.py": (EXAMPLES / "tools.py").read_text()},
    ),
    ((EXAMPLES / "base.yaml").read_text(), {}),
    (
        "model: claude-haiku-4-5\nsystem: You help {{ shop }}.\nvars: {shop: Acme}\ntools: [shop_tools:lookup]\n",
        {"shop_tools.py": TOOLS},
    ),
    (
        "name: support\nmodel: claude-sonnet-4-6\nmax_tokens: 512\nmax_turns: 3\n"
        "system: You help customers of {{ shop }}.\nvars: {shop: Acme}\ntools: [shop_tools:lookup]\n"
        'temperature: 0.2\nstop_sequences: ["END"]\nrequest_params: {metadata: {user_id: u-1}}\n',
        {"shop_tools.py": TOOLS},
    ),
    (
        "model: claude-haiku-4-5\nsystem: Triage the customer's email.\noutput:\n  type: object\n"
        "  properties:\n    order_id: {type: string, pattern: '^[A-Z]-\\d{4}$'}\n"
        "    priority: {enum: [low, normal, urgent]}\n  required: [order_id, priority]\n",
        {},
    ),
    (
        "model: claude-haiku-4-5\nsystem_file: prompts/base.j2\nvars: {shop: Acme, tone: {style: warm}}\n"
        "memory: {budget: 20000, keep_first: true}\ncache: off\ncache_ttl: 1h\nmax_continuations: 2\n",
        {
            "prompts/base.j2": "You work at {{ shop }}, {{ tone.style }}.\n{% include 'rules.j2' %}",
            "prompts/rules.j2": "Be brief.",
        },
    ),
    (
        "model: claude-sonnet-4-6\nmax_tokens: 16000\nthinking: {type: enabled, budget_tokens: 4000}\n"
        "system: |\n  Think, then answer.\n  {% for rule in rules %}- {{ rule }}\n  {% endfor %}\n"
        "vars: {rules: [a, b]}\n",
        {},
    ),
]  # fmt: skip

FIELDS = [
    "extends", "name", "description", "model", "max_tokens", "max_turns", "system", "system_file", "vars",
    "tools", "output", "output_mode", "output_retries", "memory", "cache", "cache_ttl", "thinking",
    "temperature", "top_p", "stop_sequences", "max_continuations", "request_params",
]  # fmt: skip
WRONG = ["[1, 2]", "{a: 1}", "true", "null", "''", "-1", "0", "3.5", "'x'", "~", "[[]]", "{}", "!!binary aGk="]
NUMBERS = ["1" + "0" * 22, "9" * 400, "9" * 5000, "1e999", "-1e999", ".inf", ".nan", "-0", "0x" + "f" * 50, "1_0"]
TEMPLATES = [
    "{{ 1/0 }}", "{{ x|nofilter }}", "{% include 'a.j2' %}", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{{ range(10**9) }}", "{{ 'a'*10**10 }}", "{{ undefined_name }}", "{% if %}", "{{ ''.__class__ }}",
    "{% for i in range(99) %}{{ i }}{% endfor %}", "{{ shop.missing.deeper }}", "{% extends 'x' %}", "{{",
]  # fmt: skip
IMPORT_PATHS = [
    "sys:exit", "os:getcwd", "builtins:print", "json:dumps", "collections:OrderedDict", "typing:Any", ":",
    "a:", ":b", "a..b:c", "tools:order_status.x.y", "agentkit:Agent", "agentkit.tools:Tool", "shop_tools:",
    "os.path:join.__globals__", "nowhere.deeper:thing", "tools:ORDERS", "shop_tools:lookup.__call__", "-x:y",
]  # fmt: skip
FILE_REFS = ["agent.yaml", "prompts", "nothere.yaml", "prompts/base.j2", "pipe.fifo", "/dev/zero", "", "."]
CONTROL = [chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), 0x7F, 0x80, 0x9F, 0xFEFF, 0xFFFE)]


@dataclass
class Case:
    seed: int
    spec: str
    aux: dict[str, str]
    applied: list[str] = field(default_factory=list)
    raw: bytes | None = None  # set when a byte-level mutation made the text invalid UTF-8


def _span(rng: random.Random, text: str) -> tuple[int, int]:
    start = rng.randrange(len(text) + 1)
    return start, min(len(text), start + rng.randint(1, 40))


def _bytes(case: Case, rng: random.Random) -> None:
    data = bytearray(case.raw if case.raw is not None else case.spec.encode())
    for _ in range(rng.randint(1, 4)):
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    case.raw = bytes(data)
    case.applied.append("byte flips")


def _delete(case: Case, rng: random.Random) -> None:
    start, end = _span(rng, case.spec)
    case.spec = case.spec[:start] + case.spec[end:]
    case.applied.append(f"delete [{start}:{end}]")


def _duplicate(case: Case, rng: random.Random) -> None:
    start, end = _span(rng, case.spec)
    at = rng.randrange(len(case.spec) + 1)
    case.spec = case.spec[:at] + case.spec[start:end] + case.spec[at:]
    case.applied.append(f"duplicate [{start}:{end}] at {at}")


def _control(case: Case, rng: random.Random) -> None:
    at = rng.randrange(len(case.spec) + 1)
    char = rng.choice(CONTROL)
    case.spec = case.spec[:at] + char + case.spec[at:]
    case.applied.append(f"control #x{ord(char):04x} at {at}")


def _set_field(case: Case, key: str, value: str) -> None:
    lines = [line for line in case.spec.splitlines() if not line.startswith(f"{key}:")]
    case.spec = "\n".join([*lines, f"{key}: {value}"]) + "\n"


def _deep(case: Case, rng: random.Random) -> None:
    depth = rng.choice([30, 63, 65, 200, 2000, 5000])
    flow = rng.random() < 0.5
    value = "[" * depth + "]" * depth if flow else "{a: " * depth + "1" + "}" * depth
    key = rng.choice(["vars", "request_params", "thinking", "output", "memory", "tools"])
    _set_field(case, key, value)
    case.applied.append(f"{key} nested {depth} deep")


def _huge(case: Case, rng: random.Random) -> None:
    key = rng.choice(["max_tokens", "max_turns", "temperature", "output_retries", "max_continuations", "top_p"])
    number = rng.choice(NUMBERS)
    if key == "max_turns" and rng.random() < 0.3:
        _set_field(case, "memory", f"{{budget: {number}}}")
        key = "memory.budget"
    else:
        _set_field(case, key, number)
    case.applied.append(f"{key}: {number[:20]}")


def _wrong_type(case: Case, rng: random.Random) -> None:
    key, value = rng.choice(FIELDS), rng.choice(WRONG)
    _set_field(case, key, value)
    case.applied.append(f"{key}: {value}")


def _bomb(case: Case, rng: random.Random) -> None:
    width, levels = rng.choice([(9, 9), (10, 6), (2, 40), (50, 4)])
    lines = [f"x0: &x0 [{', '.join(['lol'] * width)}]"]
    lines += [f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * width)}]" for i in range(1, levels)]
    target = rng.choice(["vars", "request_params", "tools", "system", "output"])
    bomb = "\n".join(f"  {line}" for line in lines)
    case.spec = case.spec.rstrip("\n") + f"\n{target}:\n{bomb}\n"
    case.applied.append(f"alias bomb {width}^{levels} under {target}")


def _template(case: Case, rng: random.Random) -> None:
    snippet = rng.choice(TEMPLATES)
    _set_field(case, "system", '"' + snippet.replace('"', '\\"') + '"')
    case.applied.append(f"system: {snippet}")


def _template_file(case: Case, rng: random.Random) -> None:
    """The system_file seed's template (reported in the template file, at its own lines)."""
    if "prompts/base.j2" not in case.aux:
        return _template(case, rng)
    text = case.aux["prompts/base.j2"]
    at = rng.randrange(len(text) + 1)
    snippet = rng.choice([*TEMPLATES, *CONTROL, "{%", "}}", "\n" * 3])
    case.aux["prompts/base.j2"] = text[:at] + snippet + text[at:]
    case.applied.append(f"prompts/base.j2: {snippet!r} at {at}")
    return None


def _import_path(case: Case, rng: random.Random) -> None:
    key, target = rng.choice(["tools", "tools", "output"]), rng.choice(IMPORT_PATHS)
    _set_field(case, key, f"['{target}']" if key == "tools" else f"'{target}'")
    case.applied.append(f"{key}: {target}")


def _file_ref(case: Case, rng: random.Random) -> None:
    key, target = rng.choice(["extends", "system_file"]), rng.choice(FILE_REFS)
    _set_field(case, key, f"'{target}'")
    if key == "system_file":
        case.spec = "\n".join(line for line in case.spec.splitlines() if not line.startswith("system:")) + "\n"
    case.applied.append(f"{key}: {target!r}")


MUTATIONS: list[tuple[Callable[[Case, random.Random], None], int]] = [
    (_bytes, 3), (_delete, 3), (_duplicate, 3), (_control, 2), (_deep, 2), (_huge, 2), (_wrong_type, 3),
    (_bomb, 1), (_template, 2), (_template_file, 1), (_import_path, 2), (_file_ref, 2),
]  # fmt: skip


def mutate(seed: int) -> Case:
    """Case number `seed`: a seed spec with one to three mutations (byte flips always last)."""
    rng = random.Random(seed)
    spec, aux = SEEDS[seed % len(SEEDS)]
    case = Case(seed, spec, dict(aux))
    functions, weights = zip(*MUTATIONS, strict=True)
    chosen = rng.choices(functions, weights, k=rng.randint(1, 3))
    for mutation in sorted(chosen, key=lambda f: f is _bytes):
        if case.raw is None or mutation is _bytes:
            mutation(case, rng)
    return case


def _write(case: Case, root: Path) -> str:
    folder = root / f"c{case.seed:05d}"
    for name, text in case.aux.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    folder.mkdir(exist_ok=True)
    if hasattr(os, "mkfifo") and "pipe.fifo" in case.spec:
        os.mkfifo(folder / "pipe.fifo")
    (folder / "agent.yaml").write_bytes(
        case.raw if case.raw is not None else case.spec.encode("utf-8", "surrogatepass")
    )
    return f"{folder.name}/agent.yaml"


def _validate(paths: list[str], root: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "AGENTKIT_"))}
    command = [sys.executable, "-m", "agentkit", "validate", *paths]
    return subprocess.run(
        command, cwd=root, env=env, capture_output=True, text=True, errors="replace", timeout=BATCH_TIMEOUT
    )


def _verdicts(paths: list[str], result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """Per case: 'exit 2' (located problems), 'valid' (ok), or what went wrong; a key '' for stray lines."""
    verdicts: dict[str, str] = {}
    folders = {path.split("/")[0]: path for path in paths}
    located = re.compile(r"^(c\d+)/[^:]+:\d+:\d+: \S")
    for line in result.stdout.splitlines():
        match = re.match(r"^(c\d+)/agent\.yaml: ok \(", line)
        if match is None:
            verdicts[""] = f"stray stdout line: {line!r}"
        else:
            verdicts[folders[match[1]]] = "valid"
    for line in result.stderr.splitlines():
        match = located.match(line)
        if match is None or "Traceback" in line:
            verdicts[""] = f"stray stderr line: {line!r}"
        elif folders.get(match[1]) is None:
            verdicts[""] = f"a line naming no case: {line!r}"
        else:
            path = folders[match[1]]
            verdicts[path] = "exit 2" if verdicts.get(path, "exit 2") == "exit 2" else "both ok and problems"
    for path in paths:
        verdicts.setdefault(path, "no output")
    expected = 2 if any(v == "exit 2" for v in verdicts.values()) else 0
    if result.returncode != expected:
        verdicts[""] = f"exit code {result.returncode}, expected {expected}"
    return verdicts


def run_cases(seeds: range, root: Path) -> Counter[str]:
    """Validate the cases of `seeds` in batches; fail naming the case if any ends another way."""
    tally: Counter[str] = Counter()
    cases = {s: mutate(s) for s in seeds}
    seeds_list = list(seeds)
    for start in range(0, len(seeds_list), BATCH):
        batch = [cases[s] for s in seeds_list[start : start + BATCH]]
        paths = [_write(case, root) for case in batch]
        try:
            verdicts = _verdicts(paths, _validate(paths, root))
        except subprocess.TimeoutExpired:
            verdicts = {"": "the batch timed out"}
        if "" in verdicts or any(v not in ("exit 2", "valid") for v in verdicts.values()):
            for case, path in zip(batch, paths, strict=True):  # find the culprit, one case at a time
                try:
                    alone = _validate([path], root)
                    verdict = _verdicts([path], alone)
                except subprocess.TimeoutExpired:
                    pytest.fail(f"case {case.seed} hangs ({'; '.join(case.applied)}):\n{case.spec}")
                bad = {k: v for k, v in verdict.items() if k == "" or v not in ("exit 2", "valid")}
                assert not bad, f"case {case.seed} ({'; '.join(case.applied)}): {bad}\n{alone.stderr[-3000:]}"
            pytest.fail(f"a batch failed but no case alone did: {verdicts.get('')}")
        tally.update(verdicts.values())
    return tally


def test_fuzzed_specs_are_located_errors_or_valid(tmp_path: Path) -> None:
    tally = run_cases(range(25), tmp_path)

    assert sum(tally.values()) == 25
    assert tally["exit 2"] >= 15  # most mutations break the spec; each of those is a located exit 2


@pytest.mark.slow
def test_fuzzed_specs_many(tmp_path: Path) -> None:
    base = int(os.environ.get("AGENTKIT_FUZZ_SEED", "1000"))
    count = int(os.environ.get("AGENTKIT_FUZZ_CASES", "400"))

    tally = run_cases(range(base, base + count), tmp_path)

    print(f"\nspec fuzz: {count} cases from seed {base}: {tally['exit 2']} exit 2, {tally['valid']} still valid")
    assert sum(tally.values()) == count
    assert set(tally) <= {"exit 2", "valid"}
