"""MPC oracle of the paint line: cross-entropy MPC over the next bodies on the line's own step.

The upper reference of DESIGN.md's evaluation protocol for the paint line: it reads the *true*
state and parameters of each attached line (``env.unwrapped.batch``: the paint lots' viscosity
and solids, the paint temperatures, the booth and outdoor climate, bell wear, the oven air) and
plans a receding horizon of ``horizon`` bodies by rolling candidate action sequences through
:mod:`envs.paint.rollout` — the compiled step the env runs — from copies of the true state. The
physics is never re-implemented. Per-body cost is the step's (paint, energy, DFT misses,
expected rework, cure failures); a candidate's cost is their sum over the horizon, cut at the end
of the shift (bodies after it do not count).

What the oracle knows and what it assumes over the horizon (the line's future randomness is
not part of its state, so it is *sampled*: ``scenarios`` futures, drawn afresh at every optimiser
iteration and common to all its candidates — common random numbers — and a candidate's cost is
its mean over them):

| input | first body planned | later bodies |
| --- | --- | --- |
| body style | the true next style (in the state) | drawn from the plant's style mix (1) |
| flow and TE scatter | sampled words, in antithetic pairs (2) | same |
| paint-lot change | none | none |
| drifts (3) | current true values | current true values |

(1) a seeded sample per scenario, turned into the style words ``plant_step`` draws the next
style from (the plant's own mix, no re-implementation); (2) random 16-bit words and their
mirror images (table normal −z for z); with ``scenarios=1`` the word whose table normal is ≈ 0
(the median, 3·10⁻⁴ σ) instead; (3) climate wander, paint temperature, loop viscosity, bell
wear, scenario events.

Holding the drifts is a certainty-equivalent forecast: they move slowly against a horizon of a
few bodies (weather and paint temperature over hours, bell wear over thousands of bodies), and
the daily outdoor swing is still followed because it is a deterministic function of the time of
day in the core.

Why the scatter is sampled rather than held at its median (``scenarios=1``): the DFT-miss cost
is zero in the inner half of the tolerance band, so with the scatter at its median the cheapest
plan cuts the paint until the *noise-free* film sits on the edge of that dead zone — and the real
film, scattering ≈ 0.8 µm around it on the base, then pays several times the paint it saved in
misses (estimate for a film centred on the edge: ≈ 11.5 EUR per body against ≈ 1.7 EUR of paint).
Measured (results/paint/mpc_convergence.md): the certainty-equivalent oracle loses about half of
the oracle's gain over the operator, and with the first optimiser settings tried it was worse
than the operator. Averaging over sampled futures makes the plan minimise the
expected cost, which is what the realised return measures. Two consequences for the optimiser
(settings in ``conf/baselines/paint_mpc.yaml``): the futures are redrawn at every iteration, so
the elites are never selected twice on the same small sample (with one fixed sample per plan,
more iterations made the oracle *worse*: they fitted that sample), and the plan played is the
final sampling mean (``plan_from="mean"``), not the single best candidate, whose low cost is
partly the luck of its draw.

>>> oracle = PaintMPCOracle(horizon=8, fine_bodies=2, samples=8, iterations=1)
>>> oracle.layout.block_steps
(1, 1, 6)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agents.baselines.mpc import (
    BlockLayout,
    BoolArray,
    CEMConfig,
    CostFn,
    FloatArray,
    IntArray,
    SamplingMPCOracle,
    load_config,
)
from envs.core.actions import MODE_ADJUST
from envs.core.bundle import Plants
from envs.paint import PaintBatch, layout, resolve_variant, rollout

__all__ = ["CONFIG_PATH", "PaintMPCOracle"]

CONFIG_PATH = Path(__file__).resolve().parents[2] / "conf" / "baselines" / "paint_mpc.yaml"


class PaintMPCOracle(SamplingMPCOracle):
    """Cross-entropy MPC oracle of the paint line on the true state (see the module docstring).

    Args:
        horizon: bodies planned (receding; cut at the end of the shift).
        fine_bodies: the first bodies planned with a block each; the rest of the horizon is
            one block. Only the first body's actions are played before the next plan, so the
            later bodies need no fine resolution: their block carries the slow actuators'
            (booth climate, oven) course and keeps the search at ``(fine_bodies + 1) × 11``
            dimensions however long the horizon.
        replan_every: bodies between plans.
        samples: candidate sequences per episode and optimiser iteration.
        iterations: optimiser iterations per plan.
        elite_frac: share of the candidates that refit the sampling distribution.
        smoothing: weight of the old mean/std in the refit.
        init_std: sampling std of a plan, in normalised action units.
        min_std: floor of the sampling std.
        warm_std: sampling std of a warm-started replan (``None``: ``init_std``).
        fresh_iterations: iterations of a unit's first plan (``None``: ``iterations``).
        plan_from: ``"best"`` sequence evaluated or final sampling ``"mean"``.
        seed: seed of the per-episode generators (CEM noise and the sampled futures).
        scenarios: sampled futures per plan (an even number, antithetic pairs), or 1 for the
            certainty-equivalent future with the scatter at its median (see the module doc).
    """

    n_act = layout.N_ACT

    def __init__(
        self,
        horizon: int = 8,
        fine_bodies: int = 1,
        replan_every: int = 1,
        samples: int = 128,
        iterations: int = 4,
        elite_frac: float = 0.25,
        smoothing: float = 0.2,
        init_std: float = 0.5,
        min_std: float = 0.02,
        warm_std: float | None = 0.15,
        fresh_iterations: int | None = 20,
        plan_from: str = "mean",
        seed: int = 0,
        scenarios: int = 8,
    ) -> None:
        if scenarios < 1 or int(scenarios) != scenarios or (scenarios > 1 and scenarios % 2):
            raise ValueError(f"scenarios must be 1 or an even number >= 2, got {scenarios!r}")
        self.scenarios = int(scenarios)
        if not 1 <= fine_bodies <= horizon:
            raise ValueError(f"need 1 <= fine_bodies <= horizon, got {fine_bodies}, {horizon}")
        rest = int(horizon) - int(fine_bodies)
        layout = BlockLayout((1,) * int(fine_bodies) + ((rest,) if rest else ()))
        config = CEMConfig(
            samples,
            iterations,
            elite_frac,
            smoothing,
            init_std,
            min_std,
            seed,
            warm_std,
            fresh_iterations,
            plan_from,
        )
        super().__init__(layout, config, replan_every)

    @classmethod
    def from_config(
        cls, path: str | Path | None = None, plant: Any = None, **overrides: Any
    ) -> PaintMPCOracle:
        """The oracle of ``conf/baselines/paint_mpc.yaml`` (or ``path``), with keyword overrides,
        built for ``plant`` (a variant, name or mapping): it then attaches only to that plant's
        envs. ``None``: it plans on whatever plant it attaches to."""
        oracle = cls(**load_config(path or CONFIG_PATH, overrides))
        oracle.plant = None if plant is None else resolve_variant(plant)
        return oracle

    def _new_episodes(self, n: int) -> None:
        super()._new_episodes(n)
        # sampled futures from their own streams, so they never shift the optimiser's draws
        self._future_rngs = [np.random.default_rng([int(self.config.seed), i, 1]) for i in range(n)]

    # process hooks --------------------------------------------------------------------------
    def _check_batch(self, batch: Any) -> None:
        if not isinstance(batch, PaintBatch) or batch.n != 1:
            raise TypeError(
                "PaintMPCOracle attaches to single paint-line envs (env.unwrapped.batch a "
                f"PaintBatch of one line), got {type(batch).__name__}"
            )

    def _position(self, batch: Any) -> tuple[int, int] | None:
        bodies = int(batch.bodies[0])
        return None if bodies >= batch.shift_bodies else (0, bodies)

    def _copies(self, batches: list[Any]) -> list[Plants]:
        """What each plan starts from: the attached lines themselves (the true state; the plan
        snapshots them)."""
        return [b.plants for b in batches]

    def _cost_fn(self, batches: list[Any], active: BoolArray) -> CostFn:
        return self._cost_over(self._copies(batches), active)

    def _cost_over(self, sources: list[Plants], active: BoolArray) -> CostFn:
        """Batched rollout cost of candidates from the lines ``sources`` (one per episode)."""
        horizon = self.layout.horizon
        plan = rollout.new_plan(sources, horizon, self._step_block)
        shape = (len(sources), self.scenarios, horizon, layout.N_PROCESS_WORDS)
        words = np.zeros(shape, dtype=np.uint16)

        def cost(candidates: FloatArray, act: BoolArray) -> FloatArray:
            # fresh futures at every iteration, common to its candidates: the elites are chosen
            # on new draws each time, so iterating does not overfit one small sample
            for i in np.flatnonzero(act):
                words[i] = rollout.future_words(self._future_rngs[i], horizon, self.scenarios)
            out = np.zeros(candidates.shape[:2])
            rollout.rollout_costs(plan, candidates, words, act, out)
            return out

        return cost

    def _prior(self, batches: list[Any], rows: IntArray) -> FloatArray:
        """Zeros in adjust mode; in absolute mode the next style's recipe, normalised."""
        prior = np.zeros((len(batches), self.layout.n_blocks, self.n_act))
        if self.mode == MODE_ADJUST:
            return prior
        low, high = layout.ACTUATORS.low, layout.ACTUATORS.high
        for i in rows:
            recipe = rollout.next_recipe(batches[i].plants)[0]
            prior[i] = 2.0 * (recipe - low) / (high - low) - 1.0
        return prior
