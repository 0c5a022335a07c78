"""User preferences (model, device, window spec, theme, shortcuts) and where they are kept.

Qt-free: ``load_prefs``/``save_prefs`` take any object with ``value(key, default)`` and
``setValue(key, value)`` (a QSettings in the app, a dict wrapper in tests).
"""
from __future__ import annotations

from argparse import ArgumentTypeError
from dataclasses import dataclass, field, fields

from ethoscout.core import options

DEFAULT_MODEL = "microsoft/xclip-base-patch32"
THEMES = ("dark", "light")
SCHEMES = ("sparse", "dense", "semi-dense")

# action name -> (default key sequence, what it does); listed in Help and remappable.
DEFAULT_SHORTCUTS: dict[str, tuple[str, str]] = {
    "play_pause": ("Space", "Play / pause"),
    "step_forward": ("Right", "Next frame"),
    "step_back": ("Left", "Previous frame"),
    "jump_forward_1s": ("Shift+Right", "Forward 1 s"),
    "jump_back_1s": ("Shift+Left", "Back 1 s"),
    "jump_forward_10s": ("Ctrl+Right", "Forward 10 s"),
    "jump_back_10s": ("Ctrl+Left", "Back 10 s"),
    "speed_up": ("]", "Faster playback"),
    "speed_down": ("[", "Slower playback"),
    "accept": ("A", "Accept the suggestion"),
    "reject": ("R", "Reject the suggestion"),
    "skip": ("S", "Skip the suggestion"),
    "next_suggestion": ("N", "Next suggestion without answering"),
    "undo": ("Ctrl+Z", "Undo"),
    "redo": ("Ctrl+Shift+Z", "Redo"),
    "new_project": ("Ctrl+N", "New project"),
    "open_project": ("Ctrl+O", "Open project"),
    "add_videos": ("Ctrl+I", "Add videos"),
    "index": ("Ctrl+R", "Index videos"),
    "train": ("Ctrl+T", "Train on your answers"),
    "cancel_jobs": ("Esc", "Cancel running work"),
    "add_behavior": ("Ctrl+B", "Type a new behaviour"),
    "zoom_fit": ("Ctrl+0", "Show the whole video on the timeline"),
    "settings": ("Ctrl+,", "Settings"),
    "quit": ("Ctrl+Q", "Quit"),
}


@dataclass
class Prefs:
    model: str = DEFAULT_MODEL
    device: str = "auto"
    span_s: float = 2.0
    stride_s: float = 1.0
    frames: int = 0  # 0: the checkpoint's own
    scheme: str = "sparse"
    theme: str = "dark"
    shortcuts: dict[str, str] = field(default_factory=dict)  # overrides of DEFAULT_SHORTCUTS
    recent_projects: list[str] = field(default_factory=list)
    model_confirmed: bool = False  # the user chose the model (Model > Choose model...)

    @property
    def model_chosen(self) -> bool:
        """A model was chosen, not just the default assumed: until then a model that can't
        load is no error to show, only a reason to offer the model setup."""
        return self.model_confirmed or self.model != DEFAULT_MODEL

    def spec(self) -> dict:
        return {"span_s": float(self.span_s), "stride_s": float(self.stride_s),
                "frames": int(self.frames), "scheme": self.scheme}

    def shortcut(self, action: str) -> str:
        return self.shortcuts.get(action, DEFAULT_SHORTCUTS[action][0])

    def check(self) -> list[str]:
        """Problems with these settings, one line each (empty when fine)."""
        out = []
        if not self.model.strip():
            out.append("model: give a hub id (microsoft/xclip-base-patch32) or a local folder")
        # the same ranges as the command line's --span/--stride/--frames/--device
        for field, check, value in (("window span", options.SPAN, self.span_s),
                                    ("window stride", options.STRIDE, self.stride_s),
                                    ("frames per window", options.FRAMES, self.frames),
                                    ("device", options.device, self.device)):
            try:
                check(str(value))
            except ArgumentTypeError as e:
                out.append(f"{field}: {e}")
        if self.scheme not in SCHEMES:
            out.append(f"sampling scheme must be one of {', '.join(SCHEMES)}")
        if self.theme not in THEMES:
            out.append(f"theme must be one of {', '.join(THEMES)}")
        seen: dict[str, str] = {}
        for action in DEFAULT_SHORTCUTS:
            key = self.shortcut(action)
            if key and key in seen:
                out.append(f"shortcut {key} is used by both '{DEFAULT_SHORTCUTS[seen[key]][1]}' "
                           f"and '{DEFAULT_SHORTCUTS[action][1]}'")
            seen.setdefault(key, action)
        return out


def _flag(raw) -> bool:
    return str(raw).strip().lower() in ("1", "true", "yes")


_SCALARS = {"model": str, "device": str, "span_s": float, "stride_s": float, "frames": int,
            "scheme": str, "theme": str, "model_confirmed": _flag}


def load_prefs(store) -> Prefs:
    p = Prefs()
    for name, kind in _SCALARS.items():
        raw = store.value(name, None)
        if raw in (None, ""):
            continue
        try:
            setattr(p, name, kind(raw))
        except (TypeError, ValueError):
            pass
    for action in DEFAULT_SHORTCUTS:
        raw = store.value(f"shortcuts/{action}", None)
        if raw is not None and str(raw) != DEFAULT_SHORTCUTS[action][0]:
            p.shortcuts[action] = str(raw)
    recent = store.value("recent_projects", None)
    if isinstance(recent, str):
        recent = [recent] if recent else []
    p.recent_projects = [str(r) for r in (recent or [])][:10]
    return p


def save_prefs(store, prefs: Prefs) -> None:
    for name in _SCALARS:
        store.setValue(name, getattr(prefs, name))
    for action in DEFAULT_SHORTCUTS:
        store.setValue(f"shortcuts/{action}", prefs.shortcut(action))
    store.setValue("recent_projects", list(prefs.recent_projects))


class DictStore:
    """A QSettings stand-in backed by a dict (tests, scripts)."""

    def __init__(self, data: dict | None = None):
        self.data = dict(data or {})

    def value(self, key, default=None):
        return self.data.get(key, default)

    def setValue(self, key, value):  # noqa: N802 - QSettings' name
        self.data[key] = value


PREF_FIELDS = tuple(f.name for f in fields(Prefs))
