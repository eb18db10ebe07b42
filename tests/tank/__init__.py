"""A first-order tank: the smallest process built by the recipe in ``docs/adding_a_process.md``.

It exists to prove the recipe: :func:`register` registers it like the built-in processes, the
test session does so in ``tests/conftest.py``, and the env contract suite
(``tests/test_env_contract.py``) then runs on it as on the BOF and the paint line. Files in the
recipe's order of dependency: ``params`` → ``layout`` → ``core`` → ``batch`` → ``env``; its plant
variants and scenarios live in ``conf/`` beside them.
"""

from __future__ import annotations

from pathlib import Path

from envs.core.registry import ProcessSpec, register_process

__all__ = ["CONF_DIR", "SPEC", "register"]

CONF_DIR = Path(__file__).resolve().parent / "conf"
SPEC = ProcessSpec(
    name="tank",
    env_id="plantrl/Tank-v0",
    entry_point="tank.env:TankEnv",
    vector_entry_point="tank.env:TankVectorEnv",
    layout="tank.layout",
    params="tank.params:TankParams",
    test_kwargs={"shift_steps": 40},
    conf_dir=CONF_DIR,
)


def register() -> ProcessSpec:
    """Register the tank (idempotent): ``envs.make("tank")`` and ``plantrl/Tank-v0`` then work."""
    return register_process(SPEC)
