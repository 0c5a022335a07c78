"""Ethogram plot: one panel per video, one row per subject x behaviour, state bouts as bars and
point events as ticks, in the behaviours' colours; PNG, SVG or PDF by the file's extension.

Drawn with matplotlib's Agg canvas directly (no pyplot, no global backend), so it works on a
machine without a display and never touches the Qt event loop of the window.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..data.errors import ExportError
from ..data.fileio import atomic_write_bytes
from .events import Coding

FORMATS = (".png", ".svg", ".pdf")


def figure(coding: Coding, title: str | None = None):
    from matplotlib.figure import Figure

    videos = [v for v in coding.videos()] or ["(no video)"]
    rows_per_video = []
    order = {b: i for i, b in enumerate(coding.behaviors)}
    for v in videos:
        keys = sorted({(e.subject, e.behavior) for e in coding.events if e.video == v},
                      key=lambda k: (k[0], order.get(k[1], len(order)), k[1]))
        rows_per_video.append(keys or [("", "(no events)")])
    heights = [max(1, len(r)) for r in rows_per_video]
    fig = Figure(figsize=(10, 1.0 + 0.32 * sum(heights) + 0.6 * len(videos)), layout="constrained")
    axes = fig.subplots(len(videos), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    many_subjects = len(coding.subjects()) > 1
    for ax, v, keys in zip(axes, videos, rows_per_video):
        for y, key in enumerate(keys):
            colour = coding.colours.get(key[1], "#808080")
            events = [e for e in coding.events if e.video == v and (e.subject, e.behavior) == key]
            bars = [(e.start, e.end - e.start) for e in events if e.kind == "state"]
            if bars:
                ax.broken_barh(bars, (y - 0.38, 0.76), facecolors=colour, edgecolors="none")
            points = [e.start for e in events if e.kind == "point"]
            if points:
                ax.vlines(points, y - 0.42, y + 0.42, colors=colour, linewidth=1.5)
        ax.set_yticks(range(len(keys)))
        ax.set_yticklabels([f"{s} · {b}" if many_subjects else b for s, b in keys])
        ax.set_ylim(len(keys) - 0.5, -0.5)
        ax.set_xlim(0, max(coding.observed.get(v, 0.0), 1e-3))
        ax.set_title(v, loc="left", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[-1].set_xlabel("time (s)")
    if title:
        fig.suptitle(title)
    return fig


def plot_ethogram(coding: Coding, out: str | os.PathLike, title: str | None = None) -> Path:
    import io

    out = Path(out)
    fmt = out.suffix.lower()
    if fmt not in FORMATS:
        raise ExportError(out, f"an ethogram is written as {', '.join(FORMATS)}, not {fmt or 'no extension'!r}")
    fig = figure(coding, title)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt[1:], dpi=150)
    return atomic_write_bytes(out, buf.getvalue())
