"""Seeded generator of a full-size synthetic Korean corpus in the four sources' real published layouts.

It stands in for the real KoVicuna/ShareGPT, KoAlpaca, KorQuAD 1.0 and KorQuAD 2.0 downloads when benchmarking the
converters to Dolly records. Every row is valid and every generated text is unique, so at scale 1.0 the converters
must produce exactly 923,590 records (765,407 KoVicuna gpt turns + 52,002 Alpaca rows + 66,181 KorQuAD 1.0 qas +
40,000 KorQuAD 2.0 qas). All names, places, numbers and events are invented. Stdlib only, deterministic for a seed.

    python bench/make_corpus.py OUT_DIR [--seed 0] [--scale 1.0]

Layout written under OUT_DIR:

    kovicuna/ko_sharegpt_00.json .. _03.json       JSON arrays of {"id", "conversations": [{"from", "value"}]}
    alpaca/ko_alpaca_data.json                     JSON array of {"instruction", "input", "output"}
    korquad1/KorQuAD_v1.0_train.json, _dev.json    SQuAD layout {"version", "data": [{"title", "paragraphs"}]}
    korquad2/korquad2.1_train_00.json .. _07.json  {"version", "data": [{"title", "url", "context", "raw_html", "qas"}]}
    expected.json                                  input rows and expected output records per source
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from bisect import bisect_right
from pathlib import Path

# ------------------------------------------------------------------------------------------------ sizes at scale 1.0
KOVICUNA_GPT_TURNS = 765_407
ALPACA_ROWS = 52_002
KQ1_TRAIN_QAS = 60_407  # the real KorQuAD 1.0 split: 60,407 train + 5,774 dev = 66,181
KQ1_DEV_QAS = 5_774
KQ2_DOCS = 10_000
KQ2_QAS_PER_DOC = 4
FULL_TOTAL = 923_590
assert KOVICUNA_GPT_TURNS + ALPACA_ROWS + KQ1_TRAIN_QAS + KQ1_DEV_QAS + KQ2_DOCS * KQ2_QAS_PER_DOC == FULL_TOTAL

KOVICUNA_FILES = 4
KQ2_FILES = 8
BATCH = 4096  # rows per write() in the streamed array writers

# ------------------------------------------------------------------------------------------------ Korean helpers
_DIGIT_BATCHIM = set("013678")  # 영 일 삼 육 칠 팔


def _batchim(word: str) -> int:
    """0 = no final consonant, 8 = ㄹ, other = some final consonant."""
    c = word.rstrip("'\"》」』) ")[-1]
    code = ord(c) - 0xAC00
    if 0 <= code < 11172:
        return code % 28
    if c in _DIGIT_BATCHIM:
        return 8 if c in "178" else 1
    return 0


def j(word: str, pair: str) -> str:
    """word + the particle that fits it: j(w, '은/는'), '이/가', '을/를', '과/와', '으로/로'."""
    a, b = pair.split("/")
    f = _batchim(word)
    if pair == "으로/로":
        return word + (a if f and f != 8 else b)
    return word + (a if f else b)


SYLLABLES = list("가람솔뫼달내별누리온새한결미루들봄여름빛찬슬아라다하나보윤서진도담채은율세린소유이현지호연수아예준")
SYLLABLES = list(dict.fromkeys(SYLLABLES))  # unique, order kept
SURNAMES = list("김이박최정강조윤장임한오서신권황안송류홍")


class Namer:
    """Invented names that never repeat: the k-th name is k scrambled (a bijection) and written as 3 syllables,
    or 4 once the 3-syllable space is used up; the syllable alphabet is shuffled per seed."""

    def __init__(self, rng: random.Random):
        self.syl = SYLLABLES[:]
        rng.shuffle(self.syl)
        self.n = 0

    def __call__(self) -> str:
        base, n, width = len(self.syl), self.n, 3
        self.n += 1
        while n >= base**width:
            n -= base**width
            width += 1
        space = base**width
        m = (n * 7_919 + 104_729) % space  # both primes, coprime with base: a bijection of [0, space)
        out = []
        for _ in range(width):
            m, r = divmod(m, base)
            out.append(self.syl[r])
        return "".join(out)


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(SYLLABLES) + rng.choice(SYLLABLES)


# ------------------------------------------------------------------------------------------------ text pools
TOPICS = [
    "마케팅 전략",
    "고객 관리",
    "데이터 분석",
    "프로젝트 관리",
    "시간 관리",
    "건강한 식습관",
    "규칙적인 운동",
    "재무 계획",
    "소프트웨어 개발",
    "코드 리뷰",
    "팀 커뮤니케이션",
    "외국어 공부",
    "글쓰기",
    "발표 준비",
    "여행 계획",
    "환경 보호",
    "에너지 절약",
    "온라인 교육",
    "창업 준비",
    "브랜드 관리",
    "콘텐츠 제작",
    "소셜 미디어 운영",
    "제품 디자인",
    "사용자 경험",
    "정보 보안",
    "클라우드 서비스",
    "인공지능 활용",
    "업무 자동화",
    "면접 준비",
    "독서 습관",
    "스트레스 관리",
    "수면 관리",
    "가계부 작성",
    "투자 공부",
    "집밥 요리",
    "정리 정돈",
    "반려동물 돌봄",
    "자녀 교육",
    "봉사 활동",
    "취미 생활",
]
CHAT_SENTENCES = [
    "{t:은/는} 장기적인 관점에서 꾸준히 실천하는 것이 중요합니다.",
    "{t:을/를} 시작할 때는 먼저 현재 상황을 정확히 파악해야 합니다.",
    "많은 사람들이 {t}에서 가장 어려워하는 부분은 목표를 구체적으로 정하는 것입니다.",
    "{t}에 필요한 자원과 시간을 미리 계산해 두면 불필요한 시행착오를 줄일 수 있습니다.",
    "작은 목표부터 하나씩 달성해 나가면 {t}에 대한 자신감도 자연스럽게 커집니다.",
    "{t:과/와} 관련된 자료를 정리할 때는 날짜와 출처를 함께 기록해 두세요.",
    "전문가들은 {t}에서 피드백을 자주 받는 것이 성과를 높이는 지름길이라고 말합니다.",
    "{t}의 결과를 주기적으로 점검하고 필요하면 계획을 수정하세요.",
    "처음부터 완벽하게 하려고 하기보다는 {t}의 기본 원칙을 익히는 데 집중하는 것이 좋습니다.",
    "{t:은/는} 혼자 하기보다 함께하는 사람이 있을 때 더 오래 지속되는 경향이 있습니다.",
    "예를 들어 {t}에 하루 30분씩 투자하면 한 달 뒤에는 눈에 띄는 변화를 느낄 수 있습니다.",
    "{t}에서 자주 하는 실수 중 하나는 지나치게 많은 일을 한꺼번에 하려는 것입니다.",
    "적절한 도구를 활용하면 {t}에 드는 시간을 크게 줄일 수 있습니다.",
    "{t}의 우선순위를 정할 때는 중요도와 긴급도를 함께 고려해야 합니다.",
    "결국 {t}의 핵심은 꾸준함과 점검, 그리고 개선의 반복입니다.",
    "{t}에 관해 더 알고 싶다면 관련 서적이나 온라인 강의를 참고해 보세요.",
    "상황에 따라 {t}의 방법은 달라질 수 있으므로 자신에게 맞는 방식을 찾는 것이 중요합니다.",
    "{t:을/를} 통해 얻은 경험은 다른 분야에서도 유용하게 활용될 수 있습니다.",
    "무엇보다 {t}에서는 명확한 기준을 세우고 그 기준에 따라 판단하는 습관이 필요합니다.",
    "{t:과/와} 관련하여 주변 사람들의 의견을 들어 보는 것도 좋은 방법입니다.",
    "{t}의 성과는 숫자로 측정할 수 있을 때 훨씬 관리하기 쉬워집니다.",
    "바쁜 일정 속에서도 {t:을/를} 위한 시간을 따로 확보해 두는 것이 좋습니다.",
    "{t}에 들인 노력은 당장 드러나지 않더라도 시간이 지나면 분명한 결과로 돌아옵니다.",
    "마지막으로, {t}에서 얻은 교훈을 기록해 두면 다음 계획을 세울 때 큰 도움이 됩니다.",
]
ENCYC_NOUNS = [
    "문화",
    "산업",
    "교육",
    "관광",
    "농업",
    "교통",
    "예술",
    "체육",
    "과학",
    "출판",
    "음악",
    "의료",
    "복지",
    "건축",
    "언론",
    "무역",
    "환경",
    "수산업",
    "제조업",
    "정보 통신",
]
ENCYC_SENTENCES = [
    "이후 여러 차례의 개편을 거쳐 지금과 같은 모습을 갖추게 되었다.",
    "지역 {n} 분야의 성장과 함께 그 역할도 점차 커졌다.",
    "당시 언론은 이를 두고 지역 {n}의 새로운 전환점이라고 평가하였다.",
    "1970년대 이후에는 {n} 관련 행사가 자주 열리면서 찾는 사람이 크게 늘었다.",
    "초기에는 재정난을 겪기도 하였으나 주민들의 지원에 힘입어 운영을 이어 갈 수 있었다.",
    "{n} 분야의 전문 인력을 길러 내는 일에도 힘을 기울였다.",
    "한때 운영이 중단될 위기에 놓이기도 했지만 이듬해 다시 문을 열었다.",
    "오늘날에는 지역을 대표하는 {n} 시설 가운데 하나로 꼽힌다.",
    "건물의 일부는 근대 {n}의 흔적을 보여 주는 자료로서 보존되고 있다.",
    "해마다 봄과 가을에는 {n:과/와} 관련된 공개 강좌와 전시가 열린다.",
    "인근 지역과의 교류가 늘어나면서 {n} 분야의 협력 사업도 활발해졌다.",
    "설립 초기의 기록은 대부분 화재로 사라져 정확한 연혁은 알려져 있지 않다.",
    "이 시기에 마련된 운영 원칙은 지금까지도 크게 바뀌지 않고 이어지고 있다.",
    "주변에는 {n} 관련 시설이 모여 있어 하나의 거리를 이루고 있다.",
    "2000년대 들어서는 디지털 자료실을 갖추는 등 시설 현대화에 나섰다.",
    "{n} 분야의 연구 성과를 모은 자료집을 정기적으로 펴내고 있다.",
    "일부 학자들은 그 설립 배경을 당시 {n} 정책의 변화와 연결하여 설명한다.",
    "현재의 건물은 옛 건물이 헐린 자리에 새로 지어진 것이다.",
]
WORK_ASPECTS = ["연출", "각본", "음악", "영상미", "연기", "세계관", "캐릭터", "구성", "미술", "편집"]
WORK_SENTENCES = [
    "공개 직후 평단으로부터 {n:이/가} 뛰어나다는 평가를 받았다.",
    "일부 관객은 후반부의 {n:이/가} 다소 아쉽다는 의견을 내기도 하였다.",
    "제작진은 {n}에 특히 공을 들였으며, 이를 위해 여러 차례 회의를 거쳤다.",
    "작품의 {n:은/는} 이후 같은 장르의 여러 작품에 영향을 주었다.",
    "초기 기획 단계에서는 지금과 전혀 다른 {n:이/가} 검토되기도 하였다.",
    "해외 평론가들은 이 작품의 {n:을/를} 높이 평가하였다.",
    "{n:을/를} 두고 팬들 사이에서 다양한 해석이 나오기도 하였다.",
    "제작 과정에서 예산 문제로 {n}의 일부가 수정되었다.",
    "이후 발표된 감독판에서는 {n:이/가} 일부 바뀌었다.",
    "공개 이듬해에는 {n:을/를} 주제로 한 학술 발표가 열리기도 하였다.",
    "당시로서는 드물게 {n}에 새로운 기술을 적극적으로 도입하였다.",
    "작품이 흥행하면서 {n:과/와} 관련된 상품도 잇따라 출시되었다.",
    "원작과 비교하면 {n}에서 적지 않은 차이가 있다.",
    "제작진은 한 인터뷰에서 {n:을/를} 가장 어려웠던 작업으로 꼽았다.",
    "{n}에 참여한 인력 가운데 상당수는 이 작품으로 데뷔하였다.",
    "이 작품은 {n} 면에서 이전 작품들과 뚜렷하게 구별된다.",
]
ASKS = [
    "{t}에 대해 자세히 설명해 주세요.",
    "{t:을/를} 잘하려면 어떻게 해야 하나요?",
    "{t}의 장점과 단점을 정리해 주세요.",
    "초보자가 {t:을/를} 시작할 때 주의할 점은 무엇인가요?",
    "{t}에 관한 블로그 글의 개요를 작성해 주세요.",
    "{t:과/와} 관련된 실천 방법 다섯 가지를 알려 주세요.",
    "{t}에서 흔히 하는 실수와 해결책을 알려 주세요.",
    "위 내용을 바탕으로 {t} 계획을 세워 주세요.",
    "{t}에 대한 제 생각을 검토하고 개선할 점을 알려 주세요.",
    "{t:을/를} 주제로 한 짧은 발표 원고를 써 주세요.",
]
GPT_OPENERS = [
    "문의 번호 {n}번에 대해 답변드리겠습니다.",
    "{n}번 문의에 대한 답변입니다.",
    "요청하신 내용(문의 번호 {n})을 정리해 드리겠습니다.",
    "문의 번호 {n}번 관련 안내입니다.",
    "{n}번 문의 내용을 바탕으로 정리해 보았습니다.",
]
SYSTEM_PROMPTS = [
    "당신은 친절하고 정확한 한국어 인공지능 비서입니다.",
    "당신은 사용자의 질문에 간결하고 명확하게 답하는 도우미입니다.",
    "You are a helpful assistant. 모든 답변은 한국어로 작성하세요.",
    "당신은 업무 생산성을 높이는 방법을 알려 주는 전문 컨설턴트입니다.",
    "답변은 항상 존댓말로 작성하고, 필요하면 번호 목록을 사용하세요.",
    "당신은 초보자도 이해할 수 있게 설명하는 친절한 선생님입니다.",
]


def _fill(template: str, **kw: str) -> str:
    """str.format plus '{key:은/는}' particle fields."""
    out, i = [], 0
    while True:
        a = template.find("{", i)
        if a < 0:
            out.append(template[i:])
            return "".join(out)
        b = template.index("}", a)
        out.append(template[i:a])
        key, _, pair = template[a + 1 : b].partition(":")
        out.append(j(kw[key], pair) if pair else kw[key])
        i = b + 1


class Pool:
    """A long stream of sentences; take(L) returns whole sentences starting at a random one, at most L chars long
    (but always at least one sentence)."""

    def __init__(self, sentences: list[str], rng: random.Random, n: int):
        picks: list[str] = []
        while len(picks) < n:  # back-to-back shuffles, so a sentence rarely repeats within one text
            perm = sentences[:]
            rng.shuffle(perm)
            picks.extend(perm)
        n = len(picks)
        bounds, pos = [], 0
        for s in picks:
            bounds.append(pos)
            pos += len(s) + 1
        text = " ".join(picks) + " "
        self.text = text + text
        self.n = n
        self.bounds = bounds + [b + pos for b in bounds] + [2 * pos]
        self.random = rng.random

    def take(self, length: int) -> str:
        b = self.bounds
        i = int(self.random() * self.n)
        s = b[i]
        k = bisect_right(b, s + length + 1) - 1
        return self.text[s : b[k if k > i else i + 1] - 1]


def _scaled(n: int, scale: float) -> int:
    return max(1, round(n * scale))


def _split(n: int, parts: int) -> list[int]:
    q, r = divmod(n, parts)
    return [q + (1 if i < r else 0) for i in range(parts)]


def _write_array(path: Path, rows) -> int:
    """Stream a JSON array, one compact row per line; returns the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dumps, count, batch = json.dumps, 0, []
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n")
        for row in rows:
            batch.append(dumps(row, ensure_ascii=False))
            if len(batch) == BATCH:
                f.write((",\n" if count else "") + ",\n".join(batch))
                count += len(batch)
                batch = []
        if batch:
            f.write((",\n" if count else "") + ",\n".join(batch))
            count += len(batch)
        f.write("\n]\n")
    return count


def _write_obj(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, ensure_ascii=False))


def _conv_id(n: int) -> str:
    """ShareGPT-style id ('QWJhYvA_0'): a bijective scramble of n written in 7 base-62 digits."""
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    m = (n * 1_000_000_007 + 1_234_567_891) % 62**7  # 1e9+7 is coprime with 62, so this is a bijection
    out = []
    for _ in range(7):
        m, r = divmod(m, 62)
        out.append(digits[r])
    return "".join(out) + "_0"


# ------------------------------------------------------------------------------------------------ KoVicuna
def gen_kovicuna(out: Path, seed: int, gpt_turns: int) -> dict:
    rng = random.Random(f"{seed}:kovicuna")
    chat = Pool([_fill(s, t=t) for s in CHAT_SENTENCES for t in TOPICS], rng, 60_000)
    asks = [_fill(a, t=t) for a in ASKS for t in TOPICS]
    sizes, left = [], gpt_turns
    while left:  # 1-4 gpt turns per conversation; the last one takes what is left
        k = min(left, rng.choices((1, 2, 3, 4), (45, 25, 18, 12))[0])
        sizes.append(k)
        left -= k
    take, rnd, choice, lognorm = chat.take, rng.random, rng.choice, rng.lognormvariate
    mu_h, mu_g = math.log(110), math.log(470)
    counter = [0]

    def human() -> str:
        counter[0] += 1
        tail = f"{choice(asks)} (문의 번호 {counter[0]})"
        n = int(min(400, max(20, lognorm(mu_h, 0.75))))
        if n - len(tail) > 25:
            sep = "\n\n" if rnd() < 0.5 else " "
            return take(n - len(tail) - len(sep)) + sep + tail
        return tail

    def gpt() -> str:
        n = int(min(1500, max(130, lognorm(mu_g, 0.65))))  # take() stops at a sentence end, a little short of n
        opener = choice(GPT_OPENERS).replace("{n}", str(counter[0]))
        r = rnd()
        if r < 0.25:  # numbered list with CR LF, like the translated ShareGPT answers
            body = n - len(opener)
            k = max(2, min(3 + int(rnd() * 6), body // 70))
            step = body // (k + 1) - 4
            items = "\r\n".join(f"{i}. {take(step)}" for i in range(1, k + 1))
            return f"{opener} {take(step)}\r\n\r\n{items}"
        if r < 0.35:
            return f"{opener}\r\n\r\n{take(n // 2)}\r\n\r\n{take(n - n // 2 - len(opener))}"
        if r < 0.6:
            return f"{opener}\n\n{take(n - len(opener))}"
        return f"{opener} {take(n - len(opener))}"

    def conversations(lo: int, hi: int):
        for c in range(lo, hi):
            turns = [{"from": "system", "value": choice(SYSTEM_PROMPTS)}] if rnd() < 0.1 else []
            for _ in range(sizes[c]):
                turns.append({"from": "human", "value": human()})
                turns.append({"from": "gpt", "value": gpt()})
            yield {"id": _conv_id(c), "conversations": turns}

    files, lo = [], 0
    for i, n in enumerate(_split(len(sizes), KOVICUNA_FILES)):
        path = out / "kovicuna" / f"ko_sharegpt_{i:02d}.json"
        _write_array(path, conversations(lo, lo + n))
        files.append(path)
        lo += n
    return {"unit": "conversations", "input_rows": len(sizes), "records": gpt_turns, "files": files}


# ------------------------------------------------------------------------------------------------ Alpaca
PLACE_KINDS = [
    "카페",
    "서점",
    "여행지",
    "스타트업",
    "모바일 앱",
    "지역 축제",
    "작은 도서관",
    "의류 브랜드",
    "식당",
    "동아리",
    "온라인 강의",
    "빵집",
]
ALPACA_WITH_INPUT = [
    (
        "가상의 {k} '{x}'에 관한 다음 글을 두 문장으로 요약하세요.",
        "'{x}' 소개: ",
        "'{x}'에 관한 글의 핵심은 다음과 같습니다. ",
    ),
    (
        "다음은 가상의 {k} '{x}'의 안내문입니다. 더 자연스럽게 다듬어 주세요.",
        "[{x} 안내] ",
        "다듬은 '{x}' 안내문입니다. ",
    ),
    (
        "다음 글을 읽고 가상의 {k} '{x}'의 특징을 정리하세요.",
        "{x} 이야기: ",
        "'{x}'의 특징을 정리하면 다음과 같습니다. ",
    ),
    (
        "다음 글에서 '{x}' 운영에 관한 조언을 찾아 목록으로 만드세요.",
        "{x} 운영 메모: ",
        "'{x}' 운영에 관한 조언은 다음과 같습니다.\n",
    ),
]
ALPACA_NO_INPUT = [
    ("가상의 {k} {q:을/를} 홍보하는 짧은 글을 작성하세요.", "{q:을/를} 소개합니다. "),
    (
        "가상의 {k} '{x}'의 운영자가 {t}에 대해 고민하고 있습니다. 조언해 주세요.",
        "'{x}' 운영자님께 드리는 조언입니다. ",
    ),
    ("가상의 {k} '{x}'에서 {t:을/를} 개선할 방법 세 가지를 제안하세요.", "{q:을/를} 위한 제안입니다.\n"),
    ("{q:이라는/라는} 이름의 {k}에 어울리는 소개 문구를 써 주세요.", "'{x}'에 어울리는 소개 문구입니다. "),
]


def gen_alpaca(out: Path, seed: int, rows: int) -> dict:
    rng = random.Random(f"{seed}:alpaca")
    chat = Pool([_fill(s, t=t) for s in CHAT_SENTENCES for t in TOPICS], rng, 20_000)
    name = Namer(rng)
    mu_o, mu_i = math.log(220), math.log(240)

    def gen():
        for _ in range(rows):
            x, k, t = name(), rng.choice(PLACE_KINDS), rng.choice(TOPICS)
            olen = int(min(1200, max(30, rng.lognormvariate(mu_o, 0.6))))
            if rng.random() < 0.4:
                ins, inp, outp = rng.choice(ALPACA_WITH_INPUT)
                ilen = int(min(1000, max(40, rng.lognormvariate(mu_i, 0.6))))
                yield {
                    "instruction": _fill(ins, k=k, x=x, q=f"'{x}'"),
                    "input": _fill(inp, x=x, q=f"'{x}'") + chat.take(ilen),
                    "output": _fill(outp, x=x, q=f"'{x}'") + chat.take(olen),
                }
            else:
                ins, outp = rng.choice(ALPACA_NO_INPUT)
                q = f"'{x}'"
                yield {
                    "instruction": _fill(ins, k=k, x=x, t=t, q=q),
                    "input": "",
                    "output": _fill(outp, x=x, q=q) + chat.take(olen),
                }

    path = out / "alpaca" / "ko_alpaca_data.json"
    _write_array(path, gen())
    return {"unit": "rows", "input_rows": rows, "records": rows, "files": [path]}


# ------------------------------------------------------------------------------------------------ KorQuAD 1.0
KQ1_KINDS = [  # (suffix, kind, head role, metric, unit, metric range)
    ("대학교", "사립 대학", "총장", "재학생 수", "명", (1_500, 32_000)),
    ("식품", "식품 기업", "대표이사", "직원 수", "명", (80, 9_000)),
    ("박물관", "사립 박물관", "관장", "소장품 수", "점", (800, 60_000)),
    ("도서관", "공공 도서관", "관장", "장서 수", "권", (20_000, 900_000)),
    ("출판사", "출판사", "대표", "누적 출간 종수", "종", (150, 6_000)),
    ("연구소", "민간 연구소", "소장", "연구원 수", "명", (20, 700)),
    ("병원", "종합 병원", "원장", "병상 수", "개", (200, 1_800)),
    ("미술관", "시립 미술관", "관장", "소장 작품 수", "점", (300, 12_000)),
    ("방송", "지역 방송사", "사장", "직원 수", "명", (60, 900)),
    ("항공", "항공사", "사장", "보유 항공기 수", "대", (4, 160)),
    (" 교향악단", "교향악단", "상임 지휘자", "단원 수", "명", (45, 130)),
    (" FC", "프로 축구단", "감독", "연간 유료 관중 수", "명", (40_000, 600_000)),
]
KQ1_EVENTS = [
    ("주식 시장에 상장하였다", "주식 시장에 상장한"),
    ("지금의 이름으로 이름을 바꾸었다", "지금의 이름으로 이름을 바꾼"),
    ("새 건물로 이전하였다", "새 건물로 이전한"),
    ("첫 해외 지부를 열었다", "첫 해외 지부를 연"),
    ("대규모 증축 공사를 마쳤다", "대규모 증축 공사를 마친"),
]
KQ1_PROGRAMS = [
    "지역 인재 장학 사업",
    "청소년 진로 체험 사업",
    "찾아가는 문화 교실",
    "어르신 디지털 교육",
    "지역 기록 보존 사업",
    "작은 음악회 사업",
    "친환경 캠퍼스 사업",
    "시민 연구원 제도",
]
DONGS = ["송정동", "중앙동", "대흥동", "신촌동", "봉명동", "정림동", "월평동", "두암동", "석교동", "가양동"]


def _date(rng: random.Random, y0: int, y1: int) -> tuple[int, str]:
    y = rng.randint(y0, y1)
    return y, f"{y}년 {rng.randint(1, 12)}월 {rng.randint(1, 28)}일"


def _kq1_paragraph(rng: random.Random, enc: Pool, name: Namer, city: str, n_q: int, qid: str) -> dict:
    suffix, kind, role, metric, unit, (lo, hi) = rng.choice(KQ1_KINDS)
    e = name() + suffix
    y1 = rng.randint(1890, 1990)
    founder = person(rng)
    y2, d2 = _date(rng, y1 + 5, 2015)
    p2, nth = person(rng), rng.randint(2, 15)
    y3 = rng.randint(max(y1 + 10, 2005), 2022)
    num = f"{rng.randint(lo, hi):,}"
    city2, dong = name() + "시", rng.choice(DONGS)
    y4 = rng.randint(y1 + 3, 2020)
    ev, ev_q = rng.choice(KQ1_EVENTS)
    y5 = rng.randint(max(y1 + 5, 1995), 2022)
    prog, cnt = rng.choice(KQ1_PROGRAMS), f"{rng.randint(2, 90) * 100:,}"
    # (sentence, [(answer, question), ...]); answers are located inside their own sentence
    facts = [
        (
            f"{j(e, '은/는')} {y1}년 {j(founder, '이/가')} {city}에 세운 {kind}이다.",
            [
                (f"{y1}년", f"{j(e, '이/가')} 세워진 해는?"),
                (founder, f"{j(e, '을/를')} 세운 사람은 누구인가?"),
                (city, f"{j(e, '이/가')} 처음 세워진 곳은 어디인가?"),
            ],
        ),
        (
            f"{d2}에는 {j(p2, '이/가')} {e}의 제{nth}대 {j(role, '으로/로')} 취임하였다.",
            [
                (p2, f"{e}의 제{nth}대 {j(role, '으로/로')} 취임한 사람은?"),
                (d2, f"{j(p2, '이/가')} {e}의 {j(role, '으로/로')} 취임한 날짜는?"),
            ],
        ),
        (
            f"{y3}년 기준 {e}의 {j(metric, '은/는')} {num}{unit}이다.",
            [(f"{num}{unit}", f"{y3}년 기준 {e}의 {j(metric, '은/는')} 얼마인가?")],
        ),
        (
            f"{e}의 본관은 {city2} {dong}에 있으며, {y4}년에 {ev}.",
            [(f"{city2} {dong}", f"{e}의 본관은 어디에 있는가?"), (f"{y4}년", f"{j(e, '이/가')} {ev_q} 해는?")],
        ),
        (
            f"{y5}년부터는 {j(prog, '을/를')} 펼쳐 지금까지 {cnt}여 명이 참여하였다.",
            [
                (prog, f"{j(e, '이/가')} {y5}년부터 펼친 사업은?"),
                (f"{cnt}여 명", f"{e}의 {prog}에 참여한 사람은 모두 몇 명인가?"),
            ],
        ),
    ]
    target = int(rng.triangular(300, 900, 520))
    body = [facts[0]] + rng.sample(facts[1:], 4)
    length = sum(len(s) + 1 for s, _ in body)
    used = set()
    for _ in range(30):  # fillers between the facts until the paragraph reaches its target length
        if length >= target:
            break
        f = enc.take(30)
        if f in used or length + len(f) + 1 > 900:
            continue
        used.add(f)
        body.insert(1 + int(rng.random() * len(body)), (f, []))
        length += len(f) + 1
    parts, cands, pos = [], [], 0
    for s, qs in body:
        for ans, q in qs:
            cands.append((q, ans, pos + s.index(ans)))
        parts.append(s)
        pos += len(s) + 1
    context = " ".join(parts)
    qas = [
        {"answers": [{"text": a, "answer_start": st}], "id": f"{qid}-{k}", "question": q}
        for k, (q, a, st) in enumerate(rng.sample(cands, min(n_q, len(cands))))
    ]
    return {"qas": qas, "context": context}


def gen_korquad1(out: Path, seed: int, train_qas: int, dev_qas: int) -> dict:
    rng = random.Random(f"{seed}:korquad1")
    enc = Pool([_fill(s, n=n) for s in ENCYC_SENTENCES for n in ENCYC_NOUNS], rng, 20_000)
    name = Namer(rng)
    files, paragraphs = [], 0
    for split, total, doc0 in (("train", train_qas, 6_000_000), ("dev", dev_qas, 7_000_000)):
        data, left, doc = [], total, doc0
        while left:
            city = name() + rng.choice(("시", "군"))
            paras = []
            for p in range(rng.randint(1, 10)):
                if not left:
                    break
                n_q = min(left, rng.randint(3, 7))
                paras.append(_kq1_paragraph(rng, enc, name, city, n_q, f"{doc}-{p}"))
                left -= n_q
            data.append({"title": city, "paragraphs": [{"context": x["context"], "qas": x["qas"]} for x in paras]})
            paragraphs += len(paras)
            doc += 1
        path = out / "korquad1" / f"KorQuAD_v1.0_{split}.json"
        _write_obj(path, {"version": f"KorQuAD_v1.0_{split}", "data": data})
        files.append(path)
    n = train_qas + dev_qas
    return {
        "unit": "qas",
        "input_rows": n,
        "records": n,
        "splits": {"train": train_qas, "dev": dev_qas},
        "paragraphs": paragraphs,
        "files": files,
    }


# ------------------------------------------------------------------------------------------------ KorQuAD 2.0
KQ2_WORKS = [
    ("영화", "영화"),
    ("드라마", "텔레비전 드라마"),
    ("만화", "만화"),
    ("소설", "장편 소설"),
    ("음반", "정규 음반"),
    ("게임", "비디오 게임"),
]
KQ2_GENRES = ["범죄", "가족", "역사", "로맨스", "공상 과학", "스릴러", "성장", "코미디", "판타지", "다큐멘터리"]
KQ2_ROLES = ["감독", "각본", "제작", "촬영", "음악", "편집", "미술", "기획", "원작", "총괄 프로듀서"]
KQ2_SECTIONS = [
    "줄거리",
    "등장인물",
    "제작 과정",
    "평가",
    "흥행",
    "영향",
    "후속작",
    "음악",
    "배경",
    "논란",
    "해외 반응",
    "매체 이식",
]
KQ2_AWARDS = ["가람 영상 대상", "솔뫼 문화상", "달내 국제 영화제", "별누리 예술상", "한빛 콘텐츠 대상", "새온 비평가상"]
KQ2_PRIZES = ["작품상", "각본상", "신인상", "음악상", "특별상", "대상", "최우수상", "관객상"]
KQ2_COMPANIES = ["스튜디오", "픽처스", "엔터테인먼트", "미디어", "필름", "출판"]

_HEAD_CTX = "<!DOCTYPE html>\n<html>\n<head>\n<meta>\n<title>{t} - 위키백과, 우리 모두의 백과사전</title>\n\n\n<link>\n<meta>\n<meta>\n<link>\n</head>\n"
_HEAD_RAW = (
    '<!DOCTYPE html>\n<html class="client-nojs" dir="ltr" lang="ko">\n<head>\n<meta charset="utf-8"/>\n'
    "<title>{t} - 위키백과, 우리 모두의 백과사전</title>\n{script}\n"
    '<script>(RLQ=window.RLQ||[]).push(function(){{mw.loader.implement("user.tokens@0tffind",function($,jQuery,require,module){{mw.user.tokens.set({{"editToken":"+\\\\","patrolToken":"+\\\\","watchToken":"+\\\\","csrfToken":"+\\\\"}});}});}});</script>\n'
    '<link href="/w/load.php?lang=ko&amp;modules=site.styles%7Cskins.vector.styles&amp;only=styles&amp;skin=vector" rel="stylesheet"/>\n'
    '<meta content="MediaWiki 1.34.0-wmf.11" name="generator"/>\n<meta content="origin" name="referrer"/>\n'
    '<link href="https://ko.wikipedia.org/wiki/{u}" rel="canonical"/>\n</head>\n'
)
_BODY_CTX = (
    "<body>\n<div></div>\n<div></div>\n<div>\n<a></a>\n<div></div>\n<h1>{t}</h1>\n<div>\n<div>위키백과, 우리 모두의 백과사전.</div>\n"
    "<div></div>\n<a>둘러보기로 가기</a>\n<a>검색하러 가기</a>\n<div><div>"
)
_BODY_RAW = (
    '<body class="mediawiki ltr sitedir-ltr mw-hide-empty-elt ns-0 ns-subject page-{u} rootpage-{u} skin-vector action-view">\n'
    '<div class="noprint" id="mw-page-base"></div>\n<div class="noprint" id="mw-head-base"></div>\n<div class="mw-body" id="content" role="main">\n'
    '<a id="top"></a>\n<div class="mw-body-content" id="siteNotice"></div>\n<h1 class="firstHeading" id="firstHeading" lang="ko">{t}</h1>\n'
    '<div class="mw-body-content" id="bodyContent">\n<div class="noprint" id="siteSub">위키백과, 우리 모두의 백과사전.</div>\n'
    '<div id="contentSub"></div>\n<a class="mw-jump-link" href="#mw-head">둘러보기로 가기</a>\n<a class="mw-jump-link" href="#p-search">검색하러 가기</a>\n'
    '<div class="mw-content-ltr" dir="ltr" id="mw-content-text" lang="ko"><div class="mw-parser-output">'
)
_TAIL_CTX = "</div></div>\n</div>\n</div>\n\n\n</body>\n</html>\n"
_TAIL_RAW = (
    "</div></div>\n</div>\n</div>\n"
    '<script>(RLQ=window.RLQ||[]).push(function(){mw.config.set({"wgPageParseReport":{"limitreport":{"cputime":"0.212","walltime":"0.281"}}});});</script>\n'
    '<script>(RLQ=window.RLQ||[]).push(function(){mw.config.set({"wgBackendResponseTime":153,"wgHostname":"mw1333"});});</script>\n'
    "</body>\n</html>\n"
)


def _rlconf(title: str, rev: int, art: int, cats: list[str]) -> str:
    """The ~2 KB MediaWiki configuration <script> at the top of a Wikipedia page."""
    months = ",".join(f'"{m}월"' for m in range(1, 13))
    cat = ",".join(f'"{c}"' for c in cats)
    return (
        '<script>document.documentElement.className=document.documentElement.className.replace(/(^|\\s)client-nojs(\\s|$)/,"$1client-js$2");'
        f'RLCONF={{"wgCanonicalNamespace":"","wgCanonicalSpecialPageName":!1,"wgNamespaceNumber":0,"wgPageName":"{title}","wgTitle":"{title}",'
        f'"wgCurRevisionId":{rev},"wgRevisionId":{rev},"wgArticleId":{art},"wgIsArticle":!0,"wgIsRedirect":!1,"wgAction":"view","wgUserName":null,'
        f'"wgUserGroups":["*"],"wgCategories":[{cat}],"wgBreakFrames":!1,"wgPageContentLanguage":"ko","wgPageContentModel":"wikitext",'
        '"wgSeparatorTransformTable":["",""],"wgDigitTransformTable":["",""],"wgDefaultDateFormat":"ko",'
        f'"wgMonthNames":["",{months}],"wgMonthNamesShort":["","1","2","3","4","5","6","7","8","9","10","11","12"],'
        f'"wgRelevantPageName":"{title}","wgRelevantArticleId":{art},"wgRequestId":"XRp8LgpAICMAABjkVugAAADP","wgCSPNonce":!1,'
        '"wgIsProbablyEditable":!0,"wgRelevantPageIsProbablyEditable":!0,"wgRestrictionEdit":[],"wgRestrictionMove":[],'
        '"wgMediaViewerOnClick":!0,"wgMediaViewerEnabledByDefault":!0,"wgPopupsReferencePreviews":!1,"wgPopupsConflictsWithNavPopupGadget":!1,'
        '"wgVisualEditor":{"pageLanguageCode":"ko","pageLanguageDir":"ltr","pageVariantFallbacks":"ko"},"wgMFDisplayWikibaseDescriptions":'
        '{"search":!0,"nearby":!0,"watchlist":!0,"tagline":!1},"wgWMESchemaEditAttemptStepOversample":!1,"wgPoweredByHHVM":!0,'
        '"wgULSCurrentAutonym":"한국어","wgNoticeProject":"wikipedia","wgCentralNoticeCategoriesUsingLegacy":["Fundraising","fundraising"],'
        f'"wgWikibaseItemId":"Q{art + 4_000_000}","wgCentralAuthMobileDomain":!1,"wgEditSubmitButtonLabelPublish":!0}};'
        'RLSTATE={"ext.gadget.directcommons":"ready","ext.globalCssJs.user.styles":"ready","ext.globalCssJs.site.styles":"ready",'
        '"site.styles":"ready","noscript":"ready","user.styles":"ready","ext.globalCssJs.user":"ready","ext.globalCssJs.site":"ready",'
        '"user":"ready","user.options":"ready","user.tokens":"loading","ext.cite.styles":"ready","mediawiki.legacy.shared":"ready",'
        '"mediawiki.legacy.commonPrint":"ready","mediawiki.toc.styles":"ready","wikibase.client.init":"ready","ext.visualEditor.desktopArticleTarget.noscript":"ready",'
        '"ext.uls.interlanguage":"ready","ext.wikimediaBadges":"ready","ext.3d.styles":"ready","mediawiki.skinning.interface":"ready","skins.vector.styles":"ready"};'
        'RLPAGEMODULES=["ext.cite.ux-enhancements","site","mediawiki.page.startup","mediawiki.page.ready","mediawiki.toc","mediawiki.searchSuggest",'
        '"ext.gadget.ReferenceTooltips","ext.centralauth.centralautologin","mmv.head","mmv.bootstrap.autostart","ext.popups","ext.visualEditor.desktopArticleTarget.init",'
        '"ext.visualEditor.targetLoader","ext.eventLogging","ext.wikimediaEvents","ext.navigationTiming","ext.uls.compactlinks","ext.uls.interface","skins.vector.js"];</script>'
    )


class _Doc:
    """Builds `context` (bare tags, no scripts) and `raw_html` (attributes, scripts) side by side, tracking offsets."""

    __slots__ = ("c", "r", "cn", "rn", "cb")

    def __init__(self):
        self.c, self.r, self.cn, self.rn, self.cb = [], [], 0, 0, 0

    def both(self, s: str) -> None:  # text, identical in both
        self.c.append(s)
        self.r.append(s)
        self.cn += len(s)
        self.rn += len(s)
        self.cb += len(s.encode())

    def tag(self, ctx: str, raw: str) -> None:  # markup that differs between the two
        self.c.append(ctx)
        self.r.append(raw)
        self.cn += len(ctx)
        self.rn += len(raw)
        self.cb += len(ctx.encode())

    def answer(self, text: str, before: str = "", after: str = "") -> tuple[str, int, int]:
        """Emit before+text+after as one text run; return (text, offset in context, offset in raw_html)."""
        a = (text, self.cn + len(before), self.rn + len(before))
        self.both(before + text + after)
        return a

    def link(self, text: str) -> None:
        self.tag("<a>", f'<a href="/wiki/{text.replace(" ", "_")}" title="{text}">')
        self.both(text)
        self.tag("</a>", "</a>")

    def heading(self, title: str, section: int, slug: str, level: int = 2) -> None:
        anchor = title.replace(" ", "_")
        enc = "".join(f".{b:02X}" for b in anchor.encode())
        self.tag(
            f"<h{level}><span></span><span>",
            f'<h{level}><span id="{enc}"></span><span class="mw-headline" id="{anchor}">',
        )
        self.both(title)
        self.tag(
            "</span><span><span>[</span><a>",
            '</span><span class="mw-editsection"><span class="mw-editsection-bracket">[</span>'
            f'<a href="/w/index.php?title={slug}&amp;action=edit&amp;section={section}" title="부분 편집: {title}">',
        )
        self.both("편집")
        self.tag(
            f"</a><span>]</span></span></h{level}>\n",
            f'</a><span class="mw-editsection-bracket">]</span></span></h{level}>\n',
        )


def _kq2_doc(rng: random.Random, enc: Pool, name: Namer, art: int) -> tuple[dict, list]:
    base = name()
    short, kind = rng.choice(KQ2_WORKS)
    title = f"{base} ({short})"
    slug = "".join(f"%{b:02X}" for b in title.replace(" ", "_").encode())
    genre = rng.choice(KQ2_GENRES)
    y, date = _date(rng, 1975, 2019)
    company = name() + rng.choice(KQ2_COMPANIES)
    budget = f"{rng.randint(3, 400)}억 원"
    creator = person(rng)
    cats = [f"{y}년 작품", f"대한민국의 {kind}", f"{genre} 작품"]
    target = rng.randint(4000, 9800)  # UTF-8 bytes of `context`
    d = _Doc()
    d.tag(
        _HEAD_CTX.format(t=title), _HEAD_RAW.format(t=title, u=slug, script=_rlconf(title, 20_000_000 + art, art, cats))
    )
    d.tag(_BODY_CTX.format(t=title), _BODY_RAW.format(t=title, u=slug))
    cands = {"p": [], "li": [], "td": []}
    # lead paragraph
    d.tag("<p>《<b>", "<p>《<b>")
    d.both(base)
    d.tag("</b>》", "</b>》")
    lead_q = f"{j(f'《{base}》', '이/가')} 처음 공개된 날짜는?"
    particle = "은 " if _batchim(base) else "는 "  # attaches to 《base》
    cands["p"].append((d.answer(date, particle, f"에 처음 공개된 대한민국의 {genre} "), lead_q))
    d.link(kind)
    d.both(f" 작품이다. {j(creator, '이/가')} 기획하고 {j(company, '이/가')} 제작하였다.\n")
    d.tag("</p>\n", "</p>\n")
    # table of contents
    sections = rng.sample(KQ2_SECTIONS, 4) + ["수상", "스태프"]
    rng.shuffle(sections)
    d.tag(
        "<div><input><div><h2>목차</h2><span><label></label></span></div>\n<ul>\n",
        '<div class="toc" id="toc"><input class="toctogglecheckbox" id="toctogglecheckbox" role="button" style="display:none" type="checkbox"/>'
        '<div class="toctitle" dir="ltr" lang="ko"><h2>목차</h2><span class="toctogglespan"><label class="toctogglelabel" for="toctogglecheckbox"></label></span></div>\n<ul>\n',
    )
    for i, s in enumerate(sections, 1):
        d.tag(
            "<li><a><span>",
            f'<li class="toclevel-1 tocsection-{i}"><a href="#{s.replace(" ", "_")}"><span class="tocnumber">',
        )
        d.both(str(i))
        d.tag("</span> <span>", '</span> <span class="toctext">')
        d.both(s)
        d.tag("</span></a></li>\n", "</span></a></li>\n")
    d.tag("</ul>\n</div>\n", "</ul>\n</div>\n")
    budget_at = "제작 과정" if "제작 과정" in sections else next(s for s in sections if s not in ("수상", "스태프"))
    for i, s in enumerate(sections, 1):
        d.heading(s, i, slug)
        if s == "스태프":
            d.tag("<table>\n<tbody>", '<table class="wikitable" style="font-size: 90%;">\n<tbody>')
            for role in rng.sample(KQ2_ROLES, rng.randint(4, 7)):
                names = ", ".join(person(rng) for _ in range(rng.randint(1, 3)))
                d.tag("<tr>\n<th>", '<tr>\n<th scope="row" style="width: 25%;">')
                d.both(role)
                d.tag("</th>\n<td>", "</th>\n<td>")
                cands["td"].append((d.answer(names), f"{base} {short}의 {j(role, '은/는')} 누구인가?"))
                d.tag("</td></tr>\n", "</td></tr>\n")
            d.tag("</tbody></table>\n", "</tbody></table>\n")
        elif s == "수상":
            d.tag("<ul>", "<ul>")
            for ay in sorted(rng.sample(range(y, y + 6), rng.randint(2, 5))):
                prize = f"{rng.choice(KQ2_AWARDS)} {rng.choice(KQ2_PRIZES)}"
                d.tag("<li>", "<li>")
                cands["li"].append(
                    (
                        d.answer(prize, f"{ay}년 ", " 수상"),
                        f"{base} {short}{'이' if _batchim(short) else '가'} {ay}년에 받은 상은?",
                    )
                )
                d.tag("</li>\n", "</li>\n")
            d.tag("</ul>\n", "</ul>\n")
        elif s == budget_at:
            d.tag("<p>", "<p>")
            cands["p"].append(
                (
                    d.answer(
                        budget,
                        f"{base} {short}의 총제작비는 약 ",
                        f"이며, {rng.randint(2, 30)}개월에 걸쳐 완성되었다. ",
                    ),
                    f"{base} {short}의 총제작비는 얼마인가?",
                )
            )
            d.both(enc.take(120) + "\n")
            d.tag("</p>\n", "</p>\n")
        else:
            d.tag("<p>", "<p>")
            d.both(enc.take(rng.randint(150, 450)) + "\n")
            d.tag("</p>\n", "</p>\n")
    # more prose until the context reaches its target size (Korean text is ~2.7 UTF-8 bytes per char)
    sec = len(sections)
    while target - d.cb > 600:
        sec += 1
        d.heading(rng.choice(KQ2_SECTIONS), sec, slug)
        for _ in range(rng.randint(1, 3)):
            room = int((target - d.cb - 500) / 2.7)
            if room < 60:
                break
            d.tag("<p>", "<p>")
            d.both(enc.take(min(room, rng.randint(150, 450))) + "\n")
            d.tag("</p>\n", "</p>\n")
        if rng.random() < 0.4 and target - d.cb > 1200:
            d.tag("<ul>", "<ul>")
            for _ in range(rng.randint(2, 5)):
                d.tag("<li>", "<li>")
                d.both(enc.take(40))
                d.tag("</li>\n", "</li>\n")
            d.tag("</ul>\n", "</ul>\n")
    d.tag(
        "<div><div><a>분류</a>: <ul>",
        '<div class="catlinks" data-mw="interface" id="catlinks"><div class="mw-normal-catlinks" id="mw-normal-catlinks">'
        '<a href="/wiki/%ED%8A%B9%EC%88%98:%EB%B6%84%EB%A5%98" title="특수:분류">분류</a>: <ul>',
    )
    for c in cats:
        d.tag("<li>", "<li>")
        d.link(c)
        d.tag("</li>", "</li>")
    d.tag("</ul></div></div>\n", "</ul></div></div>\n")
    d.tag(_TAIL_CTX, _TAIL_RAW)
    picks = [rng.choice(cands["td"]), rng.choice(cands["li"]), *cands["p"][:2]]
    doc = {
        "title": title,
        "url": f"https://ko.wikipedia.org/wiki/{title.replace(' ', '_')}",
        "context": "".join(d.c),
        "raw_html": "".join(d.r),
    }
    return doc, picks


def gen_korquad2(out: Path, seed: int, docs: int) -> dict:
    rng = random.Random(f"{seed}:korquad2")
    enc = Pool([_fill(s, n=n) for s in WORK_SENTENCES for n in WORK_ASPECTS], rng, 20_000)
    name = Namer(rng)
    files, art, qid = [], 0, 0
    for i, n in enumerate(_split(docs, KQ2_FILES)):
        data = []
        for _ in range(n):
            art += 1
            doc, picks = _kq2_doc(rng, enc, name, 1_000_000 + art)
            qas = []
            for (text, cs, rs), question in picks:
                qid += 1
                qas.append(
                    {
                        "answer": {"text": text, "html_answer_start": rs, "html_answer_text": text, "answer_start": cs},
                        "question": question,
                        "id": str(qid),
                    }
                )
            doc["qas"] = qas
            data.append(doc)
        path = out / "korquad2" / f"korquad2.1_train_{i:02d}.json"
        _write_obj(path, {"version": "KorQuAD_2.0_train", "data": data})
        files.append(path)
    n = docs * KQ2_QAS_PER_DOC
    assert qid == n
    return {"unit": "qas", "input_rows": n, "records": n, "docs": docs, "files": files}


# ------------------------------------------------------------------------------------------------ entry points
def make_corpus(out_dir: Path, seed: int = 0, scale: float = 1.0) -> dict:
    """Write the corpus under out_dir and return (and write to out_dir/expected.json) the expected counts."""
    if scale <= 0:
        raise ValueError("scale must be > 0")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sources = {
        "kovicuna": gen_kovicuna(out, seed, _scaled(KOVICUNA_GPT_TURNS, scale)),
        "alpaca": gen_alpaca(out, seed, _scaled(ALPACA_ROWS, scale)),
        "korquad1": gen_korquad1(out, seed, _scaled(KQ1_TRAIN_QAS, scale), _scaled(KQ1_DEV_QAS, scale)),
        "korquad2": gen_korquad2(out, seed, _scaled(KQ2_DOCS, scale)),
    }
    total_bytes = 0
    for s in sources.values():
        s["files"] = {p.relative_to(out).as_posix(): p.stat().st_size for p in s["files"]}
        s["bytes"] = sum(s["files"].values())
        total_bytes += s["bytes"]
    expected = {
        "seed": seed,
        "scale": scale,
        "sources": sources,
        "total_records": sum(s["records"] for s in sources.values()),
        "total_bytes": total_bytes,
    }
    if scale == 1.0:
        assert expected["total_records"] == FULL_TOTAL, expected["total_records"]
    (out / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return expected


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every row count (rounded, at least 1 each)")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    exp = make_corpus(args.out_dir, seed=args.seed, scale=args.scale)
    dt = time.perf_counter() - t
    for k, s in exp["sources"].items():
        print(f"{k:9s} {s['input_rows']:>9,} {s['unit']:13s} -> {s['records']:>9,} records  {s['bytes'] / 1e6:9.1f} MB")
    print(
        f"total     {exp['total_records']:>9,} records  {exp['total_bytes'] / 1e6:.1f} MB  in {dt:.1f}s -> {args.out_dir / 'expected.json'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
