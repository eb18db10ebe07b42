"""plantrl jobs: Hydra entry points, tracking, statistics, reports and benchmarks.

Importing the package registers the ``${plantrl_root:}`` OmegaConf resolver the configs use to
build absolute paths (Hydra never changes the working directory).
"""

from pathlib import Path

from omegaconf import OmegaConf

OmegaConf.register_new_resolver(
    "plantrl_root", lambda: str(Path(__file__).resolve().parents[1]), replace=True
)
