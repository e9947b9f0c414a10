"""Expand a ``[[services]]`` entry into source rows of the generator's kinds.

=======  =========================================================================
kind     rows (``@`` = destination; ``up``: ``at`` -> every destination, ``down``:
         each destination -> ``at``)
=======  =========================================================================
voip     per call: a ``cbr`` row up and one down per destination, ``size`` every
         ``ptime``, each with its own uniform phase in ``[0, ptime)``
wifi     per user: an ``onoff`` row down per destination at ``rate`` while on and an
         ``onoff`` row up at ``up_rate``; a user's rows share one on/off process
iot      one ``poisson`` row up: ``gateways x uplinks`` per s, sizes uniform
signals  per controller: a ``cbr`` poll row down from each destination every
         ``interval`` at a uniform phase, and a ``cbr`` response row up, one
         ``response_delay`` after the polls
web      a ``poisson`` request row up, rate ``users x requests``; per destination a
         ``burst`` row down drawing the same request times (same key): each request
         starts, ``response_delay`` later (or when the previous burst is out), a
         burst of ``response_packets`` packets spaced at ``response_rate``
bulk     one ``cbr`` row up of ``size`` payloads at ``rate`` (wire rate)
=======  =========================================================================

Rates are wire rates (payload + ``header_bytes``), as for generic sources. Every row is
open-loop: a response is timed from its request's emission, never from its arrival.
"""

from __future__ import annotations

from vidnet_sim.errors import Problem, ScenarioError
from vidnet_sim.scenario.services import (
    DEFAULT_PARETO_SHAPE,
    FULL_PAYLOAD,
    SIGNALS_INTERVAL_PS,
    SIGNALS_POLL_SIZE,
    SIGNALS_RESPONSE_SIZE,
    WEB_RATE_BPS,
    WEB_REQUEST_SIZE,
    WEB_RESPONSE_PACKETS,
    WIFI_OFF_MEAN_PS,
    WIFI_ON_MEAN_PS,
    WIFI_UP_SHARE,
    WIFI_UP_SIZE,
    Service,
)
from vidnet_sim.traffic.rng import STREAM_PHASE, source_key, uniform
from vidnet_sim.traffic.rows import (
    KIND_BURST,
    KIND_CBR,
    KIND_ONOFF,
    KIND_POISSON,
    PS_PER_S,
    SIZE_UNIFORM,
    SourceRow,
    cbr_interval_ps,
    new_row,
)


def service_rows(
    svc: Service,
    group_index: dict[str, int],
    seed: int,
    header: int,
    fastest_link_bps: dict[str, int],
    where: str = "services",
) -> list[SourceRow]:
    """The source rows of service ``svc`` (see the module's table), in a fixed order.

    ``group_index`` maps group names to indices, ``header`` is the service's header bytes,
    ``fastest_link_bps`` the fastest link at each node (a web service's default response
    rate) and ``where`` the service's path for error messages.
    """
    dirs = svc.directions()
    group = {d: group_index[g] for d, g in zip(dirs, svc.group_names(), strict=True)}
    ex = _Expander(svc, group, seed, header)
    if svc.kind == "voip":
        ex.voip()
    elif svc.kind == "wifi":
        ex.wifi()
    elif svc.kind == "iot":
        ex.iot()
    elif svc.kind == "signals":
        ex.signals()
    elif svc.kind == "web":
        ex.web(fastest_link_bps, where)
    else:
        ex.bulk()
    return ex.rows


class _Expander:
    """Builds the rows of one service."""

    def __init__(self, svc: Service, group: dict[str, int], seed: int, header: int) -> None:
        self.svc = svc
        self.group = group
        self.seed = seed
        self.header = header
        self.rows: list[SourceRow] = []

    # ------------------------------------------------------------------ helpers
    def up(self, name: str, kind: int) -> SourceRow | None:
        """A row from ``at`` to every destination, if the service has its up direction."""
        if "up" not in self.group:
            return None
        svc = self.svc
        row = new_row(
            self.seed,
            f"{name}:up",
            svc.at,
            svc.destinations,
            self.group["up"],
            kind,
            self.header,
            svc.start,
            svc.stop,
        )
        self.rows.append(row)
        return row

    def down(self, name: str, kind: int) -> list[SourceRow]:
        """One row from each destination to ``at``, if the service has its down direction."""
        if "down" not in self.group:
            return []
        svc = self.svc
        out = []
        for d in svc.destinations:
            suffix = "" if len(svc.destinations) == 1 else f"@{d}"
            row = new_row(
                self.seed,
                f"{name}:down{suffix}",
                d,
                [svc.at],
                self.group["down"],
                kind,
                self.header,
                svc.start,
                svc.stop,
            )
            self.rows.append(row)
            out.append(row)
        return out

    def phase(self, row: SourceRow, interval: int) -> int:
        """A uniform phase in ``[0, interval)`` from the row's key."""
        return int(float(uniform(row.key, STREAM_PHASE, 0)) * interval)

    # ------------------------------------------------------------------ kinds
    def voip(self) -> None:
        svc = self.svc
        assert svc.calls is not None
        size, ptime = svc.voip_payload, svc.voip_ptime
        for i in range(svc.calls):
            for row in [
                self.up(f"{svc.name}[{i}]", KIND_CBR),
                *self.down(f"{svc.name}[{i}]", KIND_CBR),
            ]:
                if row is not None:
                    row.size_a = size
                    row.interval = ptime
                    row.anchor = svc.start + self.phase(row, ptime)

    def wifi(self) -> None:
        svc = self.svc
        assert svc.users is not None
        rate = svc.wifi_rate
        size = svc.size if svc.size is not None else FULL_PAYLOAD
        up_rate = svc.up_rate if svc.up_rate is not None else max(1, rate // WIFI_UP_SHARE)
        up_size = svc.up_size if svc.up_size is not None else WIFI_UP_SIZE
        for i in range(svc.users):
            user = f"{svc.name}[{i}]"
            key = source_key(self.seed, user, 0)  # one on/off process per user
            rows = [(r, size, rate) for r in self.down(user, KIND_ONOFF)]
            up = self.up(user, KIND_ONOFF)
            if up is not None:
                rows.append((up, up_size, up_rate))
            for row, payload, bps in rows:
                row.size_a = payload
                row.interval = cbr_interval_ps(payload + row.header, bps)
                row.mod_key = key
                row.mod_t0 = svc.start
                row.mod_mean0 = float(svc.off_mean or WIFI_OFF_MEAN_PS)
                row.mod_mean1 = float(svc.on_mean or WIFI_ON_MEAN_PS)
                row.mod_shape0 = svc.off_shape or DEFAULT_PARETO_SHAPE
                row.mod_shape1 = svc.on_shape or DEFAULT_PARETO_SHAPE

    def iot(self) -> None:
        svc = self.svc
        assert svc.uplinks is not None
        row = self.up(svc.name, KIND_POISSON)
        assert row is not None
        lo, hi = svc.iot_sizes
        row.size_kind = SIZE_UNIFORM
        row.size_a, row.size_b = lo, hi
        row.mean_gap = PS_PER_S / ((svc.gateways or 1) * svc.uplinks)

    def signals(self) -> None:
        svc = self.svc
        assert svc.controllers is not None
        interval = svc.interval if svc.interval is not None else SIGNALS_INTERVAL_PS
        poll = svc.poll_size if svc.poll_size is not None else SIGNALS_POLL_SIZE
        resp = svc.response_size if svc.response_size is not None else SIGNALS_RESPONSE_SIZE
        delay = svc.response_delay or 0
        for i in range(svc.controllers):
            ctl = f"{svc.name}[{i}]"
            phase = int(float(uniform(source_key(self.seed, ctl, 0), STREAM_PHASE, 0)) * interval)
            for row in self.down(ctl, KIND_CBR):
                row.size_a, row.interval, row.anchor = poll, interval, svc.start + phase
            up = self.up(ctl, KIND_CBR)
            if up is not None:
                up.size_a, up.interval = resp, interval
                up.anchor = svc.start + phase + delay

    def web(self, fastest_link_bps: dict[str, int], where: str) -> None:
        svc = self.svc
        assert svc.users is not None
        n = svc.response_packets or WEB_RESPONSE_PACKETS
        resp = svc.response_size if svc.response_size is not None else FULL_PAYLOAD
        req = svc.request_size if svc.request_size is not None else WEB_REQUEST_SIZE
        if svc.requests is not None:
            per_user = svc.requests
        else:
            rate = svc.rate if svc.rate is not None else WEB_RATE_BPS
            per_user = rate / (8.0 * n * (resp + self.header))
        mean_gap = PS_PER_S / (svc.users * per_user)
        requests = f"{svc.name}:requests"
        key = source_key(self.seed, requests, 0)  # responses draw the requests' times
        up = self.up(svc.name, KIND_POISSON)
        if up is not None:
            up.key = key
            up.size_a = req
            up.mean_gap = mean_gap
        for row in self.down(svc.name, KIND_BURST):
            bps = svc.response_rate
            if bps is None:
                bps = fastest_link_bps.get(row.origin, 0)
                if bps <= 0:
                    raise ScenarioError(
                        Problem(
                            f"{where}.response_rate",
                            f"destination {row.origin!r} has no link to take its rate from; "
                            "give response_rate",
                        )
                    )
            row.key = key
            row.size_a = resp
            row.mean_gap = mean_gap
            row.burst_packets = n
            row.interval = -(-(resp + row.header) * 8 * PS_PER_S // bps)  # back to back
            row.burst_delay = svc.response_delay or 0

    def bulk(self) -> None:
        svc = self.svc
        assert svc.rate is not None
        row = self.up(svc.name, KIND_CBR)
        assert row is not None
        row.size_a = svc.size if svc.size is not None else FULL_PAYLOAD
        row.interval = cbr_interval_ps(row.size_a + row.header, svc.rate)


__all__ = ["service_rows"]
