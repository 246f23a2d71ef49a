"""portfolio/console.py: one progress reporter for every command, on a terminal and in a log."""

import io
import logging

from portfolio.console import ConsoleProgress, Step


class Terminal(io.StringIO):
    def isatty(self):
        return True


def parts(done, total=4):
    return Step("sending", done, total, "parts", figures=(f"{done * 10} of {total * 10} rows",))


def test_in_a_log_each_phase_starts_and_ends_with_a_line_and_the_steps_between_wait():
    stream = io.StringIO()
    progress = ConsoleProgress(stream, "job")
    progress(Step("building", figures=("2 farms",)))
    for done in range(5):
        progress(parts(done))
    progress(Step("moving the watermarks"))
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("job: building (2 farms in ")
    assert lines[3].startswith("job: moving the watermarks (")
    assert lines[1].startswith("job: sending:   0%  0 of 4 parts  0 of 40 rows  ETA --:--")
    # The end of the phase, held back until the next one started: its last counts.
    assert lines[2].startswith("job: sending: 100%  4 of 4 parts  40 of 40 rows  ETA 0:00:00")


def test_close_writes_the_last_line_held_back():
    stream = io.StringIO()
    progress = ConsoleProgress(stream, "job", is_terminal=False)
    progress(parts(0))
    progress(parts(1))
    assert stream.getvalue().count("\n") == 1
    progress.close()
    assert stream.getvalue().splitlines()[-1].startswith("job: sending:  25%  1 of 4 parts")


def test_on_a_terminal_log_records_go_above_the_bar_which_is_drawn_again_under_them():
    screen = Terminal()
    handler = logging.StreamHandler(screen)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        progress = ConsoleProgress(screen, "job")
        progress(parts(1))
        logging.getLogger("tests.console").warning("a part was slow")
        progress(parts(2))
        progress.close()
        logging.getLogger("tests.console").warning("after the bar")
    finally:
        root.removeHandler(handler)
    text = screen.getvalue()
    bar_1 = "job [######------------------]  25%  1 of 4 parts"
    # The bar, cleared for the record, the record on its own line, the bar again under it.
    assert text.index(bar_1) < text.index("\r\x1b[2Ka part was slow\n\r\x1b[2K" + bar_1)
    assert "job [############------------]  50%  2 of 4 parts" in text
    # Once closed, records are written as they were.
    assert text.endswith("\nafter the bar\n") and handler.stream is screen
