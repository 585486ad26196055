"""TestStablecoin: the 6-decimal tUSD used on local chains and in tests."""

import boa
import pytest


@pytest.fixture
def stablecoin(stablecoin_deployer, deployer):
    """A fresh token per test (the session-wide one in conftest already has supply)."""
    with boa.env.prank(deployer):
        return stablecoin_deployer.deploy()


def test_metadata(stablecoin, deployer):
    assert stablecoin.decimals() == 6
    assert stablecoin.symbol() == "tUSD"
    assert stablecoin.owner() == deployer
    assert stablecoin.totalSupply() == 0


def test_owner_mints(stablecoin, deployer, alice):
    with boa.env.prank(deployer):
        stablecoin.mint(alice, 1_500_500_000)
    assert stablecoin.balanceOf(alice) == 1_500_500_000
    assert stablecoin.totalSupply() == 1_500_500_000


def test_stranger_cannot_mint(stablecoin, alice):
    with boa.env.prank(alice), boa.reverts("tusd: not owner"):
        stablecoin.mint(alice, 1)


def test_transfer_moves_balance(stablecoin, deployer, alice, bob):
    with boa.env.prank(deployer):
        stablecoin.mint(alice, 100)
    with boa.env.prank(alice):
        assert stablecoin.transfer(bob, 40)
    assert stablecoin.balanceOf(alice) == 60
    assert stablecoin.balanceOf(bob) == 40


def test_transfer_over_balance_reverts(stablecoin, alice, bob):
    with boa.env.prank(alice), boa.reverts("erc20: transfer amount exceeds balance"):
        stablecoin.transfer(bob, 1)


def test_approve_and_transfer_from(stablecoin, deployer, alice, bob):
    with boa.env.prank(deployer):
        stablecoin.mint(alice, 100)
    with boa.env.prank(alice):
        stablecoin.approve(bob, 70)
    assert stablecoin.allowance(alice, bob) == 70
    with boa.env.prank(bob):
        stablecoin.transferFrom(alice, bob, 50)
    assert stablecoin.balanceOf(bob) == 50
    assert stablecoin.allowance(alice, bob) == 20
    with boa.env.prank(bob), boa.reverts("erc20: insufficient allowance"):
        stablecoin.transferFrom(alice, bob, 21)


@pytest.mark.parametrize("amount", [0, 1, 10**6, 2**255])
def test_mint_any_amount_is_exact(stablecoin, deployer, alice, amount):
    with boa.env.prank(deployer):
        stablecoin.mint(alice, amount)
    assert stablecoin.balanceOf(alice) == amount
