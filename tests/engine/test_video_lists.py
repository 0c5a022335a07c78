"""VIDEOS on the index command line: files, folders of videos, text lists of paths."""
from __future__ import annotations

import pytest

from ethoscout.core.cli import main
from ethoscout.core.video.lists import VideoListError, expand_videos


def test_folders_lists_and_files_expand_in_order_once(tmp_path):
    archive = tmp_path / "archive"
    (archive / "day2").mkdir(parents=True)
    for name in ("day2/b.MP4", "a.avi", "notes.txt", "day2/c.mkv"):
        (archive / name).write_bytes(b"x")
    listing = tmp_path / "more.txt"
    listing.write_text(f"# extra videos\n\nrel/d.mp4\n{archive / 'a.avi'}\n")
    got = expand_videos([str(archive), str(listing), "missing.mp4"])
    assert got == [str(archive / "a.avi"), str(archive / "day2/b.MP4"), str(archive / "day2/c.mkv"),
                   str(tmp_path / "rel/d.mp4"), "missing.mp4"]


def test_empty_folder_and_empty_list_say_so(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoListError, match="empty: no video files"):
        expand_videos([tmp_path / "empty"])
    (tmp_path / "list.txt").write_text("# nothing\n")
    with pytest.raises(VideoListError, match="list.txt: the list names no video"):
        expand_videos([tmp_path / "list.txt"])


def test_cluster_options_need_the_ray_executor(tmp_path, capsys):
    assert main(["index", "--project", str(tmp_path / "p"), "--address", "auto", "v.mp4"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--address" in err and "--executor ray" in err
    assert not (tmp_path / "p").exists()
