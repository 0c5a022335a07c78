"""Menus and keyboard shortcuts: one QAction per named action, its key from the preferences."""
from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QAction, QKeySequence

from .prefs import DEFAULT_SHORTCUTS, Prefs

# menu -> [(action name or None for a separator, label)]
MENUS: dict[str, list[tuple[str | None, str]]] = {
    "&File": [("new_project", "&New project…"), ("open_project", "&Open project…"), (None, "recent"),
              ("add_videos", "&Add videos…"), (None, ""), ("close_project", "&Close project"),
              ("quit", "&Quit")],
    "&Edit": [("undo", "&Undo"), ("redo", "&Redo"), (None, ""), ("delete_labels", "&Delete selected labels"),
              (None, ""), ("settings", "&Settings…")],
    "&Video": [("play_pause", "&Play / pause"), ("step_forward", "Next &frame"), ("step_back", "Pre&vious frame"),
               ("jump_forward_1s", "Forward 1 s"), ("jump_back_1s", "Back 1 s"),
               ("jump_forward_10s", "Forward 10 s"), ("jump_back_10s", "Back 10 s"), (None, ""),
               ("speed_up", "&Faster"), ("speed_down", "&Slower"), (None, ""), ("zoom_fit", "&Whole video on timeline")],
    "V&iew": [("show_components", "Score &components of the selected behaviour")],
    "&Review": [("add_behavior", "&New behaviour…"), ("add_ethogram", "Add the &starter ethogram (rodents)"), (None, ""), ("accept", "&Accept"), ("reject", "&Reject"),
                ("skip", "&Skip"), ("next_suggestion", "&Next suggestion")],
    "&Model": [("choose_model", "C&hoose model…"), (None, ""), ("index", "&Index videos"), ("cancel_jobs", "&Cancel running work"), (None, ""),
               ("train", "&Train on answers"), ("stop_training", "S&top training")],
    "E&xport": [("export_labels", "&Labels table (CSV)…"), ("export_boris_aggregated", "BORIS &aggregated events…"),
                ("export_boris_tabular", "BORIS &tabular events…"), ("export_boris_project", "BORIS &project (.boris)…"), ("export_binary", "&Binary table per frame…"),
                ("export_clips", "&Clips of labelled bouts…")],
    "&Help": [("shortcuts_help", "&Keyboard shortcuts"), ("user_guide", "&User guide"),
              ("system_check", "&System check"), ("about", "&About ethoscout")],
}


def build_actions(window, handlers: dict[str, Callable[[], None]], prefs: Prefs) -> dict[str, QAction]:
    actions: dict[str, QAction] = {}
    bar = window.menuBar()
    for title, entries in MENUS.items():
        menu = bar.addMenu(title)
        for name, label in entries:
            if name is None:
                if label == "recent":
                    window.recent_menu = menu.addMenu("Open &recent")
                else:
                    menu.addSeparator()
                continue
            act = QAction(label, window)
            fn = handlers.get(name)
            if fn is not None:
                act.triggered.connect(lambda _=False, fn=fn: fn())
            else:
                act.setEnabled(False)
            menu.addAction(act)
            window.addAction(act)  # shortcuts work whichever panel has focus
            actions[name] = act
    apply_shortcuts(actions, prefs)
    return actions


def apply_shortcuts(actions: dict[str, QAction], prefs: Prefs) -> None:
    for name, act in actions.items():
        if name in DEFAULT_SHORTCUTS:
            act.setShortcut(QKeySequence(prefs.shortcut(name)))
            what = DEFAULT_SHORTCUTS[name][1]
            act.setToolTip(f"{what} ({prefs.shortcut(name)})")


def shortcuts_html(prefs: Prefs) -> str:
    rows = "".join(f"<tr><td style='padding-right:18px'><b>{prefs.shortcut(a) or '—'}</b></td><td>{what}</td></tr>"
                   for a, (_k, what) in DEFAULT_SHORTCUTS.items())
    return ("<p>Remap any of these in Edit → Settings → Shortcuts.</p>"
            f"<table>{rows}</table>"
            "<p><b>Mouse on the timeline</b>: click to seek · drag on a behaviour's row to mark a bout · "
            "wheel to zoom · right-, middle- or Ctrl-drag to pan · drag the box on the overview to move.</p>")
