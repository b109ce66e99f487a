"""Numbers as exports write them: decimal point or decimal comma, thousands separators, money, durations.

The decimal mark of a column is ``decimal`` when given (``[options] decimal``
or ``--decimal``). Otherwise it is read from the column's own values, each of
which says one of three things:

- **decimal point**: ``12.5``, ``1234.50``, ``0.125``, ``1,234.56``, ``1,234,567``;
- **decimal comma**: ``12,5``, ``12500,00``, ``950,50``, ``4.000,00``, ``1.234.567,89``, ``12 500,00``;
- **either**: one separator followed by exactly three digits after one to three
  digits (``1,234``, ``12.500``): one thousand two hundred thirty-four, or one
  point two three four.

A column whose values say both is refused; a column of plain integers and
*either* values takes ``hint`` when the caller has one (a ``,``-delimited file
comes from a locale whose decimal mark is ``.``: locales with a decimal comma
write ``;`` between fields), and is otherwise refused naming the value and the
option to set. Nothing ambiguous is ever guessed. Spaces (also no-break and
thin spaces) and apostrophes (``1'234.50``) are thousands separators.

Every parser is vectorised over a pandas Series; missing values stay missing;
a non-empty value that does not parse raises :class:`ExportError` with the file,
row, column and value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import schema
from .report import ExportError

__all__ = ["decimal_mark", "parse_numbers", "parse_money", "parse_hms", "row_of"]

_GROUP_CHARS = r"[\s\u00a0\u202f\u2009'\u2019]"
_MONEY_SUFFIX = {"k": 1e3, "m": 1e6, "mm": 1e6, "b": 1e9, "bn": 1e9}


def row_of(series: pd.Series, mask: pd.Series) -> tuple[int, object]:
    """(row number as in the file, value) of the first True in ``mask``; header is row 1.

    Frames read by :func:`coachkit.importers.reading.read_export_csv` keep each record's
    position as its index label, so the row survives filtering.
    """
    idx = mask[mask.fillna(False).astype(bool)].index[0]
    if isinstance(idx, (int, np.integer)):
        row = int(idx) + 2
    else:
        row = int(series.index.get_loc(idx)) + 2
    return row, series.loc[idx]


def _row_at(values: pd.Series, idx: object) -> tuple[int, object]:
    return row_of(values.astype(schema.STRING), pd.Series(values.index == idx, index=values.index))


def _present(values: pd.Series) -> pd.Series:
    s = values.astype(schema.STRING).str.strip()
    return s.where(s.str.len() > 0)


def _classify(digits: pd.Series) -> pd.Series:
    """Per value (separators ``.`` and ``,`` only, groups of spaces removed): ".", ",", "?" (either) or ""."""
    dots = digits.str.count(r"\.")
    commas = digits.str.count(",")
    last_dot = digits.str.rfind(".")
    last_comma = digits.str.rfind(",")
    out = pd.Series("", index=digits.index, dtype=object)
    both = (dots > 0) & (commas > 0)
    out[both & (last_dot > last_comma)] = "."
    out[both & (last_comma > last_dot)] = ","
    for mark, n, other in ((".", dots, ","), (",", commas, ".")):
        only = (n > 0) & ~both
        out[only & (n > 1)] = other  # several of one mark: it groups thousands
        one = only & (n == 1)
        esc = "\\" + mark
        either = digits.str.fullmatch(rf"[1-9]\d{{0,2}}{esc}\d{{3}}").fillna(False).astype(bool)
        out[one & either] = "?"
        out[one & ~either] = mark
    return out


def decimal_mark(
    values: pd.Series, *, file: str, column: str, decimal: str | None = None, hint: str | None = None
) -> str:
    """The decimal mark of a column (see the module docstring); refuses mixed or ambiguous columns."""
    if decimal is not None:
        return decimal
    s = _present(values).dropna()
    if s.empty:
        return hint or "."
    digits = _digits(s)
    kinds = _classify(digits)
    point, comma = kinds.eq("."), kinds.eq(",")
    if point.any() and comma.any():
        a, b = s[point].iloc[0], s[comma].iloc[0]
        row, value = _row_at(values, s[comma].index[0])
        raise ExportError(
            f'this column mixes a decimal point ({a!r}) and a decimal comma ({b!r}); set decimal = "." or "," '
            "under [options] in the mapping (or pass --decimal) and correct the values that do not fit",
            file=file,
            column=column,
            row=row,
            value=value,
        )
    if point.any():
        return "."
    if comma.any():
        return ","
    either = kinds.eq("?")
    if either.any():
        if hint is not None:
            return hint
        idx = s[either].index[0]
        row, value = _row_at(values, idx)
        sep = "," if "," in digits[idx] else "."
        whole = digits[idx].replace(sep, "")
        fraction = f"{float(digits[idx].replace(sep, '.')):g}"
        raise ExportError(
            f"is ambiguous: {whole} ({sep!r} groups thousands) or {fraction} ({sep!r} is the decimal mark)? "
            'No value in the column says which; set decimal = "." or decimal = "," under [options] in the '
            "mapping, or pass --decimal",
            file=file,
            column=column,
            row=row,
            value=value,
        )
    return hint or "."


def _digits(s: pd.Series) -> pd.Series:
    """The number part of each value: currency and sign removed, space/apostrophe groups removed."""
    core = s.str.replace(r"^\((.*)\)$", r"\1", regex=True).str.replace(r"^[-+\u2212]\s*", "", regex=True)
    num = core.str.extract(r"(\d[\d.,\s\u00a0\u202f\u2009'\u2019]*\d|\d|[.,]\d+)", expand=False)
    return num.fillna("").str.replace(_GROUP_CHARS, "", regex=True)


def _to_float(num: pd.Series, mark: str) -> pd.Series:
    """Numbers written with decimal ``mark`` (groups of the other mark checked) as float; bad -> NaN."""
    group = "," if mark == "." else "."
    esc_g, esc_m = "\\" + group, "\\" + mark
    ok = num.str.fullmatch(
        rf"(?:\d+|\d{{1,3}}(?:{esc_g}\d{{3}})+|\d{{1,2}}(?:{esc_g}\d{{2}})*{esc_g}\d{{3}})?(?:{esc_m}\d+)?"
    ).fillna(False).astype(bool) & num.str.contains(r"\d", regex=True).fillna(False).astype(bool)
    plain = num.str.replace(group, "", regex=False).str.replace(mark, ".", regex=False)
    out = pd.to_numeric(plain.where(ok), errors="coerce")
    return pd.Series(out, index=num.index, dtype="float64")


def _bad(values: pd.Series, bad: pd.Series, file: str, column: str, what: str) -> ExportError:
    row, value = row_of(values.astype(schema.STRING), bad)
    return ExportError(what, file=file, column=column, row=row, value=value)


def parse_numbers(
    values: pd.Series,
    *,
    file: str,
    column: str,
    scale: float = 1.0,
    decimal: str | None = None,
    hint: str | None = None,
) -> pd.Series:
    """Plain numbers (``1234.5``, ``1,5``, ``1.234,5``, ``-3``, ``1e3``) as float, times ``scale``.

    The decimal mark follows :func:`decimal_mark`. A value with anything but a sign, digits and
    separators (a currency, a unit) raises :class:`ExportError`.
    """
    s = _present(values)
    present = s.notna()
    out = pd.Series(np.nan, index=s.index, dtype="float64")
    if not present.any():
        return out
    p = s[present]
    sci = p.str.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+").fillna(False).astype(bool)
    plain = p[~sci]
    shape = plain.str.fullmatch(r"[-+\u2212]?\s*[\d.,\s\u00a0\u202f\u2009'\u2019]*\d[\d.,\s\u00a0\u202f\u2009'\u2019]*")
    shape = shape.fillna(False).astype(bool)
    if (~shape).any():
        raise _bad(values, present & s.index.isin(plain[~shape].index), file, column, _NOT_A_NUMBER)
    mark = decimal_mark(plain, file=file, column=column, decimal=decimal, hint=hint)
    num = _to_float(_digits(plain), mark)
    neg = plain.str.match(r"^[-\u2212]").fillna(False).astype(bool)
    out[plain.index] = num.where(~neg, -num)
    out[p[sci].index] = pd.to_numeric(p[sci], errors="coerce")
    bad = present & out.isna()
    if bad.any():
        raise _bad(values, bad, file, column, _not_fitting(mark))
    return out * scale


_NOT_A_NUMBER = "not a number (write digits with one decimal mark, like 1234.5 or 1234,5)"


def _not_fitting(mark: str) -> str:
    other = "," if mark == "." else "."
    return (
        f"not a number with decimal mark {mark!r} (thousands grouped by {other!r} in threes); "
        'if the file uses the other mark, set decimal = "." or "," under [options] (or pass --decimal)'
    )


def parse_money(
    values: pd.Series, *, file: str, column: str, decimal: str | None = None, hint: str | None = None
) -> pd.Series:
    """Amounts like ``$22,700.00``, ``4.000,00 €``, ``12 500,00``, ``342.09K``, ``1.2M``, ``(500)``, ``EUR 99``.

    A currency symbol or code before or after the number is ignored (keep the currency in its own
    column); ``K``/``M``/``MM``/``B``/``BN`` multiply; parentheses or a leading minus make it negative.
    The decimal mark follows :func:`decimal_mark`.
    """
    s = _present(values)
    present = s.notna()
    out = pd.Series(np.nan, index=s.index, dtype="float64")
    if not present.any():
        return out
    p = s[present]
    cur = r"(?:[A-Za-z]{0,2}[^\w\s.,()+\-\u2212]{1,2}|[A-Za-z]{3})?"  # $, US$, R$, EUR, usd
    parts = p.str.extract(
        rf"^\(?\s*([-+\u2212]?)\s*({cur})\s*([-+\u2212]?)\s*"
        rf"(\d[\d.,\s\u00a0\u202f\u2009'\u2019]*\d|\d|[.,]\d+)\s*((?i:bn|mm|k|m|b)(?![A-Za-z]))?\s*({cur})\s*\)?$"
    )
    shape = parts[3].notna()
    if (~shape).any():
        raise _bad(values, present & s.index.isin(p[~shape].index), file, column, _NOT_AN_AMOUNT)
    nums = parts[3].str.replace(_GROUP_CHARS, "", regex=True)
    mark = decimal_mark(nums, file=file, column=column, decimal=decimal, hint=hint)
    num = _to_float(nums, mark)
    factor = parts[4].fillna("").str.lower().map(lambda x: _MONEY_SUFFIX.get(x, 1.0)).astype("float64")
    neg = (
        p.str.match(r"^\(.*\)$").fillna(False).astype(bool)
        | parts[0].isin(["-", "\u2212"]).fillna(False).astype(bool)
        | parts[2].isin(["-", "\u2212"]).fillna(False).astype(bool)
    )
    val = num * factor
    out[p.index] = val.where(~neg, -val)
    bad = present & out.isna()
    if bad.any():
        raise _bad(values, bad, file, column, _not_fitting(mark))
    return out


_NOT_AN_AMOUNT = "not an amount (examples: 22700, $22,700.00, 4.000,00 EUR, 342.09K, 1.2M, (500))"


def parse_hms(values: pd.Series, *, file: str, column: str) -> pd.Series:
    """Durations ``HH:MM`` or ``HH:MM:SS`` (hours may exceed 24) as seconds."""
    s = _present(values)
    parts = s.str.extract(r"^(\d+):([0-5]?\d)(?::([0-5]?\d(?:[.,]\d+)?))?$")
    h = pd.to_numeric(parts[0], errors="coerce")
    m = pd.to_numeric(parts[1], errors="coerce")
    sec = pd.to_numeric(parts[2].str.replace(",", ".", regex=False), errors="coerce").fillna(0.0)
    out = (h * 3600 + m * 60 + sec).astype("float64")
    bad = s.notna() & out.isna()
    if bad.any():
        raise _bad(values, bad, file, column, "not a duration (use HH:MM or HH:MM:SS)")
    return out
