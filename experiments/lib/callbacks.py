"""Training callbacks: held-apart evaluation, resumable checkpoints, a progress bar.

Frequencies are in environment steps (SB3 calls callbacks once per vector step, i.e. every
``n_envs`` env-steps; ECOSYSTEM.md pitfall 2), so results do not change with ``n_envs``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecNormalize

from agents.builder import save_policy
from agents.evaluation import evaluate

__all__ = ["CheckpointCallback", "EvalCallback", "ProgressCallback", "latest_checkpoint"]

LATEST = "latest.json"


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


class CheckpointCallback(BaseCallback):
    """Every ``every_steps`` env-steps save model, normalisation and a pointer to the latest.

    ``directory/step_<n>/`` holds ``model.zip``, ``policy.json`` (+ ``normalization.npz``,
    + ``replay_buffer.pkl`` for off-policy algorithms) and ``directory/latest.json`` names the
    newest complete one, so a killed process leaves at most one unfinished folder that resume
    ignores.
    """

    def __init__(
        self, directory: str | Path, every_steps: int, on_save: Callable[[], None] | None = None
    ) -> None:
        super().__init__()
        self.directory, self.every = Path(directory), int(every_steps)
        self.next_save = self.every
        self.on_save = on_save  # e.g. flush buffered metrics: a resume then has no gap

    def _init_callback(self) -> None:
        # the model's count: the callback's own is still 0 here, also when resuming
        self.next_save = (self.model.num_timesteps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.next_save:
            self.next_save += self.every
            self.save()
        return True

    def save(self) -> Path:
        target = self.directory / f"step_{self.num_timesteps}"
        save_policy(self.model, self.model.get_env(), target)
        if hasattr(self.model, "save_replay_buffer"):
            self.model.save_replay_buffer(target / "replay_buffer.pkl")
        meta = {
            "num_timesteps": int(self.num_timesteps),
            "path": target.name,
            "saved_at": time.time(),
        }
        tmp = self.directory / (LATEST + ".tmp")
        tmp.write_text(json.dumps(meta))
        previous, self.last_saved = getattr(self, "last_saved", None), target
        tmp.replace(self.directory / LATEST)  # atomic: a kill never leaves a half pointer
        if previous is not None and previous != target:  # a replay buffer is ~70 MB: keep one
            (previous / "replay_buffer.pkl").unlink(missing_ok=True)
        if self.on_save is not None:
            self.on_save()
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
