"""The exploration-noise study (experiments.studies.exploration_noise) runs and measures what it
says: the practice row is the zero action, and noise rows pair with it on the same episodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from experiments.studies import exploration_noise as study


@pytest.mark.parametrize("process", ["bof", "paint"])
def test_quick_study_writes_its_table(process: str, tmp_path: Path):
    out = tmp_path / "exploration.md"
    study.main(["--process", process, "--quick", "--out", str(out)])
    text = out.read_text()
    assert "| practice |" in text and "| 0.37 |" in text and "± " in text


def test_noise_is_seeded_clipped_and_zero_sigma_is_the_practice():
    a, b = study.NoisyPractice(5, 0.37, seed=1), study.NoisyPractice(5, 0.37, seed=1)
    obs = np.zeros((1000, 26), np.float32)
    x = a.act(obs)
    np.testing.assert_array_equal(x, b.act(obs))
    assert x.min() >= -1.0 and x.max() <= 1.0 and abs(float(x.std()) - 0.37) < 0.02
    assert not study.NoisyPractice(5, 0.0, seed=1).act(obs).any()
