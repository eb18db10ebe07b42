"""Benchmark jobs (``make bench``): each writes a table under ``results/benchmarks/``.

python -m experiments.benchmarks.envs         # env throughput and the cost around the kernels
python -m experiments.benchmarks.training     # PPO throughput, MLflow overhead, competence
"""
