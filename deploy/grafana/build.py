"""Writes Kanalvakt's Grafana dashboards (deploy/grafana/*.json) from one description.

    .venv/bin/python deploy/grafana/build.py          # rewrite the JSON files
    .venv/bin/python deploy/grafana/build.py --check  # exit 1 when a committed file is stale

The deadline buckets and age bands come from services/moderation/metrics.py, so a panel
never asks for a histogram bucket the code does not export. tests/deploy/test_dashboards.py
checks every query against the metrics the services register.

Conventions: titles in Swedish (what ops staff read), descriptions in English after the
Swedish line; every panel on a policy measure names its rule ID. Gauges are read from the
store by every replica alike, so they are aggregated with max by (kommun, ...) before any
sum across kommuner; counters and histograms count per replica and are summed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

Json = dict[str, Any]
DS: Json = {"type": "prometheus", "uid": "${datasource}"}
K = 'kommun=~"$kommun"'
RATE = "$__rate_interval"
SERVICES = ("registry", "moderation", "archive", "notify")

# Stat colouring: a count that must stay 0 (red from 1), a share that should stay near 1.
ZERO: list[Json] = [{"color": "green", "value": None}, {"color": "red", "value": 1}]
WARN_ZERO: list[Json] = [{"color": "green", "value": None}, {"color": "orange", "value": 1}]
SHARE: list[Json] = [
    {"color": "red", "value": None},
    {"color": "orange", "value": 0.9},
    {"color": "green", "value": 0.98},
]
NEUTRAL: list[Json] = [{"color": "blue", "value": None}]


def _hours(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:g} min"
    if seconds >= 7 * 86400 and seconds % (7 * 86400) == 0:
        return f"{seconds / (7 * 86400):g} v"
    return f"{seconds / 3600:g} h"


def _go(value: float) -> str:
    """A bucket bound as prometheus_client writes it in `le`."""
    from prometheus_client.utils import floatToGoString

    return str(floatToGoString(value))  # type: ignore[no-untyped-call]


class Board:
    """One dashboard: panels laid out left to right in rows of 24 grid units."""

    def __init__(self, uid: str, title: str, description: str, kommun_metric: str) -> None:
        self.uid, self.title, self.description = uid, title, description
        self.kommun_metric = kommun_metric
        self.panels: list[Json] = []
        self.variables: list[Json] = []
        self.links: list[Json] = []
        self._x = self._y = self._line_h = 0

    def _place(self, w: int, h: int) -> Json:
        if self._x + w > 24:
            self._y += self._line_h
            self._x = self._line_h = 0
        pos = {"x": self._x, "y": self._y, "w": w, "h": h}
        self._x += w
        self._line_h = max(self._line_h, h)
        return pos

    def row(self, title: str) -> None:
        if self._x:
            self._y += self._line_h
            self._x = self._line_h = 0
        self.panels.append(
            {
                "id": len(self.panels) + 1,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": self._y, "w": 24, "h": 1},
                "panels": [],
            }
        )
        self._y += 1

    def panel(
        self,
        kind: str,
        title: str,
        description: str,
        targets: list[tuple[str, str]],
        *,
        w: int = 6,
        h: int = 6,
        unit: str = "short",
        steps: list[Json] | None = None,
        stacked: bool = False,
        bars: bool = False,
        interval: str = "",
        time_from: str = "",
        instant: bool = False,
        decimals: int | None = None,
        minmax: tuple[float, float] | None = None,
    ) -> None:
        defaults: Json = {
            "unit": unit,
            "thresholds": {"mode": "absolute", "steps": steps or NEUTRAL},
            "color": {"mode": "thresholds" if kind in ("stat", "bargauge") else "palette-classic"},
        }
        if decimals is not None:
            defaults["decimals"] = decimals
        if minmax:
            defaults["min"], defaults["max"] = minmax
        if kind == "timeseries":
            defaults["custom"] = {
                "drawStyle": "bars" if bars else "line",
                "fillOpacity": 60 if bars else (30 if stacked else 10),
                "lineWidth": 1,
                "showPoints": "never",
                "spanNulls": False,
                "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
            }
        options: Json
        if kind == "stat":
            options = {
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "background",
                "graphMode": "area",
                "justifyMode": "auto",
                "orientation": "auto",
                "textMode": "auto",
            }
        elif kind == "bargauge":
            options = {
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "orientation": "horizontal",
                "displayMode": "gradient",
                "showUnfilled": True,
            }
        elif kind == "table":
            options = {"showHeader": True, "cellHeight": "sm"}
        else:
            options = {
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                "tooltip": {"mode": "multi", "sort": "desc"},
            }
        panel: Json = {
            "id": len(self.panels) + 1,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": DS,
            "gridPos": self._place(w, h),
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options,
            "targets": [
                {
                    "refId": chr(ord("A") + i),
                    "datasource": DS,
                    "expr": expr,
                    "legendFormat": legend,
                    "range": not (instant or kind == "table"),
                    "instant": instant or kind == "table",
                    **({"format": "table"} if kind == "table" else {}),
                }
                for i, (expr, legend) in enumerate(targets)
            ],
        }
        if interval:
            panel["interval"] = interval
        if time_from:
            panel["timeFrom"] = time_from
        if kind == "table":
            panel["transformations"] = [
                {"id": "organize", "options": {"excludeByName": {"Time": True}}}
            ]
        self.panels.append(panel)

    def custom(self, name: str, label: str, options: list[tuple[str, str]], default: str) -> None:
        """A choice among fixed values (e.g. histogram buckets), `text : value` pairs."""
        text = next(t for t, v in options if v == default)
        self.variables.append(
            {
                "name": name,
                "label": label,
                "type": "custom",
                "query": ",".join(f"{t} : {v}" for t, v in options),
                "current": {"selected": True, "text": text, "value": default},
                "options": [{"selected": v == default, "text": t, "value": v} for t, v in options],
                "multi": False,
                "includeAll": False,
                "hide": 0,
                "skipUrlSync": False,
            }
        )

    def model(self) -> Json:
        kommun_query = f"label_values({self.kommun_metric}, kommun)"
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["kanalvakt"],
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": 39,
            "version": 1,
            "timezone": "browser",
            "time": {"from": "now-7d", "to": "now"},
            "refresh": "1m",
            "links": [
                {
                    "type": "dashboards",
                    "tags": ["kanalvakt"],
                    "asDropdown": True,
                    "title": "Kanalvakt",
                    "includeVars": True,
                    "keepTime": True,
                }
            ],
            "annotations": {"list": []},
            "templating": {
                "list": [
                    {
                        "name": "datasource",
                        "label": "Datakälla",
                        "type": "datasource",
                        "query": "prometheus",
                        "regex": "",
                        "current": {},
                        "hide": 0,
                        "refresh": 1,
                        "skipUrlSync": False,
                    },
                    {
                        "name": "kommun",
                        "label": "Kommun",
                        "description": "Kommuner: label_values of a kommun-labelled metric.",
                        "type": "query",
                        "datasource": DS,
                        "definition": kommun_query,
                        "query": {
                            "query": kommun_query,
                            "qryType": 1,
                            "refId": "PrometheusVariableQueryEditor-VariableQuery",
                        },
                        "refresh": 2,
                        "regex": "",
                        "sort": 1,
                        "multi": True,
                        "includeAll": True,
                        "allValue": ".*",
                        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
                        "hide": 0,
                        "skipUrlSync": False,
                    },
                    *self.variables,
                ]
            },
            "panels": self.panels,
        }


def gauge(metric: str, by: str = "kommun", match: str = "") -> str:
    """A gauge every replica reports alike: one value per kommun (and `by`), not a sum."""
    sel = K + (f", {match}" if match else "")
    return f"max by ({by}) ({metric}{{{sel}}})"


def total(metric: str, group: str = "", match: str = "") -> str:
    """A gauge summed over the chosen kommuner (and its other labels, but `group`) after
    de-duplicating the replicas: replicas differ only in their target's instance and pod,
    so max without those keeps every label of the gauge's own."""
    sel = K + (f", {match}" if match else "")
    outer = f"sum by ({group}) " if group else "sum "
    return f"{outer}(max without (instance, pod) ({metric}{{{sel}}}))"


def quantiles(
    histogram: str, by: str, window: str, qs: tuple[float, ...] = (0.5, 0.95)
) -> list[tuple[str, str]]:
    """p50/p95 (or `qs`) of a histogram per `by` label: one target each, legend by label."""
    return [
        (
            f"histogram_quantile({q}, sum by (le, {by}) (rate("
            f"{histogram}_bucket{{{K}}}[{window}])))",
            f"p{int(q * 100)} {{{{{by}}}}}",
        )
        for q in qs
    ]


# --------------------------------------------------------------------------- overview


def overview() -> Json:
    from services.moderation.metrics import AGE_BANDS, OLDEST_BAND, TIME_TO_REMOVAL

    buckets = [b for b in TIME_TO_REMOVAL._upper_bounds if b != float("inf")]
    choices = [(_hours(b), _go(b)) for b in buckets]
    b = Board(
        "kanalvakt-overview",
        "Kanalvakt — översikt",
        "Policy compliance at a glance: accounts, deadlines (B1.7, P5.3), open cases, "
        "escalations (P5.8), archive health (P10.3, P10.5) and registry risks.",
        "kanalvakt_registry_accounts",
    )
    b.custom("frist_borttagning", "Frist borttagning (B1.7)", choices, _go(48 * 3600))
    b.custom("frist_svar", "Frist svar (P5.3)", choices, _go(24 * 3600))

    b.row("Konton och risker")
    b.panel(
        "bargauge",
        "Konton per status (P10.1)",
        "Konton i registret per status. / Accounts in the registry by state (P10.1).",
        [(total("kanalvakt_registry_accounts", "state"), "{{state}}")],
        w=6,
        h=8,
    )
    b.panel(
        "table",
        "Konton per kommun, plattform och status (P10.1)",
        "Konton per kommun, plattform och status. / Accounts by kommun, platform and "
        "state (P10.1).",
        [(gauge("kanalvakt_registry_accounts", "kommun, platform, state"), "")],
        w=6,
        h=8,
    )
    for title, desc, metric in (
        (
            "Obevakade konton (P3.3, P5.6)",
            "Konton där alla administratörer är borta utan närvarande ersättare. / Accounts "
            "where every administrator is away without a present substitute (P3.3, P5.6). "
            "",
            "kanalvakt_registry_accounts_unattended",
        ),
        (
            "Färre än två administratörer (P3.1)",
            "Godkända eller aktiva konton med färre än två aktiva administratörer. / Approved "
            "or active accounts with fewer than two active administrators (P3.1).",
            "kanalvakt_registry_accounts_below_two_administrators",
        ),
        (
            "Inloggningsuppgifter ej deponerade (P3.5)",
            "Konton vars inloggningsuppgifter inte är deponerade. / Approved or active "
            "accounts whose credentials are not deposited (P3.5).",
            "kanalvakt_registry_credentials_not_deposited",
        ),
        (
            "Inloggningsuppgifter försenade (P3.5)",
            "Konton som efter kommunens frist efter godkännandet ännu saknar deponerade "
            "inloggningsuppgifter. / Accounts still without deposited credentials after "
            "the kommun's grace after approval (P3.5).",
            "kanalvakt_registry_credentials_overdue",
        ),
        (
            "Konton utan tillsyn (L2)",
            "Konton vars kommentarer ingen har tittat på inom bevakningsfönstret. / Accounts "
            "nobody has looked at within their monitoring window (L2).",
            "kanalvakt_moderation_accounts_unsupervised",
        ),
    ):
        b.panel("stat", title, desc, [(total(metric), "")], w=3, h=4, steps=ZERO)
    b.panel(
        "stat",
        "Planer som väntar på godkännande (P2.1, P3.6)",
        "Inskickade planer som inte har alla fyra underskrifter. / Submitted plans not yet "
        "approved by all four signers (P2.1, P3.6).",
        [(total("kanalvakt_registry_plans_awaiting_approval"), "")],
        w=6,
        h=4,
        steps=WARN_ZERO,
    )
    b.panel(
        "stat",
        "Äldsta plan som väntar (P2.1, P3.6)",
        "Ålder på den äldsta plan som väntar på godkännande. / Age of the oldest submitted "
        "plan not yet approved (P2.1, P3.6); 0 when none.",
        [(f"max({gauge('kanalvakt_registry_oldest_plan_awaiting_approval_seconds')})", "")],
        w=6,
        h=4,
        unit="s",
    )

    b.row("Tidsfrister")
    for hist, var, rule, what_sv, what_en in (
        (
            "kanalvakt_moderation_time_to_removal_seconds",
            "frist_borttagning",
            "B1.7",
            "Borttagna",
            "removals",
        ),
        (
            "kanalvakt_moderation_time_to_answer_seconds",
            "frist_svar",
            "P5.3",
            "Besvarade",
            "answers",
        ),
    ):
        within = f'sum(increase({hist}_bucket{{{K}, le="${var}"}}[1w]))'
        count = f"sum(increase({hist}_count{{{K}}}[1w]))"
        b.panel(
            "timeseries",
            f"{what_sv} inom tidsfristen per vecka ({rule})",
            f"Andel beslut per vecka fattade inom fristen (väljs överst). / Share of {what_en} "
            f"per week decided within the deadline chosen above ({rule}); wall-clock time from "
            "the comment's arrival, while the case deadline counts monitored hours, so "
            f"breached deadlines (below) are the exact measure.",
            [(f"{within} / {count}", "inom frist")],
            w=8,
            h=7,
            unit="percentunit",
            bars=True,
            interval="1w",
            time_from="12w",
            minmax=(0, 1),
        )
        b.panel(
            "stat",
            f"{what_sv} inom frist, vald period ({rule})",
            f"Andel inom fristen under vald tidsperiod. / Share of {what_en} within the "
            f"deadline over the dashboard's time range ({rule}).",
            [
                (
                    f'sum(increase({hist}_bucket{{{K}, le="${var}"}}[$__range])) / '
                    f"sum(increase({hist}_count{{{K}}}[$__range]))",
                    "",
                )
            ],
            w=4,
            h=7,
            unit="percentunit",
            steps=SHARE,
            instant=True,
            decimals=1,
        )
    b.panel(
        "timeseries",
        "Överskridna tidsfrister per vecka (B1.7, P5.3)",
        "Ärenden vars frist passerade utan beslut, per vecka. / Cases whose removal (B1.7) "
        "or answer (P5.3) deadline passed undecided, per week.",
        [
            (
                "sum by (label) (increase("
                f"kanalvakt_moderation_deadlines_breached_total{{{K}}}[1w]))",
                "{{label}}",
            )
        ],
        w=8,
        h=7,
        bars=True,
        interval="1w",
        time_from="12w",
    )
    b.panel(
        "stat",
        "Försenade ärenden nu (B1.7, P5.3)",
        "Öppna ärenden vars frist har passerat. / Open or claimed cases past their "
        "deadline now: remove (B1.7), answer (P5.3).",
        [(total("kanalvakt_moderation_overdue_cases", "label"), "{{label}}")],
        w=4,
        h=7,
        steps=ZERO,
    )
    b.panel(
        "timeseries",
        "Tid till borttagning och svar, p50/p95 (B1.7, P5.3)",
        "Medianer och 95:e percentiler. / Median and 95th percentile time from arrival to "
        "removal (B1.7) and to answer (P5.3).",
        [
            (
                f"histogram_quantile({q}, sum by (le) (rate({hist}_bucket{{{K}}}[1d])))",
                f"{name} p{int(q * 100)}",
            )
            for hist, name in (
                ("kanalvakt_moderation_time_to_removal_seconds", "borttagning"),
                ("kanalvakt_moderation_time_to_answer_seconds", "svar"),
            )
            for q in (0.5, 0.95)
        ],
        w=12,
        h=7,
        unit="s",
    )

    b.row("Öppna ärenden efter ålder")
    bands = [(band, f"< {_hours(limit)}") for limit, band in AGE_BANDS]
    bands.append((OLDEST_BAND, f"> {_hours(AGE_BANDS[-1][0])}"))
    b.panel(
        "bargauge",
        "Öppna ärenden efter ålder (B1.7, P5.3)",
        "Öppna eller tagna ärenden per åldersband. / Open or claimed cases by age band "
        "(B1.7, P5.3).",
        [
            (total("kanalvakt_moderation_open_cases", match=f'age="{band}"'), text)
            for band, text in bands
        ],
        w=8,
        h=8,
    )
    b.panel(
        "timeseries",
        "Öppna ärenden över tid, per åldersband (B1.7, P5.3)",
        "Öppna ärenden per åldersband över tid. / Open cases by age band over time (B1.7, P5.3).",
        [(total("kanalvakt_moderation_open_cases", "age"), "{{age}}")],
        w=10,
        h=8,
        stacked=True,
    )
    b.panel(
        "stat",
        "Sekretessuppgifter ej dolda (P7, P10.3)",
        "Kommentarer med sekretessuppgifter som ännu syns på plattformen. / Confidential "
        "comments not yet hidden on the platform (P7, P10.3): must be 0.",
        [(total("kanalvakt_moderation_confidential_not_hidden"), "")],
        w=6,
        h=8,
        steps=ZERO,
    )

    b.row("Eskaleringar")
    b.panel(
        "timeseries",
        "Eskaleringar till säkerhetssamordnare per dag (P5.8, L3)",
        "Kommentarer eskalerade till säkerhetssamordnare och chef, per kategori. / Comments "
        "escalated to the säkerhetssamordnare and superior manager, per day (P5.8, L3).",
        [
            (
                f"sum by (category) (increase(kanalvakt_moderation_escalations_total{{{K}}}[1d]))",
                "{{category}}",
            )
        ],
        w=10,
        h=7,
        bars=True,
        interval="1d",
    )
    b.panel(
        "stat",
        "Okvitterade eskaleringar (P5.6, P5.8)",
        "Eskaleringar som ingen har kvitterat. / Escalations nobody has acknowledged yet "
        "(P5.6, P5.8).",
        [(total("kanalvakt_notify_escalations_unacknowledged"), "")],
        w=5,
        h=7,
        steps=ZERO,
    )
    b.panel(
        "stat",
        "Äldsta okvitterade eskalering (P5.6, P5.8)",
        "Ålder på den äldsta okvitterade eskaleringen. / Age of the oldest escalation "
        "nobody has acknowledged (P5.6, P5.8); 0 when none.",
        [(f"max({gauge('kanalvakt_notify_escalation_unacknowledged_oldest_age_seconds')})", "")],
        w=5,
        h=7,
        unit="s",
        steps=[{"color": "green", "value": None}, {"color": "red", "value": 900}],
    )
    b.panel(
        "stat",
        "Misslyckade notifieringar, 24 h (P3.3, P5.6, P5.8)",
        "Notifieringar som gavs upp efter alla försök. / Notifications given up after every "
        "attempt failed, last 24 h: someone was not told (P3.3, P5.6, P5.8).",
        [(f"sum(increase(kanalvakt_notify_failed_total{{{K}}}[24h]))", "")],
        w=4,
        h=7,
        steps=ZERO,
        instant=True,
    )

    b.row("Arkivets hälsa")
    for title, desc, metric, steps in (
        (
            "Verifieringsfel (P3.7b, L6)",
            "Konton vars hashkedja eller poster inte klarade senaste verifieringen. / Accounts "
            "whose hash chain or records failed the last verification (P3.7b, L6): must be 0.",
            "kanalvakt_archive_verify_failures",
            ZERO,
        ),
        (
            "Väntar på diarieföring (P10.3, L5)",
            "Sekretessposter som inte är diarieförda. / Confidential records not yet "
            "registered in the diarium (P10.3, L5): must be 0.",
            "kanalvakt_archive_awaiting_registration",
            ZERO,
        ),
        (
            "Ögonblicksbilder försenade (P10.5, L8)",
            "Konton vars årliga ögonblicksbild är försenad. / Accounts whose yearly snapshot "
            "is overdue (P10.5, L8).",
            "kanalvakt_archive_snapshots_overdue",
            WARN_ZERO,
        ),
    ):
        b.panel("stat", title, desc, [(total(metric), "")], w=5, h=5, steps=steps)
    b.panel(
        "stat",
        "Tid sedan senaste verifiering (P3.7b, L6)",
        "Tid sedan arkivet senast verifierade hashkedjorna (äldsta kommunen). / Time since "
        "the archive last finished verifying (the stalest kommun) (P3.7b, L6).",
        [(f"time() - min({gauge('kanalvakt_archive_verified_timestamp_seconds')})", "")],
        w=5,
        h=5,
        unit="s",
        steps=[{"color": "green", "value": None}, {"color": "orange", "value": 2 * 86400}],
    )
    b.panel(
        "stat",
        "Rättsliga spärrar (L6)",
        "Gällande rättsliga spärrar: inget spärrat gallras. / Legal holds in force: nothing "
        "on hold is culled (L6).",
        [(total("kanalvakt_archive_holds"), "")],
        w=4,
        h=5,
    )

    b.row("Drift")
    b.panel(
        "stat",
        "Tjänster som svarar",
        "Instanser som svarar på /metrics, per tjänst. / Instances answering /metrics per "
        "service (Prometheus `up`).",
        [(f'sum(up{{job="kanalvakt-{svc}"}})', svc) for svc in SERVICES],
        w=8,
        h=5,
        steps=[{"color": "red", "value": None}, {"color": "green", "value": 1}],
    )
    b.panel(
        "stat",
        "Döda meddelanden, 1 h",
        "Meddelanden som hamnat på dlq.<ämne> senaste timmen. / Messages dead-lettered in "
        "the last hour, by service.",
        [
            (
                f"sum by (job) (increase(kanalvakt_dead_letters_total{{{K}}}[1h]))",
                "{{job}}",
            )
        ],
        w=6,
        h=5,
        steps=ZERO,
        instant=True,
    )
    b.panel(
        "stat",
        "Utkorg ej publicerad",
        "Händelser i utkorgar som inte publicerats. / Events written to outboxes and not "
        "yet published, by service.",
        [
            (
                f"sum by (job) (max by (job, kommun) (kanalvakt_outbox_pending{{{K}}}))",
                "{{job}}",
            )
        ],
        w=5,
        h=5,
        steps=WARN_ZERO,
    )
    b.panel(
        "stat",
        "Konsumentkö",
        "Meddelanden som väntar på konsumenterna, per tjänst. / Messages waiting for the "
        "JetStream consumers, by service.",
        [
            (
                "sum by (job) (max by (job, consumer) (kanalvakt_consumer_pending_messages))",
                "{{job}}",
            )
        ],
        w=5,
        h=5,
    )
    return b.model()


# --------------------------------------------------------------------------- services


def bus_rows(b: Board, svc: str) -> None:
    """Throughput, latency, errors, queues and resources: the same for every service."""
    fs = f'app_name="{svc}"'
    consumer = f'consumer=~"{svc}-.*"'
    # Selected by `job`, not by the metrics' own `service` label: a ServiceMonitor adds the
    # target label `service` (the Service's name), which renames ours to exported_service
    # unless honorLabels is set. The job is kanalvakt-<service> either way.
    job = f'job="kanalvakt-{svc}"'
    b.row("Genomströmning")
    b.panel(
        "timeseries",
        "Händelser per sekund, per utfall",
        "Konsumerade händelser per utfall. / Consumed events per second by outcome "
        "(handled, duplicate, retried, dead_lettered) for this service's consumers.",
        [
            (
                "sum by (outcome) (rate(kanalvakt_events_total"
                f'{{{consumer}, subject=~".+[.]$kommun"}}[{RATE}]))',
                "{{outcome}}",
            )
        ],
        w=8,
        h=8,
        unit="ops",
    )
    b.panel(
        "timeseries",
        "Mottagna meddelanden per sekund, per hanterare",
        "FastStreams mått, inte per kommun. / FastStream's processed messages per second "
        "by handler and status (not per kommun).",
        [
            (
                "sum by (handler, status) (rate(faststream_received_processed_messages_total"
                f"{{{fs}}}[{RATE}]))",
                "{{handler}} {{status}}",
            )
        ],
        w=8,
        h=8,
        unit="ops",
    )
    b.panel(
        "timeseries",
        "Publicerade meddelanden per sekund",
        "Publiceringar per destination. / Messages published per second by destination "
        "(FastStream).",
        [
            (
                f"sum by (destination) (rate(faststream_published_messages_total{{{fs}}}[{RATE}]))",
                "{{destination}}",
            )
        ],
        w=8,
        h=8,
        unit="ops",
    )

    b.row("Latens")
    b.panel(
        "timeseries",
        "Hanteringstid p50/p95/p99",
        "Tid att hantera ett meddelande. / Time to process a received message, "
        "percentiles over all handlers (FastStream).",
        [
            (
                f"histogram_quantile({q}, sum by (le) (rate("
                f"faststream_received_processed_messages_duration_seconds_bucket{{{fs}}}"
                f"[{RATE}])))",
                f"p{int(q * 100)}",
            )
            for q in (0.5, 0.95, 0.99)
        ],
        w=8,
        h=8,
        unit="s",
    )
    b.panel(
        "timeseries",
        "Hanteringstid p95 per hanterare",
        "95:e percentilen per hanterare. / 95th percentile processing time by handler "
        "(FastStream).",
        [
            (
                "histogram_quantile(0.95, sum by (le, handler) (rate("
                f"faststream_received_processed_messages_duration_seconds_bucket{{{fs}}}"
                f"[{RATE}])))",
                "{{handler}}",
            )
        ],
        w=8,
        h=8,
        unit="s",
    )
    b.panel(
        "timeseries",
        "Publiceringstid p95 och meddelanden under behandling",
        "Publiceringens 95:e percentil och pågående hantering. / 95th percentile publish "
        "time, and messages being processed now (FastStream).",
        [
            (
                "histogram_quantile(0.95, sum by (le) (rate("
                f"faststream_published_messages_duration_seconds_bucket{{{fs}}}[{RATE}])))",
                "publicering p95 (s)",
            ),
            (f"sum(faststream_received_messages_in_process{{{fs}}})", "under behandling"),
        ],
        w=8,
        h=8,
    )

    b.row("Fel")
    b.panel(
        "timeseries",
        "Undantag i hanterare per sekund",
        "Undantag per typ. / Exceptions raised by handlers per second by exception type "
        "(FastStream); each is retried or dead-lettered.",
        [
            (
                "sum by (handler, exception_type) (rate("
                f"faststream_received_processed_messages_exceptions_total{{{fs}}}[{RATE}]))",
                "{{handler}} {{exception_type}}",
            )
        ],
        w=8,
        h=7,
        unit="ops",
    )
    b.panel(
        "timeseries",
        "Omförsök och publiceringsfel per sekund",
        "Omförsök med backoff och misslyckade publiceringar. / Retries with backoff "
        "(nothing lost, but no progress) and failed publishes per second.",
        [
            (
                "sum by (consumer) (rate(kanalvakt_events_total"
                f'{{{consumer}, outcome="retried"}}[{RATE}]))',
                "omförsök {{consumer}}",
            ),
            (
                "sum by (destination) (rate(faststream_published_messages_exceptions_total"
                f"{{{fs}}}[{RATE}]))",
                "publiceringsfel {{destination}}",
            ),
        ],
        w=8,
        h=7,
        unit="ops",
    )
    b.panel(
        "stat",
        "Instanser uppe",
        "Instanser som svarar på /metrics. / Instances answering /metrics (Prometheus "
        "`up`, job kanalvakt-<service> as the ServiceMonitor names it).",
        [(f"sum(up{{{job}}})", "uppe"), (f"count(up{{{job}}} == 0) or vector(0)", "nere")],
        w=8,
        h=7,
    )

    b.row("Köer, DLQ och utkorg")
    b.panel(
        "timeseries",
        "Konsumentfördröjning (väntande meddelanden)",
        "Meddelanden som väntar per konsument. / JetStream consumer lag: messages not yet "
        "delivered, by durable consumer.",
        [
            (
                f"max by (consumer) (kanalvakt_consumer_pending_messages{{{job}}})",
                "{{consumer}}",
            )
        ],
        w=6,
        h=8,
    )
    b.panel(
        "timeseries",
        "Obekräftade meddelanden (ack pending)",
        "Levererade men ännu inte kvitterade. / Messages delivered but not yet acked, by "
        "durable consumer.",
        [
            (
                f"max by (consumer) (kanalvakt_consumer_ack_pending_messages{{{job}}})",
                "{{consumer}}",
            )
        ],
        w=6,
        h=8,
    )
    b.panel(
        "timeseries",
        "Döda meddelanden (DLQ) per ämne, 1 h",
        "Meddelanden på dlq.<ämne> senaste timmen. / Messages dead-lettered in the last "
        "hour, by subject; the reason is in the Kanalvakt-Dlq-Reason header. "
        "",
        [
            (
                f"sum by (subject) (increase(kanalvakt_dead_letters_total{{{job}, {K}}}[1h]))",
                "{{subject}}",
            )
        ],
        w=6,
        h=8,
        bars=True,
    )
    b.panel(
        "timeseries",
        "Utkorg: ej publicerade händelser",
        "Händelser skrivna till utkorgen men inte publicerade. / Events written to "
        "outboxes but not yet published, by kommun.",
        [
            (
                f"max by (kommun) (kanalvakt_outbox_pending{{{job}, {K}}})",
                "{{kommun}}",
            )
        ],
        w=6,
        h=8,
    )

    b.row("Resurser")
    b.panel(
        "timeseries",
        "CPU per instans",
        "Processorns användning per instans. / CPU seconds per second by instance.",
        [(f"rate(process_cpu_seconds_total{{{job}}}[{RATE}])", "{{instance}}")],
        w=12,
        h=7,
        unit="percentunit",
    )
    b.panel(
        "timeseries",
        "Minne per instans",
        "Residentminne per instans. / Resident memory by instance.",
        [(f"process_resident_memory_bytes{{{job}}}", "{{instance}}")],
        w=12,
        h=7,
        unit="bytes",
    )


def registry() -> Json:
    b = Board(
        "kanalvakt-registry",
        "Kanalvakt — register",
        "The registry service: accounts, plans and their risks (P2.1, P3.1, P3.3, P3.5, "
        "P3.6, P10.1), and its bus: throughput, latency, errors, consumer lag, DLQ, outbox.",
        "kanalvakt_registry_accounts",
    )
    b.row("Konton och planer")
    b.panel(
        "timeseries",
        "Konton per status (P10.1)",
        "Konton per status över tid. / Accounts by state over time (P10.1).",
        [(total("kanalvakt_registry_accounts", "state"), "{{state}}")],
        w=8,
        h=8,
        stacked=True,
    )
    b.panel(
        "timeseries",
        "Konton per plattform (P10.1)",
        "Konton per plattform. / Accounts by platform (P10.1).",
        [(total("kanalvakt_registry_accounts", "platform"), "{{platform}}")],
        w=8,
        h=8,
        stacked=True,
    )
    b.panel(
        "timeseries",
        "Planer som väntar på godkännande (P2.1, P3.6)",
        "Antal och äldsta väntande plan i dagar. / Submitted plans awaiting approval and "
        "the oldest one's age in days (P2.1, P3.6).",
        [
            (total("kanalvakt_registry_plans_awaiting_approval"), "väntar"),
            (
                f"max({gauge('kanalvakt_registry_oldest_plan_awaiting_approval_seconds')}) / 86400",
                "äldsta (dagar)",
            ),
        ],
        w=8,
        h=8,
    )
    b.row("Risker")
    for title, desc, metric in (
        (
            "Obevakade konton (P3.3, P5.6)",
            "Per kommun. / Accounts unattended now, by kommun (P3.3, P5.6). ",
            "kanalvakt_registry_accounts_unattended",
        ),
        (
            "Färre än två administratörer (P3.1)",
            "Per kommun. / Accounts with fewer than two active administrators (P3.1).",
            "kanalvakt_registry_accounts_below_two_administrators",
        ),
        (
            "Inloggningsuppgifter ej deponerade (P3.5)",
            "Per kommun. / Accounts whose credentials are not deposited (P3.5).",
            "kanalvakt_registry_credentials_not_deposited",
        ),
        (
            "Inloggningsuppgifter försenade (P3.5)",
            "Per kommun, efter fristen. / Accounts past the grace without deposited "
            "credentials (P3.5).",
            "kanalvakt_registry_credentials_overdue",
        ),
    ):
        b.panel("timeseries", title, desc, [(gauge(metric), "{{kommun}}")], w=8, h=7)
    bus_rows(b, "registry")
    return b.model()


def moderation() -> Json:
    b = Board(
        "kanalvakt-moderation",
        "Kanalvakt — moderering",
        "The moderation service: classification, deadlines (B1.7, P5.3), escalations "
        "(P5.8), supervision (L2), and its bus: throughput, latency, errors, lag, DLQ, outbox.",
        "kanalvakt_moderation_open_cases",
    )
    b.row("Kommentarer och beslut")
    b.panel(
        "timeseries",
        "Klassificerade kommentarer per etikett (P5.2, P5.8, P5.9, P6, B2)",
        "Kommentarer lästa av reglerna. / Comments read by the rules per hour, by label "
        "(P5.2, P5.8, P5.9, P6, B2).",
        [
            (
                f"sum by (label) (increase(kanalvakt_moderation_classified_total{{{K}}}[1h]))",
                "{{label}}",
            )
        ],
        w=8,
        h=8,
        stacked=True,
    )
    b.panel(
        "timeseries",
        "Tid till borttagning p50/p95 per kategori (B1.7)",
        "Från ankomst till borttagning eller döljning. / From arrival to removal or hiding "
        "(B1.7, P5.2, P5.9).",
        quantiles("kanalvakt_moderation_time_to_removal_seconds", "category", "6h"),
        w=8,
        h=8,
        unit="s",
    )
    b.panel(
        "timeseries",
        "Tid till svar p50/p95 per kategori (P5.3)",
        "Från ankomst till svar. / From a question's arrival to its answer (P5.3).",
        quantiles("kanalvakt_moderation_time_to_answer_seconds", "category", "6h"),
        w=8,
        h=8,
        unit="s",
    )
    b.row("Ärenden och tidsfrister")
    b.panel(
        "timeseries",
        "Öppna ärenden per etikett och ålder (B1.7, P5.3)",
        "Öppna eller tagna ärenden. / Open or claimed cases by label and age band (B1.7, P5.3).",
        [(total("kanalvakt_moderation_open_cases", "label, age"), "{{label}} {{age}}")],
        w=8,
        h=8,
        stacked=True,
    )
    b.panel(
        "timeseries",
        "Försenade ärenden nu (B1.7, P5.3)",
        "Ärenden vars frist passerat. / Open cases past their deadline now, by kommun and "
        "label (B1.7, P5.3).",
        [(gauge("kanalvakt_moderation_overdue_cases", "kommun, label"), "{{kommun}} {{label}}")],
        w=8,
        h=8,
    )
    b.panel(
        "timeseries",
        "Överskridna tidsfrister per dag (B1.7, P5.3)",
        "Ärenden vars frist passerade utan beslut. / Cases whose deadline passed "
        "undecided, per day (B1.7, P5.3).",
        [
            (
                "sum by (label) (increase("
                f"kanalvakt_moderation_deadlines_breached_total{{{K}}}[1d]))",
                "{{label}}",
            )
        ],
        w=8,
        h=8,
        bars=True,
        interval="1d",
    )
    b.row("Eskaleringar, tillsyn och sekretess")
    b.panel(
        "timeseries",
        "Eskaleringar per kategori (P5.8, L3)",
        "Eskaleringar till säkerhetssamordnare och chef per timme. / Escalations to the "
        "säkerhetssamordnare and superior manager per hour (P5.8, L3).",
        [
            (
                f"sum by (category) (increase(kanalvakt_moderation_escalations_total{{{K}}}[1h]))",
                "{{category}}",
            )
        ],
        w=8,
        h=7,
        bars=True,
    )
    b.panel(
        "timeseries",
        "Konton utan tillsyn (L2)",
        "Konton och avbrott i tillsynen. / Accounts unsupervised now, and supervision gaps "
        "per day (L2).",
        [
            (gauge("kanalvakt_moderation_accounts_unsupervised"), "utan tillsyn {{kommun}}"),
            (
                "sum by (kommun) (increase("
                f"kanalvakt_moderation_supervision_gaps_total{{{K}}}[1d]))",
                "avbrott/dag {{kommun}}",
            ),
        ],
        w=8,
        h=7,
    )
    b.panel(
        "stat",
        "Sekretessuppgifter ej dolda (P7, P10.3)",
        "Ska vara 0. / Confidential comments not yet hidden on the platform (P7, P10.3): "
        "must be 0.",
        [(total("kanalvakt_moderation_confidential_not_hidden"), "")],
        w=8,
        h=7,
        steps=ZERO,
    )
    bus_rows(b, "moderation")
    return b.model()


def archive() -> Json:
    b = Board(
        "kanalvakt-archive",
        "Kanalvakt — arkiv",
        "The archive service: records, registration (P10.3), snapshots (P10.5), "
        "verification (P3.7b), retention (L6), and its bus: throughput, latency, errors, "
        "lag, DLQ, outbox.",
        "kanalvakt_archive_records",
    )
    b.row("Arkivets hälsa")
    for title, desc, metric, steps in (
        (
            "Verifieringsfel (P3.7b, L6)",
            "Ska vara 0. / Accounts whose hash chain failed the last verification (P3.7b, L6).",
            "kanalvakt_archive_verify_failures",
            ZERO,
        ),
        (
            "Väntar på diarieföring (P10.3, L5)",
            "Ska vara 0. / Confidential records not yet registered (P10.3, L5).",
            "kanalvakt_archive_awaiting_registration",
            ZERO,
        ),
        (
            "Ögonblicksbilder försenade (P10.5, L8)",
            "Konton med försenad ögonblicksbild. / Accounts whose snapshot is overdue (P10.5, L8).",
            "kanalvakt_archive_snapshots_overdue",
            WARN_ZERO,
        ),
    ):
        b.panel("stat", title, desc, [(total(metric), "")], w=6, h=5, steps=steps)
    b.panel(
        "stat",
        "Tid sedan senaste verifiering (P3.7b, L6)",
        "Per kommun. / Time since the archive last verified each kommun's hash chains (P3.7b, L6).",
        [(f"time() - {gauge('kanalvakt_archive_verified_timestamp_seconds')}", "{{kommun}}")],
        w=6,
        h=5,
        unit="s",
        steps=[{"color": "green", "value": None}, {"color": "orange", "value": 2 * 86400}],
    )
    b.row("Poster och diarium")
    b.panel(
        "timeseries",
        "Bevarade poster per typ och status (P5.2, L6)",
        "Borttagna och dolda poster finns kvar. / Records kept by kind and state on the "
        "platform; removed and hidden ones stay (P5.2, L6).",
        [(total("kanalvakt_archive_records", "kind, state"), "{{kind}} {{state}}")],
        w=8,
        h=8,
        stacked=True,
    )
    b.panel(
        "timeseries",
        "Fakta i hashkedjan per timme (P3.7b, P5.2, L4)",
        "Fakta som lagts till i kontonas hashkedjor. / Facts kept in the accounts' hash "
        "chains per hour, by record kind (P3.7b, P5.2, L4).",
        [
            (
                f"sum by (kind) (increase(kanalvakt_archive_facts_kept_total{{{K}}}[1h]))",
                "{{kind}}",
            )
        ],
        w=8,
        h=8,
        bars=True,
    )
    b.panel(
        "timeseries",
        "Diarieföringar per dag (P10.3, L5)",
        "Diarieförda poster per anledning. / Records registered in the diarium per day, by "
        "reason (P10.3, L5).",
        [
            (
                f"sum by (reason) (increase(kanalvakt_archive_registrations_total{{{K}}}[1d]))",
                "{{reason}}",
            )
        ],
        w=8,
        h=8,
        bars=True,
        interval="1d",
    )
    b.row("Gallring, spärrar, ögonblicksbilder och utlämnanden")
    b.panel(
        "timeseries",
        "Gallrade poster per dag (P10.2, L6, L7)",
        "Gallring per regel. / Records culled per day by retention rule (P10.2, L6, L7).",
        [
            (
                f"sum by (rule) (increase(kanalvakt_archive_culled_records_total{{{K}}}[1d]))",
                "{{rule}}",
            )
        ],
        w=6,
        h=7,
        bars=True,
        interval="1d",
    )
    b.panel(
        "timeseries",
        "Rättsliga spärrar (L6)",
        "Gällande spärrar per omfattning. / Legal holds in force by scope (L6).",
        [(total("kanalvakt_archive_holds", "scope"), "{{scope}}")],
        w=6,
        h=7,
    )
    b.panel(
        "timeseries",
        "Ögonblicksbilder per dag (P10.5, L8)",
        "Tagna PDF/A-ögonblicksbilder per anledning. / PDF/A snapshots taken per day, by "
        "reason (P10.5, L8).",
        [
            (
                f"sum by (reason) (increase(kanalvakt_archive_snapshots_total{{{K}}}[1d]))",
                "{{reason}}",
            )
        ],
        w=6,
        h=7,
        bars=True,
        interval="1d",
    )
    b.panel(
        "timeseries",
        "Utlämnanden av allmän handling per dag (L4)",
        "Sökningar och exporter. / Searches and exports for requests for public records "
        "per day, by kind and format (L4).",
        [
            (
                f"sum by (kind, format) (increase(kanalvakt_archive_requests_total{{{K}}}[1d]))",
                "{{kind}} {{format}}",
            )
        ],
        w=6,
        h=7,
        bars=True,
        interval="1d",
    )
    bus_rows(b, "archive")
    return b.model()


def notify() -> Json:
    b = Board(
        "kanalvakt-notify",
        "Kanalvakt — notifieringar",
        "The notify service: deliveries, failures, latency and unacknowledged escalations "
        "(P3.3, P5.1, P5.6, P5.8), and its bus: throughput, latency, errors, lag, DLQ, outbox.",
        "kanalvakt_notify_escalations_unacknowledged",
    )
    b.row("Leveranser")
    b.panel(
        "timeseries",
        "Skickade notifieringar per kanal (P3.3, P5.1, P5.6, P5.8)",
        "Levererade per händelsetyp och kanal. / Notifications delivered per hour by event "
        "type and channel (P3.3, P5.1, P5.6, P5.8).",
        [
            (
                f"sum by (channel) (increase(kanalvakt_notify_sent_total{{{K}}}[1h]))",
                "{{channel}}",
            )
        ],
        w=8,
        h=8,
        stacked=True,
    )
    b.panel(
        "timeseries",
        "Misslyckade leveranser per timme (P3.3, P5.6, P5.8)",
        "Försök som misslyckades (prövas igen) och notifieringar som gavs upp. / Failed "
        "attempts (retried with backoff) and notifications given up, per hour. "
        "",
        [
            (
                f"sum by (channel) (increase(kanalvakt_notify_attempts_failed_total{{{K}}}[1h]))",
                "försök {{channel}}",
            ),
            (
                f"sum by (channel) (increase(kanalvakt_notify_failed_total{{{K}}}[1h]))",
                "uppgivna {{channel}}",
            ),
        ],
        w=8,
        h=8,
        bars=True,
    )
    b.panel(
        "timeseries",
        "Leveranstid p50/p95 per kanal (P5.8)",
        "Från händelsen till levererat meddelande. / From the event's time to the message "
        "delivered (P5.8: at once).",
        quantiles("kanalvakt_notify_delivery_latency_seconds", "channel", RATE),
        w=8,
        h=8,
        unit="s",
    )
    b.row("Eskaleringar")
    b.panel(
        "timeseries",
        "Okvitterade eskaleringar (P5.6, P5.8)",
        "Per händelsetyp. / Escalations nobody has acknowledged, by event type (P5.6, P5.8).",
        [(total("kanalvakt_notify_escalations_unacknowledged", "event"), "{{event}}")],
        w=12,
        h=7,
    )
    b.panel(
        "timeseries",
        "Äldsta okvitterade eskalering (P5.6, P5.8)",
        "Ålder per händelsetyp. / Age of the oldest unacknowledged escalation by event "
        "type (P5.6, P5.8).",
        [
            (
                "max by (event) ("
                + gauge(
                    "kanalvakt_notify_escalation_unacknowledged_oldest_age_seconds", "kommun, event"
                )
                + ")",
                "{{event}}",
            )
        ],
        w=12,
        h=7,
        unit="s",
    )
    bus_rows(b, "notify")
    return b.model()


def dashboards() -> dict[str, str]:
    """File name → JSON text, as committed."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    built = {
        "kanalvakt-overview.json": overview(),
        "kanalvakt-registry.json": registry(),
        "kanalvakt-moderation.json": moderation(),
        "kanalvakt-archive.json": archive(),
        "kanalvakt-notify.json": notify(),
    }
    return {name: json.dumps(m, indent=2, ensure_ascii=False) + "\n" for name, m in built.items()}


def main(argv: list[str]) -> int:
    stale = []
    for name, text in dashboards().items():
        path = HERE / name
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    for name in stale:
        print(f"deploy/grafana/{name} is stale: run .venv/bin/python deploy/grafana/build.py")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
