"""MPC on estimates of the BOF: the oracle's planner, started from what the shop can know.

The information-matched reference of issue 13: what an advanced shop's dynamic model does. It
plans exactly like the oracle (:class:`agents.baselines.bof_mpc.BOFMPCOracle`: cross-entropy MPC
through the plant's own step, :mod:`envs.steel.rollout`, with the same CEM settings), so it has
the *true model*, but every plan starts from a planning copy in which what the shop does not
measure is replaced by the estimate of :class:`agents.estimators.BOFBathEstimator`, fed only with
the observations the env emits (the PID's estimator, with the PID's tuned model constants from
``conf/baselines/bof_pid.yaml``). The difference oracle − MPC-on-estimates is then the value of
the information no deployable controller has; MPC-on-estimates − PID is the value of control.

**When it plans.** A shop has no bath temperature before the in-blow sub-lance reading (the
estimator has none either), which is why real dynamic control takes over at the sub-lance
[PHYSICS.md §1]. Before the reading this controller plays the PID's actions (the tuned static
operating point on the practice); from the first step after it, it plans to the end of the heat
and replans every ``replan_every`` steps, warm-started, like the oracle.

**What the planning copy takes from where** (state rows of :data:`envs.steel.layout.STATE`):

| row | value in the planning copy | why |
| --- | --- | --- |
| ``c`` | the estimator's carbon (wt%) at the copy's bath mass | bath C is not measured |
| ``temp`` | the estimator's temperature, °C → K | bath T is not measured |
| ``feo`` | the estimator's slag FeO (kmol/t × 71.844 kg/kmol × heat size) | not measured |
| ``si`` | 0 | the estimator's model: Si is oxidised in the first third of the blow |
| ``scrap``, ``scrap_heavy`` | 0 | the estimator's model: the scrap is melted by the sub-lance |
| ``z_sublance_c``, ``z_sublance_temp`` | 0 | sensor-noise words (already used: reading taken) |
| ``z_end_c``, ``z_end_temp`` | 0 | tap-measurement errors, zeroed as for the oracle |
| all other rows | the plant's | see below |

Kept from the plant, as known plant constants or actuator/accounting states: the blow time and
step, oxygen blown, ore and lime fed and their plans, the end-oxygen target, the last step's
oxygen flow and lance height (rate limits), the charge (hot-metal and scrap weights, their
measured analyses), the campaign bookkeeping and the kinetics cache of the lance height; the
parameters (``params``, ``derived``) are the plant's own: the model is true. Also kept, because
the estimator carries no estimate of them (a remaining information leak, small: the estimator
error in C and T dominates the endpoint cost): bath iron mass (the charge is weighed; ≈ 1 %),
bath Mn and P, the slag's SiO2/MnO/P2O5/CaO/MgO and undissolved lime, the foam index, the
carbon/oxygen/heat accounting rows and the last step's decarburisation rate and post-combustion
ratio (both measured by the off-gas analyser).

Certainty equivalence: the plan treats the estimate as the truth. Measured on the nominal set
(32 heats, seeds 200000–200031; PID −4.913, oracle −4.029 kEUR/heat): −4.702 with the oracle's
settings, and *worse* with more optimisation (samples 128: −4.840; iterations 8: −4.762;
horizon 120: −4.789; replan every step: −4.743) — a harder search fits the estimate's error. A
planner that averages over the estimator's error (sampled C/T offsets) is the obvious next step.

>>> mpc = BOFMPCEstimates.from_config(samples=8, iterations=1)
>>> mpc.layout.n_blocks
6
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agents.baselines.bof_mpc import BOFMPCOracle
from agents.baselines.bof_pid import BOFPID
from agents.baselines.mpc import load_config
from agents.estimators import BOF_OBS, M_FEO
from envs.core.actions import MODE_ADJUST
from envs.core.bundle import Plants
from envs.steel import layout, resolve_variant, rollout

__all__ = ["CONFIG_PATH", "BOFMPCEstimates", "estimated_copy"]

CONFIG_PATH = Path(__file__).resolve().parents[2] / "conf" / "baselines" / "bof_mpc_est.yaml"
X = layout.X
KELVIN = 273.15  # K at 0 °C (SI definition of the Celsius scale), as the plant uses
# state rows the planning copy takes from the estimator or the estimator's model (module table)
ESTIMATED_ROWS = ("c", "temp", "feo", "si", "scrap", "scrap_heavy")
# noise words of the plant the copy zeroes (the shop cannot know them)
ZEROED_ROWS = ("z_sublance_c", "z_sublance_temp", "z_end_c", "z_end_temp")


def estimated_copy(
    plants: Plants, carbon_pct: float, temp_c: float, feo_kmol_t: float, heat_t: float
) -> Plants:
    """Planning copy of a one-plant bundle with the unmeasured state replaced by estimates.

    Args:
        plants: the attached env's plants (one plant; not changed).
        carbon_pct: estimated bath carbon, wt% (≥ 0).
        temp_c: estimated bath temperature, °C.
        feo_kmol_t: estimated slag FeO, kmol per t of heat size (≥ 0).
        heat_t: heat size, t (observed).

    Returns:
        A copy whose rows :data:`ESTIMATED_ROWS` hold the estimates (see the module table) and
        whose :data:`ZEROED_ROWS` are zero.
    """
    values = np.array([carbon_pct, temp_c, feo_kmol_t, heat_t], dtype=np.float64)
    if not np.all(np.isfinite(values)) or carbon_pct < 0.0 or feo_kmol_t < 0.0 or heat_t <= 0.0:
        raise ValueError(
            "estimated_copy needs finite estimates with carbon_pct >= 0, feo_kmol_t >= 0 and "
            f"heat_t > 0, got C={carbon_pct}, T={temp_c}, FeO={feo_kmol_t}, heat={heat_t}"
        )
    copy = rollout.planning_copy(plants)
    x = copy.state[0]
    x[X.si] = 0.0
    x[X.scrap] = 0.0
    x[X.scrap_heavy] = 0.0
    # carbon at the copy's (weighed) bath mass so that the plant reads exactly the estimated
    # wt%: c / (fe + c + si + mn + p) = carbon_pct / 100
    rest = x[X.fe] + x[X.si] + x[X.mn] + x[X.p]
    share = min(carbon_pct, 99.0) / 100.0
    x[X.c] = share * rest / (1.0 - share)
    x[X.temp] = temp_c + KELVIN
    x[X.feo] = feo_kmol_t * M_FEO * heat_t
    for name in ZEROED_ROWS:
        x[getattr(X, name)] = 0.0
    return copy


class BOFMPCEstimates(BOFMPCOracle):
    """Cross-entropy MPC of the BOF from the estimated state (see the module docstring).

    Takes the keywords of :class:`BOFMPCOracle` (the CEM settings; ``endpoint_noise`` must stay
    ``"zero"``) plus:

    Args:
        pid: the PID whose estimator the planning copies read and whose actions are played
            before the sub-lance (built for the same plant; ``None``: ``BOFPID.from_config``
            for ``plant``).
        plant: the plant the controller is built for (variant, name or mapping).
        dt_s: control step of the env, s (the estimator integrates with it).
    """

    ENV_OPTIONS = ("dt_s",)

    def __init__(
        self,
        *args: Any,
        pid: BOFPID | None = None,
        plant: Any = "bof_250t",
        dt_s: float = 10.0,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("endpoint_noise", "zero") != "zero":
            raise ValueError("BOFMPCEstimates cannot know the tap-measurement errors")
        super().__init__(*args, **kwargs)
        self.plant = resolve_variant(plant)
        self.pid = BOFPID.from_config(plant=self.plant, dt_s=dt_s) if pid is None else pid
        self._pid_actions = np.zeros((0, self.n_act), dtype=np.float32)
        self._heat_t = np.zeros(0)

    @classmethod
    def from_config(  # type: ignore[override]
        cls, path: str | Path | None = None, plant: Any = "bof_250t", **overrides: Any
    ) -> BOFMPCEstimates:
        """The controller of ``conf/baselines/bof_mpc_est.yaml`` (or ``path``) with keyword
        overrides, built for ``plant`` (a variant, name or mapping; default the nominal plant):
        it attaches only to that plant's envs and its estimator uses that plant's parameters."""
        values = load_config(path or CONFIG_PATH, overrides)
        return cls(plant=plant, **values)

    # policy protocol ------------------------------------------------------------------------
    def attach(self, envs: list[Any]) -> None:
        """As the oracle's; the envs must be in adjust mode (the PID's actions, played before
        the sub-lance, are adjustments of the practice)."""
        super().attach(envs)
        if self.mode != MODE_ADJUST:
            self._envs = None
            raise ValueError(
                "BOFMPCEstimates plays the PID's adjustments before the sub-lance: it needs "
                "envs with action_mode='adjust'"
            )

    def reset(self, n: int) -> None:
        super().reset(n)
        self.pid.reset(int(n))

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions ``(n, n_act)``: the PID's before the sub-lance, the plan's after it."""
        batch_obs = np.asarray(obs, dtype=np.float64)
        if self._envs is None:
            raise RuntimeError(
                "BOFMPCEstimates plans through the plant's step: call attach(envs) "
                "(agents.evaluation.evaluate does) before act()"
            )
        if batch_obs.ndim != 2 or batch_obs.shape != (len(self._envs), len(BOF_OBS)):
            raise ValueError(
                f"obs must have shape ({len(self._envs)}, {len(BOF_OBS)}) (one row per attached "
                f"env), got {batch_obs.shape}"
            )
        # the PID's step updates the estimator with this observation (and nothing else)
        self._pid_actions = np.asarray(self.pid.act(batch_obs), dtype=np.float32)
        self._heat_t = batch_obs[:, BOF_OBS["heat_size"]]
        out = super().act(batch_obs)
        dynamic = self._dynamic()
        out[~dynamic] = self._pid_actions[~dynamic]
        return out

    def _dynamic(self) -> np.ndarray:
        """Rows whose estimator has the sub-lance reading (bath C and T estimated)."""
        est = self.pid.estimator
        return est.sublance & np.isfinite(est.temp) & np.isfinite(est.carbon)

    # process hooks --------------------------------------------------------------------------
    def _position(self, batch: Any) -> tuple[int, int] | None:
        assert self._envs is not None
        i = next(k for k, e in enumerate(self._envs) if e.unwrapped.batch is batch)
        if not self._dynamic()[i]:
            return None  # before the sub-lance: the PID acts, nothing to plan
        return super()._position(batch)

    def _copies(self, batches: list[Any]) -> list[Plants]:
        """Planning copies from the estimated state (the module table), taken now."""
        est = self.pid.estimator
        return [
            estimated_copy(
                b.plants,
                float(est.carbon[i]),
                float(est.temp[i]),
                float(est.feo[i]),
                float(self._heat_t[i]),
            )
            if self._dynamic()[i]
            else rollout.planning_copy(b.plants)  # never planned (inactive in the cost)
            for i, b in enumerate(batches)
        ]
