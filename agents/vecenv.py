"""SB3 ``VecEnv`` adapter over a native Gymnasium ``VectorEnv`` (e.g. ``BOFVectorEnv``).

SB3 speaks its own vector-env protocol (``reset() -> obs``, ``step -> (obs, rewards, dones,
infos: list[dict])``, autoreset with ``info["terminal_observation"]``), while the plants' native
vector envs speak Gymnasium 1.x (dict-of-arrays infos with ``_key`` masks). The adapter
translates between the two without a per-plant Python loop on the hot path: batch arrays pass
straight through, and only the (few) plants whose unit (heat, shift) or episode ended in a step
get their info dict filled.

Built for a vector env with ``autoreset_mode="same_step"`` (SB3's convention: a finished plant
is reset in the step it ended, its last observation goes to ``terminal_observation``); any other
autoreset mode raises ``ValueError``.

Per-plant info dicts (all other plants get an empty dict):

| key | when | content |
| --- | --- | --- |
| ``terminal_observation`` | episode ended | the final observation (before the reset) |
| ``TimeLimit.truncated`` | episode ended | ``truncated and not terminated`` (BOF: always False) |
| ``episode`` | episode ended | ``{"r": return, "l": length, "t": s since the adapter was built}`` |
| ``unit_kpi`` | unit ended | ``{name: float}`` from ``unit_kpi/<name>`` (or a ``unit_kpi`` dict) |
| other env keys | when the env sets them | e.g. ``unit_end`` |

A done env's dict is built from ``info["final_info"]`` (the ended step's info), in either
layout: Gymnasium's (a dict of arrays with masks, as ``SyncVectorEnv``, ``BOFVectorEnv`` and
``PaintVectorEnv`` make it) or an object array of per-env dicts (accepted from other vector
envs).

The ``episode`` entry is what SB3's ``Monitor``/``VecMonitor`` would add, so ``ep_info_buffer``
and ``rollout/ep_rew_mean`` work without a ``VecMonitor``. Wrapping one on top is harmless (it
writes the same numbers, summed in float32) and is what SB3's ``evaluate_policy`` /
``EvalCallback`` look for: without it they warn that no Monitor is present and count returns
themselves (correct here, as nothing between the adapter and them changes rewards in eval mode).
Returns are the env's raw rewards, before any ``VecNormalize``.

>>> from agents.vecenv import make_sb3_vec_env
>>> venv = make_sb3_vec_env("bof", n_envs=4, seed=0, action_mode="absolute")
>>> venv.reset().shape
(4, 26)
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn

from envs.core.shell import UNIT_KPI_PREFIX

__all__ = ["NativeVecEnvAdapter", "make_sb3_vec_env"]

_FINAL_KEYS = frozenset({"final_obs", "_final_obs", "final_info", "_final_info"})
KPI_PREFIX = UNIT_KPI_PREFIX
KPI_KEY = "unit_kpi"


class NativeVecEnvAdapter(VecEnv):
    """Expose a Gymnasium ``VectorEnv`` (same-step autoreset) as an SB3 ``VecEnv``.

    Args:
        venv: the vector env, built with ``autoreset_mode="same_step"``.

    Seeding follows SB3: ``seed(s)`` stores ``s`` for the next ``reset()`` (SB3's algorithms
    call ``env.seed(seed)`` then ``env.reset()``). A native vector env draws all its plants from
    one generator, so the whole batch is seeded with the single int ``s`` (the first of SB3's
    ``[s, s + 1, …]``); a ``reset()`` without a pending seed continues the env's generator.

    ``get_attr`` / ``set_attr`` / ``env_method`` act on the vector env as a whole (one object
    holds every plant): ``get_attr`` returns its attribute once per requested index, and
    ``set_attr`` / ``env_method`` are allowed only for all plants at once; a per-plant subset
    raises ``NotImplementedError``.
    """

    def __init__(self, venv: gym.vector.VectorEnv) -> None:
        if not isinstance(venv, gym.vector.VectorEnv):
            raise TypeError(f"venv must be a gymnasium VectorEnv, got {type(venv).__name__}")
        mode = venv.metadata.get("autoreset_mode")
        if mode != gym.vector.AutoresetMode.SAME_STEP:
            raise ValueError(
                "NativeVecEnvAdapter needs a vector env built with autoreset_mode='same_step' "
                f"(SB3 resets finished envs in the same step); got autoreset_mode={mode!r}. "
                "Build it with gym.make_vec(..., autoreset_mode='same_step') or use "
                "make_sb3_vec_env()."
            )
        self.venv = venv
        n = int(venv.num_envs)
        self._actions: np.ndarray | None = None
        self._ep_returns = np.zeros(n, dtype=np.float64)
        self._ep_lengths = np.zeros(n, dtype=np.int64)
        self._t_start = time.time()
        super().__init__(n, venv.single_observation_space, venv.single_action_space)

    # -- core protocol ----------------------------------------------------------------------
    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Store ``seed`` for the next ``reset()``; returns SB3's per-env list ``[s, s+1, …]``."""
        return super().seed(seed)

    def reset(self) -> np.ndarray:
        seed = self._seeds[0]
        options = self._options[0] or None
        if any(o != self._options[0] for o in self._options[1:]):
            raise ValueError(
                "a native vector env takes one options dict for every plant; "
                "set_options() got different options per env"
            )
        obs, infos = self.venv.reset(seed=seed, options=options)
        self._reset_seeds()
        self._reset_options()
        self._ep_returns[:] = 0.0
        self._ep_lengths[:] = 0
        self.reset_infos = [{} for _ in range(self.num_envs)]
        for i, info in _unbatch_rows(infos, self.num_envs).items():
            self.reset_infos[i] = info
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called without a pending step_async()")
        obs, rewards, terminated, truncated, infos = self.venv.step(self._actions)
        self._actions = None
        dones = np.logical_or(terminated, truncated)
        self._ep_returns += rewards
        self._ep_lengths += 1
        out: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        # same_step: a done env's info is its final_info (the top level may describe the reset)
        skip = dones if "final_info" in infos else None
        for i, info in _unbatch_rows(infos, self.num_envs, exclude=skip).items():
            out[i] = info
        if dones.any():
            self._finish_episodes(np.flatnonzero(dones), dones, infos, out, terminated, truncated)
        return obs, np.asarray(rewards, dtype=np.float32), dones, out

    def _finish_episodes(
        self,
        done_idx: np.ndarray,
        dones: np.ndarray,
        infos: Mapping[str, Any],
        out: list[dict[str, Any]],
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> None:
        """Fill the SB3 keys of the plants whose episode ended (the few, so a loop is fine)."""
        if "final_obs" not in infos:
            raise RuntimeError(
                "the vector env ended an episode without info['final_obs']; "
                "is it really in same_step autoreset mode?"
            )
        final_obs = infos["final_obs"]
        finals = _final_infos(infos.get("final_info"), dones, self.num_envs)
        elapsed = round(time.time() - self._t_start, 6)
        for i in done_idx.tolist():
            info = out[i] = finals.get(i, out[i])
            info["terminal_observation"] = final_obs[i]
            info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            info["episode"] = {
                "r": float(self._ep_returns[i]),
                "l": int(self._ep_lengths[i]),
                "t": elapsed,
            }
        self._ep_returns[done_idx] = 0.0
        self._ep_lengths[done_idx] = 0

    def close(self) -> None:
        self.venv.close()

    # -- attributes and methods -------------------------------------------------------------
    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The vector env's attribute, once per requested index (AttributeError if missing)."""
        value = getattr(self.venv, attr_name)
        return [value] * len(self._get_indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._require_all(indices, f"set_attr({attr_name!r})")
        setattr(self.venv, attr_name, value)

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        """Call a method of the vector env once (all plants); its result, once per env."""
        self._require_all(indices, f"env_method({method_name!r})")
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result] * self.num_envs

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        """Plants of a native vector env are not gym.Env objects, so never wrapped."""
        return [False] * len(self._get_indices(indices))

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs

    def render(self, mode: str | None = None) -> np.ndarray | None:
        """Native vector envs do not render; always ``None``."""
        return None

    def _get_indices(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int | np.integer):
            return [int(indices)]
        return [int(i) for i in indices]

    def _require_all(self, indices: VecEnvIndices, what: str) -> None:
        if sorted(set(self._get_indices(indices))) != list(range(self.num_envs)):
            raise NotImplementedError(
                f"{what} on a subset of plants: a native vector env is one object holding all "
                f"{self.num_envs} plants, so attributes and methods apply to all of them at "
                "once (pass indices=None)"
            )


def _unbatch_rows(
    infos: Mapping[str, Any],
    n: int,
    include: np.ndarray | None = None,
    exclude: np.ndarray | None = None,
) -> dict[int, dict[str, Any]]:
    """Gymnasium dict-of-arrays infos → ``{env index: info dict}`` for the envs that have one.

    Only envs selected by some ``_key`` mask (and by ``include``, not by ``exclude``) are touched,
    column by column (one ``tolist()`` per key); ``unit_kpi/<name>`` columns go to
    ``info["unit_kpi"][name]``. Nested info dicts are unbatched recursively.
    """
    cols = [
        (k, v, infos.get(f"_{k}"))
        for k, v in infos.items()
        if not k.startswith("_") and k not in _FINAL_KEYS
    ]
    if not cols:
        return {}
    masks = [np.ones(n, dtype=bool) if m is None else np.asarray(m, dtype=bool) for _, _, m in cols]
    touched = np.logical_or.reduce(masks) if len(masks) > 1 else masks[0]
    if include is not None:
        touched = touched & include
    if exclude is not None:
        touched = touched & ~exclude
    rows = np.flatnonzero(touched)
    out: dict[int, dict[str, Any]] = {i: {} for i in rows.tolist()}
    if rows.size:
        for (key, value, _), mask in zip(cols, masks, strict=True):
            idx = rows[mask[rows]]
            if idx.size:
                _fill_column(out, key, value, idx, n)
    return out


def _fill_column(
    out: dict[int, dict[str, Any]], key: str, value: Any, idx: np.ndarray, n: int
) -> None:
    """Write column ``key`` of a batched info into the per-env dicts of rows ``idx``."""
    rows = idx.tolist()
    if isinstance(value, Mapping):  # a nested info dict, batched the same way
        sub = _unbatch_rows(value, n, include=np.isin(np.arange(n), idx))
        for i in rows:
            out[i].setdefault(key, {}).update(sub.get(i, {}))
        return
    if isinstance(value, np.ndarray) and value.dtype != object:
        vals = value[idx].tolist()  # numpy scalars → Python scalars in one call
    else:
        vals = [_scalar(value[i]) for i in rows]
    if key.startswith(KPI_PREFIX):
        name = key[len(KPI_PREFIX) :]
        for i, v in zip(rows, vals, strict=True):
            out[i].setdefault(KPI_KEY, {})[name] = float(v)
    else:
        for i, v in zip(rows, vals, strict=True):
            out[i][key] = v


def _final_infos(final_info: Any, dones: np.ndarray, n: int) -> dict[int, dict[str, Any]]:
    """Per-env final infos of the done envs, from either same_step layout.

    Gymnasium's own vector envs batch ``final_info`` like any info (a dict of arrays with
    ``_key`` masks); an object array holding one dict per env is accepted too.
    """
    if final_info is None:
        return {}
    if isinstance(final_info, Mapping):
        return _unbatch_rows(final_info, n, include=dones)
    return {
        i: _flat_info(final_info[i])
        for i in np.flatnonzero(dones).tolist()
        if isinstance(final_info[i], Mapping)
    }


def _flat_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """One env's info dict with ``unit_kpi/<name>`` entries grouped into ``info["unit_kpi"]``."""
    out: dict[str, Any] = {}
    kpi: dict[str, float] = {}
    for k, v in info.items():
        if k.startswith(KPI_PREFIX):
            kpi[k[len(KPI_PREFIX) :]] = float(v)
        else:
            out[k] = _scalar(v)
    if kpi:
        out[KPI_KEY] = {**out.get(KPI_KEY, {}), **kpi}
    return out


def _scalar(v: Any) -> Any:
    """numpy scalars → Python scalars (JSON/MLflow friendly); arrays and objects unchanged."""
    return v.item() if isinstance(v, np.generic) else v


def make_sb3_vec_env(
    env: str = "bof",
    n_envs: int = 8,
    seed: int | None = 0,
    plant: Any = None,
    residual: Any = None,
    paired_reference: str | None = None,
    memory: Any = None,
    **env_kwargs: Any,
) -> NativeVecEnvAdapter:
    """Build the native vector env of a process and wrap it for SB3.

    Args:
        env: process name (``"bof"``) or registered id (``"plantrl/BOF-v2"``).
        n_envs: number of plants stepped together.
        seed: seed of the first ``reset()`` (``None``: unseeded).
        plant: plant variant (name in ``envs/conf/plant/``, YAML path, mapping or params).
        residual: an :class:`agents.residual.ResidualConfig`; with a base controller the vector
            env is wrapped in :class:`agents.residual.ResidualVectorWrapper` (the agent then
            learns a correction to the base). ``None`` or base ``"none"``: the plain env.
        paired_reference: ``"pid"`` / ``"operator"``: seed every episode from the run seed and
            pay each unit's reward net of that controller's return on the same unit
            (:class:`agents.paired.PairedReturnVectorWrapper`, below the residual wrapper);
            ``None``: the env's rewards.
        memory: an :class:`agents.history.MemoryConfig`; with ``memory=window`` the env (after
            the residual wrapper, so the window reads the raw observation columns) is wrapped
            in :class:`agents.history.HistoryVectorWrapper`. ``None`` or ``none``: no window.
        **env_kwargs: further env arguments, e.g. ``action_mode="absolute"``.
    """
    import envs  # registers the plantrl/ ids

    env_id = envs.process(env).env_id  # ValueError naming the valid processes and ids
    if "autoreset_mode" in env_kwargs and env_kwargs["autoreset_mode"] != "same_step":
        raise ValueError(
            "make_sb3_vec_env always uses autoreset_mode='same_step' (SB3's "
            f"convention); got {env_kwargs['autoreset_mode']!r}"
        )
    env_kwargs.pop("autoreset_mode", None)
    if plant is not None:
        env_kwargs["plant"] = plant
    venv = gym.make_vec(
        env_id,
        num_envs=n_envs,
        vectorization_mode="vector_entry_point",
        autoreset_mode="same_step",
        **env_kwargs,
    )
    if paired_reference is not None:
        from agents.paired import PairedReturnVectorWrapper

        venv = PairedReturnVectorWrapper(venv, paired_reference)
    if residual is not None and residual.active:
        from agents.residual import ResidualVectorWrapper

        venv = ResidualVectorWrapper(venv, residual)
    if memory is not None and memory.active:
        from agents.history import HistoryVectorWrapper

        venv = HistoryVectorWrapper(venv, memory)
    adapter = NativeVecEnvAdapter(venv)
    if seed is not None:
        adapter.seed(seed)
    return adapter
