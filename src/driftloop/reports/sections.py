"""Extra summary-page sections built from small records (no data frames)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

__all__ = ["retraining_section_html"]


def _auc(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "—"


def retraining_section_html(info: Mapping[str, Any]) -> str:
    """The retraining this run launched or scheduled, with the gate's decision."""
    status = str(info.get("status") or "unknown")
    run_id = str(info.get("run_id") or "")
    url = str(info.get("ui_url") or "")
    gate = info.get("gate") or {}
    if run_id and url:
        run = f'<a href="{html.escape(url)}" data-link="retraining">{html.escape(run_id)}</a>'
    else:
        run = html.escape(run_id or "—")
    rows = [
        ("status", html.escape(status)),
        ("pipeline run", run),
        ("backend", html.escape(str(info.get("backend") or "—"))),
    ]
    verdict = ""
    if gate:
        blessed = bool(gate.get("promote"))
        verdict = (
            f'<p class="gate {"blessed" if blessed else "rejected"}" id="gate-decision">'
            f"<b>{'BLESSED — promoted' if blessed else 'NOT BLESSED — champion kept'}</b></p>"
        )
        rows += [
            ("candidate", html.escape(str(gate.get("candidate_version") or "—"))),
            ("candidate macro AUC", _auc(gate.get("candidate_auc"))),
            ("champion", html.escape(str(gate.get("champion_version") or "none"))),
            ("champion macro AUC", _auc(gate.get("champion_auc"))),
            (
                "rule",
                f"AUC ≥ {_auc(gate.get('metric_min'))} and ≥ champion − "
                f"{_auc(gate.get('metric_drop_tol'))}, same held-out set",
            ),
            ("reasons", "<br>".join(html.escape(str(r)) for r in gate.get("reasons") or [])),
        ]
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return (
        '<section class="retraining" id="retraining"><h2>Retraining</h2>'
        f'{verdict}<table class="kv">{table}</table></section>'
    )
