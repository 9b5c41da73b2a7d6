"""KoVicuna / ShareGPT conversations: {"id", "conversations": [{"from": "human"|"gpt"|"system", "value"}]}.

The human turn is the instruction and the gpt turn that answers it the response (the lab's notes
had these swapped). Each gpt turn becomes a record whose context carries the earlier turns
(`first_turn_only` keeps only the first exchange)."""

from __future__ import annotations

from llmsweep.data.sources import Options, Reject, blank, one_row

FORMAT = "dolly"
ROLES = {"human": "human", "user": "human", "gpt": "gpt", "chatgpt": "gpt", "assistant": "gpt", "system": "system"}
LABELS = {"system": "System", "human": "User", "gpt": "Assistant"}

rows = one_row


def _turns(conv) -> list[tuple[str, str]]:
    if not isinstance(conv, dict):
        raise Reject("not an object", type(conv).__name__)
    turns = conv.get("conversations")
    if not isinstance(turns, list) or not turns:
        raise Reject("no conversations list", f"'conversations' is {type(turns).__name__}")
    out = []
    for i, t in enumerate(turns):
        if not isinstance(t, dict) or not isinstance(t.get("value"), str):
            raise Reject("malformed turn", f"turn {i} has no string 'value'")
        role = ROLES.get(t.get("from"))
        if role is None:
            raise Reject("unknown role", f"turn {i} is from {t.get('from')!r}")
        if blank(t["value"]):
            raise Reject("empty turn", f"turn {i} ({t.get('from')}) is empty")
        out.append((role, t["value"]))
    return out


def convert(conv, opts: Options) -> list[dict]:
    turns = _turns(conv)
    history: list[str] = []
    while turns and turns[0][0] == "system":
        history.append(f"{LABELS['system']}: {turns.pop(0)[1]}")
    if not turns:
        raise Reject("no gpt turn")
    if turns[0][0] == "gpt":
        raise Reject("starts with gpt", "the first turn after system prompts is from gpt")
    records = []
    for i in range(0, len(turns), 2):
        human, gpt = turns[i], turns[i + 1] if i + 1 < len(turns) else None
        if human[0] != "human":
            raise Reject("roles out of order", f"turn {i} is {human[0]}, expected human")
        if gpt is None:
            break  # a last question nobody answered is not a record
        if gpt[0] != "gpt":
            raise Reject("roles out of order", f"turn {i + 1} is {gpt[0]}, expected gpt")
        context = "\n\n".join(history)
        records.append(
            {
                "instruction": human[1],
                "context": context,
                "response": gpt[1],
                "category": "general_qa" if context else "open_qa",
            }
        )
        if opts.first_turn_only:
            break
        history += [f"{LABELS['human']}: {human[1]}", f"{LABELS['gpt']}: {gpt[1]}"]
    if not records:
        raise Reject("no gpt turn")
    return records
