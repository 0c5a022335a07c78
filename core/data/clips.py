"""Cut labelled bouts into small video files plus a manifest: the video-text pair dataset that
LoRA fine-tuning of video-language models trains on.

Manifest columns: clip_file (relative to the manifest), video, behavior, prompt, verdict,
start_s, end_s, label_id, subject ("No focal subject" when none). ``prompt`` is the label's own text (narration) or the behaviour's
first prompt. Each clip is encoded to a temporary name and renamed when complete, and the
manifest lists only finished clips, so a cancelled or killed export leaves no broken files.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av

from ..video.probe import prime_decoder
from .errors import ExportError
from .fileio import as_if_created, remove_stale_temps, write_table
from .project import Project
from .records import NO_FOCAL_SUBJECT

ENCODERS = ("libx264", "libopenh264", "mpeg4")  # first one this PyAV build has wins
MANIFEST_COLUMNS = ("clip_file", "video", "behavior", "prompt", "verdict", "start_s", "end_s",
                    "label_id", "subject")


@dataclass
class ClipExportResult:
    manifest: Path
    clips: list[Path] = field(default_factory=list)
    cancelled: bool = False
    encoder: str = ""


def pick_encoder() -> str:
    for name in ENCODERS:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # PyAV raises different types for an unknown codec by version
            continue
    raise ExportError("PyAV", f"no video encoder available (tried {', '.join(ENCODERS)})")


def export_clips(project: Project, out: str | os.PathLike, video=None, behavior=None,
                 verdicts=("accept", "manual", "reject"), max_side: int | None = 320,
                 progress: Callable[[int, int], None] | None = None,
                 cancel: Callable[[], bool] | None = None) -> ClipExportResult:
    """Write one clip per label into folder ``out`` and ``out/manifest.csv``.
    ``max_side`` scales clips down (None keeps the size); ``cancel()`` returning True stops
    after the current clip."""
    from .export import slug

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(folder, ".*.mp4")  # clips a killed export left half-written
    labels = project.labels(video=video, behavior=behavior, verdict=list(verdicts))
    prompts = {b["id"]: (b["prompts"] or [b["name"]])[0] for b in project.behaviors()}
    encoder = pick_encoder()
    result = ClipExportResult(folder / "manifest.csv", encoder=encoder)
    rows = []
    for n, lab in enumerate(labels):
        if cancel and cancel():
            result.cancelled = True
            break
        name = f"{slug(Path(lab['video']).stem)}_{slug(lab['behavior'])}_{lab['id']:06d}.mp4"
        target = folder / name
        _cut(Path(lab["video_path"]), target, lab["start_s"], lab["end_s"], encoder, max_side)
        result.clips.append(target)
        rows.append([name, lab["video"], lab["behavior"], lab["text"] or prompts[lab["behavior_id"]],
                     lab["verdict"], f"{lab['start_s']:.3f}", f"{lab['end_s']:.3f}", lab["id"],
                     lab["subject"] or NO_FOCAL_SUBJECT])
        if progress:
            progress(n + 1, len(labels))
    write_table(result.manifest, MANIFEST_COLUMNS, rows)
    (folder / "manifest.json").write_text(json.dumps({"encoder": encoder, "clips": len(rows),
                                                      "cancelled": result.cancelled}))
    return result


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def _cut(source: Path, target: Path, start_s: float, end_s: float, encoder: str,
         max_side: int | None) -> None:
    """Decode [start_s, end_s) of ``source`` and encode it to ``target`` (atomically)."""
    if not source.is_file():
        raise ExportError(source, "video file not found (moved or drive not mounted?)")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".mp4", dir=target.parent)
    os.close(fd)
    try:
        with av.open(str(source)) as src, av.open(tmp, "w", format="mp4") as dst:
            stream = src.streams.video[0]
            rate = stream.average_rate or Fraction(25)
            w, h = stream.codec_context.width, stream.codec_context.height
            scale = min(1.0, max_side / max(w, h)) if max_side else 1.0
            out_stream = dst.add_stream(encoder, rate=rate)
            out_stream.width, out_stream.height = _even(w * scale), _even(h * scale)
            out_stream.pix_fmt = "yuv420p"
            # Frames count in 1/rate ticks; the muxer picks the stream's own time base (forcing
            # it to 1/rate breaks libx264's flushed packets).
            frame_time_base = Fraction(1, 1) / rate
            base = stream.start_time or 0
            if stream.time_base:
                prime_decoder(src, stream)  # before seeking: x264 4:4:4 decodes garbage otherwise
                src.seek(base + int(start_s / stream.time_base), stream=stream, backward=True)
            count = 0
            for frame in src.decode(stream):
                if frame.pts is None:
                    continue
                t = float((frame.pts - base) * stream.time_base)
                if t < start_s - 1e-6:
                    continue
                if t >= end_s - 1e-6 and count:
                    break
                out = frame.reformat(width=out_stream.width, height=out_stream.height,
                                     format="yuv420p")
                out.pts = count
                out.time_base = frame_time_base
                for packet in out_stream.encode(out):
                    dst.mux(packet)
                count += 1
            for packet in out_stream.encode():
                dst.mux(packet)
        if count == 0:
            raise ExportError(source, f"no frames between {start_s:.3f} s and {end_s:.3f} s")
        as_if_created(tmp)
        os.replace(tmp, target)
    except av.error.FFmpegError as e:
        raise ExportError(source, f"clip {start_s:.3f}–{end_s:.3f} s failed ({e})") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
