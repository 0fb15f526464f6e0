"""Reading blacklist import files (ileti.services.blacklist_csv): encodings, separators,
headers, the number's column, Excel's habits, what is refused, and bounded memory."""

from __future__ import annotations

import codecs
import io
import tracemalloc
from pathlib import Path

import pytest

from ileti.services.blacklist_csv import CsvRefused, Row, inspect, read_path, rows


def read(data: bytes) -> tuple[str, str, int, bool, list[Row]]:
    handle = io.BytesIO(data)
    layout = inspect(handle)
    return (
        layout.encoding,
        layout.delimiter,
        layout.column,
        layout.header,
        list(rows(handle, layout)),
    )


def test_one_number_a_line_without_a_header() -> None:
    encoding, _, column, header, found = read(b"05331234567\n+90 532 111 22 33\n\n5321112234\n")
    assert (encoding, column, header) == ("utf-8-sig", 0, False)
    assert found == [
        Row(1, "05331234567"),
        Row(2, "+90 532 111 22 33"),
        Row(4, "5321112234"),
    ]


def test_utf8_with_a_bom_and_a_header_naming_the_column() -> None:
    data = codecs.BOM_UTF8 + 'İsim,GSM,Not\nAyşe,05331234567,"a, b"\nÖmer,,x\n'.encode()
    encoding, delimiter, column, header, found = read(data)
    assert (encoding, delimiter, column, header) == ("utf-8-sig", ",", 1, True)
    assert found == [Row(2, "05331234567"), Row(3, "", "empty")]


def test_windows_1254_semicolons_from_turkish_excel() -> None:
    data = (
        "Adı;Soyadı;Cep Telefonu\r\nÇağla;Şimşek;0533 123 45 67\r\nIşık;Öz;0532-765-43-21\r\n"
    ).encode("cp1254")
    encoding, delimiter, column, header, found = read(data)
    assert (encoding, delimiter, column, header) == ("cp1254", ";", 2, True)
    assert [r.value for r in found] == ["0533 123 45 67", "0532-765-43-21"]


def test_tab_separated_utf16_from_excels_unicode_text() -> None:
    data = "Numara\tAd\r\n05331234567\tAli\r\n".encode("utf-16")
    encoding, delimiter, column, header, found = read(data)
    assert (encoding, delimiter, column, header) == ("utf-16", "\t", 0, True)
    assert found == [Row(2, "05331234567")]


def test_a_header_without_a_known_name_is_skipped_when_it_holds_no_digit() -> None:
    _, _, column, header, found = read(b"who;what\n05331234567;x\n")
    assert (column, header) == (0, True)
    assert found == [Row(2, "05331234567")]


def test_excels_habits_are_undone_or_explained() -> None:
    _, _, _, _, found = read(b'="05331234567"\n5,33123E+11\n5.33E+11\n')
    assert found == [
        Row(1, "05331234567"),
        Row(2, "5,33123E+11", "scientific"),
        Row(3, "5.33E+11", "scientific"),
    ]


def test_a_line_without_the_numbers_column_is_reported() -> None:
    _, _, _, _, found = read(b"ad;telefon\nAli;05331234567\nVeli\n")
    assert found == [Row(2, "05331234567"), Row(3, "", "missing")]


def test_line_numbers_are_the_files_own_with_quoted_newlines() -> None:
    _, _, _, _, found = read(b'number,note\n05331234567,"two\nlines"\n05321112233,x\n')
    assert [(r.line, r.value) for r in found] == [(3, "05331234567"), (4, "05321112233")]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"PK\x03\x04" + b"\x00" * 100, "workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "workbook"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
    ],
)
def test_what_cannot_be_read_is_refused_with_a_reason(data: bytes, code: str) -> None:
    with pytest.raises(CsvRefused) as caught:
        inspect(io.BytesIO(data))
    assert caught.value.code == code


def test_a_large_file_is_read_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w") as out:
        out.write("telefon;ad\n")
        for n in range(300_000):
            out.write(f"0533{n:07d};kişi {n}\n")
    tracemalloc.start()
    try:
        with path.open("rb") as handle:
            layout = inspect(handle)
            seen = 0
            last = 0
            for row in rows(handle, layout):
                seen += 1
                last = row.line
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (seen, last) == (300_000, 300_001)
    assert path.stat().st_size > 7_000_000
    assert peak < 3_000_000  # bytes: a few buffers, not the file


def test_progress_counts_the_bytes_read(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(b"05331234567\n" * 20_000)
    seen: list[int] = []
    with path.open("rb") as handle:
        layout = inspect(handle)
        for _ in rows(handle, layout, progress=seen.append):
            pass
    assert seen == sorted(seen) and seen[-1] == path.stat().st_size


def test_read_path_reads_a_small_file(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("05331234567\n")
    layout, found = read_path(path)
    assert layout.size == 12 and found == [Row(1, "05331234567")]
