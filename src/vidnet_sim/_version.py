"""The package version (a module of its own, so code run while the package is still being
imported, such as :mod:`vidnet_sim.fingerprint`, can read it)."""

__version__ = "0.1.0"
