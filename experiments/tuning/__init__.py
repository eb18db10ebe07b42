"""Tuning jobs: tune a baseline once, reproducibly, and write its settings into ``conf/``.

python -m experiments.tuning.pid --process bof|paint
"""
