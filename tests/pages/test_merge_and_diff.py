"""Three-way merge and revision diffs (pure functions, no database)."""

from __future__ import annotations

from wiki.pages.diffs import diff_rows
from wiki.pages.merge import CONFLICT_END, CONFLICT_START, has_conflict_markers, merge_three_way

BASE = "# Sitrep\n\nHighlights:\n- one\n\nFigures:\n- displaced: 100\n\nContacts:\n- ocha\n"


def test_changes_to_different_lines_merge_cleanly():
    theirs = BASE.replace("- one", "- one\n- two")
    mine = BASE.replace("- ocha", "- ocha\n- who")
    result = merge_three_way(BASE, theirs, mine)
    assert result.conflicts == 0
    assert "- two" in result.text and "- who" in result.text
    assert not has_conflict_markers(result.text)


def test_changes_to_the_same_line_conflict_with_both_versions_kept():
    theirs = BASE.replace("displaced: 100", "displaced: 250")
    mine = BASE.replace("displaced: 100", "displaced: 300")
    result = merge_three_way(BASE, theirs, mine)
    assert result.conflicts == 1
    assert "displaced: 250" in result.text and "displaced: 300" in result.text
    assert CONFLICT_START in result.text and CONFLICT_END in result.text
    assert has_conflict_markers(result.text)


def test_identical_changes_on_both_sides_are_not_a_conflict():
    changed = BASE.replace("100", "120")
    assert merge_three_way(BASE, changed, changed) == merge_three_way(BASE, changed, changed)
    assert merge_three_way(BASE, changed, changed).conflicts == 0


def test_windows_newlines_do_not_cause_conflicts():
    theirs = BASE.replace("- one", "- uno")
    mine = BASE.replace("\n", "\r\n").replace("- ocha", "- OCHA")
    result = merge_three_way(BASE, theirs, mine)
    assert result.conflicts == 0 and "- uno" in result.text and "- OCHA" in result.text


def test_diff_highlights_changed_words_and_escapes_html():
    rows = diff_rows("a\n<b>old</b> text\nc\n", "a\n<b>new</b> text\nc\nadded <script>\n")
    changed = [r for r in rows if r.kind == "changed"]
    assert len(changed) == 1
    assert "<del>old</del>" in changed[0].old and "<ins>new</ins>" in changed[0].new
    assert "&lt;b&gt;" in changed[0].old
    added = [r for r in rows if r.kind == "added"]
    assert added and "&lt;script&gt;" in added[0].new and added[0].new_number == 4


def test_diff_skips_long_unchanged_stretches():
    old = "\n".join(f"line {i}" for i in range(100))
    new = old.replace("line 50", "line fifty")
    rows = diff_rows(old, new, context=2)
    assert [r.kind for r in rows].count("same") == 4
    assert rows[0].kind == "skip"
