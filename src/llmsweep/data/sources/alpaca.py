"""Alpaca: {"instruction", "input", "output"} -> instruction, context = input, response = output.

With an input the record is general_qa (Alpaca inputs are subjects and arguments more often than
reference passages); without one it is open_qa."""

from __future__ import annotations

from llmsweep.data.sources import Options, Reject, blank, one_row

FORMAT = "dolly"
rows = one_row


def convert(row, opts: Options) -> list[dict]:
    if not isinstance(row, dict):
        raise Reject("not an object", type(row).__name__)
    for key in ("instruction", "output"):
        if key not in row:
            raise Reject(f"missing {key}")
        if not isinstance(row[key], str):
            raise Reject("not a string", f"'{key}' is {type(row[key]).__name__}")
        if blank(row[key]):
            raise Reject(f"empty {key}")
    context = row.get("input") or ""
    if not isinstance(context, str):
        raise Reject("not a string", f"'input' is {type(context).__name__}")
    return [
        {
            "instruction": row["instruction"],
            "context": context,
            "response": row["output"],
            "category": "open_qa" if blank(context) else "general_qa",
        }
    ]
