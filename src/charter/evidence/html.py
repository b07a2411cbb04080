"""``index.html`` of an evidence pack: every section on one page, readable offline.

No script, no font, no image, no link outside the pack: the style is inline and every value is
escaped (names, reasons and messages come from people and data).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#1c1c1c}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ccc}
h3{font-size:1.05rem}table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{border:1px solid #d4d4d4;padding:.3rem .45rem;text-align:left;vertical-align:top}
.long{overflow-wrap:anywhere}
th{background:#f3f3f3}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}
.met{color:#0a6b2d;font-weight:600}.gap{color:#a11;font-weight:600}.muted{color:#666}
ul{margin:.2rem 0;padding-left:1.2rem}nav a{margin-right:.8rem}
"""

SECTIONS = (
    ("crosswalk", "Crosswalk"),
    ("people", "Owner and roles"),
    ("charter-history", "Charter history"),
    ("sufficiency", "Sufficiency contract and verdicts"),
    ("data-contract", "Data contract"),
    ("shadow-and-challenger", "Shadow and champion–challenger"),
    ("decisions", "Decisions"),
    ("oversight", "Oversight actions"),
    ("alerts", "Alerts"),
    ("coverage", "Prediction-log coverage and retention"),
    ("retraining", "Retraining lineage"),
)


def _e(value: Any) -> str:
    if value is None:
        return '<span class="muted">—</span>'
    if isinstance(value, list | tuple):
        return "<ul>" + "".join(f"<li>{_e(v)}</li>" for v in value) + "</ul>" if value else "—"
    if isinstance(value, dict):
        return ", ".join(f"{escape(str(k))}: {_e(v)}" for k, v in value.items()) or "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    if len(text) > 24 and " " not in text:  # a digest, a path, a timestamp: may break anywhere
        return f'<span class="long">{escape(text)}</span>'
    return escape(text)


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, raw: bool = False) -> str:
    body = "".join(
        "<tr>" + "".join(f"<td>{c if raw else _e(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    if not body:
        return '<p class="muted">None recorded.</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><tr>{head}</tr>{body}</table>"


def _seq(item: Mapping[str, Any]) -> str:
    ref = item.get("ledger") or {}
    return f"#{ref.get('seq')}" if ref else "—"


def render_index(
    summary: Mapping[str, Any], sections: Mapping[str, Any], clauses: Sequence[Mapping[str, Any]]
) -> str:
    ledger = summary["ledger"]
    as_of = summary["as_of"] or "the latest signed head"
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Evidence pack: {escape(summary['charter'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Evidence pack: {escape(summary['charter'])}</h1>",
        f"<p>As of <b>{escape(as_of)}</b>. Ledger entries 1..{ledger['head_seq']} "
        f"({ledger['charter_entries']} about this charter), head <code>{ledger['head_hash']}</code> "
        f"signed at {escape(ledger['signed_at'])} with key <code>{escape(ledger['key_id'])}</code> "
        f"({escape(ledger['algorithm'])}). Frameworks: {escape(', '.join(summary['frameworks']))}.</p>",
        "<p class=muted>Check this pack without the database: <code>charter evidence verify "
        "PACK.zip [--key-file KEY]</code>. Every record names the ledger entry it stands on "
        "(#seq), found in <code>ledger/entries.jsonl</code>.</p>",
        "<nav>" + "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t in SECTIONS) + "</nav>",
    ]
    parts += [
        _crosswalk(clauses),
        _people(sections["people"]),
        _history(sections["charter_history"]),
        _sufficiency(sections["sufficiency"]),
        _data(sections["data_contract"]),
        _shadow(sections["shadow_and_challenger"]),
        _decisions(sections["decisions"]),
        _oversight(sections["oversight"]),
        _alerts(sections["alerts"]),
        _coverage(sections["coverage"]),
        _retraining(sections["retraining"]),
        "</body></html>\n",
    ]
    return "\n".join(parts)


def _h2(anchor: str) -> str:
    return f'<h2 id="{anchor}">{escape(dict(SECTIONS)[anchor])}</h2>'


def _crosswalk(clauses: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for c in clauses:
        status = f'<span class="{c["status"]}">{escape(c["status"].upper())}</span>'
        records = " ".join(
            f'<a href="#{r.replace("_", "-")}">{escape(r)}</a>' for r in c["records"]
        )
        rows.append(
            [
                escape(f"{c['framework']} {c['clause']}") + f"<br><b>{escape(c['title'])}</b>",
                escape(c["requirement"]),
                status,
                _e(c["evidence"]),
                _e(c["gaps"]) if c["gaps"] else "none",
                records,
            ]
        )
    return (
        _h2("crosswalk")
        + (
            "<p class=muted>Requirements are charter's paraphrases, not quotations. MET means the "
            "records exist and are consistent; it is not a legal opinion.</p>"
        )
        + _table(["clause", "requirement", "status", "evidence", "gaps", "records"], rows, raw=True)
    )


def _people(p: Mapping[str, Any]) -> str:
    return _h2("people") + _table(
        ["owner", "delegates", "stewards", "decision the model informs"],
        [[p.get("owner"), p.get("delegates"), p.get("stewards"), p.get("decision")]],
    )


def _history(h: Mapping[str, Any]) -> str:
    terms = _table(
        ["entry", "in force since", "sha256", "how", "accepted by"],
        [[_seq(t), t["since"], t["sha256"], t["how"], t["accepted_by"]] for t in h["terms"]],
    )
    changes = _table(
        ["entry", "change", "detected", "diff", "status", "decided by", "reason"],
        [
            [
                _seq(c),
                c["change_id"],
                f"{c['detected_at']} by {c['detected_by']}",
                [f"{d.get('path')}: {d.get('old')!r} → {d.get('new')!r}" for d in c["diff"]],
                c["status"],
                c["decided_by"],
                c["reason"],
            ]
            for c in h["changes"]
        ],
    )
    kept = {
        "kept": "",
        "reconstructed": "<p>The text in force at the head was replaced since; its fields were "
        "reconstructed from the next text and the ledger's diff (comments and layout are not).</p>",
    }.get(
        str(h.get("terms_in_force_found")),
        "<p class=gap>The terms in force at the head are not in the store.</p>",
    )
    return (
        _h2("charter-history")
        + "<h3>Texts in force</h3>"
        + terms
        + kept
        + ("<h3>Changes</h3>")
        + changes
    )


def _sufficiency(s: Mapping[str, Any]) -> str:
    contract = s["contract"] or {}
    rules = _table(
        ["metric", "segment", "at least", "at most", "warn at"],
        [
            [
                m.get("metric"),
                m.get("segment"),
                m.get("at_least"),
                m.get("at_most"),
                m.get("warn_at"),
            ]
            for m in contract.get("metrics", [])
        ],
    )
    verdicts = _table(
        ["entry", "version", "window", "verdict", "labels", "rules", "drifted"],
        [
            [
                _seq(v),
                v["version"],
                f"{v['start']} – {v['end']}",
                v["verdict"],
                v["labels"],
                [
                    f"{r.get('metric')}{' in ' + r['segment'] if r.get('segment') else ''} = "
                    f"{_e(r.get('value'))} ({r.get('status')})"
                    for r in v["rules"]
                ],
                v["drifted"],
            ]
            for v in s["verdicts"]
        ],
    )
    window = {k: contract.get(k) for k in ("window", "min_labels", "label_delay")}
    return (
        _h2("sufficiency")
        + f"<p>{_e(window)}</p>"
        + rules
        + (f"<h3>Verdict history</h3><p>{_e(s['counts'])}</p>")
        + verdicts
    )


def _data(d: Mapping[str, Any]) -> str:
    return (
        _h2("data-contract")
        + f"<p>Totals: {_e(d['totals'])}</p>"
        + _table(["rule", "rows"], list(d["violations_by_rule"].items()))
        + "<h3>Sources that failed</h3>"
        + _table(
            ["entry", "file", "error"],
            [[_seq(f), f["file"], f["error"]] for f in d["failed_sources"]],
        )
    )


def _shadow(s: Mapping[str, Any]) -> str:
    shadow = _table(
        ["version", "batches with rows", "batches without rows", "rows"],
        [
            [v, x["batches_with_rows"], x["batches_without_rows"], x["rows"]]
            for v, x in s["shadow"].items()
        ],
    )
    items = _table(
        ["entry", "when", "decision", "version", "shadow batches", "champion–challenger"],
        [
            [
                _seq(g),
                g["ledger"]["action"].removeprefix("decision."),
                g["decision_id"],
                g["version"],
                (g["shadow_batches"] or {}).get("evidence"),
                (g["champion_challenger"] or {}).get("evidence"),
            ]
            for g in s["gate_items"]
        ],
    )
    return _h2("shadow-and-challenger") + shadow + "<h3>As each decision saw it</h3>" + items


def _decisions(d: Mapping[str, Any]) -> str:
    rows = [
        [
            x["decision_id"],
            x["version"],
            x["status"],
            f"{x['opened_at']} by {x['opened_by']}",
            x["decided_by"],
            x["decided_at"],
            "yes" if x["automatic"] else "no",
            x["accepted_risk"] or x["reason"],
            [i.get("name") for i in x["shortfall"]],
            x["evidence_sha256"] or x["readiness_sha256"],
        ]
        for x in d["decisions"]
    ]
    return (
        _h2("decisions")
        + _table(
            [
                "id",
                "version",
                "status",
                "opened",
                "decided by",
                "at",
                "automatic",
                "accepted risk / reason",
                "gate shortfall",
                "evidence digest",
            ],
            rows,
        )
        + "<h3>Refused attempts</h3>"
        + _table(
            ["entry", "who", "action", "version", "why"],
            [[_seq(r), r["by"], r["action"], r["version"], r["why"]] for r in d["refusals"]],
        )
        + "<h3>Pre-authorisations</h3>"
        + _table(
            ["entry", "by", "note"],
            [
                [_seq(a), a.get("by"), a.get("note") or a.get("revoke_note")]
                for a in d["authorizations"]
            ],
        )
    )


def _oversight(o: Mapping[str, Any]) -> str:
    return (
        _h2("oversight")
        + _table(
            ["entry", "action", "by", "details"],
            [
                [
                    _seq(a),
                    a["action"],
                    a["ledger"]["actor"],
                    {k: v for k, v in a.items() if k not in ("action", "ledger", "evidence")},
                ]
                for a in o["actions"]
            ],
        )
        + "<h3>Approvals over a gate shortfall</h3>"
        + _table(
            ["entry", "version", "by", "shortfall", "accepted risk"],
            [
                [
                    _seq(x),
                    x["version"],
                    x["by"],
                    [i.get("name") for i in x["shortfall"] or []],
                    x["accepted_risk"],
                ]
                for x in o["overrides"]
            ],
        )
        + "<h3>Status changes</h3>"
        + _table(
            ["entry", "version", "from", "to", "reason"],
            [[_seq(x), x["version"], x["from"], x["to"], x["reason"]] for x in o["status_changes"]],
        )
    )


def _alerts(a: Mapping[str, Any]) -> str:
    return (
        _h2("alerts")
        + f"<p>{_e(a['summary'])}</p>"
        + _table(
            [
                "id",
                "severity",
                "rule",
                "raised",
                "acknowledged",
                "resolved",
                "s to ack",
                "s to resolve",
                "message",
            ],
            [
                [
                    x["alert_id"],
                    x["severity"],
                    x["rule"],
                    x["raised_at"],
                    x["acknowledged_at"] and f"{x['acknowledged_at']} by {x['acknowledged_by']}",
                    x["resolved_at"] and f"{x['resolved_at']} by {x['resolved_by']}",
                    x["seconds_to_acknowledge"],
                    x["seconds_to_resolve"],
                    x["message"],
                ]
                for x in a["alerts"]
            ],
        )
    )


def _coverage(c: Mapping[str, Any]) -> str:
    from charter.evidence.coverage import coverage_summary

    gaps = (
        f"<p class=gap>Days without a prediction: {_e(', '.join(c['gaps']))}</p>"
        if c["gaps"]
        else "<p class=met>No day without a prediction.</p>"
    )
    return (
        _h2("coverage")
        + f"<p><b>Retention</b>: {_e(c['retention']['statement'])}</p>"
        + (f"<p>{_e(coverage_summary(c))}. Files against the ledger: {_e(c['file_states'])}.</p>")
        + gaps
        + _table(
            ["day (UTC)", "predictions", "by the live version", "log rows (all versions)"],
            [[d["day"], d["predictions"], d["by_live_version"], d["log_rows"]] for d in c["days"]],
        )
        + "<h3>Purges</h3>"
        + _table(
            ["entry", "before", "removed"],
            [[_seq(p), p.get("before"), p.get("removed")] for p in c["purges"]],
        )
    )


def _retraining(r: Mapping[str, Any]) -> str:
    return (
        _h2("retraining")
        + _table(
            ["entry", "version", "sha256", "flavor", "training data"],
            [
                [_seq(v), v["version"], v["sha256"], v["flavor"], v["training_data"]]
                for v in r["versions"]
            ],
        )
        + "<h3>Retraining runs</h3>"
        + _table(
            ["entry", "outcome", "version", "parent", "triggers", "window", "rows"],
            [
                [
                    _seq(x),
                    x["outcome"],
                    x.get("version"),
                    x.get("parent_version"),
                    x.get("triggers"),
                    x.get("window"),
                    x.get("rows"),
                ]
                for x in r["runs"]
            ],
        )
    )
