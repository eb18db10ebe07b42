"""MLflow pyfunc model (models-from-code) of a trained plantrl policy.

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

from agents.builder import algorithm_class, load_policy
from agents.evaluation import RecurrentSB3Policy
from agents.policy import SB3Policy


class PlantPolicyModel(PythonModel):
    """Loads the SB3 zip and its VecNormalize statistics; predicts normalised actions."""

    def load_context(self, context: Any) -> None:
        with open(context.artifacts["config"]) as f:
            self.config = yaml.safe_load(f)
        agent = self.config["agent"]
        model, vecnorm = load_policy(context.artifacts["policy"], algorithm_class(agent))
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
