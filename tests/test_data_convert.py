"""Converters on real-layout fixtures: exact records, rejects with reasons, and the accounting identity."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO, read_jsonl
from llmsweep.data.prepare import prepare
from llmsweep.data.sources import Options

FIX = REPO / "tests" / "fixtures" / "data"
KORQUAD1_SEED_CONTEXT = (
    "재팬 오픈에서 4회 우승하였으며, 통산 단식 200승 이상을 거두었다. 1994년 생애 최초로 세계 랭킹 10위권에 진입하였다. "
    "1992년에는 WTA로부터 '올해 가장 많은 향상을 보여준 선수상'(Most Improved Player Of The Year)을 수여받았으며, "
    "일본 남자 패션 협회(Japan Men's Fashion Association)는 그녀를 '가장 패셔너블한 선수'(Most Fashionable)로 칭했다. "
    "생애 두 번째 올림픽 참가 직후인 1996년 9월 24일 최초로 은퇴를 선언하였다. 이후 12년만인 2008년 4월에 예상치 못한 복귀 선언을 하고 "
    "투어에 되돌아왔다. 2008년 6월 15일 도쿄 아리아케 인터내셔널 여자 오픈에서 복귀 후 첫 우승을 기록했으며, 2009년 9월 27일에는 "
    "한국에서 열린 한솔 코리아 오픈 대회에서 우승하면서 복귀 후 첫 WTA 투어급 대회 우승을 기록했다. 한숨 좀 작작 쉬어!"
)


def run(source: str, *inputs: Path | str, tmp_path: Path, **opts) -> tuple[dict, list[dict], list[dict]]:
    out = tmp_path / f"{source}.jsonl"
    summary = prepare(source, [str(i) for i in inputs], out, Options(**opts), workers=2)
    records = read_jsonl(out)
    rejects = read_jsonl(out.with_name(out.name + ".rejects.jsonl"))
    # nothing is lost: every row read is an output row or a reject, and the files say so
    assert summary["rows_in"] == summary["rows_out"] + summary["rows_rejected"]
    assert len(rejects) == summary["rows_rejected"] == sum(summary["rejected_by_reason"].values())
    assert len(records) == summary["records_written"] == summary["records_converted"] - summary["duplicates_dropped"]
    assert all(r["source"] and r["where"] and r["reason"] for r in rejects)
    on_disk = json.loads(out.with_name(out.name + ".summary.json").read_text(encoding="utf-8"))
    assert on_disk["rows_in"] == summary["rows_in"] and on_disk["rejected_by_reason"] == summary["rejected_by_reason"]
    return summary, records, rejects


def reasons(rejects: list[dict]) -> dict[str, str]:
    return {r["where"]: r["reason"] for r in rejects}


def test_kovicuna_human_turn_is_instruction_gpt_turn_is_response(tmp_path):
    convs = {c["id"]: c for c in json.loads((FIX / "kovicuna.json").read_text(encoding="utf-8"))}
    summary, records, rejects = run("kovicuna", FIX / "kovicuna.json", tmp_path=tmp_path)
    seed = convs["QWJhYvA_0"]["conversations"]
    assert records[0] == {
        "instruction": seed[0]["value"],
        "context": "",
        "response": seed[1]["value"],
        "category": "open_qa",
    }
    assert records[0]["instruction"].startswith("고객을 위해 이러한 전략과 전술을 구현하는")
    assert records[0]["response"].startswith("다음은 성장 마케팅 대행사가") and "\r\n" in records[0]["response"]

    h1, g1, h2, g2 = (t["value"] for t in convs["mT4kZr2_0"]["conversations"])
    assert records[1] == {"instruction": h1, "context": "", "response": g1, "category": "open_qa"}
    assert records[2] == {
        "instruction": h2,
        "context": f"User: {h1}\n\nAssistant: {g1}",
        "response": g2,
        "category": "general_qa",
    }
    system, h, g = (t["value"] for t in convs["sYs9pQe_0"]["conversations"])
    assert records[3] == {"instruction": h, "context": f"System: {system}", "response": g, "category": "general_qa"}

    assert summary["rows_in"] == 12 and summary["rows_out"] == 5 and summary["duplicates_dropped"] == 1
    assert reasons(rejects) == {
        "record[5]": "starts with gpt",
        "record[6]": "empty turn",
        "record[7]": "empty turn",
        "record[8]": "unknown role",
        "record[9]": "no conversations list",
        "record[10]": "no conversations list",
        "record[11]": "roles out of order",
    }
    assert rejects[0]["row"]["id"] == "bad_gpt_first_0", "the rejected row is kept whole"


def test_kovicuna_first_turn_only(tmp_path):
    _, records, _ = run("kovicuna", FIX / "kovicuna.json", tmp_path=tmp_path, first_turn_only=True)
    assert not any(r["context"].startswith("User:") for r in records)
    assert len(records) == 4


def test_jsonl_bad_lines_are_rejected_and_the_rest_converted(tmp_path):
    summary, records, rejects = run("kovicuna", FIX / "kovicuna.jsonl", tmp_path=tmp_path)
    by_reason = {r["reason"]: r for r in rejects}
    assert set(by_reason) == {"invalid JSON", "invalid UTF-8", "not an object"}
    assert by_reason["invalid UTF-8"]["where"].startswith("line ") and "byte" in by_reason["invalid UTF-8"]["detail"]
    assert by_reason["invalid JSON"]["row"].startswith('{"id"'), "the unparsable text is kept"
    assert summary["rows_out"] == 4 and len(records) == 5


def test_alpaca_maps_input_to_context_and_rejects_bad_types(tmp_path):
    summary, records, rejects = run("alpaca", FIX / "alpaca.json", FIX / "alpaca.jsonl", tmp_path=tmp_path)
    assert records[0]["instruction"] == "다음 국가와 관련된 역사적 사건 3가지를 나열하십시오."
    assert records[0]["context"] == "캐나다" and records[0]["category"] == "general_qa"
    assert records[0]["response"].startswith("치푸아츠(Fort Chippewyan)는 캐나다 알버타주의")
    assert all(r["category"] == "open_qa" for r in records if not r["context"])
    assert sorted(r["reason"] for r in rejects) == ["empty output", "missing output", "not a string"]
    assert summary["rows_in"] == 10


def test_korquad1_squad_and_flattened_layouts(tmp_path):
    summary, records, rejects = run("korquad1", FIX / "korquad1.json", FIX / "korquad1_flat.jsonl", tmp_path=tmp_path)
    seed = {
        "instruction": "다테 기미코가 최초로 은퇴 선언을 한게 언제지",
        "context": KORQUAD1_SEED_CONTEXT,
        "response": "1996년 9월 24일",
        "category": "closed_qa",
    }
    assert records[0] == seed
    assert all(r["category"] == "closed_qa" and r["response"] in r["context"] for r in records)
    assert sorted(r["reason"] for r in rejects) == ["answer not in context", "empty answer", "empty question"]
    assert all(re.fullmatch(r"data\[\d+\]\.paragraphs\[\d+\]\.qas\[\d+\]", r["where"]) for r in rejects)
    assert summary["duplicates_dropped"] == 1, "the seed paragraph appears in both layouts"


def test_korquad2_html_becomes_readable_text_with_the_answer_inside(tmp_path):
    summary, records, rejects = run("korquad2", FIX / "korquad2", tmp_path=tmp_path)
    by_q = {r["instruction"]: r for r in records}
    for r in records:
        assert not re.search(r"</?[a-z][a-z0-9]*[ >/]", r["context"]), "no HTML tags left"
        assert "[편집]" not in r["context"]
        assert r["response"] in r["context"] and r["category"] == "closed_qa"
    director = by_q["드라마 예고범의 감독은 누구일까?"]
    assert director["response"] == "나카무라 요시히로, 히라바야시 카츠토시, 사와다 메구미"
    assert "감독 | 나카무라 요시히로, 히라바야시 카츠토시, 사와다 메구미" in director["context"], (
        "table rows stay readable"
    )
    opened = by_q["가람대교가 개통된 해는?"]
    assert opened["response"] == "1998년", "an HTML answer fragment becomes its text"
    assert "개통 | 1998년" in opened["context"]
    assert [(r["reason"], r["detail"]) for r in rejects] == [("answer lost in HTML to text", "박서진")]
    assert rejects[0]["row"]["title"] == "가람대교" and "context" not in rejects[0]["row"]
    assert any(r["instruction"].startswith("솔뫼 천문대") for r in records), (
        "the seed layout (data is one dict) is read too"
    )
    assert summary["rows_in"] == 7


def test_korquad2_long_pages_are_windowed_around_the_answer(tmp_path):
    _, full, _ = run("korquad2", FIX / "korquad2", tmp_path=tmp_path / "a")
    _, windowed, _ = run("korquad2", FIX / "korquad2", tmp_path=tmp_path / "b", max_context_chars=300)
    assert len(full) == len(windowed)
    assert max(len(r["context"]) for r in full) > 600
    for w in windowed:
        assert len(w["context"]) <= 300 and w["response"] in w["context"]


def test_preference_pairs_from_ultrafeedback_and_judged_answers(tmp_path):
    rows = read_jsonl(FIX / "ultrafeedback.jsonl")
    _, uf, uf_rej = run("ultrafeedback", FIX / "ultrafeedback.jsonl", tmp_path=tmp_path / "uf")
    assert uf[0] == {
        "prompt": rows[0]["prompt"],
        "chosen": rows[0]["chosen"][-1]["content"],
        "rejected": rows[0]["rejected"][-1]["content"],
    }
    assert sorted(r["reason"] for r in uf_rej) == ["no assistant turn", "tie"]

    judged = read_jsonl(FIX / "judged.jsonl")
    _, pairs, j_rej = run("judged", FIX / "judged.jsonl", tmp_path=tmp_path / "j")
    for row, pair in zip([r for r in judged if r["prompt"] in {p["prompt"] for p in pairs}], pairs):
        best = max(row["answers"], key=lambda a: a["score"])
        worst = min(row["answers"], key=lambda a: a["score"])
        assert pair == {"prompt": row["prompt"], "chosen": best["text"], "rejected": worst["text"]}
    assert sorted(r["reason"] for r in j_rej) == ["missing score", "tie"]

    _, conv, _ = run("judged", FIX / "judged.jsonl", tmp_path=tmp_path / "c", conversational=True)
    assert conv[0]["prompt"] == [{"role": "user", "content": pairs[0]["prompt"]}]
    assert conv[0]["chosen"] == [{"role": "assistant", "content": pairs[0]["chosen"]}]


@pytest.mark.parametrize(
    "name,what", [("truncated.json", "truncated JSON"), ("non_utf8.json", "invalid UTF-8 at byte")]
)
def test_broken_json_documents_keep_the_rows_before_the_break(tmp_path, name, what):
    out = tmp_path / "out.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "llmsweep.data", "prepare", "alpaca", str(FIX / name), "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert f"{FIX / name}: {what}" in proc.stderr
    summary = json.loads(out.with_name("out.jsonl.summary.json").read_text(encoding="utf-8"))
    good = summary["rows_in"]
    assert good >= 2 and len(read_jsonl(out)) == good, "every complete row before the break was converted"
    assert summary["errors"] and what in summary["errors"][0]
    assert "rows in" in proc.stdout


def test_unknown_source_lists_the_known_ones(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmsweep.data",
            "prepare",
            "sharegpt4",
            str(FIX / "alpaca.json"),
            "--out",
            str(tmp_path / "o.jsonl"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "kovicuna" in proc.stderr and "korquad2" in proc.stderr


def write_chars() -> int:
    """Bytes this process and its reaped children passed to write() so far (Linux /proc accounting)."""
    return int(next(line for line in open("/proc/self/io") if line.startswith("wchar:")).split()[1])


def test_a_shard_directory_holds_the_same_records_as_one_file_each_written_once(tmp_path):
    """--out DIR: one shard per input file in input order, cross-file duplicates dropped as in one file, and the
    records' bytes written once (the part files are renamed into place, not copied)."""
    inputs = [FIX / "korquad1.json", FIX / "korquad1_flat.jsonl"]  # the seed paragraph is in both
    one = prepare("korquad1", [str(p) for p in inputs], tmp_path / "one.jsonl", workers=2)
    shards = prepare("korquad1", [str(p) for p in inputs], tmp_path / "kq1", workers=2)
    names = sorted(p.name for p in (tmp_path / "kq1").iterdir())
    assert names == shards["shards"] == ["00000-korquad1.jsonl", "00001-korquad1_flat.jsonl"]
    rows = [r for n in names for r in read_jsonl(tmp_path / "kq1" / n)]
    assert rows == read_jsonl(tmp_path / "one.jsonl") and len(rows) == shards["records_written"]
    assert shards["duplicates_dropped"] == one["duplicates_dropped"] == 1
    assert shards["rows_in"] == shards["rows_out"] + shards["rows_rejected"] == one["rows_in"]
    assert len(read_jsonl(tmp_path / "kq1.rejects.jsonl")) == shards["rows_rejected"]


def test_many_input_files_are_written_once_into_shards(tmp_path):
    """Without duplicates across files, the bytes written are the shards' bytes (plus the summary and what the
    worker processes send back: a digest per record); the part files used to be copied once more."""
    src = tmp_path / "raw"
    src.mkdir()
    for i in range(4):
        rows = [
            {"instruction": f"질문 {i}-{k} " + "가" * 300, "input": "", "output": f"답 {i}-{k}"} for k in range(2000)
        ]
        (src / f"part{i}.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    before = write_chars()
    s = prepare("alpaca", [str(src)], tmp_path / "alpaca", workers=2)
    written = write_chars() - before
    shards = sorted((tmp_path / "alpaca").iterdir())
    assert [p.name for p in shards] == [f"0000{i}-part{i}.json".replace(".json", ".jsonl") for i in range(4)]
    assert s["records_written"] == 8000 and s["rows_in"] == s["rows_out"] + s["rows_rejected"]
    out_bytes = sum(p.stat().st_size for p in shards)
    assert out_bytes > 7_000_000 and out_bytes <= written <= 1.1 * out_bytes, (written, out_bytes)
    # a second run replaces the earlier shards; a directory holding anything else is refused
    prepare("alpaca", [str(src / "part0.json")], tmp_path / "alpaca", workers=1)
    assert [p.name for p in (tmp_path / "alpaca").iterdir()] == ["00000-part0.jsonl"]
    (tmp_path / "alpaca" / "notes.txt").write_text("mine")
    from llmsweep.errors import UserError

    with pytest.raises(UserError, match=r"alpaca: the directory holds files prepare did not write \(notes.txt\)"):
        prepare("alpaca", [str(src)], tmp_path / "alpaca", workers=1)


def _read_all(path: Path) -> tuple[list, str | None]:
    """(units as (where, value), the UserError's text or None) of a top-level array file."""
    from llmsweep.data.reading import read_json_items
    from llmsweep.errors import UserError

    got = []
    try:
        for u in read_json_items(path, "item", "record"):
            got.append((u.where, u.value))
    except UserError as e:
        return got, str(e)
    return got, None


ITEMS = [{"instruction": "질문 1", "input": "", "output": "답\n"}, {"n": 1.5, "m": [1, None, True]}, "문자열", 7]


@pytest.mark.parametrize(
    "layout,fast",
    [
        ("[\n" + ",\n".join(json.dumps(i, ensure_ascii=False) for i in ITEMS) + "\n]\n", True),
        ("\n[\r\n" + ",\r\n".join(json.dumps(i) for i in ITEMS) + "\r\n]", True),
        ("[\n]\n", True),
        (json.dumps(ITEMS, ensure_ascii=False, indent=2), False),
        (json.dumps(ITEMS, ensure_ascii=False), False),
        ("[\n" + "\n".join(json.dumps(i) for i in ITEMS) + "\n]\n", False),  # commas missing
        ("[\n" + ",\n".join(json.dumps(i) for i in ITEMS) + ",\n]\n", False),  # a trailing comma
        ("[\n" + ",\n".join(json.dumps(i) for i in ITEMS) + "\n]\n{}", False),  # more after the array
        ("[\n" + ",\n".join(json.dumps(i) for i in ITEMS[:2]) + ",\n", False),  # truncated
        ("[\n" + ",\n".join(json.dumps(i) for i in ITEMS[:2]) + ',\n{"a": 1', False),  # truncated inside an item
        ("[\n" + json.dumps(ITEMS[0]) + ",\f\n" + json.dumps(ITEMS[1]) + "\n]", False),  # \f is not JSON space
        ("[\n" + json.dumps(ITEMS[0]) + ', {"b": 2},\n' + json.dumps(ITEMS[1]) + "\n]", False),
    ],
)
def test_arrays_one_item_per_line_read_fast_and_exactly_like_ijson(tmp_path, layout, fast):
    """The line-by-line fast path yields what ijson yields, and where the layout or the JSON stops fitting it hands
    over to ijson without losing or repeating an item: same units, same error."""
    import ijson

    from llmsweep.data.reading import _array_by_lines

    path = tmp_path / "a.json"
    path.write_text(layout, encoding="utf-8")
    got, error = _read_all(path)
    with open(path, "rb") as f:
        expected, ijson_error = [], None
        try:
            for v in ijson.items(f, "item", use_float=True):
                expected.append((f"record[{len(expected)}]", v))
        except ijson.JSONError as e:
            ijson_error = e
    assert got == expected
    assert (error is None) == (ijson_error is None), (error, ijson_error)
    gen = _array_by_lines(path, "record")
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            assert (stop.value is None) == fast, stop.value  # None: the fast path read the whole array
            break


def test_a_bad_byte_in_an_array_line_is_reported_at_its_offset(tmp_path):
    path = tmp_path / "a.json"
    good = "[\n" + json.dumps(ITEMS[0], ensure_ascii=False) + ",\n"
    path.write_bytes(good.encode() + b'{"x": "\xff"},\n7\n]\n')
    got, error = _read_all(path)
    assert [v for _, v in got] == [ITEMS[0]]
    assert error and f"invalid UTF-8 at byte {len(good.encode()) + 7}" in error
