"""The audit report: report.html with its figures embedded, and summary.json.

The page needs no network (no scripts, no fonts, no remote images) so it opens
on an air-gapped quality PC; its figures are PNGs inside it as data URIs (RFC 2397),
so the one file can be mailed or moved alone and still shows them. Every number
in it is also in summary.json.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from inspector.audit.engine import AuditResult, result_dict
from inspector.audit.per_log import per_log_rows
from inspector.audit.tasks import M_BINS, UNSURE_NOTE, AuditError
from inspector.files import write_then_rename
from inspector.number_text import MINUS, fixed

INFLUENCE_COLOURS = {"camera 1": "#1565c0", "camera 2": "#8e24aa", "equal": "#9e9e9e"}
CURVE_STYLES = (("a1", "#455a64", "-"), ("a2", "#1565c0", "--"), ("a3", "#8e24aa", ":"))


def png_bytes(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _img(png: bytes, alt: str) -> str:
    """The figure inside the page: a data URI, so report.html needs no file beside it."""
    return f"<img src='data:image/png;base64,{base64.b64encode(png).decode('ascii')}' alt='{html.escape(alt)}'>"


PANELS_PER_ROW = 4  # one panel per class; more classes wrap onto further rows


def _class_panels(n: int):
    """A figure with one panel per class, at most PANELS_PER_ROW a row; the panels left over are hidden."""
    cols = min(n, PANELS_PER_ROW)
    rows = -(-n // cols)
    fig = Figure(figsize=(3.4 * cols, 2.9 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n], axes[::cols]


def figure_m_histograms(s) -> bytes:
    fig, axes, first = _class_panels(len(s.classes))
    centres = (M_BINS[:-1] + M_BINS[1:]) / 2
    colours = s.class_set.colours()
    for ax, c in zip(axes, s.classes):
        ax.bar(centres, s.m_hist[c], width=np.diff(M_BINS), color=colours[c], edgecolor="white", linewidth=0.4)
        ax.axvspan(-0.02, 0.02, color="#bdbdbd", alpha=0.5, lw=0)
        ax.set_title(f"{c} (n = {s.m_n[c]})")
        ax.set_xlabel("m  (< 0: camera 1, > 0: camera 2)")
        ax.set_xlim(-1, 1)
        if not s.m_n[c]:  # all-zero bars: say so on a 0..1 axis rather than an autoscaled one
            ax.set_ylim(0, 1)
            ax.text(0, 0.5, "no records", ha="center", va="center", color="#757575")
    for ax in first:
        ax.set_ylabel("records")
    return png_bytes(fig)


def figure_influence(s) -> bytes:
    fig = Figure(figsize=(6.4, 1.6 + 0.4 * len(s.classes)), layout="constrained")
    ax = fig.subplots()
    left = np.zeros(len(s.classes))
    for k, colour in INFLUENCE_COLOURS.items():
        shares = np.array([100 * np.nan_to_num(s.influence_shares(c)[k]) for c in s.classes])
        ax.barh(list(s.classes), shares, left=left, color=colour, label=k)
        for y, (x0, w) in enumerate(zip(left, shares)):
            if w >= 7:
                ax.text(x0 + w / 2, y, f"{w:.0f}%", ha="center", va="center", color="white", fontsize=9)
        left += shares
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of records with curves (%)")
    ax.invert_yaxis()
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, frameon=False)
    return png_bytes(fig)


def figure_mean_curves(s) -> bytes:
    fig, axes, first = _class_panels(len(s.classes))
    p = np.array(s.p)
    for ax, c in zip(axes, s.classes):
        curves = s.mean_curves(c)
        for (name, colour, style), row in zip(CURVE_STYLES, curves):
            ax.plot(p, row, style, color=colour, label=name, lw=1.8)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"{c}: mean m {fixed(s.mean_m(c), 3, sign=True, minus=MINUS)}" if s.m_n[c] else f"{c}: no curves")
        ax.set_xlabel("occluded share p")
        ax.set_xlim(float(p.min()), float(p.max()))
        ax.grid(alpha=0.3)
        if not s.m_n[c]:
            ax.text(float(p.mean()), 0.5, "no records", ha="center", va="center", color="#757575")
    for ax in first:
        ax.set_ylabel("P(class)")
    axes[-1].legend(loc="lower left", fontsize=8)
    return png_bytes(fig)


def _table(headers, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:72em;color:#212121;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
.meta{color:#616161} table{border-collapse:collapse;margin:.6em 0} td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th{background:#f5f5f5} td:first-child,th:first-child{text-align:left} img{max-width:100%;display:block;margin:.6em 0}
.warn{background:#fff3e0;border-left:4px solid #ef6c00;padding:.4em .8em} .ok{background:#e8f5e9;border-left:4px solid #2e7d32;padding:.4em .8em}
"""


def per_log_table(result: AuditResult) -> str:
    """A row per log: what was audited in it, OK/NOK by its own OK class, its classes, its time span,
    and why it was skipped or only partly audited."""
    rows = per_log_rows(result)
    names = [c for r in rows for c in r["per_class"]]
    classes = list(dict.fromkeys(names))  # the logs' classes in their order (one set: the merge demands it)
    table = [(r["log"], f"{r['records']:,} of {r['records_in_log']:,}", f"{r['ok']:,}", f"{r['nok']:,}",
              *(f"{r['per_class'].get(c, 0):,}" if r["per_class"] else "—" for c in classes),
              r["first_time"] or "—", r["last_time"] or "—",
              r["status"] + (f": {r['reason']}" if r["reason"] else ""))
             for r in rows]
    headers = ("log", "records audited", "OK", "NOK", *classes, "first record", "last record", "status")
    return ("<h2>Per log</h2><p class='meta'>OK and NOK by each log's own OK class; times are the first and last "
            "record's, ISO 8601 in UTC.</p>" + _table(headers, table))


def write_report(result: AuditResult, folder: str | Path) -> Path:
    """report.html (figures embedded) and summary.json in `folder` (created); returns the HTML path.
    Each is written to a temporary name and renamed, so a reader never sees half of one."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise AuditError(f"{folder}: exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    data = result_dict(result)
    write_then_rename(folder / "summary.json", lambda p: p.write_text(json.dumps(data, indent=2)), AuditError)
    s = result.summary
    parts = [
        f"<h1>Inspection audit</h1><p class='meta'>{html.escape(_dt.datetime.now().strftime('%Y-%m-%d %H:%M'))} · "
        f"{html.escape(result.mode)} · {data.get('records', 0):,} records from "
        f"{sum(1 for i in result.logs if not i.skipped)} of {len(result.logs)} logs · "
        f"{result.seconds:.1f} s ({result.records_per_s:.0f} records/s) on {result.workers} worker(s), "
        f"scheduler {html.escape(result.scheduler)}</p>"
    ]
    if data.get("first_time"):
        parts.append(f"<p class='meta'>Records from {data['first_time']} to {data['last_time']} (UTC).</p>")
    if result.cancelled:
        parts.append("<p class='warn'>The audit was cancelled: these figures cover the tasks finished before.</p>")
    skipped = [i for i in result.logs if i.skipped]
    if skipped or result.failed_tasks:
        rows = [(i.path, i.skipped) for i in skipped] + [
            (f"{f[0]} records {f[1]}–{f[2] - 1}", f[3]) for f in result.failed_tasks]
        parts.append("<h2>Logs not audited</h2><p class='warn'>These were not read; everything else was.</p>"
                     + _table(("log", "reason"), rows))
    if s is not None:
        rows = []
        for c in s.classes:
            sh = s.influence_shares(c)
            rows.append((c, f"{s.per_class[c]:,}", f"{100 * s.per_class[c] / max(1, s.records):.1f}%",
                         s.m_n[c], "—" if not s.m_n[c] else fixed(s.mean_m(c), 3, sign=True, minus=MINUS),
                         *("—" if sh[k] != sh[k] else f"{100 * sh[k]:.0f}%" for k in INFLUENCE_COLOURS),
                         s.unsure_text(c)))
        ok = s.class_set.ok
        parts.append(f"<h2>Per class</h2><p>OK (class {html.escape(ok)}): <b>{s.ok_records:,}</b> · "
                     f"NOK ({html.escape(', '.join(s.class_set.nok))}): <b>{s.nok_records:,}</b></p>" + _table(
            ("class", "records", "share", "with curves", "mean m", "camera 1", "camera 2", "equal", "unsure"), rows))
        parts.append(f"<p class='meta'>{html.escape(UNSURE_NOTE)}</p>")
    parts.append(per_log_table(result))
    if s is not None:
        parts.append("<h2>Which camera the decisions rest on</h2>"
                     + _img(figure_influence(s), "influence shares per class")
                     + _img(figure_m_histograms(s), "distribution of m per class")
                     + "<p class='meta'>m = mean over p of a2(p) − a3(p); |m| &lt; 0.02 (grey band) is equal.</p>"
                     "<h2>Mean masked-input curves</h2>" + _img(figure_mean_curves(s), "mean curves")
                     + "<p class='meta'>a1: camera 1 masked at 1 − p and camera 2 at p; a2: camera 1 masked at p; "
                     "a3: camera 2 masked at p.</p>")
        if s.labelled:
            parts.append(
                f"<h2>Engineer labels</h2><p>{s.labelled:,} labelled records (OK/NOK); the verdict agrees with "
                f"{s.label_agree:,}: <b>{100 * s.label_accuracy:.1f}%</b>.</p>"
                + _table(("verdict and label", "records"),
                         [(k.replace("|label ", ", labelled "), v) for k, v in sorted(s.label_confusion.items())]))
        if s.compared or s.not_rerunnable:
            box = "ok" if not s.disagreements else "warn"
            parts.append(
                f"<h2>Stored versus re-computed</h2><p class='{box}'>{s.compared:,} records re-run; "
                f"{len(s.disagreements):,} disagree with the stored prediction; {s.not_rerunnable:,} could not "
                "be re-run (their views were not kept).</p>")
            if s.disagreements:
                rows = [(d.log, d.record, d.stored, f"{100 * d.stored_prob:.1f}%", d.recomputed,
                         f"{100 * d.recomputed_prob:.1f}%") for d in s.disagreements[:500]]
                parts.append(_table(("log", "record", "stored", "P stored", "re-computed", "P re-computed"), rows))
                if len(s.disagreements) > 500:
                    parts.append(f"<p class='meta'>… and {len(s.disagreements) - 500:,} more in summary.json.</p>")
    rows = [(i.path, f"{i.records:,}", i.model_sha256[:12] or "—", i.rig_sha256[:12] or "—", i.explainer or "—",
             i.fill, i.software, "yes" if i.closed_cleanly else "no") for i in result.logs]
    models = {i.model_sha256 for i in result.logs if not i.skipped}
    rigs = {i.rig_sha256 for i in result.logs if not i.skipped}
    explainers = {(i.explainer, i.fill) for i in result.logs if not i.skipped}  # m depends on both
    if len(models) <= 1 and len(rigs) <= 1 and len(explainers) <= 1:
        note = "one model, one rig and one explainer throughout" + "".join(f"; fill {f}" for _, f in explainers)
    else:
        note = (f"{len(models)} models, {len(rigs)} rigs and {len(explainers)} explainer and fill pairs: compare "
                "like with like")
    parts.append(f"<h2>Provenance</h2><p>{html.escape(note)}</p>"
                 + _table(("log", "records", "model", "rig", "explainer", "fill", "software", "closed"), rows))
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Inspection audit</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
    return write_then_rename(folder / "report.html", lambda p: p.write_text(page, encoding="utf-8"), AuditError)
