"""Readable errors at the entry points: one or two lines, exit code 2, the traceback on request.

Every Hydra job (``experiments.train``, ``evaluate``, ``report``, ``tune``) wraps its task
function with :func:`readable_errors` (under ``@hydra.main``) and starts through
:func:`start`:

    @hydra.main(version_base="1.3", config_path="../conf", config_name="train")
    @readable_errors
    def main(cfg: DictConfig) -> ...: ...

    if __name__ == "__main__":
        start(main)

| error | shown as | exit code |
| --- | --- | --- |
| :class:`ConfigError`, :class:`TrackingError` | ``error: <message naming key or file>`` | 2 |
| ``ValueError``, ``OSError`` raised by plantrl's own code | ``error: <message>`` | 2 |
| a tracking-store failure (MLflow, SQLAlchemy) | ``error: tracking store <uri>: …`` | 2 |
| anything else (a bug) | Hydra's traceback, as before | 1 |

``HYDRA_FULL_ERROR=1`` in the environment, or ``--debug`` anywhere on the command line
(removed before Hydra parses it), shows the full traceback of every error instead.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, TypeVar

from mlflow.exceptions import MlflowException
from omegaconf import DictConfig
from sqlalchemy.exc import SQLAlchemyError

from experiments.lib.config_checks import ConfigError
from experiments.lib.tracking import TrackingError

__all__ = ["DEBUG_FLAG", "USAGE_ERROR", "message", "readable_errors", "start"]

T = TypeVar("T")

USAGE_ERROR = 2  # like argparse: the command was wrong, not the program
DEBUG_FLAG = "--debug"
# errors raised by a `raise` in these packages carry a message written for the user
REPO = Path(__file__).resolve().parents[2]
OWN_CODE = tuple(str(REPO / pkg) + os.sep for pkg in ("envs", "agents", "experiments"))
STORE_ERRORS = (MlflowException, SQLAlchemyError)
HINT = "(HYDRA_FULL_ERROR=1 or --debug shows the traceback)"


def _debugging() -> bool:
    return os.environ.get("HYDRA_FULL_ERROR") == "1"


def _raised_in_own_code(tb: TracebackType | None) -> bool:
    """True if the innermost frame of ``tb`` is plantrl code (a deliberate ``raise``)."""
    last = None
    while tb is not None:
        last, tb = tb, tb.tb_next
    return last is not None and last.tb_frame.f_code.co_filename.startswith(OWN_CODE)


def _store_uri(cfg: DictConfig) -> str:
    try:
        return str(cfg.tracking.uri)
    except Exception:  # the tracking node itself may be what is broken
        return "?"


def message(err: BaseException, cfg: DictConfig) -> str | None:
    """The one-or-two-line text for a known error, None for one that needs its traceback."""
    if isinstance(err, ConfigError | TrackingError):
        return str(err)
    if isinstance(err, STORE_ERRORS):
        # MLflow and SQLAlchemy append the SQL and a link: the first line says what failed
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        uri = _store_uri(cfg)
        check = (
            "is the server up?"
            if uri.startswith("http")
            else "is it an MLflow database you may write to?"
        )
        return f"tracking store {uri}: {first}; {check} (or use another tracking.uri)"
    if isinstance(err, ValueError | OSError) and _raised_in_own_code(err.__traceback__):
        return str(err)
    return None


def _fail(text: str) -> NoReturn:
    print(f"error: {text}\n{HINT}", file=sys.stderr)
    sys.exit(USAGE_ERROR)


def readable_errors(task: Callable[[DictConfig], T]) -> Callable[[DictConfig], T]:
    """``task`` with its known errors printed in one or two lines and exit code 2."""

    @functools.wraps(task)  # Hydra unwraps it to find the calling module (config_path)
    def wrapper(cfg: DictConfig) -> T:
        if _debugging():
            return task(cfg)
        try:
            return task(cfg)
        except Exception as err:
            text = message(err, cfg)
            if text is None:
                raise  # unknown: Hydra prints its traceback, exit code 1
            _fail(text)

    return wrapper


def start(main: Callable[[], Any]) -> None:
    """Start a Hydra ``main`` with ``--debug`` taken off the command line (it means
    ``HYDRA_FULL_ERROR=1``: full tracebacks)."""
    if DEBUG_FLAG in sys.argv[1:]:
        sys.argv = [sys.argv[0], *(a for a in sys.argv[1:] if a != DEBUG_FLAG)]
        os.environ["HYDRA_FULL_ERROR"] = "1"
    main()
