"""Gymnasium environments of the basic-oxygen-furnace blow: single plant and native vector env.

Physics, sources and calibration: :mod:`envs.steel.physics`, :mod:`envs.steel.params`; the array
layouts the tables below document: :mod:`envs.steel.layout`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.core.config import env_options, resolve_scenario, resolve_variant
from envs.core.params import PlantParams, PlantVariant
from envs.core.shell import BatchEnv, BatchVectorEnv, StepResult
from envs.steel.batch import BOFBatch
from envs.steel.layout import ACTUATORS, HIT_FLAG_NAMES, OBSERVATION, TRUTH, UNIT_KPI, X
from envs.steel.params import BOFParams
from envs.steel.scoring import heat_kpi_table, kpi_dict

__all__ = ["BOFEnv", "BOFVectorEnv", "resolve_bof_scenario", "resolve_bof_variant"]

# what a scenario profile may set, and its value when neither profile nor caller sets it
SCENARIO_DEFAULTS = {
    "campaign_heats": 1,
    "sensors": None,
    "drifts": None,
    "randomize": False,
    "drift_events": None,
}

OBS_LOW = OBSERVATION.low.astype(np.float32)
OBS_HIGH = OBSERVATION.high.astype(np.float32)


def resolve_bof_variant(
    plant: str | Mapping[str, Any] | PlantVariant | PlantParams | None,
) -> PlantVariant:
    """A plant variant from a name in ``envs/conf/plant/``, a YAML path, a mapping or parameters."""
    return resolve_variant(plant, BOFParams, default="bof_250t")


def resolve_bof_scenario(scenario: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """Disturbance profile: a name in ``envs/conf/scenarios/bof/``, a YAML path or a mapping.

    A profile sets any of ``campaign_heats``, ``sensors`` (sensor faults), ``drifts`` (campaign
    drifts and scheduled events), ``drift_events`` (their start, size and sign drawn per campaign:
    :class:`envs.core.disturbances.DriftEvents`) and ``randomize``; explicit env arguments
    override it.
    """
    return resolve_scenario(scenario, "bof", tuple(SCENARIO_DEFAULTS))


def _env_options(scenario: Any, **explicit: Any) -> dict[str, Any]:
    """Scenario profile overridden by the arguments the caller set explicitly (not None)."""
    return env_options(scenario, "bof", SCENARIO_DEFAULTS, **explicit)


class BOFEnv(BatchEnv[BOFBatch]):
    """Basic-oxygen-furnace (LD converter) main blow, one control step every ``dt_s`` seconds.

    ## Description
    A heat of hot metal and scrap is blown with oxygen through a top lance. Carbon, silicon,
    manganese and phosphorus oxidise, iron is lost to the slag when the blow goes on too long, and
    the bath heats from ≈ 1350 to ≈ 1650 °C. The agent adjusts oxygen flow, lance height, ore
    (coolant) and lime feed, and decides when the blow ends (through the end-oxygen target), to
    tap at the carbon and temperature aims with phosphorus in spec, little iron lost and no
    slopping. It sees only what a melt shop sees: delayed, noisy off-gas analysis, the charge
    analysis, and one in-blow sub-lance measurement shortly before the end.

    ## Observation Space
    ``Box(26,)`` float32, engineering units (per-tonne quantities so that layouts and scales are
    the same for every plant variant); event readings (18–24) are deviations from the aims in
    band units. The last column says how each entry behaves under a running normaliser (SB3's
    ``VecNormalize``): its std over every observation of 40 nominal practice heats (seeds
    600000…, 10-s steps; campaign entries from 8-heat campaigns), and what one unit of the
    entry is in normalised units:

    | idx | name | unit | min | max | std under the practice → one unit is |
    |-----|------|------|-----|-----|--------------------------------------|
    | 0 | blow_time | min | 0 | 40 | 4.7 min → 1 min = 0.21 |
    | 1 | oxygen_blown | Nm3/t | 0 | 120 | 15 → 1 Nm³/t = 0.07 |
    | 2 | oxygen_flow | Nm3/(t min) | 0 | 6 | 0 (constant practice): any trim is large |
    | 3 | lance_height | m | 0 | 4 | 0.21 m → 0.1 m = 0.48 |
    | 4 | offgas_decarb_rate | kg C/(t min) | 0 | 10 | 0.74 → 0.1 = 0.14 |
    | 5 | offgas_pcr | - | 0 | 1 | 0.016 → 0.01 = 0.63 |
    | 6 | slag_foam_index | - | 0 | 5 | 0.29 → 0.1 = 0.35 |
    | 7 | ore_added | kg/t | 0 | 400 | 2.8 → 1 kg/t = 0.36 |
    | 8 | lime_added | kg/t | 0 | 500 | 15 → 1 kg/t = 0.07 |
    | 9 | hm_c | wt% | 0 | 6 | 0.13 (heat to heat) → 0.1 % = 0.8 |
    | 10 | hm_si | wt% | 0 | 3 | 0.09 → 0.1 % = 1.1 |
    | 11 | hm_mn | wt% | 0 | 2 | 0.03 |
    | 12 | hm_p | wt% | 0 | 1 | 0.01 |
    | 13 | hm_temp | degC | 1000 | 1600 | 17 K → 10 K = 0.6 |
    | 14 | hot_metal_ratio | - | 0 | 1 | 0.004 |
    | 15 | heat_size | t | 0 | 400 | 0 per plant (the normaliser's ε keeps it finite) |
    | 16 | oxygen_planned | Nm3/t | 0 | 120 | 1.2 → 1 Nm³/t = 0.8 |
    | 17 | oxygen_end_target | Nm3/t | 0 | 120 | as 16 unless steered |
    | 18 | sublance_taken | - | 0 | 1 | flag, 1 in 16 % of the steps: 0.37 |
    | 19 | sublance_c_dev | band | -5 | 250 | 11 (≈ 30 bands when taken) → a band = 0.09 |
    | 20 | sublance_temp_dev | band | -40 | 40 | 1.8 (≈ −4.7 when taken) → a band = 0.56 |
    | 21 | last_tap_valid | - | 0 | 1 | flag: 0.33 in campaigns |
    | 22 | last_tap_c_dev | band | -5 | 250 | 2.6 in campaigns → a band = 0.39 |
    | 23 | last_tap_temp_dev | band | -40 | 40 | 1.5 in campaigns → a band = 0.68 |
    | 24 | last_tap_p_dev | band | -10 | 100 | 0.8 in campaigns → a band = 1.2 |
    | 25 | heat_in_campaign | - | 0 | 10000 | grows across a campaign (2.3 over 8 heats) |

    Off-gas signals (4, 5) are delayed by ``offgas_delay_s`` and noisy; 2, 3 are the actual
    actuator values; 9–13 the hot-metal analysis at charge with its errors. The sub-lance is
    taken at ``sublance_o2_frac`` of the planned oxygen (σ_C ≈ 0.017 wt% [S18], σ_T 8 K); 19–20
    code its reading as deviations from the aims in band units (``layout.BAND_C``, ``BAND_T``)
    and are 0 while 18 is 0, so that a running normaliser, whose std is set by the readings'
    spread and not by a jump from 0 to ≈ 1600 °C, keeps a ±15 K band at ≈ 0.6 normalised units
    (v1 coded raw °C: std ≈ 550 K, the band 0.026 units). The carbon reading stays coarse
    (a band ≈ 0.09 units): at 85 % of the plan the bath is still ≈ 30 bands above the aim and
    its spread (≈ 4 bands) is what the normaliser sees. 22–24 carry the last heat's tap
    analysis the same way in campaign mode (0 and flag 21 = 0 before the first tap). No hidden
    state is observed: bath C, T and slag FeO must be inferred.

    ## Action Space
    ``Box(-1, 1, (5,))`` float32. With ``action_mode="adjust"`` (default) the zero action
    reproduces standard practice exactly, and every lever is a trim a Gaussian explorer can use
    without breaking the heat (zero-mean noise adds no material on average and cannot end the
    blow early); with ``"absolute"`` [-1, 1] maps linearly to the limits. Limits for the nominal
    250 t plant (they scale with heat size):

    | idx | name | unit | min | max | adjust mode: action a means | rate per 10 s |
    |-----|------|------|-----|-----|-----------------------------|---------------|
    | 0 | oxygen_flow | Nm3/min | 480 | 1040 | practice ± 200·a | 120 |
    | 1 | lance_height | m | 1.2 | 3.2 | practice ± 0.6·a | 1.0 |
    | 2 | ore_feed | kg/min | 0 | 1500 | trim ± a·min(10 kg/t, plan); coolant late | — |
    | 3 | lime_feed | kg/min | 0 | 5000 | trim ± a·min(20 kg/t, plan) | — |
    | 4 | end_oxygen | Nm3 | 0 | 18750 | command plan·(1 ± 0.15·db(a)) | 1 % of plan |

    - **Feeders** (``core.ORE_TRIM_KG_T``, ``LIME_TRIM_KG_T``): inside the practice window (ore
      10–50 %, lime 0–30 % of the planned oxygen) a held action a changes the heat's total by
      ``a · min(trim, plan)`` kg, fed at the practice's pace: symmetric, so zero-mean noise adds
      nothing (v1 clipped at 0: +15 kg/t lime and +5.5 kg/t ore under σ 0.37). The part of an
      upward trim a small plan cannot mirror, and the coolant ore after the sub-lance (up to
      ±750 kg/min, the dynamic stage's correction), go through the dead band ``db``: nothing
      for |a| ≤ 0.5, linear to the full span at |a| = 1 (noise of σ 0.37 leaves ≈ 3 % of it).
      Elsewhere the feeders are off.
    - **End of blow**: the blow ends when the blown oxygen reaches the end target (a shop's
      dynamic stage corrects the oxygen volume after the sub-lance). The target is a state: it
      follows the command ``plan·(1 + 0.15·db(a))`` at ≤ 6 % of the plan per minute, and before
      the sub-lance reading it stays ≥ (``sublance_o2_frac`` + 0.05) × plan. So a noisy command
      cannot end a blow at the first passage of its lowest draw (v1: half the blows under σ
      0.37 ended below 0.95 × plan), no blow ends before the sub-lance, and a controller still
      reaches any stop between the sub-lance and 1.15 × plan (``core.END_*`` constants).

    Rule for bad actions: NaN or ±inf raise ``ValueError`` naming the actuator; finite values
    outside [-1, 1] are clipped; a wrong shape raises ``ValueError``.

    ## Reward
    ``reward = −cost / 1000`` (kEUR) per step, with cost = oxygen + ore + lime (prices in the
    plant parameters) + value of iron oxidised into the slag (net of reduction) + safety terms
    (slag foam above ``foam_limit``: slopping; bath above ``temp_limit_c``), and at the end of a
    heat ``miss_cost × [huber(ΔC/0.02) + huber(ΔT/15) + max(0, P − spec)/0.005]`` plus the
    off-grade step costs (``offgrade_p_eur_t`` × heat size for P over spec, ``reblow_eur`` for C
    above or T below its band, ``recarb_eur`` for C below or T above it;
    :func:`envs.steel.scoring.offgrade_cost`). C and T are the tap measurement — the tap
    sample's lab analysis (σ ``tap_c_sd_pct``) and an immersion thermocouple (σ
    ``tap_temp_sd_c``), not the sub-lance — and P the bath's. Horizon-aware rule: a blow ended
    with carbon above 0.4 wt% (abandoned, not tapped) also pays every off-grade step and the
    worst possible running cost of every step the blow could still have run (to the forced end
    at minimum flow), so ending early never pays (tested).

    ## Starting State
    Hot-metal C, Si, Mn, P, temperature and the scrap weight vary heat to heat (normal, sd in the
    plant parameters); the static charge balance plans oxygen, ore and lime from the *measured*
    analysis. ``reset(seed=…)`` determines the whole episode, campaign drifts included.

    ## Episode End
    - termination: the blow ends (end target reached), or is forced to end at 1.5× the planned
      oxygen or 35 min; in campaign mode only after the last of ``campaign_heats`` heats.
    - truncation: never (every blow ends by itself within 210 steps of 10 s).

    ## Info
    The vocabulary every plantrl env shares (:mod:`envs.core.shell`). Every step: ``truth``
    (true bath C, T, slag FeO and P, the heat's running cost and the heats done; never observed)
    and ``unit_end``. When a heat ends (the unit and the product of a BOF): ``unit_end`` True,
    ``unit_kpi`` and ``product_kpi`` (:data:`envs.steel.layout.UNIT_KPI` plus hit flags at the
    docs/physics/bof.md §6 bands on the tap measurement, :data:`envs.steel.layout.HIT_FLAG_NAMES`;
    the rates a perfect endpoint would score: :func:`envs.steel.hit_rate_ceiling`).

    ## Plant Parameters
    :class:`envs.steel.params.BOFParams`, one frozen dataclass with unit, range and source per
    field (``BOFParams.doc_table()``); variants in ``envs/conf/plant/bof_*.yaml``.

    ## Arguments
    - ``plant``: variant name in ``envs/conf/plant/`` (default ``"bof_250t"``), YAML path,
      mapping or ``BOFParams``.
    - ``scenario``: disturbance profile in ``envs/conf/scenarios/bof/`` (``"nominal"``, ``"drift"``:
      20-heat campaign with a lance-wear event at heat 5, ``"sensor_faults"``), a YAML path or a
      mapping; explicit arguments below override it.
    - ``action_mode``: ``"adjust"`` or ``"absolute"``.
    - ``dt_s``: control step in s (default 10).
    - ``campaign_heats``: heats per episode (default 1, or the scenario's).
    - ``randomize``: draw plant parameters from the variant's ranges per episode (default off).
    - ``sensors``: sensor overrides, e.g. ``{"offgas_decarb_rate": {"dropout_prob": 0.1}}``.
    - ``drifts``: campaign drift specs (see :func:`envs.steel.layout.default_drifts`).
    - ``render_mode``: ``"rgb_array"`` plots the blow.

    >>> import gymnasium as gym, envs
    >>> env = gym.make("plantrl/BOF-v2", plant="bof_250t", scenario="nominal")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape
    (26,)

    ## Version History
    - v2 (issue 12, "Plants v2"): physics — the last step of a blow runs only up to the end
      target (endpoint independent of the control step), exact FeO and implicit Mn/P slag
      balances (no saw-tooth), critical carbon ≈ 0.30 wt% (``kc_per_min`` 0.7 with an emulsion
      FeO-reduction path), scrap melting by superheat and carbon in two plate classes, feeds
      paced by the blown oxygen, operator's static model refitted; actions — a bounded,
      rate-limited end-oxygen target floored before the sub-lance, symmetric ore/lime trims in
      kg/t; observation — sub-lance and last-tap readings as deviations from the aims in band
      units with taken/valid flags; reward — the tap scored on the tap analysis (σ 0.004 wt% C,
      4 K) and off-grade outcomes priced (re-blow, recarburisation, P downgrade); noise — a
      counter-based random stream per plant (vector sub-env i seeded with seed + i).
    - v1: sensor noise and campaign-drift innovations come from 16-bit table normals
      (:mod:`envs.core.noise`, 7–9× cheaper draws); physics, reward and layouts unchanged, the
      noise of a given seed differs from v0.
    - v0: first release.
    """

    def __init__(
        self,
        plant: Any = None,
        *,
        scenario: Any = None,
        action_mode: str = "adjust",
        dt_s: float = 10.0,
        campaign_heats: int | None = None,
        randomize: bool | None = None,
        sensors: Mapping[str, Mapping[str, Any]] | None = None,
        drifts: Mapping[str, Mapping[str, Any]] | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.variant = resolve_bof_variant(plant)
        options = _env_options(
            scenario,
            campaign_heats=campaign_heats,
            randomize=randomize,
            sensors=sensors,
            drifts=drifts,
        )
        batch = BOFBatch(self.variant, 1, action_mode=action_mode, dt_s=dt_s, **options)
        super().__init__(batch, OBS_LOW, OBS_HIGH, len(ACTUATORS), render_mode)

    @property
    def params(self) -> BOFParams:
        """Parameters of the heat being blown (after randomisation and drifts)."""
        return BOFParams.from_dict(
            dict(zip(BOFParams.field_names(), self.batch.params[0], strict=True))
        )

    def _truth(self) -> dict[str, float]:
        """True state of the heat now in the vessel, for KPIs and plots (never observed)."""
        out = TRUTH.dict_of(self.batch.truth[0])
        out["heat_cost_eur"] = float(self.batch.state[0, X.cost])
        out["heat"] = float(self.batch.heats_done[0])
        return out

    def _unit_kpi(self, row: np.ndarray) -> dict[str, float]:
        return kpi_dict(row, self.batch.params[0])

    def _product_kpi(self, unit_end: bool) -> dict[str, float] | None:
        # a heat is both the product and the unit: its KPIs, once it is tapped
        return kpi_dict(self.batch.kpi[0], self.batch.params[0]) if unit_end else None

    def _snapshot(self) -> dict[str, float]:
        x = self.batch.state[0]
        snap = self._truth()
        snap.update(
            time_min=x[X.time],
            o2_flow=x[X.o2_flow],
            lance=x[X.lance],
            ore_kg=x[X.ore],
            lime_kg=x[X.lime],
            o2_blown=x[X.o2_blown],
            o2_end_target=x[X.o2_end],
        )
        return snap

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        from envs.steel.render import render_blow

        return render_blow(self._history, self.params)


class BOFVectorEnv(BatchVectorEnv[BOFBatch]):
    """``num_envs`` BOF plants stepped in one call of the compiled core (Gymnasium ``VectorEnv``).

    Same arguments, spaces, reward and episode rules as :class:`BOFEnv`. Autoreset follows
    Gymnasium 1.x: ``autoreset_mode="next_step"`` (default) resets a plant on the step *after* its
    episode ended (that step's action is ignored, reward 0, ``terminated`` False);
    ``"same_step"`` resets it in the step it ended and puts the final observation into
    ``info["final_obs"]`` (object array) and the final info into ``info["final_info"]`` (dict of
    arrays with ``_key`` masks, Gymnasium's layout; what SB3's adapter uses). Seeding as in
    Gymnasium: ``reset(seed=s)`` seeds plant i with ``s + i``, ``reset(seed=[…])`` one seed (or
    None) per plant; each plant draws from its own stream, so plant i equals a :class:`BOFEnv`
    reset with its seed, and the env equals ``vectorization_mode="sync"`` (tested). Infos are
    dicts of arrays with ``_key`` masks; heat KPIs appear under ``unit_kpi/<name>`` with
    ``unit_end`` when a heat ends.
    """

    def __init__(
        self,
        num_envs: int = 1,
        plant: Any = None,
        *,
        scenario: Any = None,
        action_mode: str = "adjust",
        dt_s: float = 10.0,
        campaign_heats: int | None = None,
        randomize: bool | None = None,
        sensors: Mapping[str, Mapping[str, Any]] | None = None,
        drifts: Mapping[str, Mapping[str, Any]] | None = None,
        autoreset_mode: str = "next_step",
        render_mode: str | None = None,
    ) -> None:
        self.variant = resolve_bof_variant(plant)
        options = _env_options(
            scenario,
            campaign_heats=campaign_heats,
            randomize=randomize,
            sensors=sensors,
            drifts=drifts,
        )
        batch = BOFBatch(self.variant, num_envs, action_mode=action_mode, dt_s=dt_s, **options)
        super().__init__(batch, OBS_LOW, OBS_HIGH, len(ACTUATORS), autoreset_mode, render_mode)

    def _unit_kpi_table(
        self, result: StepResult, mask: np.ndarray
    ) -> tuple[tuple[str, ...], np.ndarray]:
        """KPIs of the heats that ended (NaN elsewhere), the names of BOFEnv's ``unit_kpi``."""
        values = heat_kpi_table(result.kpi, self.batch.params, np.flatnonzero(mask))
        return (*UNIT_KPI.names, *HIT_FLAG_NAMES), values
