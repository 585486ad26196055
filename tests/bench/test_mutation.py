"""The mutation runner's bookkeeping (bench/mutation.py), without compiling or running a mutant:
which tests a mutant meets first, when a cached outcome still holds, and the hypothesis profile
its runs use."""

from __future__ import annotations

from collections import Counter

from bench.mutation import CoverageMap, Mutant, Outcome, ResultCache, mutants_of, stages
from tests import hypothesis_profiles

SOURCE = '''\
@internal
def _fee(amount: uint256) -> uint256:
    """
    @dev 1 - 2 in a docstring is not code.
    """
    assert amount > 0, "book: zero + amount"
    fee: uint256 = amount * 3 // 100
    return fee
'''


def _mutant(line: int, function: str = "_fee", file: str = "contracts/X.vy") -> Mutant:
    return Mutant(f"X:{function}:bound:{line}", file, line, function, "bound", "a", "b")


def test_mutants_skip_docstrings_and_revert_messages():
    found = {(m.kind, m.mutated) for m in mutants_of("contracts/X.vy", SOURCE)}
    assert ("dropped", "pass") in found  # the assert
    assert ("bound", 'assert amount >= 0, "book: zero + amount"') in found
    assert ("constant", "fee: uint256 = amount * 4 // 100") in found
    assert ("operator", "fee: uint256 = amount // 3 // 100") in found
    assert not any("1 + 2" in mutated or "zero - amount" in mutated for _, mutated in found)


def test_stage_one_is_the_tests_executing_the_line_and_stage_two_the_rest():
    cmap = CoverageMap(
        tests=["t::slow", "t::fast", "t::other", "t::never"],
        durations={"t::slow": 5.0, "t::fast": 0.1, "t::other": 1.0, "t::never": 0.2},
        covered={
            "t::slow": {"contracts/X.vy": [6, 7]},
            "t::fast": {"contracts/X.vy": [7]},
            "t::other": {"contracts/X.vy": [6]},
            "t::never": {"contracts/Y.vy": [7]},
        },
    )
    first, rest = stages(_mutant(7), cmap)
    assert first == ["t::fast", "t::slow"]  # cheapest first
    assert rest == ["t::never", "t::other"]
    # A test that killed other mutants of the function goes first.
    first, _ = stages(_mutant(7), cmap, Counter({"t::slow": 2, "t::never": 5}))
    assert first == ["t::slow", "t::fast"]


def test_a_line_no_test_is_seen_executing_falls_back_to_its_function(tmp_path):
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "X.vy").write_text(SOURCE)
    cmap = CoverageMap(["t::a", "t::b"], {}, {"t::a": {"contracts/X.vy": [8]}, "t::b": {}})
    first, rest = stages(_mutant(7), cmap, root=tmp_path)
    assert (first, rest) == (["t::a"], ["t::b"])


def test_a_cached_kill_holds_until_the_killing_test_changes_and_a_survivor_until_any_does(tmp_path):
    (tmp_path / "tests").mkdir()
    killer = tmp_path / "tests" / "test_k.py"
    killer.write_text("def test_k(): ...\n")
    cache = ResultCache(tmp_path / "results.json", root=tmp_path)
    cache.put(
        "killed-key",
        Outcome(_mutant(7), "killed", 1.0, "tests/test_k.py::test_k"),
        "tests/test_k.py::test_k",
        10,
        "suite-1",
    )
    cache.put("survived-key", Outcome(_mutant(6), "survived", 1.0), "", 10, "suite-1")
    cache.put("stillborn-key", Outcome(_mutant(8), "stillborn", 1.0, "type error"), "", 10, "suite-1")
    reread = ResultCache(tmp_path / "results.json", root=tmp_path)
    assert reread.get("killed-key", 10, "suite-2")["result"] == "killed"  # other tests changed
    assert reread.get("survived-key", 10, "suite-2") is None
    assert reread.get("survived-key", 10, "suite-1")["result"] == "survived"
    assert reread.get("stillborn-key", 10, "suite-2")["result"] == "stillborn"
    assert reread.get("killed-key", 25, "suite-1") is None  # another example count
    killer.write_text("def test_k(): assert False\n")
    assert reread.get("killed-key", 10, "suite-1") is None


def test_mutation_profile_caps_a_tests_own_example_count_only_when_active(monkeypatch):
    monkeypatch.delenv(hypothesis_profiles.PROFILE_ENV, raising=False)
    assert hypothesis_profiles.examples(400) == 400
    monkeypatch.setenv(hypothesis_profiles.PROFILE_ENV, hypothesis_profiles.MUTATION)
    cap = hypothesis_profiles.settings.get_profile(hypothesis_profiles.MUTATION).max_examples
    assert hypothesis_profiles.examples(400) == cap < 400
    assert hypothesis_profiles.examples(3) == min(3, cap)


def test_a_survivor_once_argued_equivalent_points_at_its_old_argument(tmp_path, monkeypatch):
    from bench import mutation

    argued = next(iter(mutation.EQUIVALENT))
    monkeypatch.setattr(mutation, "RESULTS", tmp_path)
    old = Mutant(argued, "contracts/X.vy", 7, "_fee", "bound", "if a > b:", "if a >= b:")
    mutation.write_report(
        [Outcome(old, "equivalent", 0.0, mutation.EQUIVALENT[argued])], 1, 1.0, "abc", 10, 1.0
    )
    before = mutation.argued_before(tmp_path / "mutation.json")
    changed = Mutant("X:_fee:bound:00000000", "contracts/X.vy", 9, "_fee", "bound", "if a > b:", "if a >= b:")
    mutation.write_report([Outcome(changed, "survived", 1.0)], 1, 1.0, "abd", 10, 1.0, before=before)
    survivors = (tmp_path / "mutation.md").read_text().split("## Survivors", 1)[1]
    assert f"argued equivalent as `{argued}`" in survivors
