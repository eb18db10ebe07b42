"""Study jobs: one-off investigations whose report lands in ``results/<process>/``.

python -m experiments.studies.mpc_convergence --process bof|paint [--baseline mpc|mpc_est]
"""
