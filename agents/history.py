"""Memory in the observation: a window of the last K unit results (BOF taps, painted bodies).

The drift case is a campaign (BOF: 20 heats; paint line: a shift of bodies): a policy must
notice from the last units' results that the plant has moved (issue 13, "Memory where the plant
needs it"). The env's observation carries only the *latest* result (the BOF's last tap, the
paint line's latest gauge reading); this module appends the last ``units`` results, oldest
first, so a feed-forward policy sees a trend — the alternative to a recurrent policy
(``agent=recurrent_ppo``) the study compares.

A new unit is detected from explicit markers, never from changed values (two taps can read
alike): a counter in the raw observation — the BOF's ``heat_in_campaign`` (heats tapped so far),
the paint line's ``body_index`` (bodies painted so far) — and, where the env's info is at hand
(the wrappers), its ``unit_end`` flag. Each step that moves the counter away from the last one
seen, or that the env flags ``unit_end``, delivers one unit result; the reset observation
delivers none (the BOF has no tap yet, and the paint gauge's reset reading is the nominal film of
the bodies painted before the shift, not a measurement). The flag matters for one observation
only: the terminal observation of a BOF episode carries the last heat's tap, but
``heat_in_campaign`` is not advanced in it; a policy never acts on it, so
:class:`HistoryPolicy` (observations only) sees the same windows as the wrappers.

Values are read from the raw observation's columns, so the window works below or above a
residual wrapper (which appends its estimates *after* the raw columns).

One unit result (a block of the window), per process:

BOF (:data:`envs.steel.layout.OBSERVATION`, last tap):

| name | unit | range | meaning |
| --- | --- | --- | --- |
| ``c_dev`` | band | [−5, 250] | tap carbon − aim, in 0.02 wt% bands (``last_tap_c_dev``) |
| ``temp_dev`` | band | [−40, 40] | tap temperature − aim, in 15 K bands (``last_tap_temp_dev``) |
| ``valid`` | - | [0, 1] | 1: a tapped heat (``last_tap_valid``); 0: no such heat yet |

Paint line (:data:`envs.paint.layout.OBSERVATION`, post-oven gauge):

| name | unit | range | meaning |
| --- | --- | --- | --- |
| ``dft_base_dev`` | um | [−200, 200] | measured basecoat DFT − target |
| ``dft_clear_dev`` | um | [−200, 200] | measured clearcoat DFT − target |
| ``valid`` | - | [0, 1] | 1: a body with a finite reading; 0: no body yet, or a NaN dropout |

The window (:func:`window_layout`) repeats the block ``units`` times, named by age:
``tap_3_c_dev, tap_3_temp_dev, tap_3_valid, tap_2_…, tap_1_…`` (BOF, ``units=3``; age 1 is the
latest unit, the one the env's own observation also carries), ``body_<age>_…`` on the paint
line. A slot without a unit yet is 0 with ``valid`` 0. The history is per episode: cleared at
``reset`` and, in a vector env, at each plant's autoreset.

| piece | for |
| --- | --- |
| :class:`MemoryConfig` | ``memory.name`` / ``memory.units`` (``conf/memory/*.yaml``) |
| :class:`UnitHistory` | the batched history itself (one row per plant) |
| :class:`HistoryWrapper` | a single Gymnasium env (``check_env``, SB3, …) |
| :class:`HistoryVectorWrapper` | the native vector env the train job uses (same-step autoreset) |
| :class:`HistoryPolicy` | a trained policy that keeps its own history on the plain env |
| :func:`with_recorded_memory` | a loaded policy wrapped as its training config recorded |

>>> import envs
>>> env = HistoryWrapper(envs.make("bof", scenario="drift"), MemoryConfig("window", 3))
>>> obs, info = env.reset(seed=0)
>>> obs.shape, float(obs[-9:].sum())
((35,), 0.0)
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from envs.core.layout import Field, Layout
from envs.paint.layout import OBSERVATION as PAINT_OBS
from envs.steel.layout import OBSERVATION as BOF_OBS

__all__ = [
    "MEMORIES",
    "UNIT_RESULTS",
    "HistoryPolicy",
    "HistoryVectorWrapper",
    "HistoryWrapper",
    "MemoryConfig",
    "UnitHistory",
    "memory_config",
    "window_layout",
    "with_recorded_memory",
]

MEMORIES = ("none", "window")


@dataclasses.dataclass(frozen=True)
class UnitSource:
    """Where a process's observation carries its unit results.

    Attributes:
        prefix: field-name prefix of a window slot (``"tap"``, ``"body"``).
        counter: observation field that counts the units done (moves by one per unit).
        values: ``(reading field, aim field or None)`` per value: value = reading − aim.
        valid: observation field flagging a real reading (None: a finite reading is valid).
        block: the layout of one unit result (values, then ``valid``).
    """

    prefix: str
    counter: str
    values: tuple[tuple[str, str | None], ...]
    valid: str | None
    block: Layout


def _raw_field(raw: Layout, name: str) -> Field:
    return raw.fields[raw.names.index(name)]


def _deviation(raw: Layout, name: str, reading: str, aim: str | None, doc: str) -> Field:
    """A window column for ``reading − aim`` of the raw observation, its range derived from
    theirs (the env's Box), so the window's Box cannot drift from the env's."""
    r = _raw_field(raw, reading)
    if aim is None:
        return Field(name, r.unit, r.low, r.high, doc)
    a = _raw_field(raw, aim)
    return Field(name, r.unit, r.low - a.high, r.high - a.low, doc)


VALID = Field("valid", "-", 0.0, 1.0, "1: a unit with a valid reading; 0: none (yet)")
UNIT_RESULTS: dict[str, UnitSource] = {
    "bof": UnitSource(
        "tap",
        "heat_in_campaign",
        (("last_tap_c_dev", None), ("last_tap_temp_dev", None)),
        "last_tap_valid",
        Layout(
            "bof_tap_result",
            [
                _deviation(BOF_OBS, "c_dev", "last_tap_c_dev", None, "(tap C - aim) / 0.02 wt%"),
                _deviation(BOF_OBS, "temp_dev", "last_tap_temp_dev", None, "(tap T - aim) / 15 K"),
                VALID,
            ],
        ),
    ),
    "paint": UnitSource(
        "body",
        "body_index",
        (
            ("dft_base_measured", "dft_target_base"),
            ("dft_clear_measured", "dft_target_clear"),
        ),
        None,
        Layout(
            "paint_body_result",
            [
                _deviation(
                    PAINT_OBS,
                    "dft_base_dev",
                    "dft_base_measured",
                    "dft_target_base",
                    "measured basecoat DFT - target",
                ),
                _deviation(
                    PAINT_OBS,
                    "dft_clear_dev",
                    "dft_clear_measured",
                    "dft_target_clear",
                    "measured clearcoat DFT - target",
                ),
                VALID,
            ],
        ),
    ),
}
# the raw observation layout each source's field names refer to
RAW_OBSERVATION: dict[str, Layout] = {"bof": BOF_OBS, "paint": PAINT_OBS}


def _source(process: str) -> UnitSource:
    if process not in UNIT_RESULTS:
        raise ValueError(
            f"no unit-result window for process {process!r}; the window is defined for "
            f"{sorted(UNIT_RESULTS)} (agents/history.py, UNIT_RESULTS)"
        )
    return UNIT_RESULTS[process]


def window_layout(process: str, units: int) -> Layout:
    """The appended columns: ``units`` blocks of the process's unit result, oldest first."""
    source = _source(process)
    return Layout(
        f"{process}_unit_window",
        [
            Field(f"{source.prefix}_{age}_{f.name}", f.unit, f.low, f.high, f.doc)
            for age in range(units, 0, -1)
            for f in source.block.fields
        ],
    )


@dataclasses.dataclass(frozen=True)
class MemoryConfig:
    """What the observation remembers.

    Attributes:
        name: ``"none"`` (the env's observation as it is) or ``"window"``.
        units: the window's length in units (heats, bodies), ≥ 1; 0 with ``"none"``.
    """

    name: str = "none"
    units: int = 0

    def __post_init__(self) -> None:
        if self.name not in MEMORIES:
            raise ValueError(f"unknown memory {self.name!r}; valid: {list(MEMORIES)}")
        if isinstance(self.units, bool) or int(self.units) != self.units:
            raise ValueError(f"memory.units must be a whole number, got {self.units!r}")
        if self.name == "window" and self.units < 1:
            raise ValueError(
                f"memory=window needs memory.units >= 1 (units remembered), got {self.units}"
            )
        if self.name == "none" and self.units != 0:
            raise ValueError(
                f"memory.units={self.units} needs memory=window; memory=none remembers nothing "
                "(units 0)"
            )

    @property
    def active(self) -> bool:
        """False for ``"none"``: no wrapper, the env as it is."""
        return self.name != "none"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "units": int(self.units)}


def memory_config(c: Mapping[str, Any] | None) -> MemoryConfig:
    """The ``memory`` node of a job config (``{name, units}``); a missing node (a run trained
    before the window existed) is ``memory=none``. MLflow params arrive as strings."""
    if not c:
        return MemoryConfig()
    unknown = sorted(set(c) - {"name", "units"})
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in the memory config; valid: name, units")
    units = c.get("units", 0)
    try:
        units = int(units)
    except (TypeError, ValueError):
        raise ValueError(f"memory.units must be a whole number, got {units!r}") from None
    return MemoryConfig(str(c.get("name", "none")), units)


class UnitHistory:
    """The last ``units`` unit results of each plant of a batch, oldest first.

    Args:
        process: ``"bof"`` or ``"paint"``.
        units: window length, ≥ 1.

    :meth:`observe` takes each observation of the episode exactly once, in order (the reset
    observation first); it records a result whenever the unit counter moves.
    """

    def __init__(self, process: str, units: int) -> None:
        if int(units) < 1:
            raise ValueError(f"a unit window needs units >= 1, got {units}")
        self.source = _source(process)
        self.process, self.units = process, int(units)
        self.layout = window_layout(process, self.units)
        raw = RAW_OBSERVATION[process]
        self.n_raw = len(raw)
        self._counter = raw.index(self.source.counter)
        self._readings = np.array([raw.index(r) for r, _ in self.source.values])
        self._aims = [None if a is None else raw.index(a) for _, a in self.source.values]
        self._valid = None if self.source.valid is None else raw.index(self.source.valid)
        self._width = len(self.source.block)
        self.window = np.zeros((0, self.units, self._width))
        self.last_counter = np.zeros(0)

    def __len__(self) -> int:
        return len(self.layout)

    def reset(self, n: int) -> None:
        """``n`` plants start: empty windows, no counter seen."""
        self.window = np.zeros((int(n), self.units, self._width))
        self.last_counter = np.full(int(n), np.nan)  # NaN: the next observation is a reset's

    def reset_rows(self, mask: np.ndarray) -> None:
        """Plants ``mask`` start a new episode; the others keep their history."""
        mask = np.asarray(mask, dtype=bool)
        self.window[mask] = 0.0
        self.last_counter[mask] = np.nan

    def observe(self, obs: np.ndarray, unit_end: np.ndarray | None = None) -> np.ndarray:
        """Take the next observation of each plant ``(n, ≥ n_raw)``; the windows ``(n, len)``.

        ``unit_end`` (per plant, optional): the env's flag that a unit ended in the step that
        produced ``obs`` (``info["unit_end"]``), a new result even where the counter stayed.
        """
        obs = np.asarray(obs)
        if obs.ndim != 2 or obs.shape[0] != self.window.shape[0] or obs.shape[1] < self.n_raw:
            raise ValueError(
                f"UnitHistory of {self.window.shape[0]} plants needs observations of shape "
                f"({self.window.shape[0]}, >= {self.n_raw}) (the raw {self.process} observation "
                f"first), got {obs.shape}"
            )
        counter = obs[:, self._counter].astype(np.float64)
        first = np.isnan(self.last_counter)
        new = counter != self.last_counter
        if unit_end is not None:
            new |= np.asarray(unit_end, dtype=bool)
        new &= ~first  # a reset observation carries no result of this episode
        self.last_counter = counter
        if new.any():
            self._push(obs[new], new)
        return self.window.reshape(len(self.window), -1).copy()

    def _push(self, rows: np.ndarray, new: np.ndarray) -> None:
        """Shift the windows of plants ``new`` one slot older and write their new result."""
        values = rows[:, self._readings].astype(np.float64)
        for j, aim in enumerate(self._aims):
            if aim is not None:
                values[:, j] -= rows[:, aim]
        valid = np.all(np.isfinite(values), axis=1)
        if self._valid is not None:
            valid &= rows[:, self._valid] > 0.5
        block = self.source.block
        result = np.zeros((len(rows), self._width))
        result[:, :-1] = np.where(valid[:, None], values, 0.0)
        result[:, -1] = valid
        result = np.clip(result, block.low, block.high)
        idx = np.flatnonzero(new)
        self.window[idx, :-1] = self.window[idx, 1:]
        self.window[idx, -1] = result

    def augment(self, obs: np.ndarray, unit_end: np.ndarray | None = None) -> np.ndarray:
        """``obs`` with the windows after :meth:`observe` on it appended (obs dtype)."""
        window = self.observe(obs, unit_end)
        return np.concatenate([obs, window.astype(obs.dtype)], axis=1)

    def observation_space(self, space: gym.spaces.Space[Any]) -> gym.spaces.Box:
        """The Box ``space`` with the window's columns appended."""
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise TypeError(f"a unit window needs a flat Box observation space, got {space}")
        if space.shape[0] < self.n_raw:
            raise ValueError(
                f"the observation ({space.shape[0]} columns) is narrower than the raw "
                f"{self.process} observation ({self.n_raw}): is this a {self.process} env?"
            )
        low = np.concatenate([space.low, self.layout.low]).astype(space.dtype)
        high = np.concatenate([space.high, self.layout.high]).astype(space.dtype)
        return gym.spaces.Box(low, high, dtype=space.dtype)  # type: ignore[arg-type]


def _process_of(env: gym.Env[Any, Any] | gym.vector.VectorEnv) -> str:
    import envs

    spec = getattr(env.unwrapped, "spec", None)
    if spec is None:
        raise TypeError(f"{type(env.unwrapped).__name__} has no registered spec: pass process=")
    return str(envs.process(spec.id).name)


def _history(config: MemoryConfig, process: str) -> UnitHistory:
    if not config.active:
        raise ValueError("a history wrapper needs memory=window, got memory=none")
    return UnitHistory(process, config.units)


class HistoryWrapper(
    gym.Wrapper[np.ndarray, np.ndarray, np.ndarray, np.ndarray], gym.utils.RecordConstructorArgs
):
    """A single env of a process, its observation extended by the window of unit results.

    Args:
        env: a plant env (``envs.make("bof", scenario="drift")``), plain or residual-wrapped
            (the raw observation must come first).
        config: :class:`MemoryConfig` with ``name="window"``.
        process: ``"bof"`` / ``"paint"``; default: from the env's id.
    """

    def __init__(
        self,
        env: gym.Env[np.ndarray, np.ndarray],
        config: MemoryConfig,
        process: str | None = None,
    ) -> None:
        # recorded so gym.make can rebuild the wrapper from the env spec (check_env does)
        gym.utils.RecordConstructorArgs.__init__(self, config=config, process=process)
        gym.Wrapper.__init__(self, env)
        self.history = _history(config, process or _process_of(env))
        self.observation_space = self.history.observation_space(env.observation_space)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self.history.reset(1)
        return self.history.augment(np.asarray(obs)[None])[0], info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        unit_end = np.array([bool(info.get("unit_end", False))])
        out = self.history.augment(np.asarray(obs)[None], unit_end)[0]
        return out, reward, terminated, truncated, info


class HistoryVectorWrapper(gym.vector.VectorWrapper):
    """The vector counterpart of :class:`HistoryWrapper` for a native vector env.

    Args:
        env: a vector env with ``autoreset_mode="same_step"`` (the train job's), plain or
            wrapped in :class:`agents.residual.ResidualVectorWrapper`.
        config: :class:`MemoryConfig` with ``name="window"``.
        process: ``"bof"`` / ``"paint"``; default: from the env's id.

    A plant whose episode ends gets its ended episode's window (the final observation taken)
    appended to ``info["final_obs"]``, and starts its new episode with an empty window in the
    same step, exactly as a single env reset would.
    """

    def __init__(
        self,
        env: gym.vector.VectorEnv,
        config: MemoryConfig,
        process: str | None = None,
    ) -> None:
        super().__init__(env)
        mode = env.metadata.get("autoreset_mode")
        if mode != gym.vector.AutoresetMode.SAME_STEP:
            raise ValueError(
                f"HistoryVectorWrapper needs autoreset_mode='same_step', got {mode!r}: a "
                "plant's history is cleared in the step its episode ends"
            )
        self.history = _history(config, process or _process_of(env))
        self.single_observation_space = self.history.observation_space(env.single_observation_space)
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, self.num_envs
        )

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)  # type: ignore[arg-type]
        self.history.reset(self.num_envs)
        return self.history.augment(obs), info

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        obs, rewards, terminated, truncated, info = self.env.step(actions)
        done = np.logical_or(terminated, truncated)
        unit_end = _flag(info, "unit_end", self.num_envs)
        if done.any():
            info = dict(info)
            ended = np.where(
                done, _flag(info.get("final_info"), "unit_end", self.num_envs), unit_end
            )
            info["final_obs"] = self._final_windows(np.asarray(info["final_obs"]), obs, done, ended)
            self.history.reset_rows(done)
        return self.history.augment(obs, unit_end & ~done), rewards, terminated, truncated, info

    def _final_windows(
        self, final_obs: np.ndarray, obs: np.ndarray, done: np.ndarray, unit_end: np.ndarray
    ) -> np.ndarray:
        """The ended episodes' last observations with their windows appended. A copy of the
        history takes them (running plants' rows see their own observation, then the copy is
        dropped), so no plant's history is advanced twice."""
        idx = np.flatnonzero(done)
        rows = np.array(obs, copy=True)
        rows[idx] = np.stack([np.asarray(final_obs[i], dtype=obs.dtype) for i in idx])
        out = copy.deepcopy(self.history).augment(rows, unit_end)
        # the layout the env used: Gymnasium's object array (None for running plants) or 2-d
        result = np.empty(len(done), dtype=object) if final_obs.dtype == object else out * 0
        for i in idx:
            result[i] = out[i]
        return result


def _flag(info: Mapping[str, Any] | None, key: str, n: int) -> np.ndarray:
    """A boolean per plant from a vector env's info (Gymnasium layout: values + ``_key`` mask);
    False where the info does not set it."""
    if not isinstance(info, Mapping) or key not in info:
        return np.zeros(n, dtype=bool)
    value = np.asarray(info[key], dtype=bool)
    mask = np.asarray(info.get(f"_{key}", np.ones(n, dtype=bool)), dtype=bool)
    return value & mask


class HistoryPolicy:
    """A policy trained on the window, acting on the observation without it.

    Args:
        policy: the learned policy (``act(obs with window) -> action``).
        history: a :class:`UnitHistory` for the process and window length it was trained with.

    The history is the policy's own state: ``reset(n)`` clears it (and an inner policy's state)
    when ``n`` episodes start; a batch of another size starts new episodes. Each ``act`` call
    must be the next observation of every episode, as in :func:`agents.evaluation.evaluate`.
    """

    def __init__(self, policy: Any, history: UnitHistory) -> None:
        self.policy, self.history = policy, history
        shape = getattr(policy, "observation_shape", None)
        if shape is not None:
            # what the caller hands in: the trained input without the window
            self.observation_shape: tuple[int, ...] | None = (int(shape[0]) - len(history),)
        else:
            self.observation_shape = None

    def reset(self, n: int) -> None:
        self.history.reset(n)
        if hasattr(self.policy, "reset"):
            self.policy.reset(n)

    def act(self, obs: np.ndarray) -> np.ndarray:
        o = np.asarray(obs, dtype=np.float32)
        single = o.ndim == 1
        batch = o[None] if single else o
        if self.history.window.shape[0] != batch.shape[0]:
            self.reset(batch.shape[0])
        out = np.asarray(self.policy.act(self.history.augment(batch)))
        return out[0] if single else out


def with_recorded_memory(policy: Any, run_config: Mapping[str, Any]) -> Any:
    """``policy`` as it was trained: wrapped in a :class:`HistoryPolicy` when its training
    config (``config.yaml`` of a run or policy folder) recorded ``memory=window``; as it is
    otherwise (and for runs from before the window existed)."""
    memory = memory_config(run_config.get("memory"))
    if not memory.active:
        return policy
    process = str(run_config["env"]["name"])
    return HistoryPolicy(policy, UnitHistory(process, memory.units))
