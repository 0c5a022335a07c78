"""Import the real BORIS files in shared/data/boris (see PROVENANCE.md there)."""
from __future__ import annotations

import pytest

from .db_helpers import BORIS_DIR, label_set, needs_boris_files, write_video
from ethoscout.core.data.errors import ImportRejectedError
from ethoscout.core.data.imports import import_file, parse_file
from ethoscout.core.data.project import Project
from ethoscout.core.errors import EthoscoutError

pytestmark = needs_boris_files()


@pytest.fixture(scope="module")
def boris_videos(tmp_path_factory):
    """Stand-ins for the media the BORIS test files name, with the same lengths."""
    folder = tmp_path_factory.mktemp("boris_media")
    return {
        "360": write_video(folder / "video_test_25fps_360s.mp4", 9000, size=(32, 24)),
        "180": write_video(folder / "video_test_25fps_180s.mp4", 4500, size=(32, 24)),
        "dlc4": write_video(folder / "e3v813a-20210610T122758-123309_reencode.avi", 9330, fps=30,
                            size=(32, 24)),
    }


@pytest.fixture
def bproject(tmp_path, boris_videos):
    p = Project.create(tmp_path / "proj")
    for v in boris_videos.values():
        p.add_video(v)
    yield p
    p.close()


def observation_1(project):
    return [x for x in label_set(project, 3) if x[2] in ("subject1", "subject2") and x[0].endswith("360s.mp4")
            and x[3] < 50]


def test_boris_project_ethogram_subjects_and_events(bproject):
    path = BORIS_DIR / "boris_test.boris"
    with pytest.raises(ImportRejectedError, match="rows rejected, nothing imported") as e:
        import_file(bproject, path)
    assert "\n" not in str(e.value) and bproject.labels() == [] and bproject.behaviors() == []
    reasons = " ".join(r.reason for r in e.value.report.rejected)
    assert "LIVE observation has no video" in reasons and "unknown video 'video1.mp4'" in reasons

    report = import_file(bproject, path, partial=True)
    assert report.added > 20 and report.rejected
    kinds = {b["name"]: (b["kind"], b["description"], b["prompts"], b["key"]) for b in bproject.behaviors()}
    assert kinds["p"] == ("point", "Test point event", ["Test point event"], "p")
    assert kinds["s"] == ("state", "Test state event", ["Test state event"], "s")
    assert {s["name"] for s in bproject.subjects()} >= {"subject1", "subject2"}
    # Observation #1's state events are START/STOP pairs.
    assert observation_1(bproject)[:3] == [
        ("video_test_25fps_360s.mp4", "s", "subject1", 3.3, 7.75, "accept"),
        ("video_test_25fps_360s.mp4", "s", "subject1", 9.9, 16.2, "accept"),
        ("video_test_25fps_360s.mp4", "s", "subject1", 18.35, 24.475, "accept")]
    # Observation #2 plays the 180 s file then the 360 s file: 227.765 s is 47.805 s into the second.
    assert ("video_test_25fps_360s.mp4", "s", "", 47.805, 73.53, "accept") in label_set(bproject, 3)
    assert all(lab["source"] == "import" for lab in bproject.labels())
    # The whole import is one op.
    assert bproject.undo().startswith("import boris_test.boris")
    assert bproject.labels() == [] and bproject.behaviors() == []


@pytest.mark.parametrize("name", ["boris_test_export_events_tabular.tsv", "boris_test_export_events_tabular.csv"])
def test_tabular_7x_matches_the_project_file(bproject, name, tmp_path):
    parsed = parse_file(BORIS_DIR / name)
    assert parsed.format == "boris tabular 7.x" and not parsed.rejected
    import_file(bproject, BORIS_DIR / name)
    from_table = label_set(bproject, 3)
    other = Project.create(tmp_path / "other")
    for v in bproject.videos():
        other.add_video(v["path"])
    import_file(other, BORIS_DIR / "boris_test.boris", partial=True)
    assert from_table == observation_1(other) and len(from_table) == 4


def test_aggregated_old_layout_and_headerless_file(bproject):
    report = import_file(bproject, BORIS_DIR / "boris_test_export_aggregated_events_test_full_1.tsv")
    assert report.format == "boris aggregated" and report.added == 18
    kinds = {b["name"]: b["kind"] for b in bproject.behaviors()}
    assert kinds == {"s": "state", "p": "point"}
    first = bproject.labels(video="video_test_25fps_180s.mp4", behavior="s")[0]
    assert (first["start_s"], first["end_s"]) == (1.8, 8.125)
    with pytest.raises(EthoscoutError, match="format not recognised"):
        import_file(bproject, BORIS_DIR / "boris_test_export_aggregated_events_test_full_3.tsv")


@pytest.mark.parametrize("name,behaviours,bouts", [
    ("boris7_export_interact.csv", {"interact"}, 8),
    ("boris7_export_multiple_behaviors.csv", {"mount", "interact"}, None),
])
def test_boris7_exports(bproject, boris_videos, name, behaviours, bouts):
    parsed = parse_file(BORIS_DIR / name)
    assert parsed.format == "boris tabular 7.x"
    # Media are Linux paths from the annotator's machine: matched by file name.
    assert {p.media.split("/")[-1] for p in parsed.bouts} <= {
        "e3v813a-20210610T122758-123309_reencode.avi", "e3v813a-20210610T120637-121213_reencode.avi"}
    if name == "boris7_export_interact.csv":
        report = import_file(bproject, BORIS_DIR / name)
        assert report.added == bouts and {s["name"] for s in bproject.subjects()} == {"adult"}
        assert {b["name"] for b in bproject.behaviors()} == behaviours
        assert bproject.labels()[0]["start_s"] == 2.35
    else:
        with pytest.raises(ImportRejectedError, match="unknown video 'e3v813a-20210610T120637"):
            import_file(bproject, BORIS_DIR / name)
        assert bproject.labels() == []


def test_observer_xt_converted_project(bproject):
    parsed = parse_file(BORIS_DIR / "boris_otx_import_test.boris")
    assert (len(parsed.behaviors), len(parsed.subjects), len(parsed.bouts)) == (22, 13, 0)
    report = import_file(bproject, BORIS_DIR / "boris_otx_import_test.boris")  # an ethogram only
    assert report.added == 0 and "chicken - healthy" in report.behaviors_created
    assert bproject.find_behavior("French fries")["key"] == "f"
