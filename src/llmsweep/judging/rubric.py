"""Single-answer grading on a 1–5 rubric (Korean and English) and the strict `Rating: [[N]]` parser.

The prompt follows MT-Bench's single-answer grading: the judge sees the instruction (with its context),
optionally a reference answer, and the answer; it explains briefly and must end with `Rating: [[N]]`.
"""

from __future__ import annotations

import re

RUBRIC_VERSION = "1"  # part of every cache key: changing the wording below must bump it

SYSTEM = {
    "en": (
        "You are an impartial judge. Rate the quality of the assistant's answer to the user's instruction on a "
        "1 to 5 scale:\n"
        "1 = wrong, irrelevant or not an answer; 2 = mostly wrong or unhelpful; 3 = partly correct or incomplete; "
        "4 = correct and helpful with small flaws; 5 = correct, complete, helpful and fluent.\n"
        "{reference_note}Explain your judgement in at most three sentences, then end your reply with the rating in "
        "exactly this form on its own line: Rating: [[N]]"
    ),
    "ko": (
        "당신은 공정한 평가자입니다. 사용자의 지시에 대한 어시스턴트 답변의 품질을 1~5점으로 평가하세요:\n"
        "1 = 틀렸거나 무관하거나 답변이 아님; 2 = 대부분 틀렸거나 도움이 되지 않음; 3 = 부분적으로 맞거나 불완전함; "
        "4 = 맞고 도움이 되지만 작은 결함이 있음; 5 = 정확하고 완전하며 도움이 되고 자연스러움.\n"
        "{reference_note}판단 근거를 세 문장 이내로 설명한 뒤, 답변의 마지막 줄에 정확히 다음 형식으로 점수를 쓰세요: "
        "Rating: [[N]]"
    ),
}
REFERENCE_NOTE = {
    "en": "A reference answer is given; use it to check correctness, but do not require the same wording.\n",
    "ko": "참고 답변이 주어집니다. 정확성을 확인하는 데 사용하되, 같은 표현을 요구하지는 마세요.\n",
}
USER = {
    "en": "[Instruction]\n{prompt}\n\n{reference_block}[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]",
    "ko": "[지시]\n{prompt}\n\n{reference_block}[어시스턴트 답변 시작]\n{answer}\n[어시스턴트 답변 끝]",
}
REFERENCE_BLOCK = {
    "en": "[The Start of Reference Answer]\n{reference}\n[The End of Reference Answer]\n\n",
    "ko": "[참고 답변 시작]\n{reference}\n[참고 답변 끝]\n\n",
}


def grading_messages(prompt: str, answer: str, reference: str | None, language: str) -> list[dict]:
    """Chat messages asking for one 1–5 rating. `reference` None leaves the reference out."""
    with_ref = bool(reference)
    system = SYSTEM[language].format(reference_note=REFERENCE_NOTE[language] if with_ref else "")
    block = REFERENCE_BLOCK[language].format(reference=reference) if with_ref else ""
    user = USER[language].format(prompt=prompt, reference_block=block, answer=answer)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


_STRICT = re.compile(r"Rating:\s*\[\[([1-5])\]\]\s*\Z")
_ANY = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")


def parse_rating(text: str) -> tuple[int | None, str]:
    """(score, how) from a judge's reply.

    Strict: the reply ends with `Rating: [[N]]`, N in 1..5 -> (N, "strict").
    Fallback (as MT-Bench's own parser): the last `[[N]]` anywhere in the reply, if N is an integer in
    1..5 -> (N, "fallback"). Anything else -> (None, reason): the judgment is missing, never a made-up score.
    """
    m = _STRICT.search(text or "")
    if m:
        return int(m.group(1)), "strict"
    found = _ANY.findall(text or "")
    if not found:
        return None, "unparsable: no 'Rating: [[N]]' in the judge's reply"
    last = found[-1]
    if last.isdigit() and 1 <= int(last) <= 5:
        return int(last), "fallback"
    return None, f"unparsable: rating [[{last}]] is not an integer from 1 to 5"
