"""The session: open tomograms, the current one, slice position, progress objects."""

import pytest

from ais_qt.models.errors import TomogramError
from ais_qt.models.progress import Cancelled, Progress
from ais_qt.models.session import Session
from tests.conftest import write_mrc


def test_open_twice_keeps_one_item_and_current_follows(tmp_path, mrc_path, volume):
    session = Session()
    added, current = [], []
    session.added.connect(added.append)
    session.current_changed.connect(current.append)
    first = session.open(mrc_path)
    second = session.open(write_mrc(tmp_path / "b.mrc", volume))
    assert session.open(mrc_path) is first and len(session.items) == 2
    assert added == [first, second] and current == [first, second, first]
    session.remove(first)
    assert session.current is second
    session.remove(second)
    assert session.current is None and current[-1] is None


def test_failed_open_leaves_session_unchanged(tmp_path):
    session = Session()
    with pytest.raises(TomogramError):
        session.open(tmp_path / "missing.mrc")
    assert session.items == [] and session.current is None


def test_slice_position_starts_in_the_middle_and_is_clamped(mrc_path):
    item = Session().open(mrc_path)
    seen = []
    item.z_changed.connect(seen.append)
    assert item.z == 6
    item.step(3)
    item.step(100)
    item.z = -5
    assert seen == [9, 11, 0]


def test_progress_reports_and_cancels():
    seen = []
    progress = Progress(lambda f, m: seen.append((f, m)))
    progress.report(1.7, "done")
    assert seen == [(1.0, "done")]
    progress.cancel()
    with pytest.raises(Cancelled):
        progress.report(0.5)
