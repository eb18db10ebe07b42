"""Classical baselines: operator practice, a PID per process, the MPC oracle and the MPC on
estimates (the oracle's planner started from the estimated state)."""
