"""Fixtures for the pki tests: one factory and one standard hierarchy per session."""

from __future__ import annotations

import pytest
from pkifactory import Factory, Pki


@pytest.fixture(scope="session")
def factory() -> Factory:
    return Factory()


@pytest.fixture(scope="session")
def pki(factory: Factory) -> Pki:
    root = factory.root()
    inter = factory.intermediate(root)
    leaf = factory.leaf(inter, sans=("expe.example.com", "join.example.com", "10.0.0.5"))
    return Pki(root, inter, leaf)
