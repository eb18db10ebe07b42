"""Test-session setup: the toy tank of docs/adding_a_process.md joins the registered processes,
so every process-wide suite (the env contract suite above all) runs on it too."""

from __future__ import annotations

import tank

tank.register()
