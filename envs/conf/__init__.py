"""Plant variants and disturbance profiles shipped with ``envs`` (package data, plain YAML).

- ``plant/<process>_<variant>.yaml``: a variant, i.e. a parameter set plus randomisation ranges
  (what ``gym.make(id, plant="bof_250t")`` accepts);
- ``scenarios/<process>/<name>.yaml``: a disturbance profile (campaign length, drifts, sensor
  faults) plus the ``eval`` section of the scenario set evaluation uses (what
  ``gym.make(id, scenario="drift")`` accepts).

``envs.core.config`` reads them relative to this package, so a non-editable install (a wheel)
finds them too. They are also the ``plant`` and ``scenarios`` config groups of the Hydra jobs:
the primary configs in the repository's ``conf/`` put ``pkg://envs.conf`` on Hydra's search path,
so ``plant=bof_250t`` composes this very file. This module exists so that Hydra's ``pkg://``
config source (which looks for an ``__init__.py``) and setuptools see a package; it holds no code.
"""
