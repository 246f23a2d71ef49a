"""Records: a readings file split into CSV records, each named by its first line, bad lines on their own."""

from portfolio.ingest.records import BadLine, Records
from portfolio.ingest.source import TextSource


def records(tmp_path, data, width=3, max_line_bytes=1000):
    path = tmp_path / "lines.csv"
    path.write_bytes(data)
    with TextSource(path) as source:
        found = Records(source.text, source.encoding, max_line_bytes)
        found.width = width
        return [(line, cells.message if isinstance(cells, BadLine) else cells) for line, cells in found]


def test_a_quoted_line_break_is_one_record_named_by_its_first_line(tmp_path):
    assert records(tmp_path, b'a,"b\nc",d\ne,f,g\n') == [(1, ["a", "b\nc", "d"]), (3, ["e", "f", "g"])]


def test_cr_lf_and_crlf_line_ends_all_end_a_line(tmp_path):
    assert records(tmp_path, b"a,b,c\rd,e,f\r\ng,h,i\n") == [
        (1, ["a", "b", "c"]),
        (2, ["d", "e", "f"]),
        (3, ["g", "h", "i"]),
    ]


def test_a_crlf_cut_by_the_size_limit_is_still_one_line_end(tmp_path):
    line = b"a,b," + b"c" * 6  # 10 bytes: with CR, exactly the 11 characters one read asks for
    found = records(tmp_path, line + b"\r\n" + line + b"\r\nx,y,z\r\n", max_line_bytes=10)
    assert [number for number, _ in found] == [1, 2, 3]
    assert found[2] == (3, ["x", "y", "z"])


def test_an_over_long_line_is_skipped_and_the_next_one_read(tmp_path):
    found = records(tmp_path, b"a,b,c\n" + b"x" * 5000 + b"\r\nd,e,f\n", max_line_bytes=100)
    assert found == [
        (1, ["a", "b", "c"]),
        (2, "longer than 100 bytes (READINGS_MAX_LINE_BYTES); the line was not read"),
        (3, ["d", "e", "f"]),
    ]


def test_a_quote_left_open_gives_its_lines_back(tmp_path):
    found = records(tmp_path, b'a,"b,c\nd,e,f\ng,h,i\n')
    assert found[0][0] == 1 and found[0][1].startswith("not valid CSV (a quote opened on this line is not closed")
    assert found[1:] == [(2, ["d", "e", "f"]), (3, ["g", "h", "i"])]


def test_a_quote_left_open_running_into_a_bad_line_names_both(tmp_path):
    found = records(tmp_path, b'a,"b,c\nd,e,f\ng,\x00,i\nj,k,l\n')
    assert [number for number, _ in found] == [1, 2, 3, 4]
    assert "not closed before line 3" in found[0][1]
    assert found[2] == (3, "holds a zero byte (NUL) at character 3, which text never does")
