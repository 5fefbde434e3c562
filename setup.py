"""Build hook for the optional C fast path (auditlens/k8s/_fastrow.c); everything else is in
pyproject.toml. ``optional=True``: without a C compiler or Python headers the install goes on
and auditlens runs its pure-Python path, with the same output (auditlens.k8s.native)."""

from setuptools import Extension, setup

setup(ext_modules=[
    Extension("auditlens.k8s._fastrow", ["auditlens/k8s/_fastrow.c"], optional=True,
              extra_compile_args=["-O2"]),
])
