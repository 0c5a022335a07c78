"""Which files a command line means by its VIDEOS: files, folders of videos, text lists."""
from __future__ import annotations

from pathlib import Path

from ..errors import EthoscoutError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".wmv", ".webm", ".h264",
                  ".mts", ".flv", ".ogv")
LIST_SUFFIXES = (".txt", ".lst", ".list")


class VideoListError(EthoscoutError):
    pass


def is_video_name(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def expand_videos(args: list[str | Path]) -> list[str]:
    """Videos named by ``args``, in order, each once: a folder gives the videos under it
    (sorted, subfolders included); a .txt/.lst/.list file gives one path a line (blank lines
    and lines starting with # skipped; relative paths are relative to the list's folder); any
    other path is taken as a video, so a missing file is reported with the others' results."""
    out: dict[str, None] = {}
    for arg in args:
        p = Path(arg).expanduser()
        if p.is_dir():
            found = sorted(str(f) for f in p.rglob("*") if f.is_file() and is_video_name(f))
            if not found:
                raise VideoListError(f"{p}: no video files in this folder ({', '.join(VIDEO_SUFFIXES[:5])} ...)")
            out.update(dict.fromkeys(found))
        elif p.suffix.lower() in LIST_SUFFIXES:
            out.update(dict.fromkeys(read_list(p)))
        else:
            out[str(arg)] = None
    return list(out)


def read_list(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise VideoListError(f"{path}: can't read this list of videos ({getattr(e, 'strerror', None) or e})") from None
    paths = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            q = Path(line).expanduser()
            paths.append(str(q if q.is_absolute() else path.parent / q))
    if not paths:
        raise VideoListError(f"{path}: the list names no video (one path a line)")
    return paths
