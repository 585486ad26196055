"""The README's quick start, as a new user meets it: the demo script (`make demo` minus the
install) on a fresh chain, then the README's CLI block exactly as written, which leaves the
checkout for a fresh folder. The block is read from README.md, so the two cannot drift.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from peerlend.devchain import free_port

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- quickstart-cli"
READY = "Ctrl-C stops everything"


def readme_cli_block() -> str:
    text = (ROOT / "README.md").read_text()
    return text[text.index(MARKER) :].split("```bash\n", 1)[1].split("```", 1)[0]


def demo_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PEERLEND_RPC_URL", "PEERLEND_DEPLOYMENTS_DIR", "PEERLEND_ORACLE_URL", "PEERLEND_API_URL",
                 "PEERLEND_ACCOUNT", "PEERLEND_NETWORK", "APE_FOUNDRY_HOST"):  # fmt: skip
        env.pop(name, None)
    env.update(
        PEERLEND_ANVIL_PORT=str(free_port()),
        PEERLEND_API_PORT=str(free_port()),
        PEERLEND_ORACLE_PORT=str(free_port()),
        PEERLEND_RUN_DIR=str(tmp_path / "run"),
    )
    return env


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    env = demo_env(tmp)
    log_path = tmp / "demo.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            ["bash", "scripts/run_demo.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while READY not in log_path.read_text():
            assert process.poll() is None, f"the demo exited early:\n{log_path.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the demo never got ready:\n{log_path.read_text()[-3000:]}"
            time.sleep(1)
        yield env, log_path.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_demo_prints_its_cast_and_the_disclosure_in_token_units(demo):
    _, output = demo
    assert "TEST::4   borrower Ada" in output and "TEST::7   lender Li" in output
    digest = output[output.index("what the indexer API discloses") :]
    assert "principal outstanding: 1,000.00 tUSD" in digest
    assert "default rate by count: 33.33%" in digest
    assert "Traceback" not in output


def test_readme_quick_start_cli_block_runs_as_written(demo):
    env, _ = demo
    block = readme_cli_block()
    assert 'cd "$(mktemp -d)"' in block  # the CLI runs from a folder other than the checkout
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "score pushed on-chain" in result.stderr
    assert "loan 6 requested: 1,500.50 tUSD" in out
    assert "note" in out and "500.50 tUSD of loan 6; the loan is fully funded and in review" in out
    assert "in review until" in out
    assert "Traceback" not in result.stderr and "INFO" not in result.stderr


def test_busy_port_is_named_with_its_variable(tmp_path):
    env = demo_env(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        env["PEERLEND_API_PORT"] = str(busy.getsockname()[1])
        result = subprocess.run(
            ["bash", "scripts/run_demo.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert f"port {env['PEERLEND_API_PORT']} (indexer API) is in use" in result.stderr
    assert "PEERLEND_API_PORT=" in result.stderr
