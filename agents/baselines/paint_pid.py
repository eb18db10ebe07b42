"""PID baseline of the paint line: a PI per layer on paint flow, Smith-predictor style.

The film-build mass balance makes each layer's dry film thickness proportional to its paint flow
at a given transfer efficiency and volume solids, so the loop is a static gain behind a long dead
time: the post-oven gauge reports a body ``dft_delay_bodies`` (25–60) bodies after it was
painted. A plain PI on that reading must be detuned until it is slow (it would otherwise correct
the same error 40 times over); the classical cure is a Smith predictor, which feeds back the
measured error *minus the corrections already applied to the bodies still in the oven*. Here that
is exact and cheap (:class:`agents.estimators.PaintFilmEstimator`): each reading is divided by
the flow correction its own body got, which gives the line's film-build factor ρ_j (1 =
nominal), and the controller works in log flow u on the relative error the next body would have,

    e = 1 − ρ_j · e^u,    u ← PI(e),    flow = recipe(style) · e^u,

so the loop the PI sees has no delay and a gain of one. (A relative rather than a log error
puts the *mean* film on target; a log error would aim the geometric mean there, ≈ 0.1 µm high
on a noisy 15 µm reading.) ``ki`` per reading is then the weight of each new reading in an
exponential mean of ρ: small enough to average the gauge's noise (≈ 1.5 µm, 10 % of a 15 µm
basecoat) and the body-to-body scatter, large enough to follow a paint lot change; the tuning
on the nominal PaintLine-v1 line put it at 0.25 % (base) and 0.9 % (clear), time constants of
≈ 400 and ≈ 110 readings, with ``kp`` 0.08 / 0.05 (docs/physics/paint.md §4.1).
Where an inline wet-film gauge exists (no delay), ρ comes from the wet film of the body just
painted instead, converted to dry film with the nominal solids and calibrated against the
post-oven gauge (a change of the solids alone leaves the wet film as it was, so that
calibration, not the wet film, sees it).

Feed-forward: bell speed from the measured cup viscosity keeps the droplet size (orange peel, dry
spray) where the recipe has it: ``d32 ∝ N^−a μ^c`` gives ``N = N_recipe (μ/μ_nominal)^k`` with
``k = c/a ≈ 0.4`` for constant d32; ``k`` per layer is a tuned gain (0: recipe speed).

Operating point (issue "Plants v2", strong baselines): the recipe's static set-point is not the
best constant one, and a learned policy must not win merely by finding a better constant. So the
baseline carries a tuned operating point, searched together with the gains:

| gain | unit | range | what |
| --- | --- | --- | --- |
| ``operating_point.<act>`` | adjust action | [−1, 1] | shaping air, voltage, booth, oven trim |
| ``<layer>_speed_trim`` | adjust action | [−1, 1] | bell-speed trim (× 5 krpm span) |
| ``<layer>_flow_ff`` | log flow | reachable | flow feed-forward: PI value at shift start |

The flow feed-forward is the flow the operating point needs from the first body: a trim of
voltage, shaping air or booth climate moves the transfer efficiency and the in-flight
evaporation, hence the film at the recipe flow, by a constant factor; the PI would find it only
after the gauge's delay (25–60 bodies) and ≈ 1/ki readings (≈ 100) of a 400-body shift. Starting
the integrator at ``ff`` puts the flow where the operating point wants it, and the Smith
predictor still divides each reading by the correction its own body got, so the loop's
estimate of ρ stays exact. Gains: ``conf/baselines/paint_pid.yaml`` (tuned by ``python -m
experiments.tuning.pid --process paint``); with every gain zero the policy is the operator's fixed
recipe (the zero action).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from agents.baselines.pid import PID, FloatArray, OperatingPoint, PIDGains
from agents.estimators import PAINT_OBS, PaintFilmEstimator
from envs.paint import LAYERS, PaintLineParams, actuator_specs, layout, resolve_variant

__all__ = ["DEFAULT_CONFIG", "PaintPID", "PaintPIDGains"]

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "conf" / "baselines" / "paint_pid.yaml"
N_ACT = layout.N_ACT
A_FLOW = tuple(layout.ACTUATORS.index(f"{layer}_flow") for layer in LAYERS)
A_SPEED = tuple(layout.ACTUATORS.index(f"{layer}_bell_speed") for layer in LAYERS)
ZAHN4_C = 5.0  # s: Zahn #4 cup, ν[cSt] = 14.8 (t − 5) (Patton 1979, as the env's sensor)
ZAHN4_K = 14.8
LOG_FLOW_LIMIT = 0.25  # default bound of the PI's correction, log flow (cut to the reachable range)


def _flow_pi(**kw: float) -> PIDGains:
    return PIDGains(out_min=-LOG_FLOW_LIMIT, out_max=LOG_FLOW_LIMIT, i_limit=LOG_FLOW_LIMIT, **kw)


@dataclasses.dataclass(frozen=True)
class PaintPIDGains:
    """Gains of the paint baseline.

    Attributes:
        base: PI on the basecoat's log flow per DFT reading (kp: 1, ki: 1/reading).
        clear: PI on the clearcoat's log flow per DFT reading.
        base_speed_visc_exp: bell speed ∝ (viscosity / nominal)^k for the basecoat, -.
        clear_speed_visc_exp: the same for the clearcoat, -.
        base_speed_trim: constant basecoat bell-speed trim, adjust action in [−1, 1] (× span).
        clear_speed_trim: the same for the clearcoat.
        base_flow_ff: basecoat flow feed-forward, log flow: the PI's value at a shift start
            (cut to the reachable range, like the PI's limits).
        clear_flow_ff: the same for the clearcoat.
        operating_point: constant normalised trims of the actuators the loops leave alone
            (shaping air, voltage, booth climate, oven; :class:`OperatingPoint`).
    """

    base: PIDGains = dataclasses.field(default_factory=_flow_pi)
    clear: PIDGains = dataclasses.field(default_factory=_flow_pi)
    base_speed_visc_exp: float = 0.0
    clear_speed_visc_exp: float = 0.0
    base_speed_trim: float = 0.0
    clear_speed_trim: float = 0.0
    base_flow_ff: float = 0.0
    clear_flow_ff: float = 0.0
    operating_point: dict[str, float] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> PaintPIDGains:
        """From a plain mapping (the YAML ``gains`` block); missing keys keep their defaults."""
        d = dict(d or {})
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown paint PID gain(s) {unknown}")
        out: dict[str, Any] = {}
        for k, v in d.items():
            if k in LAYERS:
                base = dataclasses.asdict(_flow_pi())
                base.update(v or {})
                out[k] = PIDGains.from_dict(base)
            elif k == "operating_point":
                out[k] = {str(name): float(trim) for name, trim in (v or {}).items()}
            else:
                out[k] = float(v)
        gains = cls(**out)
        for name in ("base_speed_trim", "clear_speed_trim"):
            v = getattr(gains, name)
            if not (math.isfinite(v) and -1.0 <= v <= 1.0):
                raise ValueError(f"paint PID {name} must be in [-1, 1], got {v}")
        for name in (
            "base_flow_ff",
            "clear_flow_ff",
            "base_speed_visc_exp",
            "clear_speed_visc_exp",
        ):
            if not math.isfinite(getattr(gains, name)):
                raise ValueError(f"paint PID {name} must be finite, got {getattr(gains, name)}")
        return gains

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _reachable(gains: PIDGains, span_rel: float) -> PIDGains:
    """The PI's output and integral limits cut to the log-flow range the flow action reaches
    (± ``span_rel`` of the mix-weighted recipe flow): the loop then saturates where the actuator
    does and never winds up behind the action's clip, whatever the plant's span."""
    lo, hi = math.log1p(-min(span_rel, 0.99)), math.log1p(span_rel)
    out_min, out_max = max(gains.out_min, lo), min(gains.out_max, hi)
    i_limit = min(gains.i_limit, max(-out_min, out_max))
    return dataclasses.replace(gains, out_min=out_min, out_max=out_max, i_limit=i_limit)


def nominal_cup_seconds(p: PaintLineParams, layer: str) -> float:
    """Zahn #4 time of the nominal paint at the nominal paint temperature, s (Arrhenius from
    the reference temperature, as the recipe assumes)."""
    ea_r = getattr(p, f"{layer}_visc_ea_kj_mol") * 1000.0 / 8.314462618
    t_paint, t_ref = p.paint_temp_c + 273.15, p.visc_ref_temp_c + 273.15
    mu = getattr(p, f"{layer}_visc_mpas") * math.exp(ea_r * (1.0 / t_paint - 1.0 / t_ref))
    return mu / getattr(p, f"{layer}_density_kg_l") / ZAHN4_K + ZAHN4_C


class PaintPID:
    """PI per layer on paint flow with a Smith-predictor film estimate (policy protocol).

    Args:
        gains: :class:`PaintPIDGains`, a mapping of them, or None (defaults: all zero).
        plant: plant variant whose *nominal* parameters (recipe, gauge delay) are used.

    >>> import numpy as np, envs
    >>> env = envs.make("paint", "paint_50jph")
    >>> obs, _ = env.reset(seed=0)
    >>> pid = PaintPID.from_config()
    >>> pid.reset(1)
    >>> pid.act(obs[None]).shape
    (1, 11)
    """

    # env options the PID models (none besides the plant)
    ENV_OPTIONS: tuple[str, ...] = ()

    def __init__(
        self, gains: PaintPIDGains | Mapping[str, Any] | None = None, plant: Any = "paint_50jph"
    ) -> None:
        if not isinstance(gains, PaintPIDGains):
            gains = PaintPIDGains.from_dict(gains)
        self.gains = gains
        params = resolve_variant(plant).params
        assert isinstance(params, PaintLineParams)
        self.params = params
        self.estimator = PaintFilmEstimator(self.params)
        spans = {s.name: s.adjust_span for s in actuator_specs(self.params)}
        self.flow_span = np.array([spans[f"{layer}_flow"] for layer in LAYERS])
        self.flow_gains = [
            _reachable(getattr(gains, layer), self._flow_span_rel(k))
            for k, layer in enumerate(LAYERS)
        ]
        self.speed_span = np.array([spans[f"{layer}_bell_speed"] for layer in LAYERS])
        self.speed_recipe = np.array(
            [getattr(self.params, f"{layer}_recipe_speed_krpm") for layer in LAYERS]
        )
        self.cup_nominal = np.array([nominal_cup_seconds(self.params, ly) for ly in LAYERS])
        names = layout.ACTUATORS.names
        driven = tuple(names[j] for j in (*A_FLOW, *A_SPEED))
        self.operating_point = OperatingPoint(gains.operating_point, names, driven, "paint PID")
        self.reset(0)

    @classmethod
    def from_config(cls, path: str | Path | None = None, **kwargs: Any) -> PaintPID:
        """The baseline with the gains of ``conf/baselines/paint_pid.yaml`` (or ``path``), built
        for ``plant=`` (a variant, name or mapping; default: the plant the YAML was tuned on)."""
        cfg = yaml.safe_load(Path(path or DEFAULT_CONFIG).read_text())
        kwargs.setdefault("plant", cfg.get("plant", "paint_50jph"))
        return cls(PaintPIDGains.from_dict(cfg.get("gains")), **kwargs)

    def reset(self, n: int) -> None:
        """``n`` shifts start: clear the film estimates and the integrators."""
        self.estimator.reset(n)
        self.loops = [PID(g, n) for g in self.flow_gains]
        for k in range(len(LAYERS)):
            self._start_loop(k, np.ones(n, dtype=bool))

    def _start_loop(self, k: int, mask: np.ndarray) -> None:
        """Layer k's PI at a shift start: integral and output at the flow feed-forward (the
        flow the operating point needs), cut to the reachable range."""
        loop, g = self.loops[k], self.flow_gains[k]
        ff = (self.gains.base_flow_ff, self.gains.clear_flow_ff)[k]
        u0 = float(np.clip(ff, max(g.out_min, -g.i_limit), min(g.out_max, g.i_limit)))
        loop.reset(mask=mask)
        loop.integral[mask] = u0
        loop.output[mask] = u0

    def act(self, obs: np.ndarray) -> np.ndarray:
        a = np.asarray(obs, dtype=np.float64)
        single = a.ndim == 1
        o = a[None, :] if single else a
        if o.ndim != 2 or o.shape[1] != len(PAINT_OBS):
            raise ValueError(f"obs must have shape (n, {len(PAINT_OBS)}), got {a.shape}")
        if o.shape[0] != self.loops[0].n:
            self.reset(o.shape[0])
        new = self.estimator.update(o)
        if new.any():
            for k in range(len(self.loops)):
                self._start_loop(k, new)
        actions = np.zeros((o.shape[0], N_ACT))
        for k, loop in enumerate(self.loops):
            u = self._flow_correction(k, loop)
            q_rec = self.estimator.q_recipe[k, self.estimator.next_style]
            actions[:, A_FLOW[k]] = q_rec * np.expm1(u) / self.flow_span[k]
            actions[:, A_SPEED[k]] = self._speed_feedforward(o, k)
        out = np.clip(self.operating_point.apply(actions), -1.0, 1.0).astype(np.float32)
        return out[0] if single else out

    def _flow_span_rel(self, k: int) -> float:
        """The flow span of layer k relative to its mix-weighted recipe flow."""
        p = self.params
        shares = np.array([p.style_p_sedan, p.style_p_suv, p.style_p_hatch])
        q_mix = float(shares @ self.estimator.q_recipe[k] / shares.sum())
        return float(self.flow_span[k] / q_mix)

    def _flow_correction(self, k: int, loop: PID) -> FloatArray:
        """Log flow correction of layer k after this sample (Smith-predictor error)."""
        est = self.estimator
        inline = np.isfinite(est.inline_factor[:, k])
        factor = np.where(inline, est.inline_factor[:, k], est.log_factor[:, k])
        fresh = inline | est.fresh[:, k]
        # relative (not log) error of the next body: the mean of ρ·e^u is driven to 1, so the
        # mean DFT sits on target (a log error would aim the geometric mean there, ≈ 0.1 µm
        # high on a noisy 15 µm reading)
        factor = np.where(np.isfinite(factor), factor, 0.0)
        error = -np.expm1(factor + loop.output)
        return loop.step(error, mask=fresh)

    def _speed_feedforward(self, o: FloatArray, k: int) -> FloatArray:
        """Bell-speed action keeping the droplet size at the recipe's under viscosity changes."""
        expo = (self.gains.base_speed_visc_exp, self.gains.clear_speed_visc_exp)[k]
        trim = (self.gains.base_speed_trim, self.gains.clear_speed_trim)[k]
        if expo == 0.0:
            return np.full(o.shape[0], trim)
        cup = o[:, PAINT_OBS[("visc_base", "visc_clear")[k]]]
        rel = (cup - ZAHN4_C) / (self.cup_nominal[k] - ZAHN4_C)
        rel = np.where(np.isfinite(rel) & (rel > 0.2), rel, 1.0)  # a dead viscometer: recipe
        speed = self.speed_recipe[k] * rel**expo
        return (speed - self.speed_recipe[k]) / self.speed_span[k] + trim
