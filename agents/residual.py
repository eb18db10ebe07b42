"""Residual control: a learned correction on top of a plant controller (operator practice, PID).

The env's action is the base controller's action plus a scaled correction from the policy,

    a_env = clip(a_base(obs history) + scale · a_policy, −1, 1),

so a policy that outputs zero *is* the base controller, bit for bit, and learning starts from
the base's level instead of from exploration around the operator's practice (issue 13: the only
formulation that held PID level at every checkpoint). The base controller (its estimator,
integrators, ore plan …) runs inside the wrapper on the env's raw observations; it is reset with
the env (per plant in a vector env, at the plant's autoreset) and has no randomness of its own,
so the same env seed gives the same numbers.

| piece | for |
| --- | --- |
| :class:`ResidualWrapper` | any single Gymnasium env of a process (``check_env``, SB3, …) |
| :class:`ResidualVectorWrapper` | the native vector env the train job uses (same-step autoreset) |
| :class:`ResidualPolicy` | a trained correction + its base as one policy on the *raw* env |
| :class:`ResidualConfig` | ``base`` / ``scale`` / ``estimator_features`` / ``campaign_features`` |

``estimator_features=True`` (base ``pid`` only: the operator has no estimator) appends the
base's estimates to the observation, declared as a :class:`envs.core.layout.Layout` per
process. Values are clipped to the Box; an estimate that does not exist yet (the bath
temperature before the sub-lance, the film factor before the first gauge reading) is 0.

BOF (:class:`agents.baselines.bof_pid.BOFPID`):

| name | unit | range | meaning |
| --- | --- | --- | --- |
| ``est_carbon`` | wt% | [0, 5] | estimated bath carbon now (off-gas balance, sub-lance) |
| ``est_temp`` | °C | [0, 1900] | estimated bath temperature, 0 before the sub-lance |
| ``est_temp_known`` | - | [0, 1] | 1 once the sub-lance reading is in the estimate |
| ``aim_shift_c`` | wt% | [−0.1, 0.1] | campaign PI's shift of the carbon aim |
| ``aim_shift_temp`` | K | [−100, 100] | campaign PI's shift of the temperature aim |

Paint line (:class:`agents.baselines.paint_pid.PaintPID`):

| name | unit | range | meaning |
| --- | --- | --- | --- |
| ``film_factor_base`` / ``_clear`` | ln | [−2, 2] | ln ρ, film build vs nominal (latest) |
| ``flow_corr_base`` / ``_clear`` | ln | [−2, 2] | the PI's log-flow correction |

``campaign_features=False`` makes the correction *heat-local* (BOF): the inputs that carry
the campaign — the last tap's readings, the heat count and the PID's campaign-loop aim shifts
(:data:`CAMPAIGN_INPUTS`) — reach it as 0, their value in every single-heat episode, while the
base keeps its campaign loop. Heat-to-heat drift is then the base's job and the correction
acts within the heat. A correction trained on single heats has only ever seen those zeros, so
it is the same policy with the option on or off there (tested), and in a campaign it meets no
input it was not trained on (on the ``drift`` campaigns, inputs it had never seen turned a
nominal-trained correction from +0.2 kEUR per heat over the PID into −130 per campaign).
The paint line has no campaign inputs (a shift is one episode): there the option hides nothing.

>>> import envs
>>> env = ResidualWrapper(envs.make("bof"), ResidualConfig("pid", 0.5, True))
>>> env.observation_space.shape
(31,)
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt

import envs
from agents.baselines import load_baseline
from envs.core.layout import Field, Layout

__all__ = [
    "BASES",
    "FEATURES",
    "ResidualConfig",
    "ResidualController",
    "ResidualPolicy",
    "ResidualVectorWrapper",
    "ResidualWrapper",
    "residual_config",
]

BASES = ("none", "operator", "pid")

FEATURES: dict[str, Layout] = {
    "bof": Layout(
        "bof_estimates",
        [
            Field("est_carbon", "wt%", 0.0, 5.0, "estimated bath carbon"),
            Field("est_temp", "degC", 0.0, 1900.0, "estimated bath temperature (0: unknown)"),
            Field("est_temp_known", "-", 0.0, 1.0, "sub-lance reading in the estimate"),
            Field("aim_shift_c", "wt%", -0.1, 0.1, "campaign PI's carbon-aim shift"),
            Field("aim_shift_temp", "K", -100.0, 100.0, "campaign PI's temperature-aim shift"),
        ],
    ),
    "paint": Layout(
        "paint_estimates",
        [
            Field("film_factor_base", "ln", -2.0, 2.0, "ln film-build factor, basecoat"),
            Field("film_factor_clear", "ln", -2.0, 2.0, "ln film-build factor, clearcoat"),
            Field("flow_corr_base", "ln", -2.0, 2.0, "PI log-flow correction, basecoat"),
            Field("flow_corr_clear", "ln", -2.0, 2.0, "PI log-flow correction, clearcoat"),
        ],
    ),
}
BOF_F, PAINT_F = FEATURES["bof"].at, FEATURES["paint"].at

# per process: (observation fields, estimator features) that carry the campaign — what a unit
# before this one left behind; campaign_features=false shows them to the correction as 0
CAMPAIGN_INPUTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "bof": (
        ("last_tap_valid", "last_tap_c_dev", "last_tap_temp_dev", "last_tap_p_dev"),
        ("aim_shift_c", "aim_shift_temp"),
    ),
}
CAMPAIGN_COUNTER = {"bof": "heat_in_campaign"}  # the unit count within the campaign


@dataclasses.dataclass(frozen=True)
class ResidualConfig:
    """What the policy corrects and what it sees.

    Attributes:
        base: ``"none"`` (the policy acts alone), ``"operator"`` or ``"pid"``.
        scale: the correction's gain, > 0: ``a_env = clip(a_base + scale · a_policy)``.
        estimator_features: append the base's estimates to the observation (base ``pid``).
        campaign_features: the correction sees the campaign inputs (:data:`CAMPAIGN_INPUTS`);
            false: they reach it as 0, a heat-local correction (BOF).
    """

    base: str = "none"
    scale: float = 1.0
    estimator_features: bool = False
    campaign_features: bool = True

    def __post_init__(self) -> None:
        if self.base not in BASES:
            raise ValueError(f"unknown residual base {self.base!r}; valid: {list(BASES)}")
        if not (np.isfinite(self.scale) and self.scale > 0.0):
            raise ValueError(f"residual scale must be finite and > 0, got {self.scale}")
        if self.estimator_features and self.base != "pid":
            raise ValueError(
                f"estimator_features=true needs base=pid (the base whose estimator is "
                f"observed); base={self.base!r} has no estimator"
            )
        if not self.campaign_features and self.base == "none":
            raise ValueError(
                "campaign_features=false hides inputs from a correction: it needs a base "
                "(operator or pid) that keeps acting on them"
            )

    @property
    def active(self) -> bool:
        """False for ``base="none"``: no wrapper, the env as it is."""
        return self.base != "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.base,
            "scale": self.scale,
            "estimator_features": self.estimator_features,
            "campaign_features": self.campaign_features,
        }


def residual_config(c: Mapping[str, Any] | None) -> ResidualConfig:
    """The ``base`` node of a job config (``{name, scale, estimator_features,
    campaign_features}``); a missing node (a run trained before residual control existed) is
    ``base="none"``, a missing ``campaign_features`` (runs from before the option) true."""
    if not c:
        return ResidualConfig()
    valid = ("name", "scale", "estimator_features", "campaign_features")
    unknown = sorted(set(c) - set(valid))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in the base config; valid: {', '.join(valid)}")
    return ResidualConfig(
        str(c.get("name", "none")),
        float(c.get("scale", 1.0)),
        _flag(c.get("estimator_features", False)),
        _flag(c.get("campaign_features", True)),
    )


def _flag(value: Any) -> bool:
    """A boolean from a config or from an MLflow param (logged as the text "True"/"False")."""
    if isinstance(value, str):
        if value not in ("True", "False", "true", "false"):
            raise ValueError(f"expected true or false, got {value!r}")
        return value in ("True", "true")
    return bool(value)


# -- per-plant state of a batched controller ---------------------------------------------------
def _copy_rows(dst: Any, src: Any, mask: npt.NDArray[np.bool_], n: int) -> None:
    """Rows ``mask`` of every per-plant array in ``dst`` (recursively: estimators, PI loops)
    replaced by ``src``'s. A per-plant array has ``n`` rows; arrays are replaced, never written
    in place, so arrays shared with the caller (an observation slice) stay untouched."""
    for name, value in vars(dst).items():
        other = getattr(src, name, None)
        if isinstance(value, np.ndarray):
            if value.ndim and value.shape[0] == n and isinstance(other, np.ndarray):
                if other.shape == value.shape:
                    m = mask.reshape((n,) + (1,) * (value.ndim - 1))
                    setattr(dst, name, np.where(m, other, value))
        elif isinstance(value, list) and isinstance(other, list):
            for a, b in zip(value, other, strict=True):
                if _is_state(a):
                    _copy_rows(a, b, mask, n)
        elif _is_state(value) and other is not None:
            _copy_rows(value, other, mask, n)


def _is_state(obj: Any) -> bool:
    """A controller part that carries per-plant state (agents' classes, not frozen params)."""
    return (
        hasattr(obj, "__dict__")
        and type(obj).__module__.startswith("agents.")
        and not dataclasses.is_dataclass(obj)
    )


class ResidualController:
    """The base controller of a batch of plants, with per-plant reset and the features.

    Args:
        config: the residual settings (``base`` must not be ``"none"``).
        process: ``"bof"`` or ``"paint"``.
        n_act: the env's action dimension.
        plant: the plant the base is built for (the env's, overrides included).
        env_kwargs: the env's options (``action_mode`` and what the base models, e.g. ``dt_s``).
    """

    def __init__(
        self,
        config: ResidualConfig,
        process: str,
        n_act: int,
        plant: Any = None,
        env_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if not config.active:
            raise ValueError("ResidualController needs a base controller, got base='none'")
        if config.estimator_features and process not in FEATURES:
            raise ValueError(f"no estimator features for process {process!r}; {list(FEATURES)}")
        mode = dict(env_kwargs or {}).get("action_mode", "adjust")
        if mode != "adjust":
            raise ValueError(
                f"residual control needs action_mode='adjust' (the base acts as adjustments "
                f"around practice), got {mode!r}"
            )
        self.config, self.process, self.n_act = config, process, int(n_act)
        self.base = load_baseline(config.base, process, n_act, plant, env_kwargs)
        self.features = FEATURES[process] if config.estimator_features else None
        self.hidden_inputs, self.hidden_features = self._campaign_inputs(config, process)
        self._fresh: Any = None
        self.n = 0

    def _campaign_inputs(self, config: ResidualConfig, process: str) -> tuple[list[int], list[int]]:
        """Observation and feature columns shown as 0 (``campaign_features=false``)."""
        if config.campaign_features or process not in CAMPAIGN_INPUTS:
            return [], []  # shown, or a process whose episodes are no campaigns: none to hide
        layout = envs.process(process).layout_module.OBSERVATION
        obs_fields, feature_fields = CAMPAIGN_INPUTS[process]
        hidden = [getattr(layout.at, n) for n in (*obs_fields, CAMPAIGN_COUNTER[process])]
        features = (
            [] if self.features is None else [getattr(self.features.at, n) for n in feature_fields]
        )
        return hidden, features

    @property
    def heat_local(self) -> bool:
        """True if campaign inputs are hidden from the correction."""
        return bool(self.hidden_inputs)

    @property
    def n_features(self) -> int:
        return 0 if self.features is None else len(self.features)

    def observation_space(self, space: gym.spaces.Space[Any]) -> gym.spaces.Box:
        """The env's Box with the feature rows appended (the env's own Box if none)."""
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise TypeError(f"residual control needs a flat Box observation space, got {space}")
        if self.features is None:
            return space
        low = np.concatenate([space.low, self.features.low]).astype(space.dtype)
        high = np.concatenate([space.high, self.features.high]).astype(space.dtype)
        return gym.spaces.Box(low, high, dtype=space.dtype)  # type: ignore[arg-type]

    def reset(self, n: int) -> None:
        """``n`` plants start (all state cleared)."""
        self.n = int(n)
        if hasattr(self.base, "reset"):
            self.base.reset(self.n)
            self._fresh = copy.deepcopy(self.base)  # the state every plant starts from

    def reset_rows(self, mask: npt.NDArray[np.bool_]) -> None:
        """Plants ``mask`` start a new episode; the others keep their state."""
        if self._fresh is not None and mask.any():
            _copy_rows(self.base, self._fresh, np.asarray(mask, dtype=bool), self.n)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The base's actions for raw observations ``(n, n_obs)`` (updates its state)."""
        return np.asarray(self.base.act(obs), dtype=np.float64).reshape(obs.shape[0], self.n_act)

    def augment(self, obs: np.ndarray) -> np.ndarray:
        """``obs`` with the base's current estimates appended (after :meth:`act` on it), the
        campaign inputs as 0 for a heat-local correction."""
        out = self._append_features(obs)
        if self.hidden_inputs or self.hidden_features:
            out = out.copy() if out is obs else out
            out[:, self.hidden_inputs] = 0.0
            out[:, [obs.shape[1] + k for k in self.hidden_features]] = 0.0
        return out

    def _append_features(self, obs: np.ndarray) -> np.ndarray:
        if self.features is None:
            return obs
        f = np.zeros((obs.shape[0], len(self.features)))
        if self.process == "bof":
            est, pid = self.base.estimator, self.base
            known = np.isfinite(est.temp)
            f[:, BOF_F.est_carbon] = np.nan_to_num(est.carbon)
            f[:, BOF_F.est_temp] = np.where(known, est.temp, 0.0)
            f[:, BOF_F.est_temp_known] = known
            f[:, BOF_F.aim_shift_c] = pid.pi_c.output
            f[:, BOF_F.aim_shift_temp] = pid.pi_t.output
        else:
            est = self.base.estimator
            factor = np.nan_to_num(est.log_factor, nan=0.0, posinf=0.0, neginf=0.0)
            f[:, PAINT_F.film_factor_base] = factor[:, 0]
            f[:, PAINT_F.film_factor_clear] = factor[:, 1]
            f[:, PAINT_F.flow_corr_base] = self.base.loops[0].output
            f[:, PAINT_F.flow_corr_clear] = self.base.loops[1].output
        f = np.clip(f, self.features.low, self.features.high)
        return np.concatenate([obs, f.astype(obs.dtype)], axis=1)

    def combine(self, base_action: np.ndarray, correction: np.ndarray) -> np.ndarray:
        """``clip(base + scale · correction, −1, 1)`` as float32."""
        c = np.asarray(correction, dtype=np.float64).reshape(base_action.shape)
        out = np.clip(base_action + self.config.scale * np.clip(c, -1.0, 1.0), -1.0, 1.0)
        return out.astype(np.float32)


def _process_of(env: gym.Env[Any, Any] | gym.vector.VectorEnv) -> str:
    import envs

    return str(envs.process(env.unwrapped.spec.id).name)  # type: ignore[union-attr]


def _plant_and_options(env: Any) -> tuple[Any, dict[str, Any]]:
    """The plant variant a plant env (single or native vector) was built for, and the options a
    base controller models (``action_mode``, ``dt_s``)."""
    inner = env.unwrapped
    plant, batch = getattr(inner, "variant", None), getattr(inner, "batch", None)
    if plant is None or batch is None:
        raise TypeError(
            f"{type(inner).__name__} is not a plantrl plant env (no plant variant to build the "
            "base controller for)"
        )
    return plant, {"action_mode": batch.scaler.mode, "dt_s": float(batch.dt_s)}


class ResidualWrapper(
    gym.Wrapper[np.ndarray, np.ndarray, np.ndarray, np.ndarray], gym.utils.RecordConstructorArgs
):
    """A single env of a process, acted on as ``clip(base + scale · action)``.

    Args:
        env: a plant env (``gym.make("plantrl/BOF-v2")``, ``envs.make("paint")``).
        config: :class:`ResidualConfig` (``base`` ``operator`` or ``pid``).
        process: ``"bof"`` / ``"paint"``; default: from the env's id.

    The action space is the env's ([-1, 1] per actuator: the correction); the observation space
    is the env's, plus the base's estimates with ``estimator_features``. ``info["base_action"]``
    holds the base's action of the step. The base is rebuilt for the env's plant and options.
    """

    def __init__(
        self,
        env: gym.Env[np.ndarray, np.ndarray],
        config: ResidualConfig,
        process: str | None = None,
    ) -> None:
        # recorded so gym.make can rebuild the wrapper from the env spec (check_env does)
        gym.utils.RecordConstructorArgs.__init__(self, config=config, process=process)
        gym.Wrapper.__init__(self, env)
        n_act = int(np.prod(env.action_space.shape or (0,)))
        plant, options = _plant_and_options(env)
        self.controller = ResidualController(
            config, process or _process_of(env), n_act, plant, options
        )
        self.observation_space = self.controller.observation_space(env.observation_space)
        self._base_action = np.zeros((1, n_act))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self.controller.reset(1)
        return self._observe(obs), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, Any, bool, bool, dict[str, Any]]:
        a = self.controller.combine(self._base_action, np.asarray(action)[None])[0]
        obs, reward, terminated, truncated, info = self.env.step(a)
        info = {**info, "base_action": self._base_action[0].astype(np.float32)}
        return self._observe(obs), reward, terminated, truncated, info

    def _observe(self, obs: np.ndarray) -> np.ndarray:
        batch = np.asarray(obs)[None]
        self._base_action = self.controller.act(batch)
        return self.controller.augment(batch)[0]


class ResidualVectorWrapper(gym.vector.VectorWrapper):
    """The vector counterpart of :class:`ResidualWrapper` for a native vector env.

    Args:
        env: a vector env built with ``autoreset_mode="same_step"`` (the train job's), whose
            plants share one plant variant (``env.unwrapped.plant``).
        config: :class:`ResidualConfig`.
        process: ``"bof"`` / ``"paint"``; default: from the env's id.

    One batched base controller serves every plant; a plant whose episode ends is reset to the
    controller's start state in the same step (its new episode's first observation is acted on
    by a fresh controller), exactly as a single env reset would. ``info["final_obs"]`` gets the
    estimates of the episode's last observation appended.
    """

    def __init__(
        self,
        env: gym.vector.VectorEnv,
        config: ResidualConfig,
        process: str | None = None,
    ) -> None:
        super().__init__(env)
        mode = env.metadata.get("autoreset_mode")
        if mode != gym.vector.AutoresetMode.SAME_STEP:
            raise ValueError(
                f"ResidualVectorWrapper needs autoreset_mode='same_step', got {mode!r}: the base "
                "controller is reset in the step an episode ends"
            )
        n_act = int(np.prod(env.single_action_space.shape or (0,)))
        plant, options = _plant_and_options(env)
        self.controller = ResidualController(
            config, process or _process_of(env), n_act, plant, options
        )
        self.single_observation_space = self.controller.observation_space(
            env.single_observation_space
        )
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, self.num_envs
        )
        self._base_action = np.zeros((self.num_envs, n_act))

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)  # type: ignore[arg-type]
        self.controller.reset(self.num_envs)
        self._base_action = self.controller.act(obs)
        return self.controller.augment(obs), info

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        a = self.controller.combine(self._base_action, actions)
        obs, rewards, terminated, truncated, info = self.env.step(a)
        done = np.logical_or(terminated, truncated)
        if done.any():
            info = dict(info)
            info["final_obs"] = self._final_features(np.asarray(info["final_obs"]), obs, done)
            self.controller.reset_rows(done)
        self._base_action = self.controller.act(obs)
        return self.controller.augment(obs), rewards, terminated, truncated, info

    def _final_features(
        self, final_obs: np.ndarray, obs: np.ndarray, done: np.ndarray
    ) -> np.ndarray:
        """The last observations of the ended episodes with their estimates appended. A copy
        of the controller sees them (the running plants' rows see their own observation, and
        the copy is dropped), so the running plants' state is not advanced twice."""
        if self.controller.features is None:
            return final_obs
        idx = np.flatnonzero(done)
        rows = np.array(obs, copy=True)
        rows[idx] = np.stack([np.asarray(final_obs[i], dtype=obs.dtype) for i in idx])
        probe = copy.deepcopy(self.controller)
        probe.act(rows)
        out = probe.augment(rows)
        # the layout the env used: Gymnasium's object array (None for running plants) or 2-d
        result = np.empty(len(done), dtype=object) if final_obs.dtype == object else out * 0
        for i in idx:
            result[i] = out[i]
        return result


class ResidualPolicy:
    """A trained correction and its base controller as one policy on the raw env.

    Args:
        policy: the learned policy (``act(obs_with_estimates) -> correction``).
        controller: the base, built for the evaluated plant (:class:`ResidualController`).

    ``act(raw obs) = clip(base(raw obs) + scale · policy(obs with estimates))``, the action the
    training wrapper gave the env; ``reset(n)`` clears the base and a recurrent policy's state.
    """

    def __init__(self, policy: Any, controller: ResidualController) -> None:
        self.policy, self.controller = policy, controller
        shape = getattr(policy, "observation_shape", None)
        self.inner_observation_shape = None if shape is None else tuple(shape)

    def reset(self, n: int) -> None:
        self.controller.reset(n)
        if hasattr(self.policy, "reset"):
            self.policy.reset(n)

    def act(self, obs: np.ndarray) -> np.ndarray:
        o = np.asarray(obs, dtype=np.float32)
        single = o.ndim == 1
        batch = o[None] if single else o
        if self.controller.n != batch.shape[0]:
            self.reset(batch.shape[0])
        base = self.controller.act(batch)
        correction = np.asarray(self.policy.act(self.controller.augment(batch)))
        out = self.controller.combine(base, correction)
        return out[0] if single else out
