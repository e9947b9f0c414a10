"""``python -m vidnet_sim``: the ``vidnet-sim`` command (as ``python -m vidnet_sim.cli``)."""

from vidnet_sim.cli import entry

if __name__ == "__main__":
    entry()
