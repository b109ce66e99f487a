"""Numbers and dates as exports write them: decimal marks, thousands, money, durations, dash/day-first/Excel dates."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachkit import schema
from coachkit.importers.dates import parse_dates, parse_timestamps
from coachkit.importers.numbers import decimal_mark, parse_hms, parse_money, parse_numbers
from coachkit.importers.report import ExportError

T = pd.Timestamp


def s(*values):
    return pd.Series(list(values), dtype=schema.STRING)


def money(*values, **kw):
    return parse_money(s(*values), file="f.csv", column="Value", **kw).tolist()


def test_decimal_comma_amounts_of_every_shape():
    assert money("12500,00", "4.000,00", "950,50") == [12500.0, 4000.0, 950.5]
    assert money("12 500,00", "1.234.567,89", "1\u202f234,5", "\u20ac 5,99", "5,99 \u20ac") == [
        12500.0,
        1234567.89,
        1234.5,
        5.99,
        5.99,
    ]
    assert money("R$ 1.234,50", "-1.000,00", "(2,50)") == [1234.5, -1000.0, -2.5]


def test_decimal_point_amounts_keep_working():
    assert money("$22,700.00", "342.09K", "1.2M", "(500)", "EUR 99", "-3", "99 EUR", "1'234.50") == [
        22700.0,
        342090.0,
        1200000.0,
        -500.0,
        99.0,
        -3.0,
        99.0,
        1234.5,
    ]
    assert money("1,234,567", "1,23,456.50") == [1234567.0, 123456.5]  # several commas group thousands (or lakhs)


def test_ambiguous_amounts_are_refused_never_guessed():
    for value in ("1,234", "12.500", "999,000"):
        with pytest.raises(ExportError, match="ambiguous") as err:
            money(value, "4000")
        assert (err.value.row, err.value.column, err.value.value) == (2, "Value", value)
        assert "decimal" in str(err.value) and "--decimal" in str(err.value)


def test_the_column_settles_what_one_value_cannot():
    assert money("1,234", "950,50") == [1.234, 950.5]  # 950,50 says the comma is decimal
    assert money("1.234", "950.5") == [1.234, 950.5]
    assert money("12,500", "0.5") == [12500.0, 0.5]
    assert money("12,500", "4000", hint=".") == [12500.0, 4000.0]  # a ","-delimited file's hint
    assert money("12,500", decimal=",") == [12.5]


def test_mixed_marks_and_values_that_do_not_fit_are_refused():
    with pytest.raises(ExportError, match="mixes a decimal point"):
        money("1,234.50", "950,50")
    with pytest.raises(ExportError, match="not a number with decimal mark '.'") as err:
        money("950,50", decimal=".")
    assert err.value.value == "950,50"
    with pytest.raises(ExportError, match="not an amount"):
        money("12 apples")


def test_plain_numbers_and_durations_follow_the_same_rule():
    num = parse_numbers(s("1,5", "45", None), file="f", column="Duration (min)", scale=60).tolist()
    assert num[:2] == [90.0, 2700.0] and pd.isna(num[2])
    assert parse_numbers(s("1e3", "-2.5", "0.125"), file="f", column="c").tolist() == [1000.0, -2.5, 0.125]
    with pytest.raises(ExportError, match="not a number"):
        parse_numbers(s("5 min"), file="f", column="c")
    with pytest.raises(ExportError, match="ambiguous"):
        parse_numbers(s("1,500"), file="f", column="c")
    assert parse_hms(s("00:15", "01:00:30", "1:02:03,5"), file="f", column="d").tolist() == [900.0, 3630.0, 3723.5]


def test_decimal_mark_of_a_column():
    assert decimal_mark(s("1", "2"), file="f", column="c") == "."
    assert decimal_mark(s("0,125"), file="f", column="c") == ","
    assert decimal_mark(s("1.234.567"), file="f", column="c") == ","  # several dots group thousands


STYLES = {
    "us": (",", "."),
    "de": (".", ","),
    "fr": ("\u202f", ","),
    "ch": ("'", "."),
}


def fmt(x: float, style: str) -> str:
    group, dec = STYLES[style]
    whole, frac = f"{abs(x):,.2f}".split(".")
    text = whole.replace(",", group) + dec + frac
    return ("-" if x < 0 else "") + text


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=1, max_size=8),
    st.sampled_from(list(STYLES)),
)
def test_amounts_round_trip_in_every_style(values, style):
    """Invariant: amounts written with two decimals in a locale's style read back as written (to the cent)."""
    values = [round(v, 2) for v in values]
    out = money(*[fmt(v, style) for v in values])
    assert out == pytest.approx(values, abs=0.005)


# ---- dates -------------------------------------------------------------------------------------------

TS = {"file": "f.csv", "column": "createdon", "timezone": "UTC"}


def test_dash_dates_are_not_offsets_and_formats_are_tried():
    out = parse_timestamps(
        s("08-10-2015", "11-17-2015", "12-04-2015 14:30"), formats=["%m-%d-%Y %H:%M", "%m-%d-%Y"], **TS
    )
    assert out.tolist() == [T("2015-08-10"), T("2015-11-17"), T("2015-12-04 14:30")]


def test_offsets_count_after_a_time_of_day():
    out = parse_timestamps(
        s(
            "2021-04-16T09:30:00-05:00",
            "2024-03-04 09:30 UTC",
            "2024-03-04T09:30:00.000+0000",
            "24.03.2024 09:30 +0200",
        ),
        **TS,
    )
    assert out.tolist() == [T("2021-04-16 14:30"), T("2024-03-04 09:30"), T("2024-03-04 09:30"), T("2024-03-24 07:30")]


def test_day_first_and_month_first_from_the_column_or_the_option():
    assert parse_timestamps(s("15-04-2021", "03/04/2021 2:30 PM"), **TS).tolist() == [
        T("2021-04-15"),
        T("2021-04-03 14:30"),
    ]
    assert parse_timestamps(s("04/13/2024", "04/03/2024"), **TS).tolist() == [T("2024-04-13"), T("2024-04-03")]
    assert parse_timestamps(s("03/04/2024"), dayfirst=True, **TS).tolist() == [T("2024-04-03")]
    assert parse_timestamps(s("03/04/2024"), dayfirst=False, **TS).tolist() == [T("2024-03-04")]
    assert parse_timestamps(s("2024/03/04 09:30", "31.12.24"), **TS).tolist() == [
        T("2024-03-04 09:30"),
        T("2024-12-31"),
    ]


def test_ambiguous_or_mixed_day_order_is_refused():
    with pytest.raises(ExportError, match="ambiguous") as err:
        parse_timestamps(s("03/04/2024"), **TS)
    assert "dayfirst" in str(err.value)
    with pytest.raises(ExportError, match="day-first .* and month-first"):
        parse_timestamps(s("13/04/2024", "04/13/2024"), **TS)


def test_excel_serial_dates_are_a_named_format():
    out = parse_timestamps(s("45355", "45355.5", "2024-03-05"), formats=["excel"], **TS)
    assert out.tolist() == [T("2024-03-04"), T("2024-03-04 12:00"), T("2024-03-05")]
    assert parse_dates(s("45355"), formats=["excel"], file="f", column="d").tolist() == [T("2024-03-04")]
    with pytest.raises(ExportError, match="Excel serial day number"):
        parse_timestamps(s("45355"), **TS)


def test_the_date_error_lists_the_formats_tried_and_the_key_to_change():
    with pytest.raises(ExportError) as err:
        parse_timestamps(s("next week"), formats=["%d.%m.%Y"], key="[activities.columns].occurred_at", **TS)
    msg = str(err.value)
    assert "formats tried: %d.%m.%Y; ISO 8601" in msg and "[activities.columns].occurred_at" in msg
    assert (err.value.row, err.value.value) == (2, "next week")


def test_calendar_dates_are_never_shifted():
    out = parse_dates(
        s("2018-12-19 00:00:00", "2024-03-01T23:30:00Z", "15-04-2021", "31.12.2024 23:00 +0200"), file="f", column="d"
    )
    assert out.tolist() == [T("2018-12-19"), T("2024-03-01"), T("2021-04-15"), T("2024-12-31")]


def test_wall_time_in_the_source_zone_is_converted():
    out = parse_timestamps(
        s("2024-03-31 01:30", "31/03/2024 12:00"), file="f", column="c", timezone="Europe/Berlin", assume="UTC"
    )
    assert out.tolist() == [T("2024-03-31 03:30"), T("2024-03-31 14:00")]  # DST began at 01:00 UTC


@settings(max_examples=100, deadline=None)
@given(
    st.datetimes(
        min_value=pd.Timestamp("1990-01-01").to_pydatetime(), max_value=pd.Timestamp("2060-12-31").to_pydatetime()
    ),
    st.sampled_from(["%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M", "%d-%m-%Y %H:%M", "%Y-%m-%dT%H:%M"]),
)
def test_dates_round_trip_with_the_day_order_given(when, pattern):
    """Invariant: a minute-precision time written in a common shape reads back, given its day order."""
    when = pd.Timestamp(when).floor("min")
    dayfirst = pattern.startswith("%d")
    out = parse_timestamps(s(when.strftime(pattern)), dayfirst=dayfirst, **TS)
    assert out.iloc[0] == when
