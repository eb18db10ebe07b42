"""The operator's standard practice as a policy (the first baseline of DESIGN.md).

Standard practice is computed inside the plant cores, because in ``action_mode="adjust"`` the env
defines every action as an adjustment *around* it (``set-point = practice + action × span``, or
for the BOF's feeders and end of blow a symmetric trim of the heat's total and a rate-limited
end target, ``envs.steel.env.BOFEnv``; a zero action is practice either way). For the BOF it is a
fixed oxygen flow, the three-step lance pattern, ore and lime in proportion to the blown oxygen,
and ending the blow at the statically planned oxygen (``envs/steel/physics.py``,
``practice_setpoints``); for the paint line the fixed recipe per body style
(``envs/paint/derive.py``, ``practice_setpoints``). The zero action therefore reproduces standard
practice bit for bit, and the operator policy is simply the zero action. It ignores the
observation on purpose: practice reacts to the charge analysis (BOF) or the body style (paint)
through the plan, not to in-process signals.

In ``action_mode="absolute"`` practice is a state-dependent schedule that no constant action
reproduces, so :class:`OperatorPolicy` refuses that mode; the rule-based, state-aware baselines
(PID around the practice set-points, the MPC oracle) come later.
"""

from __future__ import annotations

import numpy as np

__all__ = ["OperatorPolicy"]


class OperatorPolicy:
    """Standard operating practice: the zero adjustment, for any batch of plants.

    Args:
        n_act: action dimension (5 for the BOF, 11 for the paint line).
        action_mode: must be ``"adjust"`` (the env's default), see the module docstring.

    >>> OperatorPolicy().act(np.zeros((2, 26), dtype=np.float32))
    array([[0., 0., 0., 0., 0.],
           [0., 0., 0., 0., 0.]], dtype=float32)
    """

    def __init__(self, n_act: int = 5, action_mode: str = "adjust") -> None:
        if action_mode != "adjust":
            raise ValueError(
                f"OperatorPolicy is the zero adjustment and needs action_mode='adjust', got "
                f"{action_mode!r}: in 'absolute' mode standard practice is a state-dependent "
                "schedule no constant action reproduces"
            )
        self.n_act = int(n_act)
        self.action_mode = action_mode

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Zeros of shape ``(n, n_act)`` for obs ``(n, n_obs)`` (``(n_act,)`` for one obs)."""
        a = np.asarray(obs)
        if a.ndim == 1:
            return np.zeros(self.n_act, dtype=np.float32)
        if a.ndim != 2:
            raise ValueError(f"obs must have shape (n, n_obs) (or (n_obs,)), got {a.shape}")
        return np.zeros((a.shape[0], self.n_act), dtype=np.float32)
