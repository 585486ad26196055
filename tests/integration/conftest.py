"""Integration fixtures: a real anvil per test module, and ape connected to it."""

from __future__ import annotations

import os

import pytest

from peerlend.devchain import Anvil


@pytest.fixture(scope="module")
def anvil():
    with Anvil() as node:
        yield node


@pytest.fixture(scope="module")
def ape_network(anvil):
    """ape connected to this module's anvil (ape-foundry attaches to a running node by host)."""
    previous = os.environ.get("APE_FOUNDRY_HOST")
    os.environ["APE_FOUNDRY_HOST"] = anvil.url
    from ape import networks

    with networks.parse_network_choice("ethereum:local:foundry") as provider:
        yield provider
    if previous is None:
        os.environ.pop("APE_FOUNDRY_HOST", None)
    else:
        os.environ["APE_FOUNDRY_HOST"] = previous
