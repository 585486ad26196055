"""The distribution works installed, not only from a checkout.

Builds the wheel (no build isolation, no network), installs it into a fresh virtual environment
whose only other packages are the already-installed dependencies, and from a folder outside the
checkout, with the checkout off `sys.path`, runs every console script's `--help`, the indexer's
migrations on a new SQLite database, and reads the package data (ABIs, Alembic files, the model
card and the shipped model) through `importlib.resources`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("peerlend", "backend", "oracle")
SCRIPTS = ("peerlend", "peerlend-indexer", "peerlend-oracle")
pytestmark = pytest.mark.slow


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv bin folder, environment without the checkout, a folder outside the checkout)."""
    work = tmp_path_factory.mktemp("wheel")
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", "*.egg-info")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(work / "dist"), str(source)], cwd=work)  # fmt: skip
    (wheel,) = (work / "dist").glob("peerlend-*.whl")

    venv = work / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work)
    site = Path(run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    cwd=work).stdout.strip())  # fmt: skip
    # The dependencies are the ones already installed (offline): their folder goes on the new
    # environment's path after its own site-packages. Only a path, so no .pth file of the
    # development environment (such as an editable install of a checkout) is run.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # --ignore-installed: the dependencies folder holds this checkout's editable install, which
    # pip would otherwise take as "peerlend already installed" and skip the wheel.
    run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--ignore-installed",
         "--no-index", "-q", str(wheel)], cwd=work)  # fmt: skip
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    return venv / "bin", env, elsewhere, wheel


def test_wheel_holds_the_package_data(installed):
    *_, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "peerlend/abi/LoanBook.json",
        "peerlend/abi/CreditOracle.json",
        "backend/db/alembic.ini",
        "backend/db/migrations/env.py",
        "backend/db/migrations/script.py.mako",
        "oracle/model/model_card.json",
        "oracle/model/model_card.md",
        "oracle/model/model.json",
        "oracle/model/datasets/german_credit.csv",
    ):
        assert expected in names, f"{expected} is not in {wheel.name}"
    assert any(name.startswith("backend/db/migrations/versions/0001_") for name in names)
    assert not any(name.startswith(("tests/", "scripts/", "bench/")) for name in names)


@pytest.mark.parametrize("script", SCRIPTS)
def test_console_script_help_from_another_folder(installed, script):
    bin_dir, env, elsewhere, _ = installed
    result = run([str(bin_dir / script), "--help"], cwd=elsewhere, env=env)
    assert "Usage:" in result.stdout


def test_installed_code_is_the_wheel_and_reads_its_package_data(installed):
    bin_dir, env, elsewhere, _ = installed
    probe = (
        "import json, importlib.resources as r, peerlend, backend, oracle\n"
        "from peerlend import abi\n"
        "from backend.db.session import MIGRATIONS\n"
        "print(json.dumps({'files': [peerlend.__file__, backend.__file__, oracle.__file__],\n"
        "  'abi': len(abi.load('LoanBook')), 'migrations': MIGRATIONS.joinpath('env.py').is_file(),\n"
        "  'card': json.loads(r.files('oracle.model').joinpath('model_card.json').read_text()) != {},\n"
        "  'model': len(r.files('oracle.model').joinpath('model.json').read_bytes())}))\n"
    )
    result = run([str(bin_dir / "python"), "-c", probe], cwd=elsewhere, env=env)
    import json

    found = json.loads(result.stdout)
    venv = str(bin_dir.parent)
    assert all(path.startswith(venv) for path in found["files"]), found["files"]
    assert found["abi"] > 0 and found["migrations"] and found["card"] and found["model"] > 0


def test_migrations_run_from_the_installed_package(installed):
    bin_dir, env, elsewhere, _ = installed
    database = elsewhere / "indexer.db"
    run([str(bin_dir / "peerlend-indexer"), "migrate"], cwd=elsewhere,
        env=dict(env, DATABASE_URL=f"sqlite:///{database}"))  # fmt: skip
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        (version,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert {"alembic_version", "loan", "event", "sync_state"} <= tables
    assert version
