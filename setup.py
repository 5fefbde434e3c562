"""Build hook for the optional C fast paths (auditlens/k8s/_fastrow.c and
auditlens/auditd/_fastaudit.c, with the Arrow column code of auditlens/_columns.h); everything
else is in pyproject.toml. ``optional=True``: without a C compiler or Python headers the install
goes on and auditlens runs its pure-Python paths, with the same output (auditlens.k8s.native,
auditlens.auditd.native)."""

from setuptools import Extension, setup


def _fast(name: str, source: str) -> Extension:
    return Extension(name, [source], optional=True, depends=["auditlens/_columns.h"],
                     extra_compile_args=["-O2"])


setup(ext_modules=[
    _fast("auditlens.k8s._fastrow", "auditlens/k8s/_fastrow.c"),
    _fast("auditlens.auditd._fastaudit", "auditlens/auditd/_fastaudit.c"),
])
