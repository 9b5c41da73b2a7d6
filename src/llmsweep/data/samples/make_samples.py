#!/usr/bin/env python3
"""Generate the small bundled Korean sample datasets for llmsweep.

Run from the repository root:

    python src/llmsweep/data/samples/make_samples.py

Writes, next to this script:

* ``dolly_ko.jsonl``  -- Dolly-style SFT records
  ``{"instruction", "context", "response", "category"}``
* ``prefs_ko.jsonl``  -- preference pairs ``{"prompt", "chosen", "rejected"}``

Everything is produced from hand-written Korean templates and word lists
with a single ``random.Random(0)`` stream, so the output is byte-for-byte
reproducible.  Pure standard library.

Two clearly different domains are mixed (about half each):

* domain A -- KorQuAD-style reading comprehension (``closed_qa``): a short
  invented paragraph as context, a question, and an answer span that appears
  verbatim in the context.
* domain B -- chat / instruction following without context (arithmetic word
  problems, word translation, capitals, definitions, brainstorming,
  classification, short creative writing, everyday advice).
"""

from __future__ import annotations

import json
import os
import random

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
DOLLY_PATH = os.path.join(OUT_DIR, "dolly_ko.jsonl")
PREFS_PATH = os.path.join(OUT_DIR, "prefs_ko.jsonl")

N_DOLLY_A = 240
N_DOLLY_B = 240
N_PREFS_A = 160
N_PREFS_B = 160

# ---------------------------------------------------------------------------
# Korean particle (josa) helpers
# ---------------------------------------------------------------------------

# Final consonant index (jongseong) of the spoken form of a trailing digit.
_DIGIT_FINAL = {"0": 21, "1": 8, "2": 0, "3": 16, "4": 0, "5": 0, "6": 1, "7": 8, "8": 8, "9": 0}
# 십(ㅂ), 백(ㄱ), 천(ㄴ), 만(ㄴ) for numbers ending in zeros.
_ZERO_FINAL = {1: 17, 2: 1, 3: 4, 4: 4}
_TRAILING_MARKS = " '\"」』》〉)]"


def _final(word: str) -> int:
    """Return the jongseong index of the last spoken syllable (0 = none, 8 = ㄹ)."""
    w = word.rstrip(_TRAILING_MARKS)
    ch = w[-1]
    if "가" <= ch <= "힣":
        return (ord(ch) - 0xAC00) % 28
    if ch.isdigit():
        digits = w.replace(",", "")
        i = len(digits)
        while i > 0 and digits[i - 1].isdigit():
            i -= 1
        num = digits[i:].lstrip("0") or "0"
        if num == "0":
            return _DIGIT_FINAL["0"]
        zeros = len(num) - len(num.rstrip("0"))
        if zeros == 0:
            return _DIGIT_FINAL[num[-1]]
        return _ZERO_FINAL.get(zeros % 4 if zeros % 4 else 4, 4)
    if ch in "m㎢":  # 미터, 제곱킬로미터
        return 0
    return 0


_PAIRS = {
    "은": ("은", "는"),
    "는": ("은", "는"),
    "이": ("이", "가"),
    "가": ("이", "가"),
    "을": ("을", "를"),
    "를": ("을", "를"),
    "과": ("과", "와"),
    "와": ("과", "와"),
    "이라고": ("이라고", "라고"),
    "라고": ("이라고", "라고"),
    "이라는": ("이라는", "라는"),
    "라는": ("이라는", "라는"),
    "이나": ("이나", "나"),
    "나": ("이나", "나"),
}


def j(word: str, particle: str) -> str:
    """Attach a Korean particle with the correct allomorph: j('사과', '을') -> '사과를'."""
    f = _final(str(word))
    if particle in ("으로", "로"):
        return f"{word}{'로' if f in (0, 8) else '으로'}"
    with_final, without_final = _PAIRS[particle]
    return f"{word}{with_final if f else without_final}"


MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def date_ko(y: int, m: int, d: int) -> str:
    return f"{y}년 {m}월 {d}일"


def date_en(y: int, m: int, d: int) -> str:
    return f"{MONTHS_EN[m - 1]} {d}, {y}"


def politeize(rng: random.Random, q: str) -> str:
    """Sometimes turn a plain written question ending into a polite one."""
    if rng.random() < 0.35:
        if q.endswith("인가?"):
            return q[:-1] + "요?"
        if q.endswith("나?"):
            return q[:-1] + "요?"
    return q


# ---------------------------------------------------------------------------
# Shared slot values (invented but plausible)
# ---------------------------------------------------------------------------

SURNAMES = [
    "김",
    "이",
    "박",
    "최",
    "정",
    "강",
    "조",
    "윤",
    "장",
    "임",
    "한",
    "오",
    "서",
    "신",
    "권",
    "황",
    "안",
    "송",
    "홍",
    "유",
]
GIVEN = [
    "민준",
    "서연",
    "지훈",
    "하은",
    "도윤",
    "수아",
    "예준",
    "지아",
    "현우",
    "서윤",
    "건우",
    "채원",
    "우진",
    "유나",
    "성민",
    "은지",
    "태현",
    "다인",
    "준혁",
    "소희",
    "영호",
    "미경",
    "정훈",
    "혜진",
    "상철",
    "경숙",
    "동욱",
    "보람",
    "재석",
    "나연",
]
STEMS = [
    "청림",
    "서하",
    "백운",
    "솔뫼",
    "가온",
    "한울",
    "누리",
    "다솜",
    "벼리",
    "미르",
    "아라",
    "온새",
    "나래",
    "해솔",
    "윤슬",
    "은파",
    "초하",
    "새별",
    "모래내",
    "달내",
    "푸실",
    "늘해",
    "고운",
    "마루",
]
PROVINCES = ["경기도", "강원도", "충청북도", "충청남도", "전라북도", "전라남도", "경상북도", "경상남도"]
POSITIONS = ["북부", "남부", "동부", "서부", "중부"]
CO_PREFIX = ["한빛", "새솔", "푸른", "다온", "세진", "동하", "청운", "보람", "해든", "가람", "늘봄", "대원"]
DONGS = ["중앙동", "신흥동", "대명동", "새터동", "송정동", "명륜동", "월평동", "교동", "산성동", "봉황동"]


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def rand_date(rng: random.Random, y0: int, y1: int):
    return rng.randint(y0, y1), rng.randint(1, 12), rng.randint(1, 28)


# ---------------------------------------------------------------------------
# Domain A: reading-comprehension templates.
# Each returns (context, facts) with facts[fid] = (questions, answer, english)
# ---------------------------------------------------------------------------

SPORTS = [
    # sport, team suffixes, context phrase builder, answer builder, questions, english
    (
        "축구",
        ["FC", "유나이티드", "시티즌"],
        lambda n: f"통산 {n}골을 기록하였다",
        lambda n: f"{n}골",
        ["{name}{i} 통산 기록한 골은 몇 골인가?", "{name}{n} 프로 통산 몇 골을 넣었나?"],
        lambda n: f"The career total was {n} goals.",
        (40, 190),
    ),
    (
        "야구",
        ["돌핀스", "호크스", "레이더스"],
        lambda n: f"통산 {n}개의 홈런을 기록하였다",
        lambda n: f"{n}개",
        ["{name}{i} 통산 기록한 홈런은 몇 개인가?", "{name}의 프로 통산 홈런 수는?"],
        lambda n: f"The career total was {n} home runs.",
        (60, 460),
    ),
    (
        "농구",
        ["썬더스", "피닉스", "스톰"],
        lambda n: f"통산 {n:,}점을 기록하였다",
        lambda n: f"{n:,}점",
        ["{name}{i} 통산 기록한 득점은 몇 점인가?", "{name}의 프로 통산 득점은?"],
        lambda n: f"The career total was {n:,} points.",
        (2500, 12000),
    ),
    (
        "배구",
        ["스파이커스", "블루윙스", "드림즈"],
        lambda n: f"통산 {n:,}점을 올렸다",
        lambda n: f"{n:,}점",
        ["{name}{i} 통산 올린 득점은 몇 점인가?", "{name}의 통산 득점 기록은?"],
        lambda n: f"The career total was {n:,} points.",
        (1500, 7000),
    ),
]


def tpl_athlete(rng):
    name = person(rng)
    sport, suffixes, ctx_count, ans_count, count_qs, en_count, (lo, hi) = rng.choice(SPORTS)
    team = f"{rng.choice(STEMS)} {rng.choice(suffixes)}"
    bplace = f"{rng.choice(PROVINCES)} {rng.choice(STEMS)}군"
    by = rng.randint(1950, 1988)
    dy = by + rng.randint(18, 22)
    ry, rm, rd = min(dy + rng.randint(8, 17), 2023), rng.randint(1, 12), rng.randint(1, 28)
    n = rng.randint(lo, hi)
    cy = ry - dy
    rdate = date_ko(ry, rm, rd)
    if rng.random() < 0.5:
        ctx = (
            f"{j(name, '은')} {by}년 {bplace}에서 태어난 대한민국의 {sport} 선수이다. "
            f"{dy}년 {team}에 입단하며 프로 무대에 데뷔하였고, {cy}년 동안 활약하며 "
            f"{ctx_count(n)}. {rdate} 공식 기자회견을 통해 은퇴를 선언하였다."
        )
    else:
        ctx = (
            f"{bplace} 출신인 {j(name, '은')} {by}년에 태어났다. {dy}년 {j(team, '을')} 통해 "
            f"프로 {sport} 선수로 데뷔한 뒤 {cy}년 동안 한 번도 팀을 옮기지 않았으며, "
            f"{ctx_count(n)}. 그는 {rdate} 공식 기자회견을 열고 은퇴를 선언하였다."
        )
    ni, nn = j(name, "이")[len(name) :], j(name, "은")[len(name) :]
    fmt = lambda qs: [q.format(name=name, i=ni, n=nn) for q in qs]
    facts = {
        "retire": (
            fmt(
                [
                    "{name}{i} 은퇴를 선언한 날짜는 언제지?",
                    "{name}{n} 언제 은퇴를 선언하였나?",
                    "{name}{i} 공식 기자회견에서 은퇴를 발표한 날은?",
                ]
            ),
            rdate,
            f"The retirement was announced on {date_en(ry, rm, rd)}.",
        ),
        "team": (
            fmt(["{name}{i} 프로에 데뷔하며 입단한 팀은?", "{name}{i} " + f"{dy}년에 입단한 팀의 이름은 무엇인가?"]),
            team,
            None,
        ),
        "bplace": (fmt(["{name}{i} 태어난 곳은 어디인가?", "{name}의 출생지는?"]), bplace, None),
        "byear": (
            fmt(["{name}{n} 몇 년에 태어났나?", "{name}{i} 태어난 해는?"]),
            f"{by}년",
            f"They were born in {by}.",
        ),
        "dyear": (
            fmt(["{name}{i} 프로 무대에 데뷔한 해는 언제인가?", "{name}{n} 몇 년에 프로 선수로 데뷔하였나?"]),
            f"{dy}년",
            f"The professional debut was in {dy}.",
        ),
        "count": (fmt(count_qs), ans_count(n), en_count(n)),
        "career": (
            fmt(["{name}{n} 프로 선수로 몇 년 동안 활약하였나?", "{name}의 프로 선수 생활은 몇 년 동안 이어졌나?"]),
            f"{cy}년",
            f"The professional career lasted {cy} years.",
        ),
    }
    return ctx, facts


FESTIVAL_THINGS = [
    ("벚꽃", 4),
    ("연꽃", 7),
    ("단풍", 10),
    ("눈꽃", 1),
    ("반딧불이", 6),
    ("국화", 11),
    ("빛", 12),
    ("갯벌", 8),
    ("인삼", 9),
    ("한우", 10),
    ("딸기", 3),
    ("머드", 7),
    ("철쭉", 5),
    ("전어", 9),
]


def tpl_city(rng):
    stem = rng.choice(STEMS)
    city = f"{stem}시"
    province = rng.choice(PROVINCES)
    pos = rng.choice(POSITIONS)
    area = f"{rng.uniform(60, 950):.1f}"
    pop = f"{rng.randint(300, 9000) * 100:,}"
    py = rng.randint(1955, 2015)
    thing, fm = rng.choice(FESTIVAL_THINGS)
    festival = f"{stem} {thing} 축제"
    if rng.random() < 0.5:
        ctx = (
            f"{j(city, '은')} {province} {pos}에 위치한 도시로, 면적은 {area}㎢이고 "
            f"인구는 약 {pop}명이다. {py}년 {stem}군에서 시로 승격되었으며, "
            f"매년 {fm}월에 열리는 {j(festival, '이')} 유명하다."
        )
    else:
        ctx = (
            f"{province} {pos}에 자리한 {j(city, '은')} 인구 약 {pop}명, 면적 {area}㎢의 "
            f"도시이다. 본래 {stem}군이었으나 {py}년 시로 승격되었다. 지역을 대표하는 "
            f"행사로는 매년 {fm}월에 열리는 {j(festival, '이')} 있다."
        )
    facts = {
        "province": (
            [f"{j(city, '은')} 어느 도에 속해 있나?", f"{j(city, '이')} 위치한 도는 어디인가?"],
            province,
            None,
        ),
        "area": (
            [f"{city}의 면적은 얼마인가?", f"{city}의 면적은 몇 제곱킬로미터인가?"],
            f"{area}㎢",
            f"The area is {area} square kilometers.",
        ),
        "pop": (
            [f"{city}의 인구는 대략 몇 명인가?", f"{city}에는 약 몇 명이 살고 있나?"],
            f"약 {pop}명",
            f"About {pop} people live there.",
        ),
        "promo": (
            [f"{j(city, '이')} 시로 승격된 해는 언제인가?", f"{stem}군이 {j(city, '로')} 승격된 것은 몇 년인가?"],
            f"{py}년",
            f"It became a city in {py}.",
        ),
        "festival": (
            [f"{city}에서 매년 {fm}월에 열리는 축제의 이름은?", f"{city}의 대표 축제는 무엇인가?"],
            festival,
            None,
        ),
        "month": (
            [f"{j(festival, '은')} 매년 몇 월에 열리나?", f"{j(festival, '이')} 개최되는 달은?"],
            f"{fm}월",
            f"It is held every {MONTHS_EN[fm - 1]}.",
        ),
    }
    return ctx, facts


SECTORS = [
    ("전자", "전자 부품", ["가정용 로봇청소기", "무선 이어폰", "산업용 센서", "전기차 배터리 부품"]),
    ("제약", "제약", ["감기약", "소화제", "동물용 백신", "피부 연고"]),
    ("식품", "식품", ["컵라면", "쌀과자", "냉동 만두", "포장 김치"]),
    ("소프트", "소프트웨어", ["회계 프로그램", "모바일 게임", "번역 앱", "보안 소프트웨어"]),
    ("화학", "생활화학", ["친환경 세제", "접착제", "실내용 페인트"]),
    ("모터스", "이동 수단 제조", ["전동 킥보드", "전기 자전거", "소형 화물차"]),
]


def tpl_company(rng):
    suffix, desc, products = rng.choice(SECTORS)
    company = rng.choice(CO_PREFIX) + suffix
    founder = person(rng)
    fy = rng.randint(1962, 2012)
    city = f"{rng.choice(STEMS)}시"
    product = rng.choice(products)
    ey = rng.randint(max(fy + 5, 2015), 2023)
    emp = f"{rng.randint(40, 9500):,}"
    hq = f"{rng.choice(STEMS)}시 {rng.choice(DONGS)}"
    ly = rng.randint(fy + 3, min(fy + 25, 2022))
    if rng.random() < 0.5:
        ctx = (
            f"{j(company, '은')} {fy}년 {j(founder, '이')} {city}에서 설립한 {desc} 기업이다. "
            f"주력 제품은 {product}이며, {ey}년 기준 직원 수는 {emp}명이다. "
            f"본사는 {hq}에 있으며, {ly}년 주식 시장에 상장하였다."
        )
    else:
        ctx = (
            f"{fy}년 {city}에서 문을 연 {j(company, '은')} {j(founder, '이')} 세운 {desc} 회사이다. "
            f"{ly}년 주식 시장에 상장하였고, 현재 본사는 {hq}에 있다. "
            f"{j(product, '을')} 주력으로 생산하며, {ey}년 기준 {emp}명의 직원이 일하고 있다."
        )
    facts = {
        "founder": ([f"{j(company, '을')} 설립한 사람은 누구인가?", f"{company}의 창업자는?"], founder, None),
        "fy": (
            [f"{j(company, '이')} 설립된 해는?", f"{j(company, '은')} 몇 년에 세워졌나?"],
            f"{fy}년",
            f"It was founded in {fy}.",
        ),
        "product": ([f"{company}의 주력 제품은 무엇인가?", f"{j(company, '이')} 주로 만드는 제품은?"], product, None),
        "emp": (
            [f"{ey}년 기준 {company}의 직원 수는?", f"{ey}년 기준으로 {company}에는 몇 명이 일하고 있나?"],
            f"{emp}명",
            f"It had {emp} employees as of {ey}.",
        ),
        "hq": ([f"{company}의 본사는 어디에 있나?", f"{company} 본사의 위치는?"], hq, None),
        "ly": (
            [f"{j(company, '이')} 주식 시장에 상장한 해는 언제인가?", f"{j(company, '은')} 몇 년에 상장하였나?"],
            f"{ly}년",
            f"It went public in {ly}.",
        ),
        "city": (
            [
                f"{j(company, '이')} 처음 설립된 도시는 어디인가?",
                f"{j(founder, '이')} {j(company, '을')} 세운 곳은 어디인가?",
            ],
            city,
            None,
        ),
    }
    return ctx, facts


EVENTS = [
    ("국제 피아노 콩쿠르", "1위", ""),
    ("국제 영화제", "최우수 작품상", " 감독"),
    ("국제 로봇 경진대회", "대상", ""),
    ("국제 마라톤 대회", "풀코스 우승", ""),
    ("국제 바둑 대회", "우승", ""),
    ("국제 합창 경연대회", "지휘상", ""),
]
VENUE_KINDS = ["문화예술회관", "종합운동장", "컨벤션센터", "시민공원 특설무대", "실내체육관"]


def tpl_event(rng):
    stem = rng.choice(STEMS)
    kind, award, role = rng.choice(EVENTS)
    event = f"{stem} {kind}"
    n = rng.randint(2, 40)
    y, m, d = rand_date(rng, 1990, 2023)
    days = rng.randint(3, 12)
    venue = f"{rng.choice(STEMS)}시 {rng.choice(VENUE_KINDS)}"
    nc = rng.randint(8, 60)
    np_ = f"{rng.randint(120, 4800):,}"
    winner = person(rng) + role
    verb = "작품을 선보였다" if kind == "국제 영화제" else "실력을 겨루었다"
    start = date_ko(y, m, d)
    if rng.random() < 0.5:
        ctx = (
            f"제{n}회 {j(event, '은')} {start}부터 {days}일 동안 {venue}에서 열렸다. "
            f"이번 행사에는 {nc}개 나라에서 {np_}명이 참가하였으며, "
            f"{j(award, '은')} {winner}에게 돌아갔다."
        )
    else:
        ctx = (
            f"{start}, {venue}에서 제{n}회 {j(event, '이')} 막을 올렸다. "
            f"{days}일 동안 이어진 이번 행사에서는 {nc}개 나라의 참가자 {np_}명이 {verb}. "
            f"영예의 {j(award, '은')} {j(winner, '이')} 차지하였다."
        )
    facts = {
        "start": (
            [f"제{n}회 {j(event, '은')} 언제 시작되었나?", f"제{n}회 {j(event, '이')} 개막한 날짜는?"],
            start,
            f"It opened on {date_en(y, m, d)}.",
        ),
        "days": (
            [f"제{n}회 {j(event, '은')} 며칠 동안 열렸나?", f"이번 {event}의 개최 기간은 며칠인가?"],
            f"{days}일",
            f"It lasted {days} days.",
        ),
        "venue": ([f"제{n}회 {j(event, '이')} 열린 장소는 어디인가?", f"제{n}회 {event}의 개최 장소는?"], venue, None),
        "nc": (
            [f"제{n}회 {event}에는 몇 개 나라에서 참가하였나?", f"이번 {event}에 참가한 나라는 모두 몇 개국인가?"],
            f"{nc}개",
            f"Participants came from {nc} countries.",
        ),
        "np": (
            [f"제{n}회 {event}의 참가자 수는?", f"이번 {event}에는 몇 명이 참가하였나?"],
            f"{np_}명",
            f"There were {np_} participants.",
        ),
        "winner": (
            [f"제{n}회 {event}에서 {j(award, '을')} 차지한 사람은?", f"이번 {event}의 {award} 주인공은 누구인가?"],
            winner,
            None,
        ),
        "edition": (
            [f"{start}에 개막한 {j(event, '은')} 몇 회째를 맞았나?"],
            f"제{n}회",
            f"It was edition number {n}.",
        ),
    }
    return ctx, facts


BRIDGE_TYPES = ["사장교", "현수교", "아치교", "트러스교"]


def tpl_bridge(rng):
    s1, s2 = rng.sample(STEMS, 2)
    bridge = f"{s1}대교"
    river = f"{s2}강"
    btype = rng.choice(BRIDGE_TYPES)
    length = f"{rng.randint(180, 4200):,}"
    sy = rng.randint(1975, 2015)
    oy, om, od = sy + rng.randint(3, 7), rng.randint(1, 12), rng.randint(1, 28)
    cost = rng.randint(30, 900) * 10
    cost_s = f"{cost:,}"
    builder = rng.choice(CO_PREFIX) + rng.choice(["건설", "엔지니어링", "구조설계"])
    opened = date_ko(oy, om, od)
    if rng.random() < 0.5:
        ctx = (
            f"{j(bridge, '은')} {j(river, '을')} 가로지르는 길이 {length}m의 {j(btype, '로')}, "
            f"{sy}년에 착공하여 {opened}에 개통되었다. 총공사비로 약 {cost_s}억 원이 "
            f"투입되었으며, 설계는 {j(builder, '이')} 맡았다."
        )
    else:
        ctx = (
            f"{river} 위에 놓인 {j(bridge, '은')} {builder}에서 설계한 {btype}이다. "
            f"{sy}년 공사를 시작해 {opened} 개통되었으며, 다리의 길이는 {length}m이다. "
            f"건설에는 약 {cost_s}억 원이 들었다."
        )
    facts = {
        "length": (
            [f"{bridge}의 길이는 얼마인가?", f"{j(bridge, '은')} 길이가 몇 미터인가?"],
            f"{length}m",
            f"It is {length} meters long.",
        ),
        "type": ([f"{j(bridge, '은')} 어떤 형식의 다리인가?", f"{bridge}의 교량 형식은?"], btype, None),
        "start": (
            [f"{bridge}의 공사가 시작된 해는?", f"{j(bridge, '은')} 몇 년에 착공되었나?"],
            f"{sy}년",
            f"Construction began in {sy}.",
        ),
        "open": (
            [f"{j(bridge, '이')} 개통된 날짜는 언제인가?", f"{j(bridge, '은')} 언제 개통되었지?"],
            opened,
            f"It opened on {date_en(oy, om, od)}.",
        ),
        "cost": (
            [f"{bridge} 건설에 들어간 총공사비는?", f"{j(bridge, '을')} 짓는 데 든 비용은 약 얼마인가?"],
            f"약 {cost_s}억 원",
            f"It cost about {cost * 100:,} million won.",
        ),
        "builder": ([f"{bridge}의 설계를 맡은 회사는?", f"{j(bridge, '을')} 설계한 곳은 어디인가?"], builder, None),
        "river": (
            [f"{j(bridge, '이')} 가로지르는 강의 이름은?", f"{j(bridge, '은')} 어느 강 위에 놓여 있나?"],
            river,
            None,
        ),
    }
    return ctx, facts


TITLES = [
    "바람의 언덕",
    "푸른 새벽",
    "잊혀진 정원",
    "달빛 기차",
    "겨울 항구",
    "은행나무 아래서",
    "마지막 편지",
    "소금꽃",
    "북쪽 창가",
    "여름의 끝",
    "유리 도시",
    "안개 속의 섬",
    "늦은 오후의 산책",
    "붉은 지붕",
    "먼 곳의 등대",
    "종이 비행기",
    "흰 눈의 기억",
    "강가의 집",
    "밤의 정거장",
    "첫 번째 계절",
]
AWARDS = ["청운문학상", "새벽문학상", "한솔문학상", "늘봄문학상", "가람문학상", "해오름문학상"]


def tpl_novelist(rng):
    name = person(rng)
    by = rng.randint(1930, 1985)
    bplace = f"{rng.choice(PROVINCES)} {rng.choice(STEMS)}군"
    dy = by + rng.randint(20, 32)
    t1, t2, t3 = rng.sample(TITLES, 3)
    ay = min(dy + rng.randint(5, 20), 2023)
    award = rng.choice(AWARDS)
    if rng.random() < 0.5:
        ctx = (
            f"{j(name, '은')} {by}년 {bplace}에서 태어난 소설가이다. {dy}년 단편소설 "
            f"「{t1}」{j(t1, '로')[len(t1) :]} 등단하였으며, 대표작으로는 장편소설 『{t2}』 등이 있다. "
            f"{ay}년에는 『{t3}』{j(t3, '로')[len(t3) :]} {j(award, '을')} 수상하였다."
        )
    else:
        ctx = (
            f"소설가 {j(name, '은')} {by}년 {bplace}에서 태어났다. {dy}년 「{t1}」{j(t1, '이')[len(t1) :]} "
            f"신춘문예에 당선되며 작품 활동을 시작하였다. {ay}년 장편소설 『{t3}』{j(t3, '로')[len(t3) :]} "
            f"{j(award, '을')} 받았으며, 가장 널리 읽힌 작품은 『{t2}』이다."
        )
    facts = {
        "byear": (
            [f"{j(name, '은')} 몇 년에 태어났나?", f"소설가 {j(name, '이')} 태어난 해는?"],
            f"{by}년",
            f"The author was born in {by}.",
        ),
        "bplace": ([f"{j(name, '이')} 태어난 곳은 어디인가?", f"소설가 {name}의 출생지는?"], bplace, None),
        "dyear": (
            [f"{j(name, '이')} 등단한 해는 언제인가?", f"{j(name, '은')} 몇 년에 작품 활동을 시작하였나?"],
            f"{dy}년",
            f"The literary debut was in {dy}.",
        ),
        "debut": ([f"{name}의 등단작은 무엇인가?", f"{j(name, '이')} {dy}년에 발표한 등단 작품의 제목은?"], t1, None),
        "major": (
            [f"{name}의 대표작으로 꼽히는 장편소설은?", f"{name}의 작품 가운데 가장 널리 알려진 것은?"],
            t2,
            None,
        ),
        "award": (
            [
                f"{j(name, '이')} {ay}년에 받은 상은 무엇인가?",
                f"{j(name, '은')} 『{t3}』{j(t3, '로')[len(t3) :]} 어떤 상을 받았나?",
            ],
            award,
            None,
        ),
        "ayear": (
            [f"{j(name, '이')} {j(award, '을')} 받은 해는?", f"{j(name, '은')} 몇 년에 {j(award, '을')} 수상하였나?"],
            f"{ay}년",
            f"The award was received in {ay}.",
        ),
        "awork": ([f"{name}에게 {j(award, '을')} 안겨 준 작품은?"], t3, None),
    }
    return ctx, facts


MOTTOS = [
    "진리, 자유, 봉사",
    "성실과 창의",
    "참되고 슬기롭게",
    "정직, 도전, 나눔",
    "빛과 소금",
    "배워서 나누자",
    "바르게 생각하고 힘차게 실천하자",
]
TREES = ["은행나무", "소나무", "느티나무", "목련", "벚나무", "단풍나무", "회화나무"]
SCHOOL_KINDS = ["대학교", "과학기술대학교", "예술대학교", "외국어대학교"]


def tpl_school(rng):
    stem = rng.choice(STEMS)
    school = stem + rng.choice(SCHOOL_KINDS)
    fy = rng.randint(1946, 1999)
    founder = person(rng)
    city = f"{rng.choice(STEMS)}시"
    n0 = rng.randint(30, 320)
    nd = rng.randint(12, 68)
    ns = f"{rng.randint(1800, 26000):,}"
    motto = rng.choice(MOTTOS)
    tree = rng.choice(TREES)
    if rng.random() < 0.5:
        ctx = (
            f"{j(school, '은')} {fy}년 {j(founder, '이')} {city}에 세운 사립 대학이다. "
            f"개교 당시 학생 수는 {n0}명에 불과했으나, 현재는 {nd}개 학과에 {ns}명의 학생이 "
            f"재학 중이다. 교훈은 '{motto}'이며, 학교를 상징하는 나무는 {tree}이다."
        )
    else:
        ctx = (
            f"{fy}년 {city}에서 학생 {n0}명으로 문을 연 {j(school, '은')} {j(founder, '이')} "
            f"설립하였다. 지금은 {nd}개 학과를 갖춘 종합 사립 대학으로 성장하여 {ns}명이 "
            f"공부하고 있다. '{motto}'{j(motto, '을')[len(motto) :]} 교훈으로 삼고 있으며, 교목은 {tree}이다."
        )
    facts = {
        "fy": (
            [f"{j(school, '이')} 세워진 해는?", f"{j(school, '은')} 몇 년에 설립되었나?"],
            f"{fy}년",
            f"It was founded in {fy}.",
        ),
        "founder": ([f"{j(school, '을')} 세운 사람은 누구인가?", f"{school}의 설립자는?"], founder, None),
        "city": ([f"{j(school, '은')} 어느 도시에 세워졌나?", f"{j(school, '이')} 처음 문을 연 도시는?"], city, None),
        "n0": (
            [f"{school} 개교 당시의 학생 수는?", f"{j(school, '이')} 처음 문을 열었을 때 학생은 몇 명이었나?"],
            f"{n0}명",
            f"It started with {n0} students.",
        ),
        "nd": (
            [f"현재 {school}에는 몇 개의 학과가 있나?", f"{school}의 학과 수는?"],
            f"{nd}개",
            f"It has {nd} departments.",
        ),
        "ns": (
            [f"{school}에 현재 재학 중인 학생은 몇 명인가?", f"지금 {school}에서 공부하는 학생 수는?"],
            f"{ns}명",
            f"{ns} students are currently enrolled.",
        ),
        "motto": ([f"{school}의 교훈은 무엇인가?", f"{j(school, '이')} 교훈으로 삼는 말은?"], motto, None),
        "tree": ([f"{school}의 상징 나무는?", f"{school}의 교목은 무엇인가?"], tree, None),
    }
    return ctx, facts


A_TEMPLATES = [tpl_athlete, tpl_city, tpl_company, tpl_event, tpl_bridge, tpl_novelist, tpl_school]


def gen_a(rng):
    """One closed_qa item: context, question, answer span, wrong span, english answer."""
    tpl = rng.choice(A_TEMPLATES)
    ctx, facts = tpl(rng)
    fid = rng.choice(sorted(facts))
    qs, ans, en = facts[fid]
    assert ans in ctx, (ans, ctx)
    q = politeize(rng, rng.choice(qs))
    for _ in range(50):
        _, other = tpl(rng)
        wrong = other[fid][1]
        if wrong != ans:
            break
    return {
        "domain": "A",
        "gen": tpl.__name__,
        "instruction": q,
        "context": ctx,
        "response": ans,
        "category": "closed_qa",
        "wrong": wrong,
        "en": en,
    }


# ---------------------------------------------------------------------------
# Domain B: chat / instruction templates (no context)
# ---------------------------------------------------------------------------

KIDS = ["민수", "지영", "서준", "하린", "도현", "예은", "준호", "소윤", "태민", "유진", "현서", "지호"]

COUNT_GROUPS = {
    "fruit": (["사과", "배", "귤", "복숭아", "자두", "감", "참외"], "개"),
    "book": (["동화책", "만화책", "위인전", "그림책"], "권"),
    "animal": (["닭", "오리", "염소", "토끼", "양"], "마리"),
    "pen": (["연필", "볼펜", "색연필", "사인펜"], "자루"),
}
SNACKS = [
    ("과자", 800, 2500),
    ("아이스크림", 500, 2000),
    ("초콜릿", 700, 3000),
    ("빵", 1000, 3500),
    ("음료수", 600, 2000),
    ("사탕", 100, 500),
    ("우유", 700, 1500),
]


def _delta_wrong(rng, value, lo=1):
    while True:
        w = value + rng.choice([-3, -2, -1, 1, 2, 3, 10, -10])
        if w >= lo and w != value:
            return w


def gen_arith(rng):
    kind = rng.choice(["add", "add", "sub", "sub", "mul", "div", "money", "change", "time", "legs"])
    name = rng.choice(KIDS)
    if kind == "add":
        g = rng.choice(sorted(COUNT_GROUPS))
        items, c = COUNT_GROUPS[g]
        i1, i2 = rng.sample(items, 2)
        top = {"fruit": 30, "book": 20, "animal": 30, "pen": 12}[g]
        a, b = rng.randint(2, top), rng.randint(2, top)
        s = a + b
        scenes = {
            "fruit": f"{j(name, '는')} 시장에서 {i1} {j(f'{a}{c}', '와')} {i2} {j(f'{b}{c}', '를')} 샀습니다. "
            f"{j(name, '가')} 산 과일은 모두 몇 {c}인가요?",
            "book": f"{j(name, '는')} 도서관에서 {i1} {j(f'{a}{c}', '와')} {i2} {j(f'{b}{c}', '를')} 빌렸습니다. "
            f"{j(name, '가')} 빌린 책은 모두 몇 {c}인가요?",
            "animal": f"농장에 {i1} {j(f'{a}{c}', '와')} {i2} {j(f'{b}{c}', '가')} 있습니다. "
            f"농장에 있는 동물은 모두 몇 {c}인가요?",
            "pen": f"필통에 {i1} {j(f'{a}{c}', '와')} {i2} {j(f'{b}{c}', '가')} 들어 있습니다. "
            f"필통에 든 필기구는 모두 몇 {c}인가요?",
        }
        q = rng.choice([scenes[g], f"{i1} {j(f'{a}{c}', '와')} {i2} {j(f'{b}{c}', '를')} 합치면 모두 몇 {c}인가요?"])
        form = rng.choice(
            [
                "모두 {v}{c}입니다.",
                "{a} 더하기 {B} {v}이므로 모두 {v}{c}입니다.",
                "{a}{c}{와} {b}{c}{를} 더하면 모두 {v}{c}입니다.",
            ]
        )
        fill = lambda v: form.format(
            v=v,
            c=c,
            a=a,
            b=b,
            B=j(str(b), "는"),
            와=j(f"{a}{c}", "와")[len(f"{a}{c}") :],
            를=j(f"{b}{c}", "를")[len(f"{b}{c}") :],
        )
        return q, fill(s), fill(_delta_wrong(rng, s)), f"There are {s} in total."
    if kind == "sub":
        scene = rng.choice(["give", "give", "bus", "pond"])
        a = rng.randint(8, 40)
        b = rng.randint(1, a - 1)
        r = a - b
        if scene == "give":
            g = rng.choice(["fruit", "book", "pen"])
            items, c = COUNT_GROUPS[g]
            i = rng.choice(items)
            q = (
                f"{j(name, '는')} {i} {j(f'{a}{c}', '를')} 가지고 있었는데, 그중 {j(f'{b}{c}', '를')} "
                f"친구에게 주었습니다. 남은 {j(i, '는')} 몇 {c}인가요?"
            )
            forms = [
                f"남은 {j(i, '는')} {{v}}{c}입니다.",
                f"{a}에서 {j(str(b), '를')} 빼면 {{v}}이므로 {{v}}{c}{{ga}} 남습니다.",
            ]
        elif scene == "bus":
            c = "명"
            q = f"버스에 {a}명이 타고 있었는데 정류장에서 {b}명이 내렸습니다. 버스에 남은 사람은 몇 명인가요?"
            forms = [
                "버스에 남은 사람은 {v}명입니다.",
                f"{a}에서 {j(str(b), '를')} 빼면 {{v}}이므로 {{v}}명이 남습니다.",
            ]
        else:
            c = "마리"
            q = f"연못에 오리 {a}마리가 있었는데 {b}마리가 날아갔습니다. 연못에 남은 오리는 몇 마리인가요?"
            forms = [
                "연못에 남은 오리는 {v}마리입니다.",
                f"{a}에서 {j(str(b), '를')} 빼면 {{v}}이므로 {{v}}마리가 남습니다.",
            ]
        form = rng.choice(forms)
        fill = lambda v: form.format(v=v, ga=j(f"{v}{c}", "가")[len(f"{v}{c}") :])
        return q, fill(r), fill(_delta_wrong(rng, r)), f"{r} are left."
    if kind == "mul":
        if rng.random() < 0.7:
            g = rng.choice(["fruit", "pen"])
            items, c = COUNT_GROUPS[g]
            i = rng.choice(items)
            box = rng.choice(["상자", "봉지", "바구니"] if g == "fruit" else ["상자", "묶음"])
            a, b = rng.randint(3, 12), rng.randint(2, 9)
            q = f"한 {box}에 {j(i, '가')} {a}{c}씩 들어 있습니다. {b}{box}에는 {j(i, '가')} 모두 몇 {c} 들어 있나요?"
        else:
            c = "명"
            a, b = rng.randint(4, 12), rng.randint(2, 9)
            q = f"학생들이 한 줄에 {a}명씩 {b}줄로 서 있습니다. 학생은 모두 몇 명인가요?"
        p = a * b
        form = rng.choice(["{a} 곱하기 {B} {v}이므로 모두 {v}{c}입니다.", "모두 {v}{c}입니다."])
        fill = lambda v: form.format(a=a, B=j(str(b), "는"), v=v, c=c)
        return q, fill(p), fill(_delta_wrong(rng, p)), f"There are {p} in total."
    if kind == "div":
        g = rng.choice(["fruit", "pen", "book"])
        items, c = COUNT_GROUPS[g]
        i = rng.choice(items)
        k, qv = rng.randint(2, 8), rng.randint(2, 9)
        t = k * qv
        q = rng.choice(
            [
                f"{i} {j(f'{t}{c}', '를')} {k}명이 똑같이 나누어 가지면 한 사람이 몇 {c}씩 갖게 되나요?",
                f"{j(name, '는')} {i} {j(f'{t}{c}', '를')} 친구 {k}명에게 똑같이 나누어 주려고 합니다. 한 명에게 몇 {c}씩 주면 되나요?",
            ]
        )
        form = rng.choice(
            [
                f"한 사람당 {{v}}{c}씩입니다.",
                f"{j(str(t), '를')} {j(str(k), '로')} 나누면 {{v}}이므로 한 사람에게 {{v}}{c}씩 돌아갑니다.",
            ]
        )
        fill = lambda v: form.format(v=v)
        return q, fill(qv), fill(_delta_wrong(rng, qv)), f"Each person gets {qv}."
    if kind == "money":
        snack, lo, hi = rng.choice(SNACKS)
        price = rng.randint(lo // 100, hi // 100) * 100
        n = rng.randint(2, 6)
        total = price * n
        q = rng.choice(
            [
                f"{price:,}원짜리 {j(snack, '을')} {n}개 사려면 얼마가 필요한가요?",
                f"{j(snack, '가')} 하나에 {price:,}원입니다. {n}개를 사면 모두 얼마인가요?",
            ]
        )
        form = rng.choice(["{p} × {n} = {v}이므로 모두 {v}원입니다.", "모두 {v}원입니다."])
        fill = lambda v: form.format(p=f"{price:,}", n=n, v=f"{v:,}")
        wrong = total + rng.choice([-price, price, 100, -100])
        return q, fill(total), fill(wrong), f"It costs {total:,} won in total."
    if kind == "change":
        snack, lo, hi = rng.choice(SNACKS)
        price = rng.randint(lo // 100, hi // 100) * 100
        money = rng.choice([m for m in (1000, 5000, 10000) if m > price])
        diff = money - price
        q = rng.choice(
            [
                f"{money:,}원을 내고 {price:,}원짜리 {j(snack, '을')} 샀습니다. 거스름돈은 얼마인가요?",
                f"{j(name, '는')} {price:,}원짜리 {j(snack, '을')} 사고 {money:,}원을 냈습니다. 얼마를 돌려받아야 하나요?",
            ]
        )
        form = rng.choice(
            ["거스름돈은 {v}원입니다.", f"{money:,}원에서 {price:,}원을 빼면 {{v}}원이므로 {{v}}원을 돌려받습니다."]
        )
        fill = lambda v: form.format(v=f"{v:,}")
        wrong = diff + rng.choice([-100, 100, 1000]) if diff > 100 else diff + 100
        return q, fill(diff), fill(wrong), f"The change is {diff:,} won."
    if kind == "time":
        h, d = rng.randint(6, 11), rng.randint(1, 6)

        def clock(hh):
            if hh < 12:
                return f"오전 {hh}시"
            if hh == 12:
                return "낮 12시"
            return f"오후 {hh - 12}시"

        def clock_en(hh):
            if hh < 12:
                return f"{hh} a.m."
            if hh == 12:
                return "noon"
            return f"{hh - 12} p.m."

        q = rng.choice(
            [
                f"오전 {h}시에 출발해서 {d}시간 동안 이동하면 몇 시에 도착하나요?",
                f"{j(name, '는')} 오전 {h}시에 공부를 시작해서 {d}시간 동안 했습니다. 공부를 마친 시각은 몇 시인가요?",
            ]
        )
        form = "{v}입니다." if "공부" in q else "{v}에 도착합니다."
        wrong_h = h + d + rng.choice([-1, 1, 2])
        en = f"It will be {clock_en(h + d)}".rstrip(".") + "."
        return q, form.format(v=clock(h + d)), form.format(v=clock(wrong_h)), en
    # legs
    animal, legs = rng.choice([("닭", 2), ("오리", 2), ("염소", 4), ("강아지", 4), ("고양이", 4), ("소", 4)])
    a = rng.randint(2, 12)
    q = f"{animal} {a}마리의 다리는 모두 몇 개인가요?"
    form = rng.choice(
        [f"{animal} 한 마리의 다리는 {legs}개이므로, {a}마리의 다리는 모두 {{v}}개입니다.", "다리는 모두 {v}개입니다."]
    )
    return q, form.format(v=a * legs), form.format(v=a * legs + legs), f"They have {a * legs} legs in total."


WORDS = [
    ("사과", "apple"),
    ("바나나", "banana"),
    ("책", "book"),
    ("학교", "school"),
    ("물", "water"),
    ("고양이", "cat"),
    ("개", "dog"),
    ("집", "house"),
    ("나무", "tree"),
    ("꽃", "flower"),
    ("하늘", "sky"),
    ("바다", "sea"),
    ("산", "mountain"),
    ("강", "river"),
    ("자동차", "car"),
    ("기차", "train"),
    ("비행기", "airplane"),
    ("의자", "chair"),
    ("책상", "desk"),
    ("창문", "window"),
    ("문", "door"),
    ("연필", "pencil"),
    ("시계", "clock"),
    ("우유", "milk"),
    ("빵", "bread"),
    ("달걀", "egg"),
    ("친구", "friend"),
    ("가족", "family"),
    ("선생님", "teacher"),
    ("학생", "student"),
    ("의사", "doctor"),
    ("병원", "hospital"),
    ("도서관", "library"),
    ("음악", "music"),
    ("노래", "song"),
    ("봄", "spring"),
    ("여름", "summer"),
    ("가을", "autumn"),
    ("겨울", "winter"),
    ("아침", "morning"),
    ("저녁", "evening"),
    ("밤", "night"),
    ("오늘", "today"),
    ("내일", "tomorrow"),
    ("어제", "yesterday"),
    ("바람", "wind"),
    ("태양", "sun"),
    ("달", "moon"),
    ("별", "star"),
    ("구름", "cloud"),
    ("우산", "umbrella"),
    ("신발", "shoes"),
    ("모자", "hat"),
    ("가방", "bag"),
    ("열쇠", "key"),
    ("거울", "mirror"),
    ("숟가락", "spoon"),
    ("젓가락", "chopsticks"),
    ("접시", "plate"),
    ("행복", "happiness"),
    ("사랑", "love"),
    ("시간", "time"),
    ("돈", "money"),
    ("공원", "park"),
    ("소금", "salt"),
    ("설탕", "sugar"),
    ("쌀", "rice"),
    ("물고기", "fish"),
    ("새", "bird"),
    ("토끼", "rabbit"),
    ("곰", "bear"),
    ("사자", "lion"),
    ("코끼리", "elephant"),
    ("거북이", "turtle"),
]


def gen_translate(rng):
    (ko, en), (ko2, en2) = rng.sample(WORDS, 2)
    if rng.random() < 0.55:
        q = rng.choice(
            [
                f"'{ko}'{j(ko, '를')[len(ko) :]} 영어로 뭐라고 하나요?",
                f"'{ko}'의 영어 단어를 알려 주세요.",
                f"{j(ko, '는')} 영어로 무엇인가요?",
                f"한국어 단어 '{ko}'{j(ko, '을')[len(ko) :]} 영어로 번역해 주세요.",
            ]
        )
        form = rng.choice([f"'{ko}'{j(ko, '는')[len(ko) :]} 영어로 '{{v}}'입니다.", "영어로는 '{v}'입니다."])
        return q, form.format(v=en), form.format(v=en2), f"In English, it is '{en}'."
    q = rng.choice(
        [
            f"영어 단어 '{en}'의 뜻은 무엇인가요?",
            f"영어 '{en}'의 한국어 뜻을 알려 주세요.",
            f"다음 영어 단어를 한국어로 번역해 주세요: {en}",
            f"영어 '{en}'에 해당하는 한국어 단어는 무엇인가요?",
        ]
    )
    form = rng.choice(["{v}{라는} 뜻입니다.", "한국어로는 '{w}'입니다.", "'{en}'의 뜻은 '{w}'입니다."])
    fill = lambda w: form.format(v=f"'{w}'", 라는=j(w, "라는")[len(w) :], w=w, en=en)
    return q, fill(ko), fill(ko2), f"It means '{ko}' in Korean."


CAPITALS = [
    ("프랑스", "France", "파리", "Paris"),
    ("독일", "Germany", "베를린", "Berlin"),
    ("영국", "the United Kingdom", "런던", "London"),
    ("이탈리아", "Italy", "로마", "Rome"),
    ("스페인", "Spain", "마드리드", "Madrid"),
    ("포르투갈", "Portugal", "리스본", "Lisbon"),
    ("네덜란드", "the Netherlands", "암스테르담", "Amsterdam"),
    ("벨기에", "Belgium", "브뤼셀", "Brussels"),
    ("스위스", "Switzerland", "베른", "Bern"),
    ("오스트리아", "Austria", "빈", "Vienna"),
    ("스웨덴", "Sweden", "스톡홀름", "Stockholm"),
    ("노르웨이", "Norway", "오슬로", "Oslo"),
    ("핀란드", "Finland", "헬싱키", "Helsinki"),
    ("덴마크", "Denmark", "코펜하겐", "Copenhagen"),
    ("폴란드", "Poland", "바르샤바", "Warsaw"),
    ("체코", "the Czech Republic", "프라하", "Prague"),
    ("헝가리", "Hungary", "부다페스트", "Budapest"),
    ("그리스", "Greece", "아테네", "Athens"),
    ("아일랜드", "Ireland", "더블린", "Dublin"),
    ("러시아", "Russia", "모스크바", "Moscow"),
    ("튀르키예", "Türkiye", "앙카라", "Ankara"),
    ("이집트", "Egypt", "카이로", "Cairo"),
    ("케냐", "Kenya", "나이로비", "Nairobi"),
    ("일본", "Japan", "도쿄", "Tokyo"),
    ("중국", "China", "베이징", "Beijing"),
    ("몽골", "Mongolia", "울란바토르", "Ulaanbaatar"),
    ("베트남", "Vietnam", "하노이", "Hanoi"),
    ("태국", "Thailand", "방콕", "Bangkok"),
    ("필리핀", "the Philippines", "마닐라", "Manila"),
    ("인도", "India", "뉴델리", "New Delhi"),
    ("사우디아라비아", "Saudi Arabia", "리야드", "Riyadh"),
    ("이란", "Iran", "테헤란", "Tehran"),
    ("캐나다", "Canada", "오타와", "Ottawa"),
    ("멕시코", "Mexico", "멕시코시티", "Mexico City"),
    ("브라질", "Brazil", "브라질리아", "Brasília"),
    ("아르헨티나", "Argentina", "부에노스아이레스", "Buenos Aires"),
    ("페루", "Peru", "리마", "Lima"),
    ("칠레", "Chile", "산티아고", "Santiago"),
    ("호주", "Australia", "캔버라", "Canberra"),
    ("뉴질랜드", "New Zealand", "웰링턴", "Wellington"),
    ("대한민국", "South Korea", "서울", "Seoul"),
]


def gen_capital(rng):
    (ko, en, cap, cap_en), (ko2, _, cap2, _) = rng.sample(CAPITALS, 2)
    if rng.random() < 0.7:
        q = rng.choice(
            [
                f"{ko}의 수도는 어디인가요?",
                f"{ko}의 수도가 어디야?",
                f"{ko}의 수도 이름을 알려 주세요.",
                f"{ko}의 수도는 어느 도시인가요?",
            ]
        )
        form = rng.choice([f"{ko}의 수도는 {{c}}입니다.", "수도는 {c}입니다."])
        return q, form.format(c=cap), form.format(c=cap2), f"The capital of {en} is {cap_en}."
    q = rng.choice([f"{j(cap, '은')} 어느 나라의 수도인가요?", f"{j(cap, '을')} 수도로 하는 나라는 어디인가요?"])
    form = f"{j(cap, '은')} {{k}}의 수도입니다."
    return q, form.format(k=ko), form.format(k=ko2), f"{cap_en} is the capital of {en}."


DEFINITIONS = [
    ("도서관", "책과 여러 자료를 모아 두고 사람들이 읽거나 빌려 갈 수 있도록 만든 시설"),
    ("우체국", "편지나 소포를 보내고 받는 일을 맡아 하는 기관"),
    ("병원", "의사와 간호사가 아픈 사람을 진찰하고 치료하는 곳"),
    ("냉장고", "음식을 낮은 온도로 보관하여 쉽게 상하지 않게 하는 전기 기구"),
    ("우산", "비나 햇빛을 가리기 위해 펴서 머리 위에 받쳐 쓰는 도구"),
    ("지도", "땅의 모양과 위치를 일정한 비율로 줄여 평면에 나타낸 그림"),
    ("사전", "낱말을 일정한 순서로 싣고 그 뜻과 쓰임을 풀이한 책"),
    ("달력", "한 해의 날짜와 요일, 절기 등을 차례대로 적어 놓은 것"),
    ("소방관", "불을 끄고 사고 현장에서 사람을 구조하는 일을 하는 사람"),
    ("요리사", "음식 만드는 일을 직업으로 하는 사람"),
    ("농부", "논밭에서 곡식이나 채소를 기르는 일을 하는 사람"),
    ("박물관", "역사나 예술, 자연에 관한 자료를 모아 전시하고 연구하는 시설"),
    ("은행", "돈을 맡아 보관하거나 빌려주는 일을 하는 금융 기관"),
    ("나침반", "자석 바늘을 이용해 방향을 알려 주는 도구"),
    ("온도계", "온도를 재는 기구"),
    ("망원경", "멀리 있는 물체를 크고 가깝게 보이도록 만든 기구"),
    ("현미경", "눈으로 볼 수 없을 만큼 작은 물체를 크게 확대해 보여 주는 기구"),
    ("사막", "비가 매우 적게 내려 풀과 나무가 거의 자라지 않는 넓은 땅"),
    ("섬", "사방이 물로 둘러싸인 땅"),
    ("화산", "땅속의 마그마가 밖으로 터져 나와 만들어진 산"),
    ("무지개", "비가 그친 뒤 햇빛이 물방울에 비쳐 하늘에 나타나는 일곱 빛깔의 띠"),
    ("일기", "그날그날 겪은 일이나 생각, 느낌을 적은 글"),
    ("편지", "다른 사람에게 하고 싶은 말을 적어 보내는 글"),
    ("약국", "약사가 약을 짓거나 파는 곳"),
    ("공항", "비행기가 뜨고 내리며 승객이 타고 내리는 곳"),
    ("경찰관", "국민의 안전을 지키고 범죄를 막는 일을 하는 공무원"),
    ("광합성", "식물이 햇빛과 물, 이산화탄소를 이용해 양분을 만드는 과정"),
    ("계절", "한 해를 날씨에 따라 봄, 여름, 가을, 겨울로 나눈 것"),
    ("시장", "여러 가지 물건을 사고파는 곳"),
    ("일교차", "하루 중 가장 높은 기온과 가장 낮은 기온의 차이"),
]


def gen_define(rng):
    (w, d), (_, d2) = rng.sample(DEFINITIONS, 2)
    q = rng.choice(
        [
            f"'{w}'{j(w, '이')[len(w) :]} 무엇인지 설명해 주세요.",
            f"{j(w, '은')} 무엇인가요?",
            f"'{w}'의 뜻을 알려 주세요.",
            f"{j(w, '이')} 뭐야?",
            f"'{w}'{j(w, '이라는')[len(w) :]} 말의 의미를 쉽게 설명해 주세요.",
        ]
    )
    if rng.random() < 0.5:
        fill = lambda dd: f"{j(w, '은')} {dd}입니다."
    else:
        fill = lambda dd: f"{j(dd, '을')} {j(w, '이라고')} 합니다."
    return q, fill(d), fill(d2), None


BRAINSTORM = [
    (
        [
            "비 오는 주말에 집에서 할 수 있는 활동을 {n} 가지 추천해 주세요.",
            "비가 와서 밖에 못 나가는 날 집에서 할 만한 일을 {n} 가지만 알려 주세요.",
        ],
        "비 오는 날 집에서는 이런 활동을 해 보세요.",
        ["영화 보기", "보드게임 하기", "빵 굽기", "책 읽기", "퍼즐 맞추기", "방 정리하기", "그림 그리기"],
    ),
    (
        [
            "친구 생일 선물로 좋은 아이디어를 {n} 가지 알려 주세요.",
            "친구에게 줄 생일 선물을 고르고 있어요. {n} 가지만 추천해 주세요.",
        ],
        "이런 선물은 어떨까요?",
        ["손글씨 편지", "향초", "좋아하는 작가의 책", "머그잔", "사진 앨범", "작은 화분"],
    ),
    (
        [
            "건강을 위해 매일 실천할 수 있는 생활 습관을 {n} 가지 알려 주세요.",
            "건강해지기 위한 작은 습관 {n} 가지를 추천해 주세요.",
        ],
        "다음과 같은 습관을 추천합니다.",
        [
            "하루 30분 걷기",
            "물 자주 마시기",
            "일정한 시간에 잠자리에 들기",
            "채소 챙겨 먹기",
            "틈틈이 스트레칭하기",
            "자기 전 스마트폰 사용 줄이기",
        ],
    ),
    (
        [
            "새로 여는 동네 카페 이름을 {n} 가지 지어 주세요.",
            "작은 카페를 열려고 합니다. 가게 이름 후보를 {n} 개 제안해 주세요.",
        ],
        "이런 이름은 어떨까요?",
        ["달빛다방", "구름 한 잔", "오후의 쉼표", "소소한 커피", "햇살정원", "모퉁이 카페"],
    ),
    (
        [
            "일상에서 환경을 지키는 방법을 {n} 가지 알려 주세요.",
            "환경 보호를 위해 개인이 할 수 있는 일을 {n} 가지 제안해 주세요.",
        ],
        "생활 속에서 이렇게 실천할 수 있습니다.",
        [
            "텀블러 사용하기",
            "장바구니 들고 다니기",
            "대중교통 이용하기",
            "분리배출 철저히 하기",
            "안 쓰는 전등 끄기",
            "일회용품 줄이기",
        ],
    ),
    (
        [
            "여름 방학 계획으로 좋은 활동을 {n} 가지 추천해 주세요.",
            "이번 여름 방학에 해 볼 만한 일을 {n} 가지 제안해 주세요.",
        ],
        "이런 계획을 세워 보세요.",
        ["수영 배우기", "가족 여행 가기", "매일 일기 쓰기", "새로운 악기 배우기", "봉사활동 하기", "박물관 견학하기"],
    ),
    (
        [
            "공부할 때 집중력을 높이는 방법을 {n} 가지 알려 주세요.",
            "공부에 집중이 잘 안 돼요. 도움이 되는 방법 {n} 가지를 알려 주세요.",
        ],
        "다음 방법을 시도해 보세요.",
        [
            "휴대전화를 멀리 두기",
            "25분 공부하고 5분 쉬기",
            "목표를 작게 나누기",
            "책상 정리하기",
            "소리 내어 읽기",
            "공부할 시간을 미리 정해 두기",
        ],
    ),
    (
        [
            "독서 동아리 이름을 {n} 가지 지어 주세요.",
            "책 읽는 모임을 만들려고 합니다. 모임 이름을 {n} 개 추천해 주세요.",
        ],
        "이런 이름을 추천합니다.",
        ["책벌레들", "한 페이지", "책갈피", "활자 여행단", "밑줄 긋는 사람들", "책 읽는 목요일"],
    ),
    (
        [
            "가족과 주말에 나들이 가기 좋은 장소를 {n} 곳 추천해 주세요.",
            "주말에 가족과 함께 갈 만한 곳을 {n} 곳만 알려 주세요.",
        ],
        "이런 곳을 추천합니다.",
        ["가까운 공원", "동물원", "과학관", "수목원", "바닷가", "캠핑장"],
    ),
    (
        [
            "스트레스를 푸는 방법을 {n} 가지 알려 주세요.",
            "요즘 스트레스가 많아요. 풀 수 있는 방법을 {n} 가지 추천해 주세요.",
        ],
        "다음 방법이 도움이 될 수 있습니다.",
        [
            "산책하기",
            "좋아하는 음악 듣기",
            "친구와 이야기 나누기",
            "따뜻한 물로 샤워하기",
            "명상하기",
            "가벼운 운동하기",
        ],
    ),
    (
        [
            "바쁜 날 간단히 먹을 수 있는 아침 메뉴를 {n} 가지 추천해 주세요.",
            "아침에 빨리 준비할 수 있는 메뉴를 {n} 가지 알려 주세요.",
        ],
        "이런 메뉴는 어떨까요?",
        ["토스트와 달걀", "요거트와 과일", "주먹밥", "시리얼과 우유", "바나나 스무디", "누룽지"],
    ),
    (
        ["강아지 이름을 {n} 가지 지어 주세요.", "새로 데려온 강아지에게 어울리는 이름을 {n} 개 추천해 주세요."],
        "이런 이름은 어떨까요?",
        ["초코", "두부", "보리", "콩이", "몽이", "구름이"],
    ),
]
NUM_WORD = {3: "세", 4: "네"}


def gen_brainstorm(rng):
    qs, intro, ideas = rng.choice(BRAINSTORM)
    n = rng.choice([3, 3, 4])
    q = rng.choice(qs)
    counter = "가지" if "{n} 가지" in q else ("곳" if "{n} 곳" in q else "개")
    q = q.replace(f"{{n}} {counter}", f"{NUM_WORD[n]} {counter}")
    picks = rng.sample(ideas, n)
    if rng.random() < 0.5:
        resp = intro + "\n" + "\n".join(f"{k + 1}. {x}" for k, x in enumerate(picks))
    else:
        resp = f"{', '.join(picks[:-1])}, {j(picks[-1], '을')} 추천합니다."
    wrong = f"{picks[0]} 정도면 충분합니다."
    return q, resp, wrong, None


CLASSES = {
    "과일": ["사과", "배", "포도", "딸기", "수박", "바나나", "복숭아", "귤", "참외", "키위"],
    "채소": ["당근", "오이", "배추", "양파", "시금치", "감자", "고추", "무", "브로콜리", "상추"],
    "동물": ["호랑이", "토끼", "코끼리", "다람쥐", "여우", "사슴", "고양이", "펭귄", "기린", "거북이"],
}
CLASS_EN = {"과일": "fruit", "채소": "vegetable", "동물": "animal"}
ITEM_EN = {
    "사과": "An apple",
    "배": "A pear",
    "포도": "A grape",
    "딸기": "A strawberry",
    "수박": "A watermelon",
    "바나나": "A banana",
    "복숭아": "A peach",
    "귤": "A tangerine",
    "참외": "A Korean melon",
    "키위": "A kiwi",
    "당근": "A carrot",
    "오이": "A cucumber",
    "배추": "A napa cabbage",
    "양파": "An onion",
    "시금치": "Spinach",
    "감자": "A potato",
    "고추": "A chili pepper",
    "무": "A radish",
    "브로콜리": "Broccoli",
    "상추": "Lettuce",
    "호랑이": "A tiger",
    "토끼": "A rabbit",
    "코끼리": "An elephant",
    "다람쥐": "A squirrel",
    "여우": "A fox",
    "사슴": "A deer",
    "고양이": "A cat",
    "펭귄": "A penguin",
    "기린": "A giraffe",
    "거북이": "A turtle",
}


def gen_classify(rng):
    kind = rng.choice(["single", "single", "odd", "group"])
    classes = sorted(CLASSES)
    if kind == "single":
        cls = rng.choice(classes)
        x = rng.choice(CLASSES[cls])
        other = rng.choice([c for c in classes if c != cls])
        q = rng.choice(
            [
                f"'{x}'{j(x, '는')[len(x) :]} 과일, 채소, 동물 중 어디에 속하나요?",
                f"{j(x, '는')} 과일인가요, 채소인가요, 동물인가요?",
                f"다음 단어를 과일, 채소, 동물 중 하나로 분류해 주세요: {x}",
            ]
        )
        fill = lambda c: f"{j(x, '는')} {c}에 속합니다."
        en = f"{ITEM_EN[x]} is {'an' if cls == '동물' else 'a'} {CLASS_EN[cls]}."
        return q, fill(cls), fill(other), en
    if kind == "odd":
        cls = rng.choice(classes)
        oddcls = rng.choice([c for c in classes if c != cls])
        xs = rng.sample(CLASSES[cls], 3)
        odd = rng.choice(CLASSES[oddcls])
        allx = xs + [odd]
        rng.shuffle(allx)
        q = f"다음 중 {j(cls, '가')} 아닌 것은 무엇인가요? {', '.join(allx)}"
        fill = lambda o, oc: f"{j(o, '는')} {oc}이므로 {j(cls, '가')} 아닙니다."
        # wrong: picks a real member of the class and claims it belongs elsewhere
        return q, fill(odd, oddcls), fill(xs[0], oddcls), None
    # group
    picks = {c: rng.sample(CLASSES[c], rng.randint(1, 2)) for c in classes}
    allx = [x for c in classes for x in picks[c]]
    rng.shuffle(allx)
    q = rng.choice(
        [
            f"다음 단어들을 과일, 채소, 동물로 분류해 주세요: {', '.join(allx)}",
            f"{', '.join(allx)}{j(allx[-1], '을')[len(allx[-1]) :]} 과일, 채소, 동물로 나누어 주세요.",
        ]
    )
    order = ["과일", "채소", "동물"]
    resp = "\n".join(f"{c}: {', '.join(picks[c])}" for c in order)
    # wrong: swap the fruit and vegetable groups
    wrong = "\n".join(f"{c}: {', '.join(picks[o])}" for c, o in zip(order, ["채소", "과일", "동물"]))
    return q, resp, wrong, None


POEMS = {
    "봄": [
        "얼었던 시냇물이 조용히 노래하고\n담장 밑 민들레가 먼저 인사를 건넨다.",
        "바람 끝이 순해진 아침,\n나뭇가지마다 연둣빛 약속이 돋아난다.",
    ],
    "여름": [
        "매미 소리 가득한 느티나무 그늘 아래\n수박 한 조각에 한낮이 시원해진다.",
        "소나기 지나간 골목마다\n젖은 흙냄새가 여름을 알린다.",
    ],
    "가을": [
        "붉게 물든 단풍잎이 편지처럼 떨어지고\n높은 하늘은 오늘도 말이 없다.",
        "바삭한 낙엽을 밟으며 걷는 길,\n가을은 발끝에서 먼저 온다.",
    ],
    "겨울": [
        "하얀 눈이 소리 없이 쌓이는 밤\n창가의 불빛만 따뜻하게 깨어 있다.",
        "입김으로 그린 작은 하트 위에\n겨울 햇살이 살며시 내려앉는다.",
    ],
    "바다": [
        "밀려왔다 돌아가는 파도처럼\n그리운 마음도 다시 돌아온다.",
        "모래 위에 쓴 이름은 지워져도\n바다는 그 이야기를 기억한다.",
    ],
    "어머니": [
        "굽은 손마디마다 새겨진 세월 속에\n내가 자란 계절이 모두 담겨 있다.",
        "부엌에서 들려오던 도마 소리는\n세상에서 가장 다정한 자장가였다.",
    ],
    "친구": [
        "말하지 않아도 알아주는 눈빛 하나로\n긴 하루가 가볍게 끝이 난다.",
        "함께 웃던 운동장의 오후가\n지금도 마음 한편을 데워 준다.",
    ],
    "달": [
        "까만 밤하늘에 걸린 둥근 등불,\n누군가의 소원을 밤새 들어 준다.",
        "창문 너머 조용히 떠오른 달이\n오늘도 수고했다고 말해 준다.",
    ],
}
SLOGANS = {
    "동네 빵집": "매일 아침 갓 구운 행복, 우리 동네 빵집에서 만나세요.",
    "꽃집": "마음을 전하고 싶은 날, 꽃 한 송이가 대신 말해 드립니다.",
    "헬스장": "오늘의 땀 한 방울이 내일의 자신감이 됩니다.",
    "서점": "한 권의 책이 당신의 하루를 바꿉니다.",
    "카페": "바쁜 하루 속 잠깐의 쉼표, 따뜻한 커피 한 잔으로 채워 보세요.",
    "세탁소": "구김 없는 하루를 위해 옷 한 벌도 정성껏 다려 드립니다.",
    "분식집": "떡볶이 한 접시에 학창 시절 추억까지 담아 드립니다.",
    "안경점": "세상을 더 선명하게, 당신에게 꼭 맞는 안경을 찾아 드립니다.",
}
MESSAGES = [
    (
        ["친구에게 보낼 생일 축하 메시지를 짧게 써 주세요.", "친구 생일에 보낼 짧은 축하 문자를 써 주세요."],
        "생일 축하해! 올 한 해도 네가 웃는 날이 가장 많았으면 좋겠어. 늘 곁에 있어 줘서 고마워.",
    ),
    (
        ["선생님께 드릴 감사 인사를 두세 문장으로 써 주세요.", "졸업하면서 선생님께 남길 감사 인사를 짧게 써 주세요."],
        "선생님, 그동안 따뜻하게 가르쳐 주셔서 진심으로 감사드립니다. 선생님께 배운 것을 잊지 않고 열심히 살겠습니다.",
    ),
    (
        ["새해 인사 문자를 한두 문장으로 써 주세요.", "지인에게 보낼 새해 인사말을 짧게 지어 주세요."],
        "새해 복 많이 받으세요! 올해도 건강하시고 하시는 일마다 좋은 결과가 있기를 바랍니다.",
    ),
    (
        ["이사 간 이웃에게 보낼 작별 인사를 짧게 써 주세요."],
        "그동안 좋은 이웃이 되어 주셔서 감사했습니다. 새로운 곳에서도 늘 건강하고 행복하시길 바랍니다.",
    ),
]


def gen_creative(rng):
    kind = rng.choice(["poem", "poem", "slogan", "message"])
    if kind == "poem":
        topic = rng.choice(sorted(POEMS))
        q = rng.choice(
            [
                f"'{topic}'{j(topic, '을')[len(topic) :]} 주제로 짧은 시를 써 주세요.",
                f"{topic}에 관한 두 줄짜리 시를 지어 주세요.",
            ]
        )
        return q, rng.choice(POEMS[topic]), None, None
    if kind == "slogan":
        store = rng.choice(sorted(SLOGANS))
        q = rng.choice(
            [
                f"{j(store, '을')} 위한 홍보 문구를 한 문장으로 만들어 주세요.",
                f"{store} 광고에 쓸 짧은 문구를 하나 지어 주세요.",
            ]
        )
        return q, SLOGANS[store], None, None
    qs, resp = rng.choice(MESSAGES)
    return rng.choice(qs), resp, None, None


GENERAL = [
    (
        ["친구가 고맙다고 할 때 어떻게 대답하면 좋을까요?", "누가 고맙다고 하면 뭐라고 답하는 게 자연스러워요?"],
        '"천만에요"나 "도움이 됐다니 다행이야"처럼 가볍게 답하면 좋습니다. 상대가 부담을 느끼지 않도록 웃으며 말하는 것이 자연스럽습니다.',
    ),
    (
        ["처음 만난 사람에게 어떻게 인사하면 좋을까요?", "처음 보는 사람과 인사할 때 뭐라고 말하면 되나요?"],
        '"안녕하세요, 처음 뵙겠습니다."라고 인사한 뒤 자신의 이름을 소개하면 됩니다. 가볍게 고개를 숙이며 웃는 얼굴로 말하면 좋은 인상을 줄 수 있습니다.',
    ),
    (
        ["잠이 잘 안 올 때 어떻게 하면 좋을까요?", "밤에 쉽게 잠들지 못하는데 도움이 되는 방법이 있을까요?"],
        "잠들기 한 시간 전부터는 휴대전화를 멀리하고 방을 어둡고 조용하게 만들어 보세요. 매일 같은 시간에 잠자리에 드는 습관도 도움이 됩니다.",
    ),
    (
        ["감기에 걸렸을 때 집에서 할 수 있는 일은 무엇인가요?"],
        "충분히 쉬고 따뜻한 물을 자주 마시는 것이 좋습니다. 열이 높거나 증상이 오래가면 병원을 찾아 진료를 받으세요.",
    ),
    (
        ["약속 시간에 늦을 것 같을 때는 어떻게 해야 하나요?", "약속에 늦을 것 같아요. 어떻게 하는 게 예의인가요?"],
        "늦을 것 같다는 사실을 알게 된 즉시 상대에게 연락해 미안하다고 말하고 도착 예정 시간을 알려 주세요. 도착해서도 한 번 더 사과하는 것이 예의입니다.",
    ),
    (
        ["화분에 물은 얼마나 자주 줘야 하나요?"],
        "식물마다 다르지만, 보통 겉흙이 말랐을 때 물을 흠뻑 주는 것이 좋습니다. 물을 너무 자주 주면 뿌리가 썩을 수 있으니 주의하세요.",
    ),
    (
        ["사과할 때 중요한 점은 무엇인가요?", "진심으로 사과하려면 어떻게 해야 하나요?"],
        "변명보다 먼저 자신의 잘못을 분명히 인정하고 상대의 마음을 헤아리는 것이 중요합니다. 앞으로 같은 일이 없도록 어떻게 하겠다고 말하면 진심이 더 잘 전해집니다.",
    ),
    (
        ["발표할 때 긴장을 줄이는 방법이 있을까요?", "사람들 앞에서 발표하면 너무 떨려요. 어떻게 하면 좋을까요?"],
        "발표 내용을 여러 번 소리 내어 연습해 두면 자신감이 생깁니다. 시작하기 전에 천천히 깊게 숨을 쉬고, 청중 가운데 편안한 얼굴을 찾아 이야기해 보세요.",
    ),
    (
        ["이메일을 정중하게 끝맺는 인사말을 알려 주세요."],
        '"바쁘신 와중에 읽어 주셔서 감사합니다. 좋은 하루 보내세요."처럼 감사 인사와 안부를 함께 적으면 정중하게 마무리할 수 있습니다.',
    ),
    (
        ["아침에 일찍 일어나려면 어떻게 해야 하나요?"],
        "전날 밤 일찍 잠자리에 들고, 알람을 침대에서 조금 떨어진 곳에 두어 보세요. 일어나자마자 커튼을 열어 햇빛을 받으면 잠이 빨리 깹니다.",
    ),
    (
        ["선물을 받았을 때 감사 인사를 어떻게 전하면 좋을까요?"],
        '"정말 마음에 들어요, 신경 써 주셔서 감사합니다."처럼 선물에 대한 느낌을 함께 말하면 좋습니다. 나중에 선물을 잘 쓰고 있다고 다시 알려 주면 더욱 기뻐할 것입니다.',
    ),
    (
        ["운동을 처음 시작할 때 주의할 점은 무엇인가요?"],
        "처음부터 무리하지 말고 가벼운 강도로 시작해 조금씩 늘려 가세요. 운동 전후에는 꼭 준비 운동과 정리 운동을 하는 것이 좋습니다.",
    ),
    (
        ["안전한 비밀번호를 만드는 방법을 알려 주세요."],
        "영문 대소문자와 숫자, 특수문자를 섞어 12자 이상으로 만드는 것이 좋습니다. 생일이나 전화번호처럼 쉽게 짐작할 수 있는 정보는 피하고, 사이트마다 다른 비밀번호를 쓰세요.",
    ),
    (
        ["도서관에서 지켜야 할 예절은 무엇인가요?"],
        "큰 소리로 이야기하지 말고 휴대전화는 무음으로 해 두어야 합니다. 읽은 책은 제자리에 꽂거나 반납대에 두세요.",
    ),
    (
        ["손을 올바르게 씻는 방법을 알려 주세요."],
        "흐르는 물에 손을 적신 뒤 비누로 손바닥, 손등, 손가락 사이, 손톱 밑까지 30초 이상 문질러 씻으세요. 마지막으로 깨끗한 물로 헹구고 잘 말리면 됩니다.",
    ),
    (
        ["대중교통을 이용할 때 지켜야 할 예절은 무엇인가요?"],
        "내리는 사람이 먼저 내린 뒤에 타고, 통화는 짧고 작은 목소리로 하는 것이 좋습니다. 노약자나 임산부에게는 자리를 양보해 주세요.",
    ),
    (
        ["부모님께 안부 전화를 드릴 때 어떤 말을 하면 좋을까요?"],
        '"요즘 건강은 어떠세요?"처럼 부모님의 안부를 먼저 여쭤보세요. 자신의 근황도 짧게 전하고 자주 연락드리겠다고 말씀드리면 좋아하실 것입니다.',
    ),
    (
        ["안녕하세요! 오늘 기분이 좀 우울해요.", "오늘따라 기운이 없어요."],
        "그런 날도 있지요. 따뜻한 차 한 잔을 마시며 잠시 쉬어 보시고, 이야기하고 싶은 것이 있다면 언제든지 말씀해 주세요.",
    ),
    (
        ["물은 하루에 얼마나 마시는 것이 좋나요?"],
        "일반적으로 성인은 하루에 1.5~2리터 정도의 물을 마시는 것이 좋다고 알려져 있습니다. 한 번에 많이 마시기보다 여러 번 나누어 조금씩 마시세요.",
    ),
    (
        ["면접을 볼 때 좋은 인상을 주려면 어떻게 해야 하나요?"],
        "단정한 옷차림으로 약속 시간보다 조금 일찍 도착하세요. 질문을 끝까지 듣고 또렷한 목소리로 간결하게 대답하면 좋은 인상을 줄 수 있습니다.",
    ),
]


def gen_general(rng):
    qs, resp = rng.choice(GENERAL)
    return rng.choice(qs), resp, None, None


B_GENERATORS = [
    # generator, category, dolly share, prefs share
    (gen_arith, "open_qa", 60, 40),
    (gen_translate, "open_qa", 40, 26),
    (gen_capital, "open_qa", 34, 22),
    (gen_define, "open_qa", 30, 18),
    (gen_brainstorm, "brainstorming", 24, 16),
    (gen_classify, "classification", 22, 16),
    (gen_creative, "creative_writing", 15, 10),
    (gen_general, "general_qa", 15, 12),
]
assert sum(g[2] for g in B_GENERATORS) == N_DOLLY_B
assert sum(g[3] for g in B_GENERATORS) == N_PREFS_B


def gen_b(rng, gen, category):
    q, resp, wrong, en = gen(rng)
    return {
        "domain": "B",
        "gen": gen.__name__,
        "instruction": q,
        "context": "",
        "response": resp,
        "category": category,
        "wrong": wrong,
        "en": en,
    }


# ---------------------------------------------------------------------------
# Preference-pair construction
# ---------------------------------------------------------------------------

REFUSALS = [
    "잘 모르겠습니다.",
    "죄송하지만 그 질문에는 답변드리기 어렵습니다.",
    "글쎄요, 직접 찾아보시는 것이 좋겠습니다.",
    "그건 제가 알려 드릴 수 없는 내용입니다.",
    "정확히 기억나지 않네요.",
    "질문이 어려워서 답하기 힘듭니다.",
]
OFF_TOPIC = [
    "오늘은 전국이 대체로 맑겠고, 낮 기온은 20도 안팎으로 포근하겠습니다.",
    "고양이는 하루 중 절반 이상을 잠으로 보내는 경우가 많습니다.",
    "김치찌개를 끓일 때는 잘 익은 김치를 먼저 볶으면 맛이 더 깊어집니다.",
    "축구 경기는 전반전과 후반전으로 나뉘며 각각 45분 동안 진행됩니다.",
    "지하철은 출퇴근 시간에 특히 붐비니 여유 있게 출발하세요.",
    "피아노를 처음 배울 때는 바른 손 모양을 익히는 것이 중요합니다.",
    "주말에는 가까운 공원에서 산책을 해 보는 것도 좋습니다.",
    "라면을 끓일 때는 물이 끓은 뒤에 면과 스프를 넣으세요.",
]
A_CHOSEN_FORMS = ["{v}", "{v}입니다.", "글에 따르면 {v}입니다.", "정답은 {v}입니다."]


def make_pref(rng, item):
    if item["domain"] == "A":
        prompt = f"{item['context']}\n\n{item['instruction']}"
        form = rng.choice(A_CHOSEN_FORMS)
        chosen = form.format(v=item["response"])
        wrong = form.format(v=item["wrong"]) if item["wrong"] else None
    else:
        prompt = item["instruction"]
        chosen = item["response"]
        wrong = item["wrong"]
    kinds = [
        ("wrong", 4.0 if wrong else 0.0),
        ("refusal", 2.0),
        ("offtopic", 2.0),
        ("english", 2.0 if item["en"] else 0.0),
    ]
    kinds = [(k, w) for k, w in kinds if w > 0]
    kind = rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
    if kind == "wrong":
        rejected = wrong
    elif kind == "refusal":
        rejected = rng.choice(REFUSALS)
    elif kind == "english":
        rejected = item["en"]
    else:
        if rng.random() < 0.5:
            rejected = rng.choice(OFF_TOPIC)
        else:  # a perfectly fine answer -- to some other question
            others = [g for g in B_GENERATORS if g[0].__name__ != item["gen"]]
            g = rng.choice(others)
            rejected = g[0](rng)[1]
    assert rejected != chosen
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}, kind


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def collect(rng, n, make, key, seen):
    out = []
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > n * 200:
            raise RuntimeError(f"could not generate {n} unique items")
        it = make()
        k = key(it)
        if k in seen:
            continue
        seen.add(k)
        out.append(it)
    return out


def main():
    rng = random.Random(0)

    # ---- Dolly records --------------------------------------------------
    seen = set()
    dkey = lambda it: (it["instruction"], it["context"])
    items = collect(rng, N_DOLLY_A, lambda: gen_a(rng), dkey, seen)
    for gen, cat, n_d, _ in B_GENERATORS:
        items += collect(rng, n_d, lambda: gen_b(rng, gen, cat), dkey, seen)
    rng.shuffle(items)
    with open(DOLLY_PATH, "w", encoding="utf-8") as f:
        for it in items:
            rec = {k: it[k] for k in ("instruction", "context", "response", "category")}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")

    # ---- Preference pairs -----------------------------------------------
    pseen = set()
    pkey = lambda it: (it["instruction"], it["context"])
    src = collect(rng, N_PREFS_A, lambda: gen_a(rng), pkey, pseen)
    for gen, cat, _, n_p in B_GENERATORS:
        src += collect(rng, n_p, lambda: gen_b(rng, gen, cat), pkey, pseen)
    pairs = [make_pref(rng, it)[0] for it in src]
    rng.shuffle(pairs)
    with open(PREFS_PATH, "w", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")

    print(f"wrote {len(items)} rows -> {os.path.relpath(DOLLY_PATH)}")
    print(f"wrote {len(pairs)} rows -> {os.path.relpath(PREFS_PATH)}")


if __name__ == "__main__":
    main()
