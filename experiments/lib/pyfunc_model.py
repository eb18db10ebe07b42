"""MLflow pyfunc model (models-from-code) of a trained plantrl policy.

Loading a logged model runs this file as stored with the run (models-from-code): a ``models:/``
or ``runs:/`` URI is code, from whoever can write to the tracking store. The policy folder it
reads is data (:func:`agents.builder.load_policy`).

Input: observations in engineering units, shape (n, n_obs) (numpy or DataFrame); output: actions
in [-1, 1], shape (n, n_act), deterministic. Artifacts: ``policy`` (the folder written by
``agents.builder.save_policy``) and ``config`` (the resolved training config).
"""

from __future__ import annotations

from typing import Any

import mlflow
import numpy as np
import yaml
from mlflow.pyfunc import PythonModel

from agents.allowlist import check_targets
from agents.builder import load_policy
from agents.evaluation import RecurrentSB3Policy
from agents.policy import SB3Policy


class PlantPolicyModel(PythonModel):
    """Loads the SB3 zip and its VecNormalize statistics; predicts normalised actions."""

    def load_context(self, context: Any) -> None:
        with open(context.artifacts["config"]) as f:
            self.config = yaml.safe_load(f)
        check_targets(self.config, "config artifact")
        agent = self.config["agent"]
        # trust_pickle: the caller's agents.builder.trusting_pickles default (old-format artifacts)
        model, vecnorm = load_policy(context.artifacts["policy"], agent)
        wrapper = RecurrentSB3Policy if agent.get("recurrent") else SB3Policy
        self.policy = wrapper(model, vecnorm)

    def predict(
        self, context: Any, model_input: np.ndarray, params: dict | None = None
    ) -> np.ndarray:
        obs = np.asarray(model_input, dtype=np.float32)
        if hasattr(self.policy, "reset"):
            self.policy.reset(obs.shape[0])
        return np.asarray(self.policy.act(obs), dtype=np.float32)


mlflow.models.set_model(PlantPolicyModel())
