"""Shared fixtures: titanoboa accounts and the test stablecoin."""

from __future__ import annotations

import boa
import pytest

from tests.hypothesis_profiles import load_profile

load_profile()

ROOT_CONTRACTS = "contracts"


@pytest.fixture(scope="session")
def deployer():
    return boa.env.generate_address("deployer")


@pytest.fixture(scope="session")
def alice():
    return boa.env.generate_address("alice")


@pytest.fixture(scope="session")
def bob():
    return boa.env.generate_address("bob")


@pytest.fixture(scope="session")
def stablecoin_deployer():
    return boa.load_partial(f"{ROOT_CONTRACTS}/test/TestStablecoin.vy")


@pytest.fixture
def stablecoin(stablecoin_deployer, deployer):
    with boa.env.prank(deployer):
        return stablecoin_deployer.deploy()


@pytest.fixture(autouse=True)
def _isolate_boa():
    """Every test starts from the same chain state; nothing leaks between tests."""
    with boa.env.anchor():
        yield
