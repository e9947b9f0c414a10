"""A fingerprint of the code that turns a scenario into results.

Stored runs (``vidnet_sim.analysis.runs``) are keyed by their scenario *and* this
fingerprint, so a run stored by an earlier build of the model (another kernel, generator,
router or scenario default) is simulated again rather than reused. The fingerprint is a
hash of the source of the packages that define the model and the result tables; any edit
to them changes it (an edited comment included: a rerun is cheaper than a stale result).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

from vidnet_sim.version import __version__

#: Sub-packages whose code decides a run's results.
MODEL_PACKAGES = ("core", "network", "reference", "results", "scenario", "timeline", "traffic")


@lru_cache(maxsize=1)
def engine_fingerprint() -> str:
    """Hex digest of the package version and the model packages' sources."""
    h = hashlib.sha256(__version__.encode())
    root = resources.files("vidnet_sim")
    for package in MODEL_PACKAGES:
        files = sorted(
            (f for f in root.joinpath(package).iterdir() if f.name.endswith(".py")),
            key=lambda f: f.name,
        )
        for f in files:
            h.update(f"{package}/{f.name}\0".encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]
