"""Integration fixtures: a real anvil per test module, and ape connected to it."""

from __future__ import annotations

import pytest

from peerlend.devchain import Anvil, ape_connected


@pytest.fixture(scope="module")
def anvil():
    with Anvil() as node:
        yield node


@pytest.fixture(scope="module")
def ape_network(anvil):
    """ape connected to this module's anvil (ape-foundry attaches to a running node by host)."""
    with ape_connected(anvil.url) as provider:
        yield provider
