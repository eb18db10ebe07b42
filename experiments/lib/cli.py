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
import warnings
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, TypeVar

from mlflow.exceptions import MlflowException
from omegaconf import DictConfig
from sqlalchemy.exc import SQLAlchemyError

from experiments.lib.config_checks import ConfigError
from experiments.lib.tracking import TrackingError

__all__ = [
    "DEBUG_FLAG",
    "USAGE_ERROR",
    "available_launchers",
    "check_launcher",
    "check_overrides",
    "fail",
    "message",
    "readable_errors",
    "start",
]

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


def fail(text: str) -> NoReturn:
    """Print ``error: text`` and the debug hint; exit with :data:`USAGE_ERROR`."""
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
            fail(text)

    return wrapper


def available_launchers() -> list[str]:
    """Launcher options a command line may choose: Hydra's ``basic``, the installed launcher
    plugins' configs and ``conf/hydra/launcher/*.yaml``."""
    from hydra.core.config_store import ConfigStore
    from hydra.core.plugins import Plugins

    Plugins.instance()  # imports the installed hydra_plugins, which register their configs
    group = ConfigStore.instance().repo.get("hydra", {}).get("launcher", {})
    names = {str(n).removesuffix(".yaml") for n in group}
    names |= {p.stem for p in (REPO / "conf" / "hydra" / "launcher").glob("*.yaml")}
    return sorted(names | {"basic"})


def check_launcher(argv: list[str]) -> None:
    """Refuse a ``hydra/launcher=<name>`` that is not installed before Hydra composes anything
    (Hydra's own message lists its search path over ten lines).

    Raises:
        ConfigError: naming the launcher and the available ones.
    """
    for arg in argv:
        key, _, name = arg.lstrip("+~").partition("=")
        if key != "hydra/launcher" or not name:
            continue
        available = available_launchers()
        if name not in available:
            raise ConfigError(
                f"hydra/launcher={name} is not installed; available: {', '.join(available)} "
                '(the Ray launcher is not part of plantrl: README, "Running on a cluster")'
            )


def check_overrides(argv: list[str]) -> None:
    """Parse the command line's overrides with Hydra's grammar before anything runs.

    Raises:
        ConfigError: the first malformed override, with the parser's reason in one line.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    overrides = [a for a in argv if "=" in a and not a.startswith("-")]
    try:
        OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        reason = lines[1] if len(lines) > 1 else ""
        raise ConfigError(
            f"{lines[0] if lines else err}: {reason} (sweep syntax: key=a,b,c or "
            "key=range(0,4); https://hydra.cc/docs/advanced/override_grammar/basic/)"
        ) from err


def start(main: Callable[[], Any]) -> None:
    """Start a Hydra ``main`` with ``--debug`` taken off the command line (it means
    ``HYDRA_FULL_ERROR=1``: full tracebacks) and the chosen launcher checked."""
    if DEBUG_FLAG in sys.argv[1:]:
        sys.argv = [sys.argv[0], *(a for a in sys.argv[1:] if a != DEBUG_FLAG)]
        os.environ["HYDRA_FULL_ERROR"] = "1"
    # conf/hydra/launcher/submitit_*.yaml replace the plugin's configs of the same name and are
    # validated against the plugin's schema, which is what they want; Hydra warns that this
    # matching by name is deprecated (each file lists every key, so it works without it too)
    warnings.filterwarnings("ignore", message=r"(?s).*validated against ConfigStore schema")
    try:
        check_overrides(sys.argv[1:])
        check_launcher(sys.argv[1:])
    except ConfigError as err:
        fail(str(err))
    main()
