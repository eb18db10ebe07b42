"""PID baseline of the BOF: a melt shop's dynamic endpoint control, PI across the heats.

What a shop's level-2 "dynamic control" does after the static charge plan, written as a
classical controller on the estimates of :class:`agents.estimators.BOFBathEstimator`:

1. **Blow (before the sub-lance)**: standard practice; the off-gas carbon balance runs.
2. **Sub-lance** (≈ 85 % of the planned oxygen): the bath carbon and temperature are known.
   *Temperature → ore* (P with heat-balance feed-forward): the end temperature is forecast at
   the planned stop, and a predicted excess over the aim is cooled with ore, ``ore = ore_gain ·
   excess / cooling`` (kg/t; ≈ 5 K per kg/t at 250 t), fed as fast as the feeder allows. A cold
   heat gets no ore (there is none to take away after the sub-lance); it is traded against
   carbon at the stop below.
3. **End of blow** (every step after the sub-lance): the end-oxygen target is the oxygen at which
   the forecast carbon and temperature cost least, ``J(m) = huber((C_m − C_aim)/0.02) + w_T ·
   huber((T_m − T_aim)/15)`` over the stop step m — the reward's own endpoint terms, so "oxygen
   per wt% C" comes from the late-blow decarburisation relation (stage II at the measured
   plateau, then ``e^{−k_C t}``), re-planned each step as the off-gas reports. ``end_gain``
   scales the correction from the static plan toward that target (0: the plan, 1: the model).
4. **Across heats** (campaign mode, ``last_tap_*`` observed): a PI per endpoint quantity on the
   tapping errors shifts the carbon and temperature aims the steps above steer to. This is the
   integral action that removes a drift the dynamic model does not know (lance wear lowers k_C:
   the model stops too early, taps run high in carbon, the integral lowers the carbon aim).

**Operating point** (:class:`agents.baselines.pid.OperatingPoint`): oxygen flow, lance and lime,
and the ore before the sub-lance, are not in a loop; they run at constant trims of the practice
that are tuned together with the gains, so the baseline's set-point is not the operator's by
construction. The endpoint is still decided by the end-oxygen target and the ore after the
sub-lance, which is how shops correct. The end target moves at most ≈ 1 % of the plan per step
(about the blowing rate), so the stop is chosen among those the target can reach in time, and
each step commands the target's move (the blow then ends exactly at the command).

Operator's standard practice at ``bof_250t`` (docs/physics/bof.md §4) and the tuned operating
point (``conf/baselines/bof_pid.yaml``), means over the tuning heats 500000..500063 (nominal):

============  ============================================  ==================================
actuator      practice                                      tuned PID
============  ============================================  ==================================
oxygen flow   800 Nm³/min (3.2 Nm³/(t min))                 −0.358 span: 728 Nm³/min
lance         2.4 → 2.0 (15 %) → 1.7 m (80 % of the plan)   +0.061 span: +0.04 m each phase
lime          3.5 × SiO2 + 12 kg/t: 48.0 kg/t, first 30 %   −0.442 span: −8.8 kg/t (39.2 kg/t)
ore           static balance: 5.9 kg/t, 10–50 % of plan     −0.095 span: −0.95 kg/t in the
                                                            window; + coolant after the
                                                            sub-lance: 8.0 kg/t in all
end of blow   the planned oxygen, 52.2 Nm³/t (16.3 min)     dynamic: 51.7 Nm³/t (17.8 min)
============  ============================================  ==================================

Result on those tuning heats: return −4.83 vs −8.16 kEUR per heat for the operator, carbon hit
(±0.02 %) 1.00 vs 0.48, temperature hit (±15 K) 0.95 vs 0.72, double hit 0.95 vs 0.34; on the
held-out evaluation heats 200000..200015: −4.88 vs −7.25 kEUR, double hit 0.94 vs 0.50. End
slag FeO is 21.2 vs 21.8 kg/t: the gain is the endpoint hits and the lime saved, not less
iron lost (a per-term cost split was not made).

Gains live in ``conf/baselines/bof_pid.yaml`` (tuned by ``python -m experiments.tuning.pid
--process bof``). With every gain zero and no operating point the policy is the operator's
practice (the zero action).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from agents.baselines.pid import PID, FloatArray, OperatingPoint, PIDGains
from agents.estimators import BOF_OBS, BOFBathEstimator
from envs.steel import (
    END_RATE_PER_MIN,
    END_SPAN,
    BOFParams,
    actuator_specs,
    coolant_action,
    end_action,
    layout,
    resolve_variant,
)

__all__ = ["BOFPID", "DEFAULT_CONFIG", "BOFPIDGains"]

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "conf" / "baselines" / "bof_pid.yaml"
N_ACT = len(layout.ACTUATORS)
A_ORE, A_END = layout.A.ore_feed, layout.A.end_oxygen
HORIZON_STEPS = 30  # stop candidates looked at (5 min at 10 s: the rest of any blow)
C_BAND, T_BAND = layout.BAND_C, layout.BAND_T  # the reward's endpoint scales, wt% and K
# campaign PI defaults: off, aim shifts bounded to ±0.03 wt% C and ±30 K (beyond that the
# tapping errors are a fault to investigate, not a drift to follow)
CAMPAIGN_C = PIDGains(out_min=-0.03, out_max=0.03, i_limit=0.03)
CAMPAIGN_T = PIDGains(out_min=-30.0, out_max=30.0, i_limit=30.0)


@dataclasses.dataclass(frozen=True)
class BOFPIDGains:
    """Gains of the BOF baseline (units in the names; see the module docstring).

    The three model constants (heat-up rates, ore cooling) start from the nominal plant's
    practice heats and heat balance (stage II ≈ 7.3, stage III ≈ 12.6 K per Nm³/t; ore ≈ 5 K per
    kg/t at 250 t) and are refined by the tuning together with the gains.

    Attributes:
        end_gain: share of the model's end-oxygen correction applied (0 = static plan).
        temp_weight: weight of the temperature miss against the carbon miss at the stop.
        ore_gain: share of the heat-balance ore for the forecast temperature excess applied.
        ore_margin_k: ore only for a forecast excess above the aim plus this margin, K.
        kc_gain: multiplier of the nominal k_C in the decarburisation forecast.
        temp_rise_stage2_k_nm3_t: heat-up while oxygen burns carbon, K per Nm³/t.
        temp_rise_stage3_k_nm3_t: heat-up once oxygen burns iron (stage III), K per Nm³/t.
        ore_cooling_k_kg_t: bath cooling per kg/t of ore, K.
        campaign_c: PI on the tapped carbon error → carbon aim shift, wt% (per heat).
        campaign_t: PI on the tapped temperature error → temperature aim shift, K (per heat).
        operating_point: constant normalised trims of the actuators the controller leaves to
            practice (oxygen flow, lance height, lime, and ore before the sub-lance — the
            practice's ore window; :class:`OperatingPoint`).
    """

    end_gain: float = 1.0
    temp_weight: float = 1.0
    ore_gain: float = 1.0
    ore_margin_k: float = 0.0
    kc_gain: float = 1.0
    temp_rise_stage2_k_nm3_t: float = 7.3
    temp_rise_stage3_k_nm3_t: float = 12.6
    ore_cooling_k_kg_t: float = 5.0
    campaign_c: PIDGains = dataclasses.field(default_factory=lambda: CAMPAIGN_C)
    campaign_t: PIDGains = dataclasses.field(default_factory=lambda: CAMPAIGN_T)
    operating_point: dict[str, float] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> BOFPIDGains:
        """From a plain mapping (the YAML ``gains`` block); missing keys keep their defaults."""
        d = dict(d or {})
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown BOF PID gain(s) {unknown}")
        out: dict[str, Any] = {}
        for k, v in d.items():
            if k.startswith("campaign_"):
                base = dataclasses.asdict(CAMPAIGN_C if k == "campaign_c" else CAMPAIGN_T)
                base.update(v or {})
                out[k] = PIDGains.from_dict(base)
            elif k == "operating_point":
                out[k] = {str(name): float(trim) for name, trim in (v or {}).items()}
            else:
                out[k] = float(v)
        return cls(**out)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def zeros(cls) -> BOFPIDGains:
        """Every correction off: the operator's practice."""
        return cls(end_gain=0.0, ore_gain=0.0)


def huber(z: FloatArray) -> FloatArray:
    """The reward's endpoint miss: quadratic inside the band, linear outside."""
    a = np.abs(z)
    return np.where(a <= 1.0, 0.5 * z * z, a - 0.5)


class BOFPID:
    """Dynamic endpoint control of the BOF blow with PI across heats (policy protocol).

    Args:
        gains: :class:`BOFPIDGains`, a mapping of them, or None (the defaults).
        plant: plant variant whose *nominal* parameters the estimator and aims use.
        dt_s: control step of the env, s.

    >>> import numpy as np, envs
    >>> env = envs.make("bof", "bof_250t")
    >>> obs, _ = env.reset(seed=0)
    >>> pid = BOFPID.from_config()
    >>> pid.reset(1)
    >>> pid.act(obs[None]).shape
    (1, 5)
    """

    # env options the PID models: evaluation builds it with the evaluated env's (loading.py)
    ENV_OPTIONS = ("dt_s",)

    def __init__(
        self,
        gains: BOFPIDGains | Mapping[str, Any] | None = None,
        plant: Any = "bof_250t",
        dt_s: float = 10.0,
    ) -> None:
        if not isinstance(gains, BOFPIDGains):
            gains = BOFPIDGains.from_dict(gains)
        self.gains = gains
        params = resolve_variant(plant).params
        assert isinstance(params, BOFParams)
        self.params = params
        self.dt_s, self.dt_min = float(dt_s), float(dt_s) / 60.0
        spans = {s.name: s.adjust_span for s in actuator_specs(self.params, dt_s)}
        # the ore span scales with heat size: kg/min per t of heat size (converted per row)
        self.ore_span_per_t = spans["ore_feed"] / self.params.heat_size_t
        self.estimator = BOFBathEstimator(
            self.params,
            dt_s,
            (gains.temp_rise_stage2_k_nm3_t, gains.temp_rise_stage3_k_nm3_t),
            gains.ore_cooling_k_kg_t,
            gains.kc_gain,
        )
        names = layout.ACTUATORS.names
        # ore is driven after the sub-lance only: before it, an ore trim is a set-point of the
        # practice's ore window (the heat's temperature level), which the loops leave alone
        driven = (names[A_END],)
        self.operating_point = OperatingPoint(gains.operating_point, names, driven, "BOF PID")
        self.reset(0)

    @classmethod
    def from_config(cls, path: str | Path | None = None, **kwargs: Any) -> BOFPID:
        """The baseline with the gains of ``conf/baselines/bof_pid.yaml`` (or ``path``), built
        for ``plant=`` (a variant, name or mapping; default: the plant the YAML was tuned on)."""
        cfg = yaml.safe_load(Path(path or DEFAULT_CONFIG).read_text())
        kwargs.setdefault("plant", cfg.get("plant", "bof_250t"))
        return cls(BOFPIDGains.from_dict(cfg.get("gains")), **kwargs)

    def reset(self, n: int) -> None:
        """``n`` episodes start: clear estimators, ore plans and the campaign integrators."""
        self.estimator.reset(n)
        self.pi_c = PID(self.gains.campaign_c, n)
        self.pi_t = PID(self.gains.campaign_t, n)
        self.ore_target = np.zeros(n)  # cumulative ore the heat should have, kg/t
        self.ore_planned = np.zeros(n, dtype=bool)

    def act(self, obs: np.ndarray) -> np.ndarray:
        a = np.asarray(obs, dtype=np.float64)
        single = a.ndim == 1
        o = a[None, :] if single else a
        if o.ndim != 2 or o.shape[1] != len(BOF_OBS):
            raise ValueError(f"obs must have shape (n, {len(BOF_OBS)}), got {a.shape}")
        if o.shape[0] != self.ore_target.shape[0]:
            self.reset(o.shape[0])
        new = self.estimator.update(o)
        if new.any():
            self._new_heats(o, new)
        # the operating point first: the endpoint stage then overwrites ore (and the end
        # target) in the rows it drives, so an ore trim acts on the practice's ore window only
        actions = self.operating_point.apply(np.zeros((o.shape[0], N_ACT)))
        rows = self.estimator.sublance & np.isfinite(self.estimator.temp)
        if rows.any():
            self._endpoint(o, rows, actions)
        out = np.clip(actions, -1.0, 1.0).astype(np.float32)
        return out[0] if single else out

    # -------------------------------------------------------------------------------------------
    def _new_heats(self, o: FloatArray, new: np.ndarray) -> None:
        """A heat starts: the ore plan is cleared; in a campaign the PI sees the last tap."""
        self.ore_target[new], self.ore_planned[new] = 0.0, False
        tapped = new & (o[:, BOF_OBS["last_tap_valid"]] > 0.5)
        if tapped.any():  # the tap is observed as its deviation from the aims, in bands
            self.pi_c.step(-C_BAND * o[:, BOF_OBS["last_tap_c_dev"]], mask=tapped)
            self.pi_t.step(-T_BAND * o[:, BOF_OBS["last_tap_temp_dev"]], mask=tapped)

    def _aims(self) -> tuple[FloatArray, FloatArray]:
        """Carbon and temperature aims after the campaign PI's shifts (floor: C_eq + 0.01)."""
        p = self.params
        aim_c = np.maximum(p.aim_c_pct + self.pi_c.output, p.c_eq_pct + 0.01)
        return aim_c, p.aim_temp_c + self.pi_t.output

    def _ore_schedule(self, extra_kg_t: FloatArray) -> FloatArray:
        """Ore per future step (kg/t), as fast as the feeder's adjust span allows."""
        per_step = self.ore_span_per_t * self.dt_min
        left = np.maximum(extra_kg_t, 0.0)[:, None]
        done = per_step * np.arange(HORIZON_STEPS)[None, :]
        return np.clip(left - done, 0.0, per_step)

    def _endpoint(self, o: FloatArray, rows: np.ndarray, actions: FloatArray) -> None:
        g, est = self.gains, self.estimator
        aim_c, aim_t = self._aims()
        ore_now = o[:, BOF_OBS["ore_added"]]
        first = rows & ~self.ore_planned
        if first.any():  # at the sub-lance: cool a forecast excess with ore (P + feed-forward)
            c0, t0 = est.forecast(o, np.zeros((o.shape[0], HORIZON_STEPS)))
            m0 = self._best_stop(c0, t0, aim_c, aim_t)
            t_stop = np.take_along_axis(t0, m0[:, None], axis=1)[:, 0]
            excess = t_stop - aim_t - g.ore_margin_k
            extra = g.ore_gain * np.maximum(excess, 0.0) / g.ore_cooling_k_kg_t
            self.ore_target = np.where(first, ore_now + extra, self.ore_target)
            self.ore_planned |= first
        left = np.where(rows, self.ore_target - ore_now, 0.0)
        ore_plan = self._ore_schedule(left)
        c, t = est.forecast(o, ore_plan)
        # the plant's end target moves at most END_RATE_PER_MIN of the plan per minute: a stop
        # m steps ahead is only reachable if the target can get there within m + 1 moves
        q = o[:, BOF_OBS["oxygen_flow"]]
        plan = np.maximum(o[:, BOF_OBS["oxygen_planned"]], 1e-6)
        end_now = o[:, BOF_OBS["oxygen_end_target"]]
        move = END_RATE_PER_MIN * plan * self.dt_min  # Nm³/t per step
        steps = np.arange(HORIZON_STEPS)[None, :]
        stops = o[:, BOF_OBS["oxygen_blown"], None] + (steps + 0.5) * (q * self.dt_min)[:, None]
        reach = np.abs(stops - end_now[:, None]) <= (steps + 1) * move[:, None]
        reach &= np.abs(stops / plan[:, None] - 1.0) <= END_SPAN
        m = self._best_stop(c, t, aim_c, aim_t, reach)
        heat = o[:, BOF_OBS["heat_size"]]
        # ore this step, kg/min → the coolant action after the sub-lance (practice feeds none)
        feed = ore_plan[:, 0] * heat / self.dt_min
        ore_action = coolant_action(feed, self.ore_span_per_t * heat)
        actions[:, A_ORE] = np.where(rows, ore_action, actions[:, A_ORE])
        # end-oxygen target: mid-way through the chosen stop step, so the blow ends after it;
        # commanded as the move the plant's target makes this step, so the command is where the
        # target is when the blow ends (not a value the rate limit never let it reach)
        target = np.take_along_axis(stops, m[:, None], axis=1)[:, 0]
        target = plan + g.end_gain * (target - plan)
        target = np.clip(target, end_now - move, end_now + move)
        a_end = end_action(target, plan)
        actions[:, A_END] = np.where(rows, a_end, actions[:, A_END])

    def _best_stop(
        self,
        c: FloatArray,
        t: FloatArray,
        aim_c: FloatArray,
        aim_t: FloatArray,
        reach: np.ndarray | None = None,
    ) -> np.ndarray:
        """Index (0 = after the next step) of the stop step with the least forecast miss, among
        the ``reach``-able ones where a row has any (else among all)."""
        cost = huber((c - aim_c[:, None]) / C_BAND)
        cost = cost + self.gains.temp_weight * huber((t - aim_t[:, None]) / T_BAND)
        if reach is not None:
            cost = np.where(reach | ~reach.any(axis=1, keepdims=True), cost, np.inf)
        return np.argmin(cost, axis=1)
