"""The timeline: a heatmap overview of the whole video (behaviours × time) above one row per
behaviour with its score curve, labelled bouts and the playhead; x axes linked.

Mouse: click seeks; drag on a row marks a new bout for that behaviour; drag a bout's edge (or
the bout) to move it; wheel zooms in time; right-, middle- or Ctrl+drag pans; on the overview,
drag the highlighted range to pan and click to seek. Curves use peak downsampling and
clip-to-view, so hour-long videos stay smooth.

The timeline renders; it decides nothing. The visible range comes from the app's view state
(``set_range``) and user pans and zooms go back there as ``rangeChanged``; new and moved bouts
go out as signals and come back as labels.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget


pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

ROW_HEIGHT = 64
HEAT_ROW = 14
LABEL_WIDTH = 150
PREVIEW_ID = -1
PREVIEW_COLOUR = "#dddddd"
ACTIVITY_ID = -2  # the motion activity row, under the overview
ACTIVITY_HEIGHT = 40
ACTIVITY_COLOUR = "#9aa4b1"
STILL_BRUSH = (90, 140, 255, 70)  # immobility / freezing bouts
COMPONENT_PENS = {"prior": ("#f0c36d", Qt.PenStyle.DashLine), "head": ("#7fd6c2", Qt.PenStyle.DotLine)}


def preview_title(text: str, exact: bool = True) -> str:
    return f"“{text}” (typing…)" if exact else f"“{text}” (typing…, approximate)"


class TimeAxis(pg.AxisItem):
    def tickStrings(self, values, scale, spacing):  # noqa: N802
        out = []
        for v in values:
            m, s = divmod(max(0.0, v), 60)
            h, m = divmod(m, 60)
            if spacing >= 1:
                out.append(f"{int(h)}:{int(m):02d}:{int(s):02d}" if h else f"{int(m)}:{int(s):02d}")
            else:
                out.append(f"{int(m)}:{s:05.2f}")
        return out


class RowViewBox(pg.ViewBox):
    """Click to seek, drag to mark a bout, wheel to zoom time, right/middle/Ctrl-drag to pan."""

    clicked = Signal(float)
    marked = Signal(float, float)

    def __init__(self, can_mark: bool = True, **kw):
        super().__init__(**kw)
        self.can_mark = can_mark
        self.setMouseEnabled(x=True, y=False)
        self.setMenuEnabled(False)
        self._draft: pg.LinearRegionItem | None = None

    def mouseClickEvent(self, ev):  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.clicked.emit(self.mapSceneToView(ev.scenePos()).x())
        else:
            ev.ignore()

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802
        mark = (ev.button() == Qt.MouseButton.LeftButton and self.can_mark
                and not ev.modifiers() & Qt.KeyboardModifier.ControlModifier)
        ev.accept()
        if mark:
            x0 = self.mapSceneToView(ev.buttonDownScenePos()).x()
            x1 = self.mapSceneToView(ev.scenePos()).x()
            a, b = sorted((x0, x1))
            if self._draft is None:
                self._draft = pg.LinearRegionItem((a, b), movable=False,
                                                  brush=pg.mkBrush(255, 255, 255, 60),
                                                  pen=pg.mkPen(255, 255, 255, 180, style=Qt.PenStyle.DashLine))
                self.addItem(self._draft, ignoreBounds=True)
            self._draft.setRegion((a, b))
            if ev.isFinish():
                self.removeItem(self._draft)
                self._draft = None
                if b - a > 1e-3:
                    self.marked.emit(a, b)
            return
        last = self.mapSceneToView(ev.lastScenePos())
        now = self.mapSceneToView(ev.scenePos())
        self.translateBy(x=last.x() - now.x())


@dataclass
class Row:
    behavior_id: int
    plot: pg.PlotItem
    view: RowViewBox
    title: pg.LabelItem
    curve: pg.PlotDataItem
    playhead: pg.InfiniteLine
    bouts: list = field(default_factory=list)
    colour: str = "#888888"


def _brush_for(colour: str, verdict: str) -> QBrush:
    c = QColor(colour)
    if verdict == "reject":
        c.setAlpha(150)
        b = QBrush(c, Qt.BrushStyle.BDiagPattern)
        return b
    if verdict == "predicted":  # the model's coding, waiting for a person
        c.setAlpha(170)
        return QBrush(c, Qt.BrushStyle.Dense5Pattern)
    c.setAlpha(110 if verdict == "accept" else 80)
    return QBrush(c)


class Timeline(QWidget):
    seekRequested = Signal(float)
    boutMarked = Signal(int, float, float)  # behaviour id, start, end
    boutMoved = Signal(int, float, float)  # label id, start, end
    rangeChanged = Signal(float, float)  # the user panned or zoomed
    behaviorClicked = Signal(int)

    def __init__(self, parent=None, dark: bool = True):
        super().__init__(parent)
        self.dark = dark
        self.duration = 0.0
        self.behaviors: list[dict] = []
        self.rows: dict[int, Row] = {}
        self._curves: dict[int, object] = {}
        self._labels: list[dict] = []
        self._preview_text = ""
        self._preview_exact = True
        self._preview_curve = None
        self._activity = None  # learn.activity.ActivityData of the current video, or None
        self._activity_hint = ""
        self._still_items: list = []
        self._components: tuple[int | None, dict] = (None, {})  # behaviour id, {name: Curve}
        self._component_items: list = []
        self._suggestion = None
        self._suggestion_item = None
        self._t = 0.0
        self._range: tuple[float, float] | None = None  # as the view state says
        self._open: list[tuple[int, float]] = []  # state events coded by key, not stopped yet
        self._open_items: list = []
        self._syncing = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground("#1b1d21" if dark else "#fafafa")
        self.glw.ci.layout.setSpacing(0)
        self.glw.ci.setContentsMargins(2, 2, 8, 2)
        self.scroll = QScrollArea(self)
        self.scroll.setWidget(self.glw)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        lay.addWidget(self.scroll)
        self._build()

    # ---- building --------------------------------------------------------------------------

    @property
    def fg(self) -> str:
        return "#d8d8d8" if self.dark else "#202020"

    def _build(self) -> None:
        self.glw.clear()
        self._open_items = []  # gone with the rows; drawn again by _refresh_all
        self.rows.clear()
        self._still_items = []
        self._component_items = []
        self._suggestion_item = None
        self.heat_title = self.glw.addLabel("Overview", row=0, col=0, color=self.fg, size="9pt")
        self.heat_title.setFixedWidth(LABEL_WIDTH)
        self.heat_view = RowViewBox(can_mark=False)
        self.heat_view.setMouseEnabled(x=False, y=False)
        self.heat = self.glw.addPlot(row=0, col=1, viewBox=self.heat_view,
                                     axisItems={"top": TimeAxis("top")})
        self.heat.hideAxis("left")
        self.heat.hideAxis("bottom")
        self.heat.showAxis("top")
        self.heat.getAxis("top").setTextPen(self.fg)
        self.heat.getAxis("top").setHeight(18)
        self.heat.invertY(True)
        self._heat_lines: list = []
        self.heat_image = pg.ImageItem()
        self.heat_image.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
        self.heat.addItem(self.heat_image)
        self.heat_range = pg.LinearRegionItem((0, 1), movable=True, brush=pg.mkBrush(255, 255, 255, 30),
                                              pen=pg.mkPen(255, 255, 255, 160))
        self.heat_range.setZValue(10)
        self.heat.addItem(self.heat_range, ignoreBounds=True)
        self.heat_range.sigRegionChanged.connect(self._heat_range_moved)
        self.heat_playhead = pg.InfiniteLine(0, angle=90, pen=pg.mkPen("#ff5555", width=1))
        self.heat.addItem(self.heat_playhead, ignoreBounds=True)
        self.heat_view.clicked.connect(self.seekRequested.emit)
        self.master: pg.PlotItem | None = None
        entries = [(b["id"], b["name"], b.get("colour") or "#888888") for b in self.behaviors]
        if self._preview_text:  # first, under the overview: in view however many behaviours follow
            entries.insert(0, (PREVIEW_ID, preview_title(self._preview_text, self._preview_exact), PREVIEW_COLOUR))
        self.activity_row = self._add_row(1, ACTIVITY_ID, "Activity (px/s)", ACTIVITY_COLOUR)
        self.activity_row.plot.setFixedHeight(ACTIVITY_HEIGHT)
        for r, (bid, name, colour) in enumerate(entries, start=2):
            self._add_row(r, bid, name, colour)
        heat_rows = max(1, len(self.behaviors))
        self.heat.setFixedHeight(22 + HEAT_ROW * min(heat_rows, 8))
        if not entries:
            hint = self.glw.addLabel("Add a behaviour (type a sentence in the Behaviours panel)<br>"
                                     "to see its score curve here", row=2, col=1, color="#999999")
            hint.setFixedHeight(ROW_HEIGHT)
        last = self.rows.get(entries[-1][0]) if entries else None
        if last is not None:
            last.plot.showAxis("bottom")
            last.plot.getAxis("bottom").setHeight(20)
            last.plot.setFixedHeight(ROW_HEIGHT + 20)
        total = self.heat.height() + ACTIVITY_HEIGHT + ROW_HEIGHT * max(1, len(entries)) + 30
        self.glw.setMinimumHeight(int(total))
        self._apply_range()
        self._refresh_all()

    def _add_row(self, r: int, bid: int, name: str, colour: str) -> Row:
        title = self.glw.addLabel(name, row=r, col=0, color=colour, size="9pt", justify="right")
        title.setFixedWidth(LABEL_WIDTH)
        title.item.setTextWidth(LABEL_WIDTH - 8)
        title.setToolTip(name)
        view = RowViewBox(can_mark=bid >= 0)
        plot = self.glw.addPlot(row=r, col=1, viewBox=view, axisItems={"bottom": TimeAxis("bottom")})
        plot.setFixedHeight(ROW_HEIGHT)
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.getAxis("bottom").setTextPen(self.fg)
        plot.hideButtons()
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        c = QColor(colour)
        fill = QColor(c)
        fill.setAlpha(60)
        curve = plot.plot([], [], pen=pg.mkPen(c, width=1.5), fillLevel=0.0, brush=fill)
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)
        head = pg.InfiniteLine(self._t, angle=90, pen=pg.mkPen("#ff5555", width=1))
        head.setZValue(20)
        plot.addItem(head, ignoreBounds=True)
        if self.master is None:
            self.master = plot
        # no pyqtgraph x-link: it maps by pixels, so a row laid out later showed another range;
        # every row gets the view state's range, and any row's pan or zoom goes back to it
        view.sigXRangeChanged.connect(lambda _vb, rng, view=view: self._detail_range_changed(view, rng))
        view.clicked.connect(self.seekRequested.emit)
        if bid >= 0:
            view.marked.connect(lambda a, b, bid=bid: self.boutMarked.emit(bid, a, b))
        row = Row(bid, plot, view, title, curve, head, colour=colour)
        if bid != ACTIVITY_ID:  # rows: the behaviours' (and the preview's)
            self.rows[bid] = row
        return row

    # ---- setters ---------------------------------------------------------------------------

    def set_video(self, duration_s: float | None) -> None:
        """Another video: its duration sets the overview's scale; curves, labels and the clip
        are set again by the caller."""
        self.duration = float(duration_s or 0.0)
        self._curves, self._labels, self._suggestion = {}, [], None
        self._preview_curve = None
        self._activity = None
        self._components = (None, {})
        if self._range is not None and self._range[1] > self.duration:
            self._range = None
        self._apply_range()
        self._refresh_all()

    def set_behaviors(self, behaviors: list[dict]) -> None:
        self.behaviors = [dict(b) for b in behaviors]
        self._build()

    def set_curves(self, curves: dict) -> None:
        """{behaviour id: Curve} for the current video."""
        self._curves = dict(curves)
        for bid, row in self.rows.items():
            if bid != PREVIEW_ID:
                self._set_curve(row, self._curves.get(bid))
        self._update_heat()

    def set_preview(self, text: str, curve=None, exact: bool = True) -> None:
        """The typed text's row: ``curve`` None while it is computed; ``exact`` False while the
        curve is still the first approximation being refined (its title says so)."""
        text = " ".join((text or "").split())
        rebuild = bool(text) != bool(self._preview_text)  # the row comes or goes
        self._preview_text, self._preview_curve, self._preview_exact = text, curve, exact
        if rebuild:
            self._build()
        elif PREVIEW_ID in self.rows:
            row = self.rows[PREVIEW_ID]
            title = preview_title(text, exact)
            if row.title.text != title:  # the same row, renamed (rebuilding every row costs a keystroke's time)
                row.title.setText(title)
                row.title.setToolTip(title)
            self._set_curve(row, curve)

    def set_activity(self, data, hint: str = "") -> None:
        """The current video's motion activity (an ActivityData or None) with its still bouts
        shaded; ``hint`` replaces the curve when there is none (e.g. "re-index to add motion")."""
        self._activity, self._activity_hint = data, hint
        row = self.activity_row
        for item in self._still_items:
            row.plot.removeItem(item)
        self._still_items = []
        has = data is not None and len(data.activity) > 0
        row.title.setText("Activity (px/s)" + (f"<br><i>{hint}</i>" if hint else ""))
        row.title.setToolTip(hint or "99th-percentile optical-flow speed per window; "
                             "shaded: still (immobility / freezing) bouts")
        if not has:
            row.curve.setData([], [])
            return
        centres = (np.asarray(data.starts) + np.asarray(data.ends)) / 2
        y = np.asarray(data.activity, float)
        hi = max(float(np.nanmax(y)), 1e-6)
        row.curve.setFillLevel(0.0)
        row.curve.setData(centres, y)
        row.view.setYRange(0.0, hi * 1.08, padding=0)
        for a, b in data.bouts:
            item = pg.LinearRegionItem((a, b), movable=False, brush=pg.mkBrush(*STILL_BRUSH),
                                       pen=pg.mkPen(0, 0, 0, 0))
            item.setZValue(-5)
            item.setToolTip(f"still {a:.2f}–{b:.2f} s")
            row.plot.addItem(item, ignoreBounds=True)
            self._still_items.append(item)

    def set_components(self, behavior_id: int | None, components: dict) -> None:
        """Thin curves of a behaviour's fused-score components ({name: Curve}) on its row, each
        scaled onto the row's range (they live on other scales: cosine, log-odds)."""
        self._components = (behavior_id, dict(components))
        for item in self._component_items:
            vb = item.getViewBox()
            if vb is not None:
                vb.removeItem(item)
        self._component_items = []
        row = self.rows.get(behavior_id) if behavior_id is not None else None
        fused = self._curves.get(behavior_id) if behavior_id is not None else None
        if row is None or fused is None or len(fused.scores) == 0:
            return
        lo, hi = float(np.nanmin(fused.scores)), float(np.nanmax(fused.scores))
        for name, c in components.items():
            y = np.asarray(c.scores, float)
            if len(y) == 0 or not np.isfinite(y).any():
                continue  # e.g. no head before the behaviour has accepted and rejected clips
            a, b = float(np.nanmin(y)), float(np.nanmax(y))
            scaled = lo + (y - a) / (b - a) * (hi - lo) if b > a else np.full_like(y, (lo + hi) / 2)
            colour, style = COMPONENT_PENS.get(name, ("#bbbbbb", Qt.PenStyle.DashLine))
            item = pg.PlotDataItem(c.centres, scaled, pen=pg.mkPen(colour, width=1, style=style), name=name)
            item.component = name
            item.setToolTip(f"{name} (scaled to this row)")
            row.plot.addItem(item)
            self._component_items.append(item)

    def component_data(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{component: (x, y drawn)} on the selected behaviour's row (tests, inspection)."""
        out = {}
        for item in self._component_items:
            x, y = item.getOriginalDataset()
            out[item.component] = (np.asarray(x), np.asarray(y))
        return out

    def activity_data(self) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
        """The x (s), y (px/s) and still bouts drawn on the activity row (tests, inspection)."""
        x, y = self.activity_row.curve.getOriginalDataset()
        bouts = [tuple(map(float, it.getRegion())) for it in self._still_items]
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []), bouts)

    def activity_hint(self) -> str:
        return self._activity_hint

    def set_labels(self, labels: list[dict]) -> None:
        """Labels of the current video: accepted solid, manual lighter, rejected hatched."""
        self._labels = list(labels)
        for row in self.rows.values():
            for item in row.bouts:
                row.plot.removeItem(item)
            row.bouts.clear()
        for lab in self._labels:
            row = self.rows.get(lab["behavior_id"])
            if row is None:
                continue
            verdict = lab["verdict"]
            pen = pg.mkPen(QColor(row.colour), width=1,
                           style=Qt.PenStyle.DotLine if verdict == "reject" else Qt.PenStyle.SolidLine)
            item = pg.LinearRegionItem((lab["start_s"], lab["end_s"]), movable=True,
                                       brush=_brush_for(row.colour, verdict), pen=pen)
            item.setZValue(-5)
            item.setToolTip(f"{verdict} · {lab['start_s']:.3f}–{lab['end_s']:.3f} s · {lab['source']}\n"
                            "drag an edge (or the bout) to move it")
            item.label_id = lab["id"]
            item.verdict = verdict
            item.sigRegionChangeFinished.connect(
                lambda it=item: self.boutMoved.emit(it.label_id, *map(float, it.getRegion())))
            row.plot.addItem(item, ignoreBounds=True)
            row.bouts.append(item)

    def set_playhead(self, t: float) -> None:
        self._t = t
        self.heat_playhead.setValue(t)
        for row in self._all_rows():
            row.playhead.setValue(t)
        for (_bid, start), item in zip(self._open, self._open_items):
            item.setRegion(sorted((start, t)))

    def set_open_events(self, events) -> None:
        """State events started by key and not stopped: drawn from their start to the playhead."""
        for item in self._open_items:
            vb = item.getViewBox()
            if vb is not None:
                vb.removeItem(item)
        self._open, self._open_items = [], []
        for bid, start in events:
            row = self.rows.get(bid)
            if row is None:
                continue
            c = QColor(row.colour)
            c.setAlpha(70)
            item = pg.LinearRegionItem(sorted((start, self._t)), movable=False, brush=pg.mkBrush(c),
                                       pen=pg.mkPen(row.colour, width=2, style=Qt.PenStyle.DashLine))
            item.setZValue(12)
            row.plot.addItem(item, ignoreBounds=True)
            self._open.append((bid, start))
            self._open_items.append(item)

    def set_suggestion(self, s) -> None:
        """Outline the clip being reviewed (a Suggestion or None)."""
        if self._suggestion_item is not None:
            for row in self.rows.values():
                if self._suggestion_item in row.plot.items:
                    row.plot.removeItem(self._suggestion_item)
            self._suggestion_item = None
        self._suggestion = s
        if s is None or s.behavior_id not in self.rows:
            return
        item = pg.LinearRegionItem((s.start_s, s.end_s), movable=False, brush=pg.mkBrush(255, 255, 255, 35),
                                   pen=pg.mkPen("#ffffff", width=2, style=Qt.PenStyle.DashLine))
        item.setZValue(15)
        self.rows[s.behavior_id].plot.addItem(item, ignoreBounds=True)
        self._suggestion_item = item

    def visible_range(self) -> tuple[float, float]:
        if self.master is None:
            return (0.0, self.duration)
        a, b = self.master.viewRange()[0]
        return float(a), float(b)

    def overview_range(self) -> tuple[float, float]:
        """The overview ruler's scale (the whole video)."""
        a, b = self.heat.viewRange()[0]
        return float(a), float(b)

    def set_range(self, a: float | None, b: float | None = None) -> None:
        """Show [a, b] on the rows (None: the whole video); the view state calls this."""
        self._range = (float(a), float(b)) if a is not None and b is not None and b > a else None
        self._apply_range()

    def curve_data(self, behavior_id: int) -> tuple[np.ndarray, np.ndarray]:
        """The x (seconds) and y (score) drawn for a behaviour (for tests and inspection)."""
        x, y = self.rows[behavior_id].curve.getOriginalDataset()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))

    # ---- internals -------------------------------------------------------------------------

    def _all_rows(self) -> list[Row]:
        return [self.activity_row, *self.rows.values()]

    def _set_curve(self, row: Row, curve) -> None:
        if curve is None or len(curve.scores) == 0:
            row.curve.setData([], [])
            return
        x, y = curve.centres, curve.scores
        lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
        pad = max(1e-6, (hi - lo) * 0.08)
        row.curve.setFillLevel(lo - pad)
        row.curve.setData(x, y)
        row.view.setYRange(lo - pad, hi + pad, padding=0)

    def _update_heat(self) -> None:
        mats = []
        ref = None
        for b in self.behaviors:
            c = self._curves.get(b["id"])
            if c is not None and len(c.scores):
                ref = ref or c
        if ref is None or self.duration <= 0:
            self.heat_image.clear()
            return
        for b in self.behaviors:
            c = self._curves.get(b["id"])
            if c is None or len(c.scores) != len(ref.scores):
                mats.append(np.full(len(ref.scores), np.nan))
                continue
            y = np.asarray(c.scores, float)
            lo, hi = np.nanmin(y), np.nanmax(y)
            mats.append((y - lo) / (hi - lo) if hi > lo else np.zeros_like(y))
        img = np.nan_to_num(np.vstack(mats), nan=0.0).astype(np.float32)
        self.heat_image.setImage(img, levels=(0.0, 1.0), autoLevels=False)
        x0 = float(ref.starts[0])
        x1 = float(ref.ends[-1]) if len(ref.ends) else self.duration
        self.heat_image.setRect(QRectF(x0, 0, x1 - x0, img.shape[0]))
        self.heat.setYRange(0, img.shape[0], padding=0)
        for line in self._heat_lines:
            self.heat.removeItem(line)
        self._heat_lines = []
        for k in range(1, img.shape[0]):  # thin separators: one band per behaviour, in row order
            line = pg.InfiniteLine(k, angle=0, pen=pg.mkPen(0, 0, 0, 160, width=1))
            self.heat.addItem(line, ignoreBounds=True)
            self._heat_lines.append(line)
        self.heat_image.setToolTip("Overview: one band per behaviour, in the order of the rows below; "
                                   "each band scaled to its own range (bright = high score)")

    def _refresh_all(self) -> None:
        self.set_curves(self._curves)
        self.set_components(*self._components)
        self.set_activity(self._activity, self._activity_hint)
        if PREVIEW_ID in self.rows:
            self._set_curve(self.rows[PREVIEW_ID], self._preview_curve)
        self.set_labels(self._labels)
        self.set_open_events(list(self._open))
        self.set_playhead(self._t)
        if self._suggestion is not None:
            self.set_suggestion(self._suggestion)

    def _apply_range(self) -> None:
        """Render the duration (overview scale, row limits) and the visible range."""
        d = self.duration if self.duration > 0 else 1.0
        a, b = self._range or (0.0, d)
        self._syncing = True
        try:
            self.heat.setXRange(0, d, padding=0)
            self.heat_view.setLimits(xMin=0, xMax=d)
            for row in self._all_rows():
                row.view.setLimits(xMin=0, xMax=d, minXRange=0.05)
                row.view.setXRange(a, b, padding=0)
            self.heat_range.setRegion((a, b))
        finally:
            self._syncing = False

    def _detail_range_changed(self, view, rng) -> None:
        """A row's range moved: by the user (report it) or by set_range (nothing to do)."""
        if self._syncing:
            return
        a, b = float(rng[0]), float(rng[1])
        self._syncing = True
        try:
            self.heat_range.setRegion((a, b))
        finally:
            self._syncing = False
        self.rangeChanged.emit(a, b)

    def _heat_range_moved(self) -> None:
        if self._syncing or self.master is None:
            return
        a, b = self.heat_range.getRegion()
        if b > a:
            self.rangeChanged.emit(float(a), float(b))
