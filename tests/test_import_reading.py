"""Reading export files: encodings, delimiters, report footers, placeholders, header collisions, empty ids."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachkit.importers.options import ImportOptions
from coachkit.importers.reading import (
    blank_empty_ids,
    decode,
    read_export_csv,
    sniff_delimiter,
    strip_footer,
)
from coachkit.importers.report import ExportError, ImportReport

TEXT = "id,name,notes\n1,Jos\u00e9 M\u00fcller,Habl\u00f3 con el gerente; pidi\u00f3 una propuesta\n2,\u00c9lo\u00efse,na\u00efve caf\u00e9\n"


def read(tmp_path, data: bytes | str, name: str = "f.csv", **opts):
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    report = ImportReport()
    frame = read_export_csv(p, report, normalise=False, options=ImportOptions().merged(**opts))
    return frame, report


@pytest.mark.parametrize(
    ("encoding", "named"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),  # with its byte-order mark
        ("utf-16-le", "utf-16-le"),  # no mark: every other byte is zero
        ("cp1252", "cp1252"),
        ("latin-1", "cp1252"),  # the same bytes for these letters; cp1252 is the superset
    ],
)
def test_encodings_are_read_and_named(tmp_path, encoding, named):
    frame, report = read(tmp_path, TEXT.encode(encoding))
    assert frame["name"].tolist() == ["Jos\u00e9 M\u00fcller", "\u00c9lo\u00efse"]
    assert frame["notes"].iloc[0] == "Habl\u00f3 con el gerente; pidi\u00f3 una propuesta"
    assert report.files["f.csv"].encoding == named
    if named == "cp1252":
        assert any("not UTF-8" in w and "cp1252" in w for w in report.warnings)
        assert "Windows-1252" in report.to_text()
    else:
        assert not report.warnings


def test_euro_sign_and_curly_quotes_of_windows_1252(tmp_path):
    frame, report = read(tmp_path, "id,notes\n1,\u20ac5 \u201cquoted\u201d \u2013 ok\n".encode("cp1252"))
    assert frame["notes"].iloc[0] == "\u20ac5 \u201cquoted\u201d \u2013 ok"


def test_given_encoding_wins_and_a_wrong_one_names_file_line_and_fix(tmp_path):
    data = TEXT.encode("cp1252")
    frame, report = read(tmp_path, data, encoding="latin-1")
    assert frame["name"].iloc[1] == "\u00c9lo\u00efse" and report.files["f.csv"].encoding_source == "given"
    with pytest.raises(ExportError) as err:
        read(tmp_path, data, encoding="utf-8")
    assert (err.value.file, err.value.line) == ("f.csv", 2)
    assert "is not utf-8" in str(err.value) and "--encoding cp1252" in str(err.value)


def test_undecodable_bytes_and_spreadsheets_are_refused_in_one_line():
    with pytest.raises(ExportError, match="Excel workbook"):
        decode(b"PK\x03\x04rest-of-a-zip", file="book.csv")
    with pytest.raises(ExportError) as err:
        decode(b"id\n1\n" + bytes(range(256)) * 4, file="junk.csv")
    assert err.value.line == 4 and "\n" not in str(err.value)  # bytes 0..255 hold a newline before 0x80


def test_a_folder_in_a_files_place(tmp_path):
    (tmp_path / "Task.csv").mkdir()
    with pytest.raises(ExportError, match="^Task.csv: is a directory, not a file; put the file itself here"):
        read_export_csv(tmp_path / "Task.csv")


def test_a_link_loop_in_a_files_place(tmp_path):
    (tmp_path / "Task.csv").symlink_to("Task.csv")
    with pytest.raises(ExportError, match="^Task.csv: cannot open the file: a symbolic-link loop"):
        read_export_csv(tmp_path / "Task.csv")


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path, delim):
    text = f'id{delim}amount{delim}notes\n1{delim}"1,5"{delim}"a; b, c"\n2{delim}3{delim}plain\n'
    frame, report = read(tmp_path, text)
    assert frame.columns.tolist() == ["id", "amount", "notes"]
    assert frame["notes"].tolist() == ["a; b, c", "plain"]
    assert report.files["f.csv"].delimiter == delim


def test_sniffing_keeps_a_one_column_file_and_ignores_delimiters_inside_quotes():
    assert sniff_delimiter("name\nAda\nBob\n") == ","
    assert sniff_delimiter('a,b\n"x;y;z",1\n"p;q;r",2\n') == ","
    assert sniff_delimiter("a;b;c\n1;2,5;3\n4;5,5;6\n") == ";"


SF_FOOTER = (
    '"Subject","Assigned","Date"\n"Call","Ana","2024-01-02"\n"Email","Bo","2024-01-03"\n\n\n'
    '"Grand Totals (2 records)"\n\n"Acme, Inc."\n"Confidential Information - Do Not Distribute"\n'
    '"Copyright (c) 2000-2024 salesforce.com, inc. All rights reserved."\n'
)


def test_salesforce_report_footer_is_dropped_and_reported(tmp_path):
    frame, report = read(tmp_path, SF_FOOTER, name="report.csv")
    assert frame["Assigned"].tolist() == ["Ana", "Bo"]
    assert report.files["report.csv"].rows == 2
    (reason, n), *_ = [(r, n) for (f, r), n in report.dropped.items() if f == "report.csv"]
    assert n == 4 and "footer" in reason and "Grand Totals" in reason


@pytest.mark.parametrize(
    "tail",
    [
        "Total,,5\n",
        "Totals: 12 records\n",
        "3 records\n",
        ",,\nGenerated by Acme CRM on 2024-03-01,,\n",
        "\u00a9 2024 Zoho Corporation\n",
    ],
)
def test_other_footers(tail):
    text, footer = strip_footer("a,b,c\n1,2,3\n4,5,6\n" + tail, ",")
    assert text == "a,b,c\n1,2,3\n4,5,6\n" and footer


def test_data_that_only_looks_like_a_footer_stays():
    # a last row with one value and no footer words, and a quoted note that ends with "Copyright 2024"
    for text in ("a,b,c\n1,2,3\nu9,,\n", 'a,b,c\n1,2,"first line\nCopyright 2024 Acme"\n'):
        assert strip_footer(text, ",") == (text, [])
    assert strip_footer("a,b,c\nTotal Solutions Inc,2,3\n", ",")[1] == []
    assert strip_footer("id,notes\n7,Copyright question from the client\n", ",")[1] == []  # data, not a notice


def test_placeholders_are_blank_and_configurable(tmp_path):
    text = "id,team,notes\n1,null,N/A\n2,NULL,#N/A\n3,East,nullable\n"
    frame, report = read(tmp_path, text)
    assert frame["team"].isna().tolist() == [True, True, False] and frame["notes"].isna().tolist()[:2] == [True, True]
    assert frame["notes"].iloc[2] == "nullable"
    ((file, what), n), *_ = report.changed.items()
    assert (file, n) == ("f.csv", 4) and all(f"{v!r} x1" in what for v in ("null", "NULL", "N/A", "#N/A"))
    frame, _ = read(tmp_path, text, blanks=["N/A"])
    assert frame["team"].tolist()[:2] == ["null", "NULL"] and pd.isna(frame["notes"].iloc[0])
    frame, report = read(tmp_path, text, blanks=[])
    assert frame["notes"].iloc[0] == "N/A" and not report.changed


def test_empty_rows_are_dropped_and_rows_keep_their_position(tmp_path):
    frame, report = read(tmp_path, "id,x\n1,a\n,\n3,c\n")
    assert frame["id"].tolist() == ["1", "3"] and frame.index.tolist() == [0, 2]
    assert report.dropped[("f.csv", "empty rows")] == 1


def test_colliding_headers_are_set_aside_and_named_only_when_read(tmp_path):
    p = tmp_path / "Opportunity.csv"
    p.write_text("Id,Budget_Confirmed__c,BudgetConfirmed__c,Name,Name\n1,0,1,a,b\n")
    frame = read_export_csv(p)
    assert frame.columns.tolist() == ["id"]
    assert frame.attrs["ambiguous"] == {
        "budget_confirmed_c": ["Budget_Confirmed__c", "BudgetConfirmed__c"],
        "name": ["Name", "Name"],
    }
    from coachkit.importers.common import column

    with pytest.raises(ExportError, match="'Name' and 'Name' both name this column"):
        column(frame, "name")
    assert column(frame, "owner_id").isna().all()  # absent, not ambiguous


def test_salesforce_empty_ids_in_every_id_column():
    frame = pd.DataFrame(
        {"id": ["00T1", "000000000000000AAA"], "manager_id": ["000000000000000", "0051"], "name": ["x", "y"]},
        dtype="string",
    )
    report = ImportReport()
    out = blank_empty_ids(frame, ["id", "manager_id"], "User.csv", report)
    assert out["id"].isna().tolist() == [False, True] and out["manager_id"].isna().tolist() == [True, False]
    assert sum(report.changed.values()) == 2


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(codec="cp1252", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=12),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    st.sampled_from([",", ";", "\t"]),
)
def test_any_text_round_trips_through_any_encoding_and_delimiter(tmp_path_factory, values, encoding, delim):
    """Invariant: what a CSV writer wrote in any supported encoding and delimiter reads back as written."""
    values = [v.strip() or "x" for v in values]
    frame = pd.DataFrame({"id": [str(i) for i in range(len(values))], "text": values})
    path = tmp_path_factory.mktemp("rt") / "f.csv"
    path.write_bytes(frame.to_csv(index=False, sep=delim).encode(encoding))
    opts = ImportOptions(blanks=(), encoding=None if encoding != "cp1252" else "cp1252")
    back = read_export_csv(path, normalise=False, options=opts)
    assert back["text"].fillna("").tolist() == [v for v in values]
