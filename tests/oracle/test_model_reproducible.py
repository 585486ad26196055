"""The on-chain model id can be rebuilt by anyone: training in fresh processes with different
BLAS/OpenMP thread counts gives the same artifact bytes, the ones committed with the card."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from oracle.model.artifact import committed_artifact, model_id_of

ROOT = Path(__file__).resolve().parents[2]


def _train(out: Path, threads: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PEERLEND_CACHE_DIR=str(out / "cache"))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    command = [sys.executable, "-m", "oracle.cli", "train", "--out", str(out), "--no-compare",
               "--no-benchmarks", "--no-cache"]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_model_id_is_the_same_whatever_the_thread_count_and_equals_the_committed_one(tmp_path):
    # both fits run at once: the test costs one training's wall time on two cores
    runs = {threads: _train(tmp_path / f"threads-{threads}", threads) for threads in (1, 2)}
    ids = {}
    for threads, process in runs.items():
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-2000:]
        (artifact,) = (tmp_path / f"threads-{threads}").glob("model-*.json")
        ids[threads] = model_id_of(artifact.read_bytes())
        assert f"model id {ids[threads]}" in stdout
    card = json.loads((ROOT / "oracle" / "model" / "model_card.json").read_text())
    assert ids[1] == ids[2] == card["model_id"] == model_id_of(committed_artifact())
