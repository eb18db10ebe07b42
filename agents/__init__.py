"""plantrl agents: SB3 builders, the VecEnv adapter, classical baselines and policy I/O."""
