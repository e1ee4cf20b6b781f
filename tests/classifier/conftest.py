"""Session fixtures: the real config files, parsed once."""

from pathlib import Path

import pytest

from classifier import Catalog, Regions, RuleClassifier


@pytest.fixture(scope="session")
def config_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="session")
def regions(config_dir: Path) -> Regions:
    return Regions.load(config_dir / "regions.toml")


@pytest.fixture(scope="session")
def catalog(config_dir: Path) -> Catalog:
    return Catalog.load(config_dir / "catalog.toml")


@pytest.fixture(scope="session")
def rules(catalog: Catalog, regions: Regions) -> RuleClassifier:
    return RuleClassifier(catalog, regions)
