"""The policy protocol: anything with ``act(obs) -> action`` is evaluated by the same code.

DESIGN.md, "Policy protocol": an SB3 model, the operator's practice, PID, the MPC oracle and an
exported ONNX file all look the same to evaluation — a batch of observations in engineering
units, shape ``(n, n_obs)``, in; a batch of normalised actions in [-1, 1], shape ``(n, n_act)``,
out (the env maps them to actuator set-points).

Two optional methods, called by :func:`agents.evaluation.evaluate` before the episodes start:
``reset(n)`` (``n`` episodes begin: clear recurrent or integrator state) and
``attach(envs)`` (the episodes' envs, in batch order, stepped by the evaluator). ``attach`` is
for privileged baselines only — the MPC oracle reads the true state and parameters of each env's
plant there; a deployable policy never implements it.

>>> import numpy as np
>>> from agents.baselines.operator import OperatorPolicy
>>> isinstance(OperatorPolicy(), Policy)
True
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Policy", "PrivilegedPolicy", "RandomPolicy", "SB3Policy"]


@runtime_checkable
class Policy(Protocol):
    """A control policy over a batch of plants.

    ``act(obs)`` takes observations of shape ``(n, n_obs)`` (engineering units, as the env
    returns them) and returns actions of shape ``(n, n_act)``, float32, in [-1, 1].
    """

    def act(self, obs: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class PrivilegedPolicy(Policy, Protocol):
    """A reference policy that reads the simulated plants themselves (the MPC oracle).

    ``attach(envs)`` receives the single envs of the evaluated episodes, in the order of the
    observation batch; ``act`` may then read ``env.unwrapped.batch`` (true state, parameters).
    """

    def attach(self, envs: list[Any]) -> None: ...


def _as_batch(obs: np.ndarray) -> tuple[np.ndarray, bool]:
    """float32 batch view of ``obs``; also whether a single observation was promoted."""
    a = np.asarray(obs, dtype=np.float32)
    if a.ndim == 1:
        return a[None, :], True
    if a.ndim != 2:
        raise ValueError(f"obs must have shape (n, n_obs) (or (n_obs,)), got {a.shape}")
    return a, False


class SB3Policy:
    """An SB3 model (PPO, SAC, …) as a :class:`Policy`.

    Args:
        model: a trained SB3 algorithm (anything with ``predict(obs, deterministic=…)``).
        vecnormalize: the ``VecNormalize`` the model was trained with, if any; only its
            observation statistics are used (``normalize_obs``, which never updates them).
        deterministic: act with the mean action (``True``, evaluation) or sample.

    A single observation of shape ``(n_obs,)`` gives a single action ``(n_act,)``.
    """

    def __init__(self, model: Any, vecnormalize: Any = None, deterministic: bool = True) -> None:
        self.model = model
        self.vecnormalize = vecnormalize
        self.deterministic = bool(deterministic)

    def act(self, obs: np.ndarray) -> np.ndarray:
        batch, single = _as_batch(obs)
        if self.vecnormalize is not None:
            batch = self.vecnormalize.normalize_obs(batch)
        actions, _ = self.model.predict(batch, deterministic=self.deterministic)
        actions = np.clip(np.asarray(actions, dtype=np.float32), -1.0, 1.0)
        return actions[0] if single else actions


class RandomPolicy:
    """Uniformly random actions in [-1, 1] (the reference a learned policy must beat).

    Args:
        n_act: action dimension.
        seed: seed of the policy's own generator (independent of the env's).
    """

    def __init__(self, n_act: int = 5, seed: int | None = None) -> None:
        self.n_act = int(n_act)
        self.rng = np.random.default_rng(seed)

    def act(self, obs: np.ndarray) -> np.ndarray:
        batch, single = _as_batch(obs)
        actions = self.rng.uniform(-1.0, 1.0, (batch.shape[0], self.n_act)).astype(np.float32)
        return actions[0] if single else actions
