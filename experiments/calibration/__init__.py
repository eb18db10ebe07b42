"""Calibration jobs: fit a process's unsourced constants against its acceptance envelope.

python -m experiments.calibration.bof       # the BOF operator's static charge model
python -m experiments.calibration.paint     # the paint line's constants (docs/physics/paint.md §8)
"""
