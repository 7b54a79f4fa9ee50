"""results.md for bench/detection: tables from the measured cells, settings and caveats."""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

from pools import SCENARIOS, Sizes

HERE = Path(__file__).resolve().parent
BAR_FALSE_ALARM = 0.05
BAR_POWER = 0.95


def _upper(rate: float, draws: int) -> float:
    """One-sided 95% Clopper-Pearson upper bound of a rate seen in ``draws`` trials."""
    from scipy.stats import beta

    k = round(rate * draws)
    return 1.0 if k >= draws else float(beta.ppf(0.95, k + 1, draws - k))


def _index(results: list[Any]) -> dict[tuple[str, str, float, str, int], Any]:
    return {
        (c.section, c.scenario, c.strength, c.family, c.n): (r, fired, c.draws)
        for c, r, fired, _ in results
    }


def _weakest(by: dict[Any, Any], name: str, family: str, n: int) -> str:
    sc = SCENARIOS[name]
    ok = [s for s in sc.ladder if by[("power", name, s, family, n)][0] >= BAR_POWER]
    if not ok:
        return "none in the ladder"
    # The weakest strength from which every stronger rung also reaches the bar.
    rungs = list(sc.ladder)
    for i, s in enumerate(rungs):
        if all(by[("power", name, t, family, n)][0] >= BAR_POWER for t in rungs[i:]):
            return f"{s:g}"
    return f"{ok[0]:g} (not monotone)"


def _top(fired: dict[str, int], draws: int, k: int = 3) -> str:
    top = sorted(fired.items(), key=lambda kv: -kv[1])[:k]
    return ", ".join(f"`{name}` {count / draws:.0%}" for name, count in top) or "-"


def print_ratios(results: list[Any]) -> None:
    """Per scenario: detection at the issue's strength over the identity control's rate."""
    by = _index(results)
    n = max(c.n for c, *_ in results if c.section == "power")
    for name, sc in SCENARIOS.items():
        hit = by[("power", name, sc.ladder[-1], "full", n)][0]
        ctl = by[("power", name, sc.identity, "full", n)][0]
        ratio = f"{hit / ctl:.0f}x" if ctl else "inf (control 0%)"
        print(f"{name}: {hit:.0%} at the issue's strength vs {ctl:.0%} identity control -> {ratio}")


def write_results(
    results: list[Any], sizes: Sizes, draws: int, facts: dict[str, Any], path: Path
) -> None:
    """Write the results page (bench/detection/results.md for a full run) to ``path``."""
    by = _index(results)
    n_power = max(c.n for c, *_ in results if c.section == "power")
    ms = {c.family: sec for c, _, _, sec in results if c.section == "false_alarm" and c.n == 200}
    lines = [
        "# bench/detection: false alarms and power of `compare` on demo brain-MRI images",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `.venv/bin/python bench/detection/run.py`: "
        f"{facts['total_seconds'] / 60:.1f} min in all ({facts.get('build_seconds', 0) / 60:.1f} min building "
        f"the {len(facts['built'])} pools not yet in the cache, "
        f"{facts['draw_seconds'] / 60:.1f} min of draws) on a 2-core machine "
        f"(Python {platform.python_version()}) **shared with other engineers' jobs**, so times are upper "
        f"bounds. Feature/demo code fingerprint `{facts['code_fingerprint']}`"
        + (
            " (**changed during the run: rerun before quoting**)."
            if facts["code_changed"]
            else " (unchanged during the run)."
        ),
        "",
        "## Settings",
        "",
        "- Engine defaults, nothing tuned to these images: KS (numerical) and chi-squared "
        "(categorical) at alpha = 0.05 up to 1,000 current images, Bonferroni across the whole family "
        "of tests, `min_images` 30.",
        f"- Two families: **image** = the monitored image features only; **image + model** = those plus "
        "`prediction` (KS on each softmax output, Bonferroni over the classes), `confidence` (KS), "
        "`class_distribution` (chi-squared on predicted classes) and `embedding` (MMD on a 16-component "
        "PCA of the model's embedding, permutation test). One `compare` at n = 200 took "
        f"{ms.get('image', 0) * 1000:.0f} ms (image) / {ms.get('full', 0) * 1000:.0f} ms (image + model).",
        f"- Model: `small_cnn` trained once by `driftloop.model.train` (8 epochs, 128 px) on the `train/` split "
        f'of `generate_dataset(size="small")` (1,000 images), held-out accuracy {facts["model_accuracy"]:.3f}, '
        f"macro AUC {facts['model_auc']:.3f}; cached in `var/bench/detection/model`. Model columns come from "
        "`LoadedModel.predict_arrays` on the same decoded 128 px pixels the image features use "
        "(`features.model_features.softmax_summary` for margin/entropy); the unmonitored lesion "
        "(Grad-CAM) columns are not computed.",
        "- One pipeline for every image (`pools.py`): `render_case` (256 px, 8-bit) -> shift (the clean pool "
        "and the baseline take the identity path) -> JPEG at quality 92 (or the scenario's quality) -> "
        "decode with `driftloop.features.image.load_working` (the decode `driftloop extract` uses; 128 px "
        "working image) -> image features -> model features.",
        f"- Pools (disjoint renders): baseline {sizes.reference} balanced images; clean pool {sizes.clean} "
        f"balanced images; each shifted pool = the first {sizes.shifted} clean-pool sources shifted at one "
        f"strength (new noise per strength). Draws without replacement: {draws} per false-alarm cell and "
        f"per identity / issue-strength cell with the whole family, {max(10, draws // 2)} for the image-only "
        f"rows at those strengths, {max(10, draws * 2 // 5)} for the intermediate rungs of each ladder "
        "(to fit the time budget).",
        "",
        "## False alarms: same-distribution draws from the clean pool (bar: <= 5%)",
        "",
        "| n_current | image features | image + model | 95% upper bound (image / image + model) | "
        "expected overlap of two draws |",
        "| --- | --- | --- | --- | --- |",
    ]
    for n in sorted({c.n for c, *_ in results if c.section == "false_alarm"}):
        img = by[("false_alarm", "clean", 0.0, "image", n)][0]
        full = by[("false_alarm", "clean", 0.0, "full", n)][0]
        lines.append(
            f"| {n:,} | {img:.0%} | {full:.0%} | {_upper(img, draws):.1%} / {_upper(full, draws):.1%} "
            f"| {n / sizes.clean:.0%} |"
        )
    lines += [
        "",
        f"Overlap: two draws of n from the {sizes.clean:,}-image clean pool share n/{sizes.clean:,} of "
        f"their images on average, so at n = 1,000 the draws are correlated ({1000 / sizes.clean:.0%} "
        "shared between any two) and the rate is weaker evidence than as many independent days would be.",
        "",
        f"## Power at n_current = {n_power} (bar: >= 95% at the issue's strength)",
        "",
        "| scenario | identity control (image / image + model) | at the issue's strength (image / image + model) "
        "| weakest strength >= 95% (image + model) | tests that fired most at the issue's strength |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, sc in SCENARIOS.items():
        ci, cf = (by[("power", name, sc.identity, f, n_power)][0] for f in ("image", "full"))
        bi, bf = (by[("power", name, sc.ladder[-1], f, n_power)][0] for f in ("image", "full"))
        _, fired, d = by[("power", name, sc.ladder[-1], "full", n_power)]
        lines.append(
            f"| {name} | {ci:.0%} / {cf:.0%} | {bi:.0%} / **{bf:.0%}** | {_weakest(by, name, 'full', n_power)} "
            f"| {_top(fired, d)} |"
        )
    lines += [
        "",
        "### Every strength (detection rate with the whole family; image features only in brackets where measured)",
        "",
        "| scenario | unit | identity | ladder |",
        "| --- | --- | --- | --- |",
    ]
    for name, sc in SCENARIOS.items():

        def cell(s: float, name: str = name) -> str:
            f = by[("power", name, s, "full", n_power)][0]
            i = by.get(("power", name, s, "image", n_power))
            return f"{s:g}: {f:.0%}" + (f" ({i[0]:.0%})" if i else "")

        lines.append(
            f"| {name} | {sc.unit} | {cell(sc.identity)} | {', '.join(cell(s) for s in sc.ladder)} |"
        )
    lines += ["", "### Which tests fire at the weakest detected strength (image + model)", ""]
    for name in SCENARIOS:
        w = _weakest(by, name, "full", n_power).split(" ")[0]
        if w.replace(".", "", 1).isdigit():
            _, fired, d = by[("power", name, float(w), "full", n_power)]
            lines.append(f"- {name} @ {w}: {_top(fired, d, 4)}")
    eq = facts.get("identity_bytes_equal", {})
    lines += [
        "",
        "### Identity control",
        "",
        "Each scenario's identity strength runs through that scenario's own code path. Compared with the "
        "clean pool's files and feature rows for the same sources (identical bytes and every numeric "
        "feature equal): "
        + "; ".join(f"{k}: {v}" for k, v in eq.items())
        + ". So the clean pool and every shifted pool share one pipeline, and any detection of a shifted "
        "pool comes from the shift itself.",
        "",
        f"The identity rows are draws of {n_power} from only {sizes.shifted} sources, so they share most "
        "images and inherit that subset's luck. The same draws (image + model) from disjoint "
        f"{sizes.shifted}-image slices of the clean pool show how far a same-distribution subset can read "
        "(the first slice holds exactly the identity pools' files):",
        "",
        "| clean-pool slice | detection rate | 95% upper bound | tests that fired most |",
        "| --- | --- | --- | --- |",
    ]
    for c, r, fired, _ in sorted(
        (x for x in results if x[0].section == "subset_control"),
        key=lambda x: int(x[0].source[6:].split(":")[0]),
    ):
        lines.append(
            f"| `{c.source}` | {r:.0%} | {_upper(r, c.draws):.1%} | {_top(fired, c.draws)} |"
        )
    lines.append("")
    old = path.read_text() if path.exists() else ""
    kept = old.split(CAVEATS_MARKER, 1)[1] if CAVEATS_MARKER in old else "\n"
    path.write_text("\n".join(lines) + "\n" + CAVEATS_MARKER + kept)


# run.py writes the tables; the caveats below the marker are kept from the previous file.
CAVEATS_MARKER = "<!-- caveats: written by hand after reading the tables -->"
