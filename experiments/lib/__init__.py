"""Library code the jobs share: tracking, registry, statistics, tables, scenario sets, policies.

Nothing here is run as a job, and nothing here imports a job (an entry point): entry points
import from ``experiments.lib``, never the other way round (``tests/test_experiments_layout.py``
walks the imports).

| module | holds |
| --- | --- |
| ``tracking`` | MLflow store set-up, flattened params, git commit, the SB3 → MLflow writer |
| ``store`` | the SQLite store as a file: inter-process lock, schema check, rebasing a copy |
| ``registry`` | log a trained policy as a pyfunc model, register it (alias ``candidate``) |
| ``pyfunc_model`` | the MLflow pyfunc model (models-from-code: the file MLflow stores, runs) |
| ``policy_specs`` | a policy spec (``baseline:pid``, ``models:/…``, ``runs:/…``, …) → a policy |
| ``scenario_sets`` | named scenario sets: the fixed episodes every policy is evaluated on |
| ``stats`` | drift recovery, gap closed, IQM with bootstrap CIs, P(improvement) |
| ``kpi_tables`` | KPI tables of policies side by side, for the console and markdown |
| ``callbacks`` | SB3 training callbacks: evaluation, resumable checkpoints, progress bar |
| ``resume`` | refuse to resume a finished run; a lost tracking server ends a run resumable |
| ``config_checks`` | a config (types, store, ``resume=``) checked before anything is created |
| ``cli`` | the entry points' readable errors: one or two lines, exit code 2, ``--debug`` |
| ``machine_info`` | date, commit, CPU, load and package versions for reports |
"""
