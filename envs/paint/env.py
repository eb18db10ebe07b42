"""Gymnasium environments of an automotive paint line (basecoat + clearcoat): single and vector.

Physics, sources and calibration: :mod:`envs.paint.physics`, :mod:`envs.paint.oven`,
:mod:`envs.paint.params`; the step: :mod:`envs.paint.core`; every row: :mod:`envs.paint.layout`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.core.config import env_options, resolve_scenario, resolve_variant
from envs.core.params import PlantParams, PlantVariant
from envs.core.shell import BatchEnv, BatchVectorEnv, StepResult
from envs.paint.batch import PaintBatch
from envs.paint.layout import ACTUATORS, N_ACT, OBS_HIGH, OBS_LOW, PRODUCT_KPI, UNIT_KPI, X
from envs.paint.params import PaintLineParams

__all__ = ["PaintEnv", "PaintVectorEnv", "resolve_paint_scenario", "resolve_paint_variant"]

# what a scenario profile may set, and its value when neither profile nor caller sets it
SCENARIO_DEFAULTS = {
    "shift_bodies": None,
    "sensors": None,
    "drifts": None,
    "randomize": False,
    "drift_events": None,
}
BOX_LOW, BOX_HIGH = OBS_LOW.astype(np.float32), OBS_HIGH.astype(np.float32)


def resolve_paint_variant(
    plant: str | Mapping[str, Any] | PlantVariant | PlantParams | None,
) -> PlantVariant:
    """A plant variant from a name in ``envs/conf/plant/``, a YAML path, a mapping or parameters."""
    return resolve_variant(plant, PaintLineParams, default="paint_50jph")


def resolve_paint_scenario(scenario: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """Disturbance profile: a name in ``envs/conf/scenarios/paint/``, a YAML path or a mapping.

    A profile sets any of ``shift_bodies``, ``sensors`` (sensor faults), ``drifts`` (climate,
    paint-lot and wear drifts with scheduled events), ``drift_events`` (their start, size and sign
    drawn per shift: :class:`envs.core.disturbances.DriftEvents`) and ``randomize``; explicit
    env arguments override it.
    """
    return resolve_scenario(scenario, "paint", tuple(SCENARIO_DEFAULTS))


def _batch(n: int, plant: Any, scenario: Any, action_mode: str, **explicit: Any) -> PaintBatch:
    options = env_options(scenario, "paint", SCENARIO_DEFAULTS, **explicit)
    return PaintBatch(resolve_paint_variant(plant), n, action_mode=action_mode, **options)


def body_kpi_dict(row: np.ndarray) -> dict[str, float]:
    """Named KPIs of one painted body (``PRODUCT_KPI`` of :mod:`envs.paint.layout`)."""
    return dict(zip(PRODUCT_KPI.names, row.tolist(), strict=True))  # tolist: Python floats, fast


def shift_kpi_dict(row: np.ndarray) -> dict[str, float]:
    """Named KPIs of one shift (``UNIT_KPI`` of :mod:`envs.paint.layout`)."""
    return dict(zip(UNIT_KPI.names, row.tolist(), strict=True))


class PaintEnv(BatchEnv[PaintBatch]):
    """Automotive topcoat line: rotary-bell basecoat and clearcoat booths, flash-off and oven.

    ## Description
    Car bodies of a mixed-model line pass a waterborne basecoat booth, a heated flash, a 1K
    clearcoat booth and the oven, one body every takt (72 s at 50 jobs per hour). Each booth's
    bells spray a paint flow at a bell speed, shaping air and high voltage; the film that lands
    depends on transfer efficiency, which the booth climate, the paint's viscosity (temperature and
    lot) and the bells' wear move. The agent adjusts the bell settings of both booths, the booth
    climate set-points and the oven set-point to keep each layer's dry film thickness (DFT) in its
    band on every body, with little paint and energy and no defects. It sees what a paint shop
    sees: booth and outdoor climate, paint temperature and cup viscosity, the recipe actuals, the
    next body's style, and the DFT **measured after the oven, 40 bodies late** (the real lag; an
    inline wet-film gauge is a plant option).

    ## Observation Space
    ``Box(35,)`` float32, engineering units:

    | idx | name | unit | min | max |
    |-----|------|------|-----|-----|
    | 0 | booth_temp | degC | 0 | 60 |
    | 1 | booth_rh | %RH | 0 | 100 |
    | 2 | outdoor_temp | degC | -50 | 60 |
    | 3 | outdoor_rh | %RH | 0 | 100 |
    | 4 | paint_temp_base | degC | 0 | 60 |
    | 5 | paint_temp_clear | degC | 0 | 60 |
    | 6 | visc_base | s Zahn#4 | 0 | 150 |
    | 7 | visc_clear | s Zahn#4 | 0 | 150 |
    | 8 | dft_base_measured | um | 0 | 200 |
    | 9 | dft_clear_measured | um | 0 | 200 |
    | 10 | dft_measured_body_style | code | 0 | 2 |
    | 11 | wft_base_inline | um wet | 0 | 500 |
    | 12 | wft_clear_inline | um wet | 0 | 500 |
    | 13 | inline_wft_available | 0/1 | 0 | 1 |
    | 14 | next_style_sedan | 0/1 | 0 | 1 |
    | 15 | next_style_suv | 0/1 | 0 | 1 |
    | 16 | next_style_hatch | 0/1 | 0 | 1 |
    | 17 | base_flow | mL/min | 0 | 600 |
    | 18 | base_bell_speed | krpm | 0 | 70 |
    | 19 | base_shaping_air | NL/min | 0 | 600 |
    | 20 | base_voltage | kV | 0 | 90 |
    | 21 | clear_flow | mL/min | 0 | 600 |
    | 22 | clear_bell_speed | krpm | 0 | 70 |
    | 23 | clear_shaping_air | NL/min | 0 | 600 |
    | 24 | clear_voltage | kV | 0 | 90 |
    | 25 | booth_temp_setpoint | degC | 0 | 60 |
    | 26 | booth_rh_setpoint | %RH | 0 | 100 |
    | 27 | oven_setpoint | degC | 0 | 250 |
    | 28 | oven_air_temp | degC | 0 | 250 |
    | 29 | bodies_since_lot_base | bodies | 0 | 100000 |
    | 30 | bodies_since_lot_clear | bodies | 0 | 100000 |
    | 31 | time_of_day | h | 0 | 24 |
    | 32 | body_index | bodies | 0 | 1e+06 |
    | 33 | dft_target_base | um | 0 | 200 |
    | 34 | dft_target_clear | um | 0 | 200 |

    8–10 are the post-oven gauge's reading of the body painted ``dft_delay_bodies`` steps ago
    (noise ≈ 1.5 µm) and that body's style code (0 sedan, 1 SUV, 2 hatch); 11–13 the inline
    wet-film gauge (0 and flag 0 on plants without one); 14–16 the style of the body painted at
    the next step; 17–27 the actuals the last step applied. No hidden state: the true films,
    transfer efficiencies and defect risks are in ``info`` only.

    ## Action Space
    ``Box(-1, 1, (11,))`` float32. With ``action_mode="adjust"`` (default) an action moves each
    set-point by ``action × span`` around the operator's fixed recipe for the body's style, so
    the zero action reproduces the recipe exactly; with ``"absolute"`` [-1, 1] maps linearly to
    the limits. Nominal plant (``paint_50jph``):

    | idx | name | unit | min | max | adjust span | rate limit per body |
    |-----|------|------|-----|-----|-------------|---------------------|
    | 0 | base_flow | mL/min | 50 | 600 | ±25.6 | — |
    | 1 | base_bell_speed | krpm | 15 | 70 | ±5 | 10 |
    | 2 | base_shaping_air | NL/min | 100 | 600 | ±60 | — |
    | 3 | base_voltage | kV | 30 | 90 | ±10 | — |
    | 4 | clear_flow | mL/min | 50 | 600 | ±16.3 | — |
    | 5 | clear_bell_speed | krpm | 15 | 70 | ±5 | 10 |
    | 6 | clear_shaping_air | NL/min | 100 | 600 | ±70 | — |
    | 7 | clear_voltage | kV | 30 | 90 | ±10 | — |
    | 8 | booth_temp_offset | K | -4 | 4 | ±3 | 0.5 |
    | 9 | booth_rh_offset | %RH | -40 | 25 | ±14.1 | 5 |
    | 10 | oven_setpoint | degC | 120 | 180 | ±5 | 5 |

    The spans are sized to what the process can use (docs/physics/paint.md §2.1), so a full
    action keeps a nominal body inside its quality windows and still covers the documented
    disturbances; the recipe plus PPO's initial exploration noise (σ 0.37 on every dimension)
    keeps its shift return within 10 % (tests/test_paint_exploration.py):

    - flows: ± half the DFT tolerance of film at the mix-weighted recipe flow (base ±10 %,
      clear ±5.6 %; per style ≈ 0.4–0.65 of a band): enough to bring the worst documented
      disturbance (the ``drift`` scenario's clear lot with 10 % less solids, −4.5 µm) back to
      ≈ −2 µm, the inner half of the band, where a DFT miss costs nothing;
    - bell speed ±5 krpm (±11–13 % of the recipe): holds the droplet size (d32 ∝ N^−0.6 μ^0.25)
      against ≈ ±30 % of viscosity, the lot spread's ±3σ [B4] or the ``drift`` scenario's
      +25 % thickening;
    - shaping air ±20 % of the recipe: the range tested on bells, 120–180 L/min [IMECE97];
    - voltage ±10 kV under a 90 kV cap (60–90 kV tested [IMECE97]): the clear recipe (80 kV)
      reaches the cap;
    - booth temperature ±3 K: the booth window ±2.8 K [PF-CC];
    - booth RH ±(10 %RH + the set-point offset that holds the nominal RH against the plant's
      HVAC leak at its mean outdoor climate): the waterborne window ±10 %RH [PF-CC]; 14.1 %RH
      on the nominal plant, 33.6 on ``paint_30jph_dry_inland``, 24.3 on
      ``paint_70jph_hot_humid``;
    - oven ±5 K: a +10 % line speed needs ≈ +4–5 K of oven air (cure equivalence), inside the
      cure window.

    Rule for bad actions: NaN or ±inf raise ``ValueError`` naming the actuator; finite values
    outside [-1, 1] are clipped; a wrong shape raises ``ValueError``.

    ## Reward
    ``reward = −cost / 100`` (EUR) per body. A shift is never ended early, so no horizon-aware
    terminal penalty is needed. Every actuator has a price (docs/physics/paint.md §6.1):

    | term | EUR per body | what pays it |
    |------|--------------|--------------|
    | paint | litres × ``<layer>_price_eur_l`` | flow (TE: voltage, shaping air, droplets, RH) |
    | energy | kWh × ``price_energy_eur_kwh`` | booth HVAC (climate set-points), oven, flash |
    | DFT miss | ``dft_miss_cost_eur`` × P(z) per layer, 0 in the inner half of the band | flow |
    | defects | ``rework_cost_eur`` × (sag + orange peel + dry spray + pop) | speed, climate |
    | high voltage | ``rework_cost_eur`` × ``hv_side_effect_risk`` | voltage above the onset |
    | cure | ``undercure_cost_eur`` × under + ``overbake_cost_eur`` × over | oven set-point |

    ``hv_side_effect_risk`` prices the lever that was free in v0 (it only raised TE): per layer
    0 up to ``<layer>_hv_onset_kv`` (base 65 kV, the recipe: effect flop and clouding
    [Khanna08]; clear 80 kV: Faraday recesses and edge build [PCF]), rising quadratically to
    ``<layer>_hv_risk_at_cap`` (1.5 % / 1 %, est.) at the 90 kV cap.

    ## Starting State
    Each shift starts with the recipe actuals, booth and oven at their set-points and the bodies
    already in the oven painted to target; outdoor weather, paint temperatures, lot multipliers
    and bell wear start at their drift means, the first body's style and the age of the paint lots
    are drawn. ``reset(seed=…)`` determines the whole shift, drifts and lot changes included.

    ## Episode End
    - termination: never (a paint line does not stop by itself).
    - truncation: after ``shift_bodies`` bodies (default one 8-hour shift, 400 bodies at 50 JPH):
      long enough for the daily climate swing, a paint-lot change or two (every ≈ 300 bodies) and
      the 40-body measurement lag to matter, short enough for PPO's rollouts.

    ## Info
    The vocabulary every plantrl env shares (:mod:`envs.core.shell`). Every step:
    ``product_kpi`` (the painted body's true DFT per layer, in-spec flags, TE, paint, energy,
    defect risks, cure; ``PRODUCT_KPI`` of :mod:`envs.paint.layout`), ``truth`` (``body``:
    bodies painted this shift) and ``unit_end``. At the end of a shift: ``unit_end`` True and
    ``unit_kpi`` (``UNIT_KPI`` of :mod:`envs.paint.layout`, Cpk per layer among them).

    The body's 0/1 flags are the in-spec flag per layer and ``cure_ok``. Defects (sag, orange
    peel, dry spray, solvent pop) are reported as the model's per-body probabilities
    (``*_risk``), and their shift means are the expected defect rates: a 0/1 defect flag drawn
    from a risk would add sampling noise and no information, every policy is compared on the
    expected rates, and the cost already prices rework × risk.

    ## Plant Parameters
    :class:`envs.paint.params.PaintLineParams`, one frozen dataclass with unit, range and source
    per field; variants in ``envs/conf/plant/paint_*.yaml``.

    ## Arguments
    - ``plant``: variant name (default ``"paint_50jph"``), YAML path, mapping or parameters.
    - ``scenario``: disturbance profile in ``envs/conf/scenarios/paint/`` (``"nominal"``,
      ``"drift"``, ``"sensor_faults"``), a YAML path or a mapping; explicit arguments below
      override it.
    - ``action_mode``: ``"adjust"`` or ``"absolute"``.
    - ``shift_bodies``: bodies per episode.
    - ``randomize``: draw plant parameters from the variant's ranges per shift (default off).
    - ``sensors``: sensor overrides, e.g. ``{"dft_base": {"dropout_prob": 0.2}}``.
    - ``drifts``: drift overrides, e.g. ``{"visc_base": {"event_start": 100,
      "event_magnitude": 0.15}}`` (see :func:`envs.paint.layout.default_drifts`).
    - ``render_mode``: ``"rgb_array"`` plots DFT per body against the bands, climate and actions.

    >>> import gymnasium as gym, envs
    >>> env = gym.make("plantrl/PaintLine-v1", plant="paint_50jph", scenario="nominal")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape
    (35,)

    ## Version History
    - v1 (issue 12, "Plants v2"): physics — one climate path (in-flight evaporation at the
      droplet's wet-bulb temperature against a fixed reference climate), log-ratio defect risks
      calibrated to the sourced booth window (no cliffs), a sourced cure window with the recipe
      at 1.25× the reference dose and oven/flash dwell following line speed, no NaN at the
      documented parameter bounds; actions — adjust spans sized to the process windows (flows ±
      half a DFT band, bell ±5 krpm, shaping air ±20 %, voltage ±10 kV up to 90 kV, booth ±3 K and
      ±(10 %RH + leak offset), oven ±5 K); reward — bell high voltage priced by its side-effect
      risk above an onset; noise — a counter-based random stream per plant (vector sub-env i
      seeded with seed + i).
    - v0: first release.
    """

    def __init__(
        self,
        plant: Any = None,
        *,
        scenario: Any = None,
        action_mode: str = "adjust",
        shift_bodies: int | None = None,
        randomize: bool | None = None,
        sensors: Mapping[str, Mapping[str, Any]] | None = None,
        drifts: Mapping[str, Mapping[str, Any]] | None = None,
        render_mode: str | None = None,
    ) -> None:
        batch = _batch(
            1,
            plant,
            scenario,
            action_mode,
            shift_bodies=shift_bodies,
            randomize=randomize,
            sensors=sensors,
            drifts=drifts,
        )
        self.variant = batch.variant
        super().__init__(batch, BOX_LOW, BOX_HIGH, N_ACT, render_mode)

    @property
    def params(self) -> PaintLineParams:
        """Parameters of the shift being painted (after randomisation)."""
        names = PaintLineParams.field_names()
        return PaintLineParams.from_dict(dict(zip(names, self.batch.params[0], strict=True)))

    def _truth(self) -> dict[str, float]:
        return {"body": float(self.batch.bodies[0])}

    def _unit_kpi(self, row: np.ndarray) -> dict[str, float]:
        return shift_kpi_dict(row)

    def _product_kpi(self, unit_end: bool) -> dict[str, float] | None:
        return body_kpi_dict(self.batch.body_kpi[0])  # one body is painted every step

    def _snapshot(self) -> dict[str, float]:
        """Body KPIs and actuals for the plot (the reset snapshot has actuals only)."""
        snap = body_kpi_dict(self.batch.body_kpi[0]) if self.batch.bodies[0] else {}
        snap["body"] = float(self.batch.bodies[0])
        names = ACTUATORS.names
        snap.update({f"act/{n}": float(v) for n, v in zip(names, self._actuals(), strict=True)})
        return snap

    def _actuals(self) -> np.ndarray:
        return self.batch.state[0, X.act : X.act + N_ACT].copy()

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        from envs.paint.render import render_shift

        return render_shift(self._history, self.params)


class PaintVectorEnv(BatchVectorEnv[PaintBatch]):
    """``num_envs`` paint lines stepped in one call of the compiled core (Gymnasium ``VectorEnv``).

    Same arguments, spaces, reward and episode rules as :class:`PaintEnv`; autoreset as described
    in :mod:`envs.core.shell` (``next_step`` default, ``same_step`` for SB3). Per-body KPIs stay in
    the batch (:attr:`PaintBatch.body_kpi`): building them into infos for thousands of plants at
    every step would cost more than the physics. When a shift ends its summary appears as
    ``unit_kpi/<name>`` (``UNIT_KPI`` of :mod:`envs.paint.layout`) with ``unit_end`` masks.
    Seeding as in Gymnasium: ``reset(seed=s)`` seeds line i with ``s + i``, ``reset(seed=[…])``
    one seed (or None) per line; each line draws from its own stream, so line i equals a
    :class:`PaintEnv` reset with its seed, and the env equals ``vectorization_mode="sync"``
    (tested).
    """

    def __init__(
        self,
        num_envs: int = 1,
        plant: Any = None,
        *,
        scenario: Any = None,
        action_mode: str = "adjust",
        shift_bodies: int | None = None,
        randomize: bool | None = None,
        sensors: Mapping[str, Mapping[str, Any]] | None = None,
        drifts: Mapping[str, Mapping[str, Any]] | None = None,
        autoreset_mode: str = "next_step",
        render_mode: str | None = None,
    ) -> None:
        batch = _batch(
            num_envs,
            plant,
            scenario,
            action_mode,
            shift_bodies=shift_bodies,
            randomize=randomize,
            sensors=sensors,
            drifts=drifts,
        )
        self.variant = batch.variant
        super().__init__(batch, BOX_LOW, BOX_HIGH, N_ACT, autoreset_mode, render_mode)

    def _unit_kpi_table(
        self, result: StepResult, mask: np.ndarray
    ) -> tuple[tuple[str, ...], np.ndarray]:
        """Summaries of the shifts that ended (NaN elsewhere)."""
        return UNIT_KPI.names, np.where(mask, result.kpi.T, np.nan)
