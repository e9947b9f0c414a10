"""The bounds of a scenario: every limit on a count, rate, size, duration or depth, with why.

A value outside these bounds describes no physical network, or a run that could not end or
fit in memory. Each bound is checked where its value is read (the field's model, the file
reader, the sweep spec, the run's volume), before anything proportional to the value is
built, and refused with a message naming the field, the value and the limit.
``docs/scenario.md`` lists them for users.
"""

from __future__ import annotations

__all__ = [
    "MAX_BITRATE_SCALE",
    "MAX_CAMERAS",
    "MAX_DURATION_PS",
    "MAX_FILE_BYTES",
    "MAX_GOP",
    "MAX_GROWTH_SCALE",
    "MAX_GROWTH_YEARS",
    "MAX_IP_RATIO",
    "MAX_NESTING",
    "MAX_PACKETS",
    "MAX_PACKET_RATE",
    "MAX_PATH_NODES",
    "MAX_REPORT_EPOCHS",
    "MAX_ROUTE_HOPS",
    "MAX_SERVICE_COUNT",
    "MAX_SIGMA",
    "MAX_WEIGHT",
    "MAX_WINDOWS",
    "MAX_WINDOW_PACKETS",
    "MIN_FPS",
    "MIN_MOTION_MEAN_PS",
    "MIN_PACKET_RATE",
    "MIN_REPORT_INTERVAL_PS",
    "MIN_WINDOW_PS",
]

# --------------------------------------------------------------------------- the file
#: Largest scenario or sweep file read (bytes): the largest example is about 50 KiB; a
#: bigger file is a mistake (a device, a log) and would be held in memory whole.
MAX_FILE_BYTES = 16 * 2**20
#: Deepest nesting of arrays and tables in a scenario file: a scenario nests four levels
#: (``[[cameras]]`` → ``streams`` → ``destinations``); deeper data only exhausts the parser.
MAX_NESTING = 32

# --------------------------------------------------------------------------- time
#: Longest simulated time (ps), 40 days: time is counted in int64 picoseconds (at most
#: about 106 days), leaving room for the events after the end and the drain.
MAX_DURATION_PS = 40 * 86_400 * 10**12
#: Shortest window (ps), 1 ms: results are the same for any window; shorter windows only add
#: per-window work (a 1 ns window cuts one simulated second into a billion steps).
MIN_WINDOW_PS = 10**9
#: Most windows in a run (duration / window): 40 days at the default 100 ms are 34.6 million.
MAX_WINDOWS = 100_000_000
#: Shortest ``report_interval`` (ps), 1 ms: each interval is an epoch with its own
#: latency histograms; shorter ones describe no report a network is sized by.
MIN_REPORT_INTERVAL_PS = 10**9
#: Most report epochs in a run (duration / report_interval).
MAX_REPORT_EPOCHS = 100_000
#: Shortest mean idle or motion period of a camera (ps), 1 ms: the state is read at each
#: frame (4.2 ms apart at 240 fps), but the generator steps through every period between two
#: frames: means of 1 ps took over a minute per simulated 100 ms of one camera.
MIN_MOTION_MEAN_PS = 10**9

# --------------------------------------------------------------------------- counts
#: Most cameras in a scenario (all groups together, in every year of a growth plan): each
#: camera is a node, an access link and a source of its own; the largest example has 10 000.
MAX_CAMERAS = 100_000
#: Most calls, users, gateways or controllers of one service (each call, user or controller
#: is a source of its own).
MAX_SERVICE_COUNT = 100_000
#: Most nodes in an explicit route's path: a city network crosses a handful of hops.
MAX_PATH_NODES = 256
#: Most directed links of all delivery routes together (each flow's route counted whole):
#: twice what the core's packed tree positions hold (2**24), room for multicast trees that
#: share their first hops, and a bound on the routes' memory before the core's own check.
MAX_ROUTE_HOPS = 2**25
#: Most packets one run may emit (mean rates x duration, before alarms): at the core's
#: 10-30 million packet-hops per second such a run already takes hours.
MAX_PACKETS = 10**10
#: Most packets one window may hold (the sources' packets of a window at their peak bitrate
#: scale, a camera's I-frame whole): a window's packets are all in memory at once, about
#: 250 bytes each on a two-hop route (a 1 ps run holds each camera's first frame whole).
MAX_WINDOW_PACKETS = 2 * 10**7

# --------------------------------------------------------------------------- traffic
#: Smallest camera frame rate (frames/s): one frame every 100 s.
MIN_FPS = 0.01
#: Longest GOP (frames): an I-frame at least every 10 000 frames (400 s at 25 fps).
MAX_GOP = 10_000
#: Largest I-frame / P-frame size ratio: measured ratios run from about 1 (high motion) to
#: 44 (a static scene).
MAX_IP_RATIO = 100.0
#: Largest lognormal sigma of frame sizes: 3 already spreads sizes by a factor of 20 each
#: way; beyond, a few frames carry nearly the whole mean.
MAX_SIGMA = 3.0
#: Largest bitrate scale of an alarm, of motion or of the night: 100 times a stream's
#: bitrate is far beyond any encoder's range.
MAX_BITRATE_SCALE = 100.0
#: Last year of a growth plan: every year of the plan is built and checked.
MAX_GROWTH_YEARS = 100
#: Largest ``scale_cameras`` factor of one growth year.
MAX_GROWTH_SCALE = 100.0
#: Highest packet rate of one source (packets/s): 1e9 is a 400 Gbit/s link of 50-byte
#: packets.
MAX_PACKET_RATE = 1e9
#: Lowest packet rate of one source (packets/s): one packet in 11.6 days (a rate of zero is
#: no source at all).
MIN_PACKET_RATE = 1e-6
#: Largest weight of a size distribution's value or of a QoS queue (weights are relative:
#: a million to one already makes the lighter one vanish).
MAX_WEIGHT = 1e6
