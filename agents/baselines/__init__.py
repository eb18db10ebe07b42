"""Classical baselines: operator practice (and, later, PID and the MPC oracle)."""
