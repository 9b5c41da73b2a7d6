"""Answers of several models to one prompt, each scored by a judge:
{"prompt", "answers": [{"model", "text", "score"}, ...]} -> chosen = best-scored answer,
rejected = worst-scored; ties (best == worst) carry no preference and are dropped."""

from __future__ import annotations

from llmsweep.data.sources import Options, Reject, blank, obj, one_row, text_field

FORMAT = "prefs"
rows = one_row


def pair(prompt: str, chosen: str, rejected: str, opts: Options) -> dict:
    if blank(chosen) or blank(rejected):
        raise Reject("empty answer")
    if chosen == rejected:
        raise Reject("identical answers")
    if opts.conversational:
        return {
            "prompt": [{"role": "user", "content": prompt}],
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}],
        }
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}


def convert(row, opts: Options) -> list[dict]:
    prompt = text_field(obj(row), "prompt")
    answers = row.get("answers")
    if not isinstance(answers, list) or len(answers) < 2:
        raise Reject("fewer than two answers")
    scored = []
    for i, a in enumerate(answers):
        if not isinstance(a, dict) or not isinstance(a.get("text"), str):
            raise Reject("malformed answer", f"answers[{i}] has no string 'text'")
        if not isinstance(a.get("score"), (int, float)) or isinstance(a.get("score"), bool):
            raise Reject("missing score", f"answers[{i}] score is {a.get('score')!r}")
        scored.append((a["score"], i, a["text"]))
    best = max(scored, key=lambda s: (s[0], -s[1]))
    worst = min(scored, key=lambda s: (s[0], s[1]))
    if best[0] == worst[0]:
        raise Reject("tie", f"all answers scored {best[0]}")
    return [pair(prompt, best[2], worst[2], opts)]
