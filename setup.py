"""Build hook for the optional C fast paths (auditlens/k8s/_fastrow.c,
auditlens/auditd/_fastaudit.c and auditlens/cloud/_fastcloud.c, with the Arrow column code of
auditlens/_columns.h and the JSON reading of auditlens/_json.h); everything else is in
pyproject.toml. ``optional=True``: without a C compiler or Python headers the install goes on and
auditlens runs its pure-Python paths, with the same output (auditlens.k8s.native,
auditlens.auditd.native, auditlens.cloud.native)."""

from setuptools import Extension, setup


def _fast(name: str, source: str) -> Extension:
    return Extension(name, [source], optional=True,
                     depends=["auditlens/_columns.h", "auditlens/_json.h"],
                     extra_compile_args=["-O2"])


setup(ext_modules=[
    _fast("auditlens.k8s._fastrow", "auditlens/k8s/_fastrow.c"),
    _fast("auditlens.auditd._fastaudit", "auditlens/auditd/_fastaudit.c"),
    _fast("auditlens.cloud._fastcloud", "auditlens/cloud/_fastcloud.c"),
])
