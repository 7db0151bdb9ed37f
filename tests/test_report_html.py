"""The HTML report shows what the search decided on its own."""

from automl.report.html import write_html_report


def test_the_search_notes_are_in_the_html_report(tmp_path):
    note = "4 new trial(s) of the 6 search.max_trials plans: an epoch of the first took 32s"
    report = {"status": "succeeded", "task": "object_detection", "search": {"notes": [note]}}
    write_html_report(report, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert "Search notes" in page and note in page
