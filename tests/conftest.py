"""Test-session setup: the toy tank of docs/adding_a_process.md joins the registered processes,
so every process-wide suite (the env contract suite above all) runs on it too; and the fixtures
the train-job tests share."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import mlflow
import pytest
import tank
from hydra import compose, initialize
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

tank.register()


@pytest.fixture
def isolated_mlflow() -> Iterator[None]:
    """Leave no tracking URI, active run or MLFLOW_* variable behind (train() sets them)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")}
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(saved.get("MLFLOW_TRACKING_URI"))  # type: ignore[arg-type]
    for key in [k for k in os.environ if k.startswith("MLFLOW_")]:
        del os.environ[key]
    os.environ.update(saved)


def compose_train_config(root: Path, *overrides: str) -> DictConfig:
    """The job's config as ``python -m experiments.train <overrides> paths.root=<root>`` sees it."""
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose(
            "train", overrides=[*overrides, f"paths.root={root}"], return_hydra_config=True
        )
    HydraConfig.instance().set_config(cfg)
    return cfg


@pytest.fixture(scope="session")  # a pure function: module-scoped fixtures may use it too
def compose_train() -> Callable[..., DictConfig]:
    """:func:`compose_train_config` for tests in other files (conftest is not importable)."""
    return compose_train_config
