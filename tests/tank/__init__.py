"""A first-order tank: the smallest process built by the recipe in ``docs/adding_a_process.md``.

It exists to prove the recipe: ``tests/test_adding_a_process.py`` registers it through
:func:`envs.register_process` and runs the same contract suite on it as on the BOF and the paint
line. Files in the recipe's order of dependency: ``params`` → ``layout`` → ``core`` → ``batch`` →
``env``.
"""

from __future__ import annotations

from tank.batch import TankBatch
from tank.env import TankEnv, TankVectorEnv
from tank.params import TankParams

__all__ = ["TankBatch", "TankEnv", "TankParams", "TankVectorEnv"]
