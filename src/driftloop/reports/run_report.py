"""Write one run's report folder: summary page, Evidently report and drift.json."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from driftloop.config import Settings
from driftloop.reports.evidently_report import evidently_columns, write_evidently_html
from driftloop.reports.summary import render_summary_html
from driftloop.results import DriftResult
from driftloop.storage.artifacts import ArtifactStore

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ReportPaths", "render_run_report"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class ReportPaths:
    """Where one run's report files went (``evidently_html`` is None when nothing to compare)."""

    summary_html: str
    evidently_html: str | None
    drift_json: str


def render_run_report(
    result: DriftResult,
    *,
    current_df: pd.DataFrame,
    reference_df: pd.DataFrame,
    out_dir: str,
    settings: Settings,
    quarantined: Sequence[Mapping[str, str]] = (),
    links: Mapping[str, str] = {},
    sections: Sequence[str] = (),
) -> ReportPaths:
    """Write ``index.html``, ``evidently.html`` and ``drift.json`` into ``out_dir`` atomically.

    ``out_dir`` is normally ``Layout.report_dir(date)``; a rerun overwrites the
    same files. The pages are self-contained and open from disk.
    """
    store = ArtifactStore(out_dir)
    drift_uri = store.write_text("drift.json", result.to_json())

    evidently_uri: str | None = store.uri("evidently.html")
    methods = evidently_columns(result, current_df, reference_df)[0]
    if methods and not current_df.empty and not reference_df.empty:
        with store.open_write("evidently.html", suffix=".html") as tmp:
            write_evidently_html(result, current_df, reference_df, tmp)
    else:
        # No shared column with a known test (e.g. an empty day): no Evidently page,
        # and an old one from an earlier run of this date must not linger.
        store.remove("evidently.html")
        evidently_uri = None
        log.warning(
            "no Evidently report for %s: %d current rows, %d shared tested columns",
            result.logical_date,
            len(current_df),
            len(methods),
        )

    page_links = {"evidently": "evidently.html"} if evidently_uri else {}
    page_links |= {"drift_json": "drift.json", "index": "../index.html"}
    page_links |= {k: v for k, v in links.items() if v}
    page = render_summary_html(
        result,
        current_df=current_df,
        reference_df=reference_df,
        top_features=settings.reports.top_features,
        quarantined=quarantined,
        links=page_links,
        sections=sections,
    )
    summary_uri = store.write_text("index.html", page)
    log.info(
        "report for %s (%s): %d tests, %d drifted, %d quarantined -> %s",
        result.logical_date,
        result.severity,
        len(result.features),
        len(result.drifted_features),
        len(quarantined),
        store.root,
    )
    return ReportPaths(summary_html=summary_uri, evidently_html=evidently_uri, drift_json=drift_uri)
