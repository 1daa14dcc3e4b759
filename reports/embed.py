"""The results the report's script reads, embedded once in the page, small.

Format (the page's script in templates/report.html.j2 reads it; `unpack` and `rows` read it back in Python):

- a table of columns, one per field of a result row, each a list with one value per row. A column whose values repeat
  (fewer distinct values than half the rows: statuses, cases, messages, an export's log shared by every runtime and run
  shape) is dictionary-encoded, ``{"values": [each distinct value once], "codes": [index into values, per row]}``; a column
  of mostly distinct values (the repro command, an error) stays a plain list. A value may be a string, a number, null,
  or a list (an output's statistics, a row's detail lines), compared by its JSON;
- ``{"count": rows, "columns": {name: column}, **constants}`` as strict JSON (UTF-8, no NaN),
- compressed with gzip (mtime 0, so the same results give the same page), then base64: the text inside the page, which
  the browser decodes with ``atob`` and ``DecompressionStream("gzip")``. Base64 holds no character HTML escapes.
"""
from __future__ import annotations

import base64
import gzip
import json

ENCODING = "json+gzip+base64"  # written on the page's data element, so a reader can tell what it holds


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False)


def column(values: list) -> list | dict:
    """One column: dictionary-encoded where its values repeat, a plain list otherwise."""
    codes, index = [], {}
    for value in values:
        codes.append(index.setdefault(_json(value), len(index)))
    if len(index) * 2 > len(values):
        return list(values)
    distinct = [None] * len(index)
    for value, code in zip(values, codes):
        distinct[code] = value
    return {"values": distinct, "codes": codes}


def table(rows: list[dict], fields: list[str]) -> dict:
    """Rows (dicts with the same fields) as columns."""
    return {"count": len(rows), "columns": {field: column([row[field] for row in rows]) for field in fields}}


def pack(data: dict) -> str:
    """JSON, gzip, base64: the text the page embeds."""
    return base64.b64encode(gzip.compress(_json(data).encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")


def unpack(text: str) -> dict:
    return json.loads(gzip.decompress(base64.b64decode(text)).decode("utf-8"))


def rows(data: dict) -> list[dict]:
    """The rows of an unpacked table, as they were given to `table`."""
    columns = {name: col if isinstance(col, list) else [col["values"][code] for code in col["codes"]]
               for name, col in data["columns"].items()}
    return [{name: values[i] for name, values in columns.items()} for i in range(data["count"])]
