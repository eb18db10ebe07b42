"""Training callbacks: held-apart evaluation, resumable checkpoints, a progress bar.

Frequencies are in environment steps (SB3 calls callbacks once per vector step, i.e. every
``n_envs`` env-steps; ECOSYSTEM.md pitfall 2), so results do not change with ``n_envs``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecNormalize

from agents.builder import save_policy
from agents.evaluation import evaluate

__all__ = [
    "CheckpointCallback",
    "EvalCallback",
    "ProgressCallback",
    "ResumePoint",
    "latest_checkpoint",
]

LATEST = "latest.json"
LOG_STATE = "log_state.json"


class EvalCallback(BaseCallback):
    """Every ``every_steps`` env-steps: run the current policy on the fixed eval seeds.

    Logs ``eval/return_mean`` and every heat KPI as ``eval/<kpi>`` at the current timestep.
    ``make_policy(model, vecnormalize)`` builds the policy object evaluated.
    """

    def __init__(
        self,
        make_env: Callable[[], Any],
        seeds: Sequence[int],
        every_steps: int,
        make_policy: Callable[[Any, Any], Any],
    ) -> None:
        super().__init__()
        self.make_env, self.seeds, self.every = make_env, list(seeds), int(every_steps)
        self.make_policy = make_policy
        self.next_eval = self.every
        self.last: dict[str, float] = {}

    def _init_callback(self) -> None:
        # the model's count: the callback's own is still 0 here, also when resuming
        self.next_eval = (self.model.num_timesteps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.next_eval:
            self.next_eval += self.every
            self.run_eval()
        return True

    def run_eval(self) -> dict[str, float]:
        env = self.model.get_env()
        vecnorm = env if isinstance(env, VecNormalize) else None
        results = evaluate(self.make_policy(self.model, vecnorm), self.make_env, self.seeds)
        self.last = results.summary()
        for key, value in self.last.items():
            self.logger.record(f"eval/{key}", value)
        # write now, at this timestep: off-policy algorithms dump only every few episodes, which
        # logged evaluations at a later step and lost the last one
        self.logger.dump(self.num_timesteps)
        return self.last


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed run continues and what SB3's logger held there (``log_state.json``).

    A resumed process starts at a rollout boundary with an empty logger and episode buffer;
    without these the first log after a resume misses the ``train/*`` values of the update made
    just before the checkpoint (SB3 writes them with the next rollout's log) and, when that
    rollout ends no episode, the ``rollout/*`` means.

    Attributes:
        step: env-steps done at the start of the rollout the run continues with (count).
        pending: values recorded but not yet written, ``key -> (value, excluded outputs)``.
        episodes: the episode statistics behind ``rollout/*`` (SB3's ``ep_info_buffer``).
    """

    step: int
    pending: dict[str, tuple[float, list[str] | None]] = field(default_factory=dict)
    episodes: list[dict[str, float]] = field(default_factory=list)

    @classmethod
    def of(cls, model: Any) -> ResumePoint:
        """The model's state now, taken where a rollout starts (or training ends)."""
        logger = model.logger
        pending = {
            key: (float(value), list(logger.name_to_excluded.get(key) or []) or None)
            for key, value in logger.name_to_value.items()
            if _is_number(value)
        }
        episodes = [{k: float(v) for k, v in e.items()} for e in model.ep_info_buffer or []]
        return cls(int(model.num_timesteps), pending, episodes)

    def restore(self, model: Any) -> None:
        """Put the pending values and episode statistics back (after SB3's learn setup)."""
        for key, (value, excluded) in self.pending.items():
            model.logger.record(key, value, exclude=None if excluded is None else tuple(excluded))
        model.ep_info_buffer.extend(self.episodes)

    def write(self, directory: Path) -> None:
        (directory / LOG_STATE).write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, directory: Path) -> ResumePoint | None:
        """The resume point saved with a checkpoint (None for checkpoints older than the file)."""
        path = directory / LOG_STATE
        if not path.is_file():
            return None
        raw = json.loads(path.read_text())
        pending = {k: (float(v), x) for k, (v, x) in raw["pending"].items()}
        return cls(int(raw["step"]), pending, list(raw["episodes"]))


class CheckpointCallback(BaseCallback):
    """Every ``every_steps`` env-steps save model, normalisation and a pointer to the latest.

    ``directory/step_<n>/`` holds ``model.zip``, ``policy.json`` (+ ``normalization.npz``,
    + ``replay_buffer.pkl`` for off-policy algorithms) and ``log_state.json``;
    ``directory/latest.json`` names the newest complete one, so a killed process leaves at most
    one unfinished folder that resume ignores.

    Checkpoints are taken where a rollout starts, i.e. after the previous rollout's update and
    its log: a resumed run then continues on the same rollout grid, so it logs at the same steps
    as an uninterrupted run. ``save()`` outside a rollout start (Ctrl-C, a lost tracking server)
    saves the policy as it is under the step of the rollout in progress, which the resumed run
    collects again (an on-policy policy does not change within a rollout).

    Args:
        directory: the run's checkpoint folder.
        every_steps: env-steps between checkpoints (count, >= 1).
        on_save: called before the pointer moves, e.g. to send buffered metrics: a checkpoint
            becomes the latest only once everything logged up to it is stored.
        resume_from: the checkpoint's resume point when the run is resumed.
    """

    def __init__(
        self,
        directory: str | Path,
        every_steps: int,
        on_save: Callable[[], None] | None = None,
        resume_from: ResumePoint | None = None,
    ) -> None:
        super().__init__()
        self.directory, self.every = Path(directory), int(every_steps)
        self.next_save = self.every
        self.on_save = on_save
        self.resume_from = resume_from
        self.resume_point: ResumePoint | None = None
        self.last_saved: Path | None = None

    def _init_callback(self) -> None:
        # the model's count: the callback's own is still 0 here, also when resuming
        self.next_save = (self.model.num_timesteps // self.every + 1) * self.every

    def _on_training_start(self) -> None:
        # after SB3's setup, which starts a resumed run with an empty episode buffer
        if self.resume_from is not None:
            self.resume_from.restore(self.model)
        self.resume_point = ResumePoint.of(self.model)

    def _on_rollout_start(self) -> None:
        self.resume_point = ResumePoint.of(self.model)
        if self.model.num_timesteps >= self.next_save:
            self.save()

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        # the budget's last step is a rollout boundary too (no rollout starts after it)
        self.resume_point = ResumePoint.of(self.model)
        if self.model.num_timesteps >= self.next_save:
            self.save()

    def save(self) -> Path | None:
        """Checkpoint at the current resume point; None before training started."""
        point = self.resume_point
        if point is None:
            return None
        self.next_save = (point.step // self.every + 1) * self.every
        target = self.directory / f"step_{point.step}"
        save_policy(self.model, self.model.get_env(), target)
        if hasattr(self.model, "save_replay_buffer"):
            self.model.save_replay_buffer(target / "replay_buffer.pkl")
        point.write(target)
        if self.on_save is not None:
            self.on_save()
        meta = {"num_timesteps": point.step, "path": target.name, "saved_at": time.time()}
        tmp = self.directory / (LATEST + ".tmp")
        tmp.write_text(json.dumps(meta))
        previous, self.last_saved = self.last_saved, target
        tmp.replace(self.directory / LATEST)  # atomic: a kill never leaves a half pointer
        if previous is not None and previous != target:  # a replay buffer is ~70 MB: keep one
            (previous / "replay_buffer.pkl").unlink(missing_ok=True)
        return target


def latest_checkpoint(directory: str | Path) -> tuple[Path, int]:
    """The newest complete checkpoint folder and its step count.

    Raises:
        FileNotFoundError: no checkpoint was written there (the message names the folder).
    """
    directory = Path(directory)
    pointer = directory / LATEST
    if not pointer.is_file():
        raise FileNotFoundError(f"no checkpoint to resume from in {directory} (no {LATEST})")
    meta = json.loads(pointer.read_text())
    return directory / meta["path"], int(meta["num_timesteps"])


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


class ProgressCallback(BaseCallback):
    """A rich progress bar: env-steps, env-steps/s and the last evaluation return."""

    def __init__(self, total_timesteps: int, eval_callback: EvalCallback | None) -> None:
        super().__init__()
        self.total, self.eval_cb = int(total_timesteps), eval_callback
        self.progress = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
            TextColumn("{task.fields[fps]:,.0f} steps/s"),
            TextColumn("eval {task.fields[ev]}"),
            TimeElapsedColumn(),
        )
        self.task: Any = None
        self.t0, self.n0 = 0.0, 0

    def _on_training_start(self) -> None:
        self.progress.start()
        self.t0, self.n0 = time.perf_counter(), self.num_timesteps
        self.task = self.progress.add_task(
            "train", total=self.total, completed=self.num_timesteps, fps=0.0, ev="—"
        )

    def _on_step(self) -> bool:
        if self.n_calls % 16 == 0:
            elapsed = max(time.perf_counter() - self.t0, 1e-9)
            ev = self.eval_cb.last.get("return_mean") if self.eval_cb else None
            self.progress.update(
                self.task,
                completed=self.num_timesteps,
                fps=(self.num_timesteps - self.n0) / elapsed,
                ev="—" if ev is None else f"{ev:.2f}",
            )
        return True

    def _on_training_end(self) -> None:
        self.progress.update(self.task, completed=self.num_timesteps)
        self.progress.stop()
