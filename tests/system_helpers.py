"""Helpers for system tests: the lab of scripts/sample_logs/auditlab.py, importable from tests.

The lab (private auditd and sshd, test accounts, clean-up on any exit) is shared with the script
that makes ``sample_logs/``, so both drive the machine the same way; it lives beside that script
because it must run without the package installed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_LAB_FILE = Path(__file__).resolve().parents[1] / "scripts" / "sample_logs" / "auditlab.py"


def _load() -> ModuleType:
    if "auditlab" in sys.modules:
        return sys.modules["auditlab"]
    spec = importlib.util.spec_from_file_location("auditlab", _LAB_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["auditlab"] = module
    spec.loader.exec_module(module)
    return module


auditlab = _load()
Lab = auditlab.Lab
LabError = auditlab.LabError
load_rules = auditlab.load_rules
pty_run = auditlab.pty_run
why_not_available = auditlab.why_not_available
free_port = auditlab.free_port
