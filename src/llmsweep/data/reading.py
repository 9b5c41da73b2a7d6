"""Streaming readers for the sources' files: JSON Lines line by line, JSON documents item by item
(ijson, so a multi-GB array never sits in memory). Every unit carries where it came from."""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from llmsweep.errors import UserError

MAX_LINE = 16 << 20  # bytes of one array item the line-by-line fast path holds at most
JSON_SPACE = b" \t\r\n"  # JSON's whitespace (bytes.strip() would also take \f and \v)


@dataclass
class Unit:
    """One item read from a file: `value` is the parsed JSON, or None when `problem` says why not."""

    where: str
    value: Any = None
    problem: str | None = None  # short reason, counted in summaries
    detail: str = ""
    raw: str | None = None  # the undecodable text, for the rejects file


def is_jsonl(path: Path) -> bool:
    return path.suffix in (".jsonl", ".ndjson")


def read_jsonl(path: Path) -> Iterator[Unit]:
    with open(path, "rb") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"line {lineno}"
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as e:
                yield Unit(
                    where,
                    problem="invalid UTF-8",
                    detail=f"at byte {e.start} of the line",
                    raw=line.decode("utf-8", "replace"),
                )
                continue
            try:
                yield Unit(where, orjson.loads(text))
            except orjson.JSONDecodeError as e:
                yield Unit(where, problem="invalid JSON", detail=str(e), raw=text.rstrip("\n"))


def first_utf8_error(path: Path) -> int | None:
    """Byte offset of the first invalid UTF-8 sequence, or None."""
    dec = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            pending = len(dec.getstate()[0])  # bytes of a sequence split across chunks
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as e:
                return offset - pending + e.start
            offset += len(chunk)
    return None


def _json_error(path: Path, e: Exception, done: int) -> UserError:
    size = os.path.getsize(path)
    bad = first_utf8_error(path)
    if bad is not None:
        what = f"invalid UTF-8 at byte {bad}"
    elif "premature EOF" in str(e):
        what = f"truncated JSON: the file ends (byte {size}) inside item {done}"
    else:
        what = f"invalid JSON after item {done - 1}: {str(e).splitlines()[0]}"
    return UserError(
        f"{path}: {what}. The {done} complete items before it were converted. Fix or re-download the file and run again."
    )


def read_json_items(path: Path, prefix: str, label: str) -> Iterator[Unit]:
    """Items at `prefix` ('item' for a top-level array, 'data.item' for KorQuAD's documents).
    A syntax error or bad byte ends the file with a UserError after every complete item was yielded."""
    import ijson

    skip = 0
    if prefix == "item":
        skip = yield from _array_by_lines(path, label)
        if skip is None:
            return
    done = 0
    with open(path, "rb") as f:
        try:
            for value in ijson.items(f, prefix, use_float=True, buf_size=1 << 20):
                if done >= skip:  # the fast path yielded the items before `skip` already
                    yield Unit(f"{label}[{done}]", value)
                done += 1
        except (ijson.JSONError, UnicodeDecodeError) as e:
            raise _json_error(path, e, done) from None


def _array_by_lines(path: Path, label: str) -> Iterator[Unit]:
    """A top-level array written one item per line ("[", then `item,` lines, then "]": how JSON Lines-like dumps
    look) parsed line by line with orjson, about twice as fast as ijson. Returns None when it read the whole
    array, else the number of items it yielded before the layout (or the JSON) stopped fitting: ijson takes
    over from there, so other layouts, syntax errors and bad bytes are read and reported as before."""
    done, comma = 0, True
    with open(path, "rb", buffering=1 << 20) as f:  # 3x faster readline() than the default 8 KiB
        first = b""
        while not first and (line := f.readline(64)):
            first = line.strip(JSON_SPACE)
        if first != b"[":
            return 0
        while line := f.readline(MAX_LINE):
            if not line.endswith(b"\n") and len(line) == MAX_LINE:
                return done  # a very long line: not this layout, and no reason to hold it in memory
            item = line.strip(JSON_SPACE)
            if not item:
                continue
            if item == b"]":
                if comma and done:  # a trailing comma
                    return done
                while rest := f.read(1 << 16):
                    if rest.strip(JSON_SPACE):  # more after the array
                        return done
                return None
            if not comma:
                return done  # two items without a comma between them
            comma = item.endswith(b",")
            try:
                value = orjson.loads(item[:-1] if comma else item)
            except orjson.JSONDecodeError:
                return done
            yield Unit(f"{label}[{done}]", value)
            done += 1
    return done  # no closing bracket: ijson reports the truncation


def top_level(path: Path) -> str:
    """'[' or '{': the first non-blank character of a JSON document."""
    with open(path, "rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise UserError(f"{path}: empty file")
    return chr(head[0])
