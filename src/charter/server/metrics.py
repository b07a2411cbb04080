"""``GET /metrics`` (viewer token): Prometheus series of the HTTP API, the online log and alerts.

Series (all prefixed ``charter_``)::

    http_requests_total{charter, version, route, method, status}     counter
    http_request_duration_seconds{charter, version, route, method}   histogram
    predictions_logged_total{charter, version, status}               counter (per version scored)
    predictions_refused_total{charter, reason}                       counter (contract, unavailable,
                                                                              no_version, model_error)
    records_quarantined_total{charter, rule}                         counter (per broken rule)
    shadow_failures_total{charter, version}                           counter
    open_alerts{charter}                                              gauge, read from the store
                                                                      at each scrape

With ``charter serve --workers N`` (N > 1) the counters live in ``PROMETHEUS_MULTIPROC_DIR``
(prometheus-client's multiprocess mode) so that every worker's requests are counted whichever
worker answers the scrape. ``open_alerts`` comes from the database, so any worker gives it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from charter.server.answers import OnlineScorer, Outcome
from charter.workspace import Workspace

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class OpenAlerts(Collector):
    """Open alerts per charter, counted in the store when scraped."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def collect(self) -> Iterable[Metric]:
        import sqlalchemy as sa

        from charter.store.tables import Alert

        family = GaugeMetricFamily(
            "charter_open_alerts", "Alerts open (not acknowledged or resolved)", labels=["charter"]
        )
        try:
            with self.ws.db.read() as session:
                rows = session.execute(
                    sa.select(Alert.charter, sa.func.count(Alert.id))
                    .where(Alert.status == "open")
                    .group_by(Alert.charter)
                ).all()
        except Exception:  # a scrape must answer even when the store does not
            rows = []
        counted = dict(rows)
        for name in self.ws.charter_names():
            family.add_metric([name], float(counted.get(name, 0)))
        yield family


class Metrics:
    """The series of one app; their registry is the app's own (multiprocess: files on disk)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "charter_http_requests",
            "HTTP requests answered",
            ["charter", "version", "route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "charter_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["charter", "version", "route", "method"],
            registry=r,
        )
        self.logged = Counter(
            "charter_predictions_logged",
            "Prediction log rows written by online requests, per version that scored",
            ["charter", "version", "status"],
            registry=r,
        )
        self.refused = Counter(
            "charter_predictions_refused",
            "Online records not answered, by reason",
            ["charter", "reason"],
            registry=r,
        )
        self.quarantined = Counter(
            "charter_records_quarantined",
            "Online records quarantined, per rule broken",
            ["charter", "rule"],
            registry=r,
        )
        self.shadow_failures = Counter(
            "charter_shadow_failures",
            "Online batches a shadow or standby version failed to score (off the answer's path)",
            ["charter", "version"],
            registry=r,
        )
        self._alerts = OpenAlerts(ws)
        if not os.environ.get(MULTIPROC_ENV):
            r.register(self._alerts)

    def on_batch(self, charter: str, scorer: OnlineScorer, outcome: Outcome, _: int) -> None:
        """Count one committed group (called by the online log after the commit)."""
        valid = len(outcome.answers)
        for scored in scorer.last[1] if scorer.last else []:
            self.logged.labels(charter, scored.version, scored.status).inc(valid)
        if outcome.refused:
            self.refused.labels(charter, "contract").inc(len(outcome.refused))
        for refused in outcome.refused:
            for rule in refused["violations"]:
                self.quarantined.labels(charter, rule).inc()

    def on_shadow_failure(self, charter: str, version: int, _: str) -> None:
        self.shadow_failures.labels(charter, str(version)).inc()

    def exposition(self) -> bytes:
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            registry.register(self._alerts)
            return generate_latest(registry)
        return generate_latest(self.registry)
