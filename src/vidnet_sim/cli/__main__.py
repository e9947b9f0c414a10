"""``python -m vidnet_sim.cli``: the ``vidnet-sim`` command."""

from vidnet_sim.cli import entry

if __name__ == "__main__":
    entry()
