"""The caches' one way of writing an entry: whole or not at all (rampart.engine.local_files.write_atomically)."""

from __future__ import annotations

from rampart.engine import local_files


def test_an_entry_is_replaced_whole_and_leaves_no_partial_file(tmp_path):
    entry = tmp_path / "entry"
    assert local_files.write_atomically(entry, b"first")
    assert local_files.write_atomically(entry, b"second, longer")
    assert entry.read_bytes() == b"second, longer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry"]


def test_an_entry_that_cannot_be_written_is_false_and_leaves_nothing(tmp_path):
    assert not local_files.write_atomically(tmp_path / "missing-dir" / "entry", b"data")
    target = tmp_path / "a-directory"
    target.mkdir()
    assert not local_files.write_atomically(target, b"data")  # os.replace cannot put a file over a directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-directory"]
    assert list(target.iterdir()) == []
