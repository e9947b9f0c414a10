"""Peak resident memory of this process's own image, in MiB (used by the benchmarks' cases).

``getrusage(RUSAGE_SELF).ru_maxrss`` is not that on Linux: the kernel carries the largest
resident size over ``fork`` and ``exec``, so a case started by a process already holding
1 GB (the benchmark's own process after the large city) reported that 1 GB, whatever it used
itself. ``VmHWM`` in ``/proc/self/status`` is the high-water mark of the current image only;
``ru_maxrss`` is the fallback where there is no ``/proc``.
"""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mib() -> float:
    """The largest resident size this process's image has had, in MiB."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
