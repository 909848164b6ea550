"""Builds the agentrt Python package: the C extension agentrt._agentrt,
linked statically against libagentrt.a, the small agentrt._claim, and the
pure-Python layer.

Inside the agentrt source tree it uses ../include/agentrt.h and
../build/libagentrt.a (built with `make` when missing). Elsewhere, set
AGENTRT_INCLUDE and AGENTRT_LIB (the directory holding libagentrt.a), or
have pkg-config find an installed agentrt.

    make python                       # in place, for PYTHONPATH=python
    pip install ./python              # (in a virtual environment) offline
"""
import os
import shlex
import subprocess

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


def pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return shlex.split(out.stdout)


def locate():
    """(include dir, libagentrt.a path)."""
    inc = os.environ.get("AGENTRT_INCLUDE")
    libdir = os.environ.get("AGENTRT_LIB")
    if inc and libdir:
        return inc, os.path.join(libdir, "libagentrt.a")
    if os.path.exists(os.path.join(TOP, "include", "agentrt.h")):
        build = os.environ.get("AGENTRT_BUILD", os.path.join(TOP, "build"))
        lib = os.path.join(build, "libagentrt.a")
        if not os.path.exists(lib):
            subprocess.run(["make", "-C", TOP, "B=" + build, lib], check=True)
        return os.path.join(TOP, "include"), lib
    flags = pkg_config("--cflags-only-I", "agentrt") or []
    libflags = pkg_config("--variable=libdir", "agentrt") or []
    if flags and libflags:
        return flags[0][2:], os.path.join(libflags[0], "libagentrt.a")
    raise SystemExit("agentrt: cannot find agentrt.h and libagentrt.a: build the library "
                     "(make) or set AGENTRT_INCLUDE and AGENTRT_LIB")


include_dir, static_lib = locate()
# What libagentrt.a needs (the Makefile's LDLIBS, less the CLI's microhttpd).
libs = pkg_config("--libs", "jansson", "libseccomp") or ["-ljansson", "-lseccomp"]

ext = Extension(
    "agentrt._agentrt",
    sources=["agentrt/_agentrt.c"],
    include_dirs=[include_dir],
    extra_objects=[static_lib],
    libraries=[f[2:] for f in libs if f.startswith("-l")] + ["pthread"],
    library_dirs=[f[2:] for f in libs if f.startswith("-L")],
    extra_compile_args=["-std=gnu11", "-Wall", "-Wextra", "-Wno-missing-field-initializers",
                        "-Wno-cast-function-type", "-fvisibility=hidden"],
    define_macros=[("_GNU_SOURCE", None)],
    # Rebuild when the library or its header changes.
    depends=[static_lib, os.path.join(include_dir, "agentrt.h")],
)

# The claim table of agentrt.Executor (python/agentrt/_claim.c): no
# libagentrt, so that a worker process loads it alone.
claim = Extension(
    "agentrt._claim",
    sources=["agentrt/_claim.c"],
    extra_compile_args=["-std=gnu11", "-Wall", "-Wextra", "-Wno-missing-field-initializers",
                        "-Wno-cast-function-type", "-fvisibility=hidden"],
)

setup(
    name="agentrt",
    version="0.1.0",
    description="Run many concurrent agent tasks (processes) with timeouts, limits and "
                "clean teardown: the Python binding of libagentrt",
    license="MIT",
    python_requires=">=3.11",
    packages=["agentrt"],
    package_data={"agentrt": ["py.typed", "*.pyi"]},
    ext_modules=[ext, claim],
    zip_safe=False,
)
