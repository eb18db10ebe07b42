"""N BOF plants stepped in one call of the compiled core: the engine behind the env shells.

``BOFBatch`` owns the per-plant arrays (parameters, state, sensor and drift states), draws every
random number with one ``np.random.Generator`` (one vectorised call per step for the sensor
noise words, see :mod:`envs.core.noise`; one per group of heat starts), and calls
:mod:`envs.steel.core`. The single env is a batch of one and the vector env a batch of N, so
both run the same code with the same draws: a single env reset with seed ``s`` and a vector env
of one plant reset with seed ``s`` give identical trajectories (tested, also with
``NUMBA_DISABLE_JIT=1``).

Campaign mode: one episode is ``campaign_heats`` consecutive heats. Slow drifts (lance wear,
refractory wear, scrap quality; :data:`DEFAULT_CAMPAIGN_DRIFTS`) move multipliers of plant
parameters from heat to heat, and the observation carries the last heat's tapping analysis, so a
drift that starts in one heat can be seen and corrected in the next ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.core.actions import ActionScaler, ActuatorSpec
from envs.core.disturbances import DriftBank, DriftSpec, drift_bank_reset, drift_bank_step
from envs.core.noise import draw_bits
from envs.core.params import PlantVariant
from envs.core.sensors import SensorBank, SensorSpec, merge_specs
from envs.core.shell import StepResult
from envs.steel import core
from envs.steel.params import BOFParams

__all__ = [
    "DEFAULT_CAMPAIGN_DRIFTS",
    "OBS_TABLE",
    "BOFBatch",
    "actuator_specs",
    "default_sensors",
]

# drift name -> the BOFParams field it multiplies (campaign mode)
DRIFT_TARGETS = {
    "lance_wear_kc": "kc_per_min",
    "lance_wear_fe": "affinity_fe",
    "refractory_heat_loss": "heat_loss_k_min",
    "scrap_quality": "scrap_melt_mj_kg",
    "hot_metal_si": "hm_si_pct",
}
# per-heat drifts over a campaign; magnitudes est.: refractory heat loss +30–50 % over a
# campaign of a few thousand heats (PHYSICS.md variants), here compressed into an episode
DEFAULT_CAMPAIGN_DRIFTS: dict[str, dict[str, float]] = {
    "lance_wear_kc": {
        "ou_theta": 0.05,
        "ou_sigma": 0.01,
        "trend_per_step": -0.002,
        "low": 0.5,
        "high": 1.5,
    },
    "lance_wear_fe": {
        "ou_theta": 0.05,
        "ou_sigma": 0.01,
        "trend_per_step": 0.003,
        "low": 0.5,
        "high": 2.0,
    },
    "refractory_heat_loss": {"trend_per_step": 0.01, "low": 0.5, "high": 2.0},
    "scrap_quality": {"ou_theta": 0.1, "ou_sigma": 0.02, "low": 0.7, "high": 1.3},
    "hot_metal_si": {"ou_theta": 0.1, "ou_sigma": 0.04, "low": 0.3, "high": 2.0},
}


# name, unit, low, high — the observation layout of core.observe (documented in BOFEnv)
OBS_TABLE: tuple[tuple[str, str, float, float], ...] = (
    ("blow_time", "min", 0.0, 40.0),
    ("oxygen_blown", "Nm3/t", 0.0, 120.0),
    ("oxygen_flow", "Nm3/(t min)", 0.0, 6.0),
    ("lance_height", "m", 0.0, 4.0),
    ("offgas_decarb_rate", "kg C/(t min)", 0.0, 10.0),
    ("offgas_pcr", "-", 0.0, 1.0),
    ("slag_foam_index", "-", 0.0, 5.0),
    ("ore_added", "kg/t", 0.0, 400.0),
    ("lime_added", "kg/t", 0.0, 500.0),
    ("hm_c", "wt%", 0.0, 6.0),
    ("hm_si", "wt%", 0.0, 3.0),
    ("hm_mn", "wt%", 0.0, 2.0),
    ("hm_p", "wt%", 0.0, 1.0),
    ("hm_temp", "degC", 1000.0, 1600.0),
    ("hot_metal_ratio", "-", 0.0, 1.0),
    ("heat_size", "t", 0.0, 400.0),
    ("oxygen_planned", "Nm3/t", 0.0, 120.0),
    ("oxygen_end_target", "Nm3/t", 0.0, 120.0),
    ("sublance_taken", "-", 0.0, 1.0),
    ("sublance_c", "wt%", 0.0, 6.0),
    ("sublance_temp", "degC", 0.0, 2000.0),
    ("last_tap_valid", "-", 0.0, 1.0),
    ("last_tap_c", "wt%", 0.0, 6.0),
    ("last_tap_temp", "degC", 0.0, 2000.0),
    ("last_tap_p", "wt%", 0.0, 1.0),
    ("heat_in_campaign", "-", 0.0, 10000.0),
)
OBS_LOW = np.array([r[2] for r in OBS_TABLE], dtype=np.float64)
OBS_HIGH = np.array([r[3] for r in OBS_TABLE], dtype=np.float64)


def default_sensors(params: BOFParams) -> dict[str, SensorSpec]:
    """Per-step signals and their sensor models (order = ``core.SIGNAL_NAMES``)."""
    return {
        "oxygen_flow": SensorSpec(noise_rel=0.0, low=0.0, high=6.0),
        "lance_height": SensorSpec(low=0.0, high=4.0),
        "offgas_decarb_rate": SensorSpec(
            noise_rel=params.offgas_noise_rel, delay_s=params.offgas_delay_s, low=0.0, high=10.0
        ),
        "offgas_pcr": SensorSpec(noise_std=0.01, delay_s=params.offgas_delay_s, low=0.0, high=1.0),
        "slag_foam": SensorSpec(noise_std=0.1, low=0.0, high=5.0),
    }


def actuator_specs(params: BOFParams, dt_s: float) -> list[ActuatorSpec]:
    """The five actuators of one plant with limits from the compiled core (single source)."""
    lo, hi, span, rate = (np.empty(core.N_ACT) for _ in range(4))
    core.actuator_limits(params.to_array(), lo, hi, span, rate, dt_s)
    names = ("oxygen_flow", "lance_height", "ore_feed", "lime_feed", "end_oxygen")
    units = ("Nm3/min", "m", "kg/min", "kg/min", "Nm3")
    span[core.A_END] = 1.0  # adjust span of the end target is ±15 % of the plan, set per heat
    return [
        ActuatorSpec(n, u, float(a), float(b), rate_limit=float(r), adjust_span=float(s))
        for n, u, a, b, r, s in zip(names, units, lo, hi, rate, span, strict=True)
    ]


class BOFBatch:
    """State and stepping of ``n_plants`` BOF plants.

    Args:
        variant: plant variant (parameters and randomisation ranges).
        n_plants: number of plants stepped together.
        action_mode: ``"adjust"`` (around standard practice) or ``"absolute"``.
        dt_s: control step, s.
        campaign_heats: heats per episode (1 = one blow per episode).
        randomize: draw plant parameters from the variant's ranges at each episode start.
        sensors: overrides of the default sensor specs, ``{signal: {field: value}}``.
        drifts: campaign drift specs ``{drift: {field: value}}`` (default: built-in set).
    """

    def __init__(
        self,
        variant: PlantVariant,
        n_plants: int = 1,
        *,
        action_mode: str = "adjust",
        dt_s: float = 10.0,
        campaign_heats: int = 1,
        randomize: bool = False,
        sensors: Mapping[str, Mapping[str, Any]] | None = None,
        drifts: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        if not isinstance(variant.params, BOFParams):
            raise TypeError(f"BOF plants need BOFParams, got {type(variant.params).__name__}")
        if n_plants < 1 or int(n_plants) != n_plants:
            raise ValueError(f"n_plants must be a positive integer, got {n_plants!r}")
        if campaign_heats < 1 or int(campaign_heats) != campaign_heats:
            raise ValueError(f"campaign_heats must be a positive integer, got {campaign_heats!r}")
        if not 1.0 <= dt_s <= 30.0:
            raise ValueError(
                f"dt_s = {dt_s} s is outside [1, 30] s (the model is validated "
                "for 1–30 s control steps)"
            )
        self.variant, self.n, self.dt_s = variant, int(n_plants), float(dt_s)
        self.campaign_heats = int(campaign_heats)
        self.randomize = variant.draws_parameters(bool(randomize))
        params: BOFParams = variant.params
        self.scaler = ActionScaler(actuator_specs(params, dt_s), action_mode)
        self.sensors = SensorBank(
            merge_specs(default_sensors(params), sensors, SensorSpec, "sensor"), dt_s
        )
        drift_specs = DEFAULT_CAMPAIGN_DRIFTS if drifts is None else drifts
        unknown = sorted(set(drift_specs) - set(DRIFT_TARGETS))
        if unknown:
            raise ValueError(f"unknown drift(s) {unknown}; valid drifts: {sorted(DRIFT_TARGETS)}")
        self.drifts = DriftBank({k: DriftSpec.from_dict(v) for k, v in drift_specs.items()})
        self._drift_param_idx = np.array(
            [BOFParams.index(DRIFT_TARGETS[k]) for k in self.drifts.names], dtype=np.int64
        )
        self._no_drift_cols = np.zeros(0, dtype=np.int64)
        self.max_steps = math.ceil(core.MAX_BLOW_MIN * 60.0 / dt_s)
        self.base_params = np.tile(params.to_array(), (self.n, 1))
        self._rand_lo, self._rand_hi = variant.randomization_arrays()
        self.params = self.base_params.copy()
        self.derived = np.zeros((self.n, core.N_DERIVED))
        core.derive_batch(self.params, self.dt_s, self.derived)
        # parameters change only by randomisation (per episode) or campaign drifts (per heat)
        self._params_vary = self.randomize or self.campaign_heats > 1
        self.state = np.zeros((self.n, core.N_STATE))
        self.sensor_state = self.sensors.new_state(self.n)
        self.drift_state = self.drifts.new_state(self.n)
        self.drift_values = np.ones((self.n, self.drifts.n_drifts))
        self.obs = np.zeros((self.n, core.N_OBS), dtype=np.float32)
        self.truth = np.zeros((self.n, core.N_TRUTH))
        self.heats_done = np.zeros(self.n, dtype=np.int64)
        self.kpi = np.zeros((self.n, core.N_KPI))
        self._actions = np.zeros((self.n, core.N_ACT))  # checked actions of the step, float64
        self._scratch = core.step_scratch(self.n)
        self._all_active = np.ones(self.n, dtype=np.bool_)
        self.want_truth = self.n == 1  # the single env reports the true state in its info

    def reset_plants(self, idx: np.ndarray, rng: np.random.Generator) -> None:
        """Start a new episode (campaign) for plants ``idx``."""
        idx = np.asarray(idx, dtype=np.int64)
        if self.randomize:
            u = rng.random((idx.size, self.base_params.shape[1]))
            self.base_params[idx] = self._rand_lo + u * (self._rand_hi - self._rand_lo)
        if self.campaign_heats > 1:  # drifts act only across the heats of a campaign
            for i in idx:
                drift_bank_reset(self.drifts.cfg, self.drift_state[i], self.drift_values[i])
        self._start_heats(idx, rng, new_episode=True)

    def _advance_drifts(self, idx: np.ndarray, rng: np.random.Generator) -> None:
        z = draw_bits(rng, idx.size, self.drifts.n_noise)
        for k, i in enumerate(idx):
            drift_bank_step(
                self.drifts.cfg,
                self.drifts.noise_cols,
                self.drift_state[i],
                z[k],
                self.drift_values[i],
            )

    def _start_heats(self, idx: np.ndarray, rng: np.random.Generator, new_episode: bool) -> None:
        """Charge the next heat (the first of a campaign with ``new_episode``) into ``idx``."""
        campaign = self.campaign_heats > 1
        if campaign and not new_episode:
            self._advance_drifts(idx, rng)
        z_heat = rng.standard_normal((idx.size, core.N_HEAT_NOISE))
        core.reset_batch(
            self.base_params,
            self.params,
            self.derived,
            self.state,
            self.heats_done,
            idx,
            new_episode,
            self._params_vary,
            self._drift_param_idx if campaign else self._no_drift_cols,
            self.drift_values,
            z_heat,
            self.sensors.cfg,
            self.sensor_state,
            self.dt_s,
            OBS_LOW,
            OBS_HIGH,
            self.obs,
            self.truth,
        )

    def check_actions(self, actions: Any) -> np.ndarray:
        """Actions as float64 (n, 5); ValueError for a wrong shape or NaN/inf (names the plant).

        Finite values outside [-1, 1] are clipped inside the compiled step (documented rule).
        """
        return self.scaler.validate_batch(actions, self.n, self._actions)

    def step(
        self,
        actions: np.ndarray,
        rng: np.random.Generator,
        active: np.ndarray | None = None,
        obs_out: np.ndarray | None = None,
    ) -> StepResult:
        """Advance every (active) plant one control step with checked actions (n, 5).

        Sensor noise is drawn for active plants only, so a plant that sits out a step (Gymnasium
        next-step autoreset) consumes exactly the draws a single env's ``reset`` would.

        Returns:
            A :class:`StepResult` (new arrays, the kpi table excepted) whose units are heats
            (never truncated: every blow ends by itself); ``obs`` and ``truth`` are updated in
            place, and every row of ``obs`` is also written to ``obs_out`` if given (what a
            vector env returns). For plants whose heat ended but whose campaign goes on, the
            next heat is already charged and ``obs`` shows it; ``kpi`` rows hold the ended
            heats' KPIs.
        """
        if active is None:
            active = self._all_active
            n_active = self.n
        else:
            n_active = int(active.sum())
        noise = draw_bits(rng, n_active, self.sensors.n_noise)  # table normals in the kernel
        # the step writes every plant's reward and end flag: new arrays, returned as they are
        reward, heat_end = np.empty(self.n), np.empty(self.n, dtype=np.bool_)
        n_ended = core.step_batch(
            self.params,
            self.derived,
            self.state,
            actions,
            self.scaler.mode_code,
            self.sensors.cfg,
            self.sensors.noise_cols,
            self.sensor_state,
            noise,
            self.dt_s,
            OBS_LOW,
            OBS_HIGH,
            self.obs,
            self.obs if obs_out is None else obs_out,
            reward,
            heat_end,
            self.kpi,
            self.max_steps,
            active,
            self._scratch,
        )
        if self.want_truth:  # the single env reports the true state in its info
            core.truth_batch(self.state, self.truth)
        never = np.zeros(self.n, dtype=np.bool_)  # a blow is never truncated
        if n_ended == 0 or self.campaign_heats == 1:  # no heat ended, or each ends its episode
            if n_ended:
                self.heats_done[heat_end] += 1
            return StepResult(reward, heat_end, heat_end, never, self.kpi, n_ended)
        episode_end = heat_end.copy()
        ended = np.flatnonzero(heat_end)
        self.heats_done[ended] += 1
        go_on = ended[self.heats_done[ended] < self.campaign_heats]
        if go_on.size:
            episode_end[go_on] = False
            self._start_heats(go_on, rng, new_episode=False)
            if obs_out is not None:
                obs_out[go_on] = self.obs[go_on]
        return StepResult(reward, heat_end, episode_end, never, self.kpi, n_ended)
