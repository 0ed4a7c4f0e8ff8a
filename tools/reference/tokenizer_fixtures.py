#!/usr/bin/env python3
"""Reference fixtures for kvtier's tokenizer, chat templates and detokenizer.

Runs Hugging Face `tokenizers` and `transformers` (no network) over the tokenizer folder given on
the command line and writes, under tests/fixtures/tokenizer/:
  encode.json      the hard corpus: text -> ids, decode(ids), decode(ids, skip_special_tokens)
  decode.json      crafted id sequences (broken UTF-8, special tokens, unknown ids) -> text
  added_tokens.json  extra added tokens with lstrip/rstrip/single_word/normalized flags -> ids
  chat.json        conversations x enable_thinking x add_generation_prompt -> rendered text, ids
  templates.json   other templates (feature tests and common model templates) -> rendered text

Usage (from the repository root):
  python3 tools/reference/tokenizer_fixtures.py third_party_data/qwen3-tokenizer tests/fixtures/tokenizer
"""
import json
import os
import random
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import tokenizers  # noqa: E402
import transformers  # noqa: E402
from tokenizers import AddedToken, Tokenizer  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

SPECIALS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>"]


def corpus():
    """Hard strings by category; every entry is valid UTF-8."""
    c = [
        ("basic", "Hello world"),
        ("basic", "Hello, world! How are you today?"),
        ("basic", ""),
        ("basic", " "),
        ("basic", "a"),
        ("whitespace", "two  spaces and   three"),
        ("whitespace", "trailing spaces   "),
        ("whitespace", "   leading spaces"),
        ("whitespace", "          "),
        ("whitespace", "line1\nline2\n\nline4\n\n\n"),
        ("whitespace", "  \n  indented\n    more\n"),
        ("whitespace", "a \n b \n\n c"),
        ("crlf", "windows\r\nline\r\nendings\r\n"),
        ("crlf", "\r\n\r\n\r\nx"),
        ("crlf", "lone\rcarriage\r\rreturns"),
        ("crlf", "mixed \r\n\t \n\r end"),
        ("tabs", "\tone tab\n\t\ttwo tabs\n\t \t mixed"),
        ("tabs", "col1\tcol2\tcol3\n1\t2\t3"),
        ("tabs", "\x0bvertical\x0cformfeed\x1c\x1d\x1e\x1f"),
        ("digits", "1234567890"),
        ("digits", "Pi is 3.14159265358979 and e is 2.718."),
        ("digits", "1,000,000 people in 2024; call 555-0199"),
        ("digits", "\u0661\u0662\u0663 \uff11\uff12\uff13 \u00b2\u00b3 \u2167\u216b \u0967\u0968"),
        ("contractions", "I'm sure you're right, we'll see; they've done it, she'd go, it's his, don't."),
        ("contractions", "I'M SURE YOU'RE RIGHT, WE'LL SEE, THEY'VE, SHE'D, IT'S, DON'T"),
        ("contractions", "We'Ll mIxEd cAsE'S 'rE 'Ve 'M 'D 'T"),
        ("contractions", "it\u2019s a curly apostrophe and an \u017flong s: '\u017f"),
        ("contractions", "'s'S'll''t ' s"),
        ("cjk", "\u4eca\u5929\u5929\u6c14\u5f88\u597d\uff0c\u6211\u4eec\u53bb\u516c\u56ed\u5427\u3002"),
        ("cjk", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3068\u30ab\u30bf\u30ab\u30ca\u3002"),
        ("cjk", "\ud55c\uad6d\uc5b4 \ubb38\uc7a5\uc785\ub2c8\ub2e4."),
        ("cjk", "\u1112\u1161\u11ab\u1100\u1173\u11af decomposed hangul jamo"),
        ("cjk", "\uf900\uf901 compatibility ideographs, \u3000ideographic space\u3000"),
        ("arabic", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645! \u0643\u064a\u0641 \u062d\u0627\u0644\u0643\u061f"),
        ("arabic", "\u0627\u0644\u0639\u064e\u0631\u064e\u0628\u0650\u064a\u064e\u0651\u0629 with harakat"),
        ("devanagari", "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e, \u0939\u093f\u0928\u094d\u0926\u0940 \u092d\u093e\u0937\u093e\u0964"),
        ("devanagari", "\u0915\u094d\u0937\u0924\u094d\u0930\u093f\u092f \u0936\u094d\u0930\u0940 \u0915\u093c"),
        ("accents", "cafe\u0301 na\u0131\u0308ve re\u0301sume\u0301"),
        ("accents", "caf\u00e9 na\u00efve r\u00e9sum\u00e9"),
        ("accents", "A\u030a \u212b \u212a Kelvin, \u2126 ohm, e\u0301\u0301 double"),
        ("accents", "\u0301leading combining mark"),
        ("accents", "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c\u0330\u0354L\u0368\u0367\u0369\u0358\u0320G\u0311\u0357\u030e\u0305\u035b\u0341\u0334\u033b\u0348\u034d\u0354\u0339O\u0342\u030c\u030c\u0358\u0328\u0335\u0339\u033b\u031d\u0333"),
        ("emoji", "\U0001f600 \U0001f44d\U0001f3fd \u2764\ufe0f"),
        ("emoji", "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family, \U0001f3f3\ufe0f\u200d\U0001f308 flag"),
        ("emoji", "\U0001f1fa\U0001f1f8\U0001f1ef\U0001f1f5\U0001f1e9\U0001f1ea flags"),
        ("emoji", "\U0001f9d1\U0001f3fb\u200d\U0001f4bb\U0001f469\U0001f3ff\u200d\U0001f52c\U0001f600\U0001f600\U0001f600"),
        ("invisible", "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom"),
        ("invisible", "no\u00a0break\u00a0space and\u202fnarrow \u2007figure"),
        ("invisible", "en\u2002em\u2003thin\u2009hair\u200a spaces"),
        ("invisible", "mongolian\u180evowel separator \u180e\u180e"),
        ("invisible", "line\u2028separator\u2029paragraph\u0085nel"),
        ("invisible", "soft\u00adhyphen and word\u2060joiner"),
        ("scripts", "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u0420\u0443\u0441\u0441\u043a\u0438\u0439 \u05e2\u05d1\u05e8\u05d9\u05ea \u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22"),
        ("scripts", "\u10e5\u10d0\u10e0\u10d7\u10e3\u10da\u10d8 \u0570\u0561\u0575\u0565\u0580\u0565\u0576 \u12a0\u121b\u122d\u129b \u1781\u17d2\u1798\u17c2\u179a"),
        ("math", "\u2200x\u2208\u211d: x\u00b2 \u2265 0, \u222b\u2080\u00b9 f(x)dx \u2248 \u03c0/4 \u2211\u221e"),
        ("code", "def f(x):\n    return x**2  # square\n\nprint(f(3))\n"),
        ("code", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}"),
        ("code", "{\"key\": [1, 2.5, null, true], \"nested\": {\"a\": \"b\"}}"),
        ("code", "https://example.com/path?q=1&r=%20x#frag user@mail.org"),
        ("punctuation", "!!!??? ... --- ___ *** ### @@@ $$$ %%% ^^^ &&& ((( )))"),
        ("punctuation", "\u00bfQu\u00e9? \u00a1S\u00ed! \u201cquoted\u201d \u2018single\u2019 \u00abguillemets\u00bb \u2014 \u2026"),
        ("special", "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n"),
        ("special", "text<|endoftext|>more text"),
        ("special", "<think>\nreasoning\n</think>\n\nanswer"),
        ("special", "<|im_start|><|im_end|><|im_start|>"),
        ("special", "partial <|im_end and <|im_start| and <think"),
        ("special", "<|im_start|>\u0301combining after special"),
        ("special", "  <|im_end|>  spaces around  <|endoftext|>  "),
        ("special", "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>"),
        ("special", "<<|im_end|>> <|<|im_start|>|>"),
        ("long", "a" * 5000),
        ("long", "supercalifragilisticexpialidocious" * 60),
        ("long", " " * 3000 + "x"),
        ("long", "\n" * 500 + "end"),
        ("long", "1234567890" * 200),
        ("long", "\u4e2d\u6587" * 1500),
        ("long", "\U0001f600" * 800),
        ("long", "ab " * 2000),
        ("long", "x" + "\u0301" * 1000),
    ]
    return c


def more_corpus():
    """Edge cases beyond the categories: NUL, private use, noncharacters, canonical reordering."""
    return [
        ("edge", "a\x00b\x00"),
        ("edge", "\ue000\uf8ff\uffff\ufffe private and noncharacters"),
        ("edge", "a\u0323\u0302 a\u0302\u0323 \u1e0b\u0323 reordered marks"),
        ("edge", " \t" * 700 + "x"),
        ("edge", "!!!... " * 400),
        ("edge", "The quick brown fox jumps over the lazy dog. " * 20
         + "\u654f\u6377\u7684\u68d5\u8272\u72d0\u72f8\u8df3\u8fc7\u4e86\u61d2\u72d7\u3002" * 10
         + " \u0421\u044a\u0435\u0448\u044c \u0436\u0435 \u0435\u0449\u0451 \u044d\u0442\u0438\u0445." * 10),
        ("edge", "'''" + "'s" * 50 + " 'S'T'RE'VE'M'LL'D'x"),
        ("edge", "1\u00a02\u20093\u202f4 5\n6\t7"),
        ("edge", "<|im_start|>" * 50),
        ("edge", "<think></think><think>\n</think>"),
    ]


def random_strings(n, seed):
    """Seeded mixtures of the characters that stress the pre-tokenizer."""
    pool = list("abcXYZ019 .,'!?-_") + [
        " ", "  ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2009", "\u180e", "\u200b",
        "\u200d", "\ufeff", "\u2028", "\u0085", "\u4e2d", "\u6587", "\ud55c", "\u1100\u1161",
        "\u0301", "\u0308", "e\u0301", "\u00e9", "\u212b", "\U0001f600", "\U0001f1fa\U0001f1f8",
        "\U0001f44d\U0001f3fd", "\u2764\ufe0f", "\u0645\u0631", "\u0928\u092e\u0938\u094d",
        "\u0e20\u0e32", "\u0661", "\uff11", "\u00b2", "\u2167", "'s", "'LL", "'Re", "\u017f",
        "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|endoftext|>", "$", "\u20ac",
        "\U00010348", "\U0001d400", "\U000e0041",
    ]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(1, 40)
        out.append(("random", "".join(rng.choice(pool) for _ in range(k))))
    return out


def bytes_to_unicode():
    """GPT-2's byte -> printable character table (the ByteLevel alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def decode_cases(tok):
    b2u = bytes_to_unicode()

    def byte_ids(data):
        return [tok.token_to_id(b2u[b]) for b in data]

    im_start = tok.token_to_id("<|im_start|>")
    im_end = tok.token_to_id("<|im_end|>")
    think = tok.token_to_id("<think>")
    hello = tok.encode("Hello", add_special_tokens=False).ids
    cases = [
        ("truncated 3-byte", byte_ids(b"\xe4\xb8")),
        ("lone continuation", byte_ids(b"a\x80b")),
        ("invalid lead 0xff", byte_ids(b"\xff")),
        ("overlong 0xc0 0x80", byte_ids(b"\xc0\x80")),
        ("surrogate ed a0 80", byte_ids(b"\xed\xa0\x80")),
        ("above U+10FFFF", byte_ids(b"\xf4\x90\x80\x80")),
        ("interrupted sequence", byte_ids(b"\xe4a\xb8\xadz")),
        ("truncated 4-byte then ascii", byte_ids(b"\xf0\x9f\x98x")),
        ("complete from bytes", byte_ids("\u4e2d\U0001f600".encode())),
        ("special splits a char", byte_ids(b"\xe4\xb8") + [im_end] + byte_ids(b"\xad")),
        ("specials and text", [im_start] + hello + [im_end, think] + hello),
        ("unknown ids skipped", hello + [10**6, 151669, 155000] + hello),
        ("empty", []),
    ]
    out = []
    for name, ids in cases:
        out.append({
            "name": name,
            "ids": ids,
            "text": tok.decode(ids, skip_special_tokens=False),
            "text_skip_special": tok.decode(ids, skip_special_tokens=True),
        })
    return out


def added_token_cases(path):
    """Extra added tokens exercising the flags Qwen3's own tokens leave off."""
    specs = [
        {"content": "<mask>", "lstrip": True, "rstrip": False, "single_word": False, "normalized": False, "special": True},
        {"content": "[R]", "lstrip": False, "rstrip": True, "single_word": False, "normalized": False, "special": False},
        {"content": "sw", "lstrip": False, "rstrip": False, "single_word": True, "normalized": False, "special": False},
        {"content": "\u00c5ngstr\u00f6m", "lstrip": False, "rstrip": False, "single_word": False, "normalized": True, "special": False},
        {"content": "<both>", "lstrip": True, "rstrip": True, "single_word": False, "normalized": False, "special": True},
    ]
    tok = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
    for s in specs:
        t = AddedToken(s["content"], single_word=s["single_word"], lstrip=s["lstrip"],
                       rstrip=s["rstrip"], normalized=s["normalized"], special=s["special"])
        if s["special"]:
            tok.add_special_tokens([t])
        else:
            tok.add_tokens([t])
        s["id"] = tok.token_to_id(s["content"])
    texts = [
        "hello   <mask> world",
        "<mask>start and end<mask>",
        "a\t\n <mask>\n b",
        "x [R]   y [R]\n\nz",
        "sw sw. swim answ (sw) _sw sw_ 1sw sw1 \u00e9sw",
        "sw",
        "A\u030angstr\u00f6m and \u212bngstro\u0308m and \u00c5ngstr\u00f6m",
        "  <both>  middle  <both>",
        "<mask><mask>  <mask>",
        "<|im_start|> <mask> <|im_end|>",
    ]
    cases = []
    for text in texts:
        ids = tok.encode(text, add_special_tokens=False).ids
        cases.append({"text": text, "ids": ids,
                      "decoded": tok.decode(ids, skip_special_tokens=False),
                      "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
    return {"added_tokens": specs, "cases": cases}


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city \u2014 \u00e9t\u00e9 \u6674\u308c",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "City, e.g. \"Paris\""},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "days": {"type": "integer", "minimum": 1, "default": 1.5},
                },
                "required": ["location"],
                "additionalProperties": False,
                "nullable": None,
            },
        },
    },
    {"type": "function", "function": {"name": "now", "description": "Time\tnow\n", "parameters": {}}},
]

CONVERSATIONS = {
    "single_user": [{"role": "user", "content": "Hello!"}],
    "system_user": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is 2+2?"},
    ],
    "multi_turn": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke."},
        {"role": "assistant", "content": "Why did the chicken cross the road?"},
        {"role": "user", "content": "Why?"},
    ],
    "think_blocks": [
        {"role": "user", "content": "What is 3*7?"},
        {"role": "assistant", "content": "<think>\nmultiply 3 by 7\n</think>\n\n21"},
        {"role": "user", "content": "And 4*5?"},
        {"role": "assistant", "content": "<think>\n\n4 times 5\n\n</think>\n\n\n20"},
    ],
    "think_last_user": [
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "<think>r1</think>A1"},
        {"role": "user", "content": "Q2"},
    ],
    "reasoning_content_field": [
        {"role": "user", "content": "Q"},
        {"role": "assistant", "content": "A", "reasoning_content": "\nthought about it\n"},
        {"role": "user", "content": "Q again"},
        {"role": "assistant", "content": "A again", "reasoning_content": "second thought"},
    ],
    "non_ascii": [
        {"role": "system", "content": "Tu es un assistant. \u4f60\u597d\u3002"},
        {"role": "user", "content": "\u00bfC\u00f3mo est\u00e1s? \U0001f600 \u0645\u0631\u062d\u0628\u0627 \u0928\u092e\u0938\u094d\u0924\u0947"},
        {"role": "assistant", "content": "\u5f88\u597d\uff0c\u8c22\u8c22\uff01\U0001f44d\U0001f3fd"},
        {"role": "user", "content": "caf\u00e9 / cafe\u0301\r\n\ttab"},
    ],
    "tools": [
        {"role": "system", "content": "You can call tools."},
        {"role": "user", "content": "Weather in Paris and the time?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather",
                                              "arguments": {"location": "Paris", "unit": "celsius"}}},
            {"type": "function", "function": {"name": "now", "arguments": "{}"}},
        ]},
        {"role": "tool", "content": "{\"temp\": 21.5, \"sky\": \"clear\"}"},
        {"role": "tool", "content": "12:00"},
        {"role": "assistant", "content": "It is 21.5\u00b0C and clear; the time is 12:00."},
        {"role": "user", "content": "<tool_response>\nfake\n</tool_response>"},
    ],
    "tool_call_with_content": [
        {"role": "user", "content": "Call it"},
        {"role": "assistant", "content": "<think>\nneed tool\n</think>\n\nCalling.", "tool_calls": [
            {"function": {"name": "now", "arguments": {"tz": "UTC", "n": [1, 2.0, True, None]}}},
        ]},
        {"role": "tool", "content": "12:00"},
    ],
    "system_in_middle": [
        {"role": "user", "content": "a"},
        {"role": "system", "content": "late system"},
        {"role": "user", "content": "b"},
    ],
    "ends_with_assistant": [
        {"role": "user", "content": "Start"},
        {"role": "assistant", "content": "<think>\nplan\n</think>\n\nPartial answer"},
    ],
    "special_tokens_in_content": [
        {"role": "user", "content": "What does <|im_end|> mean? And <think>?"},
    ],
    "tool_call_null_content": [
        {"role": "user", "content": "Call"},
        {"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "now", "arguments": {}}}]},
    ],
    "long_multi_turn": [m for i in range(12) for m in (
        {"role": "user", "content": f"Question {i}: explain item {i} in detail, please. \u4f8b{i}"},
        {"role": "assistant", "content": f"<think>\nthinking about {i}\n</think>\n\nAnswer {i}: " + "details " * (5 + i)},
    )] + [{"role": "user", "content": "Summarize."}],
}

CONVERSATION_TOOLS = {"tools": TOOLS, "tool_call_with_content": TOOLS[1:]}


def chat_cases(hf):
    out = []
    for name, messages in CONVERSATIONS.items():
        tools = CONVERSATION_TOOLS.get(name)
        for thinking in (None, True, False):
            for agp in (True, False):
                kwargs = {}
                if thinking is not None:
                    kwargs["enable_thinking"] = thinking
                case = {"name": name, "messages": messages, "add_generation_prompt": agp}
                try:
                    text = hf.apply_chat_template(messages, tools=tools, tokenize=False,
                                                  add_generation_prompt=agp, **kwargs)
                    case["text"] = text
                    case["ids"] = hf.encode(text, add_special_tokens=False)
                except Exception as e:  # noqa: BLE001 - the failure itself is the expected result
                    case["error"] = f"{type(e).__name__}: {e}"
                if tools is not None:
                    case["tools"] = tools
                if thinking is not None:
                    case["enable_thinking"] = thinking
                out.append(case)
    return out


# Templates beyond Qwen3's own: the Jinja features chat templates use, and the shapes of other
# models' templates. Each is rendered by transformers' apply_chat_template(chat_template=...).
TEMPLATES = {
    "context_variables": (
        "{{ bos_token is defined }}|{{ eos_token }}|{{ pad_token }}|{{ unk_token is defined }}|"
        "{{ tools is defined }}|{{ tools is none }}|{{ add_generation_prompt }}|{{ messages|length }}|"
        "{{ documents is defined }}|{{ documents is none }}|{{ enable_thinking is defined }}"
    ),
    "filters": (
        "{{ messages[0].content|upper }}|{{ messages[0]['content']|lower }}|{{ '  x y  '|trim }}|"
        "{{ missing|default('dflt') }}|{{ ''|default('e', true) }}|{{ ''|d('f') }}|"
        "{{ [1, 2, 3]|join(',') }}|{{ ['a', 'b']|join }}|{{ [3, 1, 2]|first }}{{ [3, 1, 2]|last }}|"
        "{{ 'abc'|list }}|{{ {'b': 1, 'a': 2}|items|list }}|{{ [1, 2, 3]|reverse|list }}|{{ 'abc'|reverse }}|"
        "{{ 'aXbX'|replace('X', '-') }}|{{ 12|string ~ 'x' }}|{{ '42'|int + 1 }}|{{ 'x'|int }}|{{ 3.9|int }}|"
        "{{ 'hello wORLD'|capitalize }}|{{ 'hello wORLD'|title }}|{{ 3.14159|round(2) }}|{{ 2.5|round }}|"
        "{{ 7|round }}|{{ -3|abs }}|{{ '7'|float }}|{{ [1, 2, 3]|sum }}|{{ [1, 5, 3]|max }}|{{ [4, 1, 3]|min }}|"
        "{{ [4, 1, 3]|sort|list }}|{{ ['b', 'A', 'c']|sort }}|{{ [3, 1]|sort(reverse=true) }}|"
        "{{ messages|map(attribute='role')|join(',') }}|{{ ['a', 'b']|map('upper')|list }}|"
        "{{ messages|selectattr('role', 'equalto', 'user')|list|length }}|"
        "{{ messages|rejectattr('role', 'equalto', 'user')|map(attribute='content')|list }}|"
        "{{ [1, 2, 3, 4]|select('odd')|list }}|{{ [1, 2, 3, 4]|reject('even')|list }}|"
        "{{ [0, 1, '', 'a', none]|select|list }}|{{ ['a', 'b', 'a', 'A']|unique|list }}|"
        "{{ 'a\\nb\\nc'|indent(2) }}|{{ 'a\\nb'|indent(2, true) }}|{{ {'b': 1, 'a': 2}|dictsort }}|"
        "{{ [1, 2]|length }}{{ 'h\u00e9llo'|length }}{{ {'a': 1}|count }}|{{ 'one two  three'|wordcount }}|"
        "{{ 'x'|safe }}|{{ '<a&b>'|e }}|{{ [[1, 2], [3]]|map('length')|list }}|{{ 'abc'|string|length }}|"
        "{{ messages|map(attribute='missing', default='none')|list }}|{{ [1, 2, 3]|batch(2)|list }}"
    ),
    "tojson": (
        "{{ values|tojson }}\n{{ values|tojson(indent=2) }}\n{{ 'caf\u00e9 \"q\" \\\\ \\n \\t \\u0001 </script>'|tojson }}\n"
        "{{ [1, 2.0, 1e20, 1.5e-7, 0.1, -0.0, true, none]|tojson }}\n{{ values.nested|tojson(sort_keys=true) }}\n"
        "{{ {'k': 'v'}|tojson(separators=(',', ':')) }}\n{{ 'caf\u00e9 \U0001f600 \x7f'|tojson(ensure_ascii=true) }}\n"
        "{{ {'a': [], 'b': {}}|tojson(indent=0) }}\n{{ [1, [2, {'x': none}]]|tojson(indent='\t') }}"
    ),
    "output_repr": (
        "{{ none }}|{{ true }}|{{ false }}|{{ [1, 'a', none, true, 2.5] }}|{{ {'a': [1.5, false], 'b': 'x'} }}|"
        "{{ values }}|{{ 1.0 }}|{{ 1e100 }}|{{ 0.000012 }}|{{ 10 / 4 }}|{{ 10 / 5 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|"
        "{{ -7 % 3 }}|{{ 7.5 % 2 }}|{{ 2 ** 10 }}|{{ 2 ** -1 }}|{{ 'ab' * 3 }}|{{ 1 + 2.5 }}|{{ 'a' ~ 1 ~ none ~ true }}|"
        "{{ [1, 2] + [3] }}|{{ (1, 2) }}|{{ 'it\\'s \"q\"' }}|{{ ['it\\'s', \"q\\\"\", 'a\\nb'] }}|{{ 1 == 1.0 }}|"
        "{{ 3 > 2 > 1 }}|{{ 'a' < 'b' }}|{{ [1, 2] == [1, 2] }}|{{ {'a': 1} == {'a': 1} }}|{{ none == none }}"
    ),
    "control_flow": (
        "{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/"
        "{{ loop.length }}/{{ loop.first }}/{{ loop.last }}/{{ loop.cycle('odd', 'even') }}/"
        "{{ loop.previtem.role if loop.previtem is defined else '-' }}/"
        "{{ loop.nextitem.role if loop.nextitem is defined else '-' }};{% endfor %}\n"
        "{% for x in [1, 2, 3, 4, 5] if x is odd %}{{ x }}{{ ',' if not loop.last }}{% endfor %}\n"
        "{% for x in [] %}never{% else %}empty{% endfor %}\n"
        "{% for x in [1, 2, 3, 4, 5] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}\n"
        "{% for k, v in values.nested|items %}{{ k }}={{ v }} {% endfor %}\n"
        "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }} {% endfor %}\n"
        "{% for c in 'h\u00e9!' %}[{{ c }}]{% endfor %}\n"
        "{% for k in {'z': 1, 'y': 2} %}{{ k }}{% endfor %}\n"
        "{% for i in range(3) %}{{ i }}{% endfor %}{% for i in range(1, 10, 3) %}{{ i }}{% endfor %}\n"
        "{% set outer = 'o' %}{% for i in range(2) %}{% set outer = 'inner' ~ i %}{% set inner_only = i %}{% endfor %}"
        "{{ outer }}|{{ inner_only is defined }}\n"
        "{% set ns = namespace(count=0, names=[]) %}{% for m in messages %}{% set ns.count = ns.count + 1 %}{% endfor %}"
        "{{ ns.count }}|{{ ns.names }}\n"
        "{% if false %}a{% elif messages|length > 1 %}b{% else %}c{% endif %}\n"
        "{% set block_var %}captured {{ 1 + 1 }}{% endset %}{{ block_var|upper }}\n"
        "{% macro greet(name, greeting='Hello', punct='!') %}{{ greeting }}, {{ name }}{{ punct }}{% endmacro %}"
        "{{ greet('A') }} {{ greet('B', 'Hi') }} {{ greet('C', punct='?') }}\n"
        "{% macro render(m) %}{% if m.role == 'user' %}U:{% else %}X:{% endif %}{{ m.content }}{% endmacro %}"
        "{% for m in messages %}{{ render(m) }} {% endfor %}\n"
        "{{ 'yes' if 'a' in 'cat' else 'no' }}|{{ 'x' not in ['a', 'b'] }}|{{ 'k' in {'k': 1} }}|{{ 2 in [1, 2] }}|"
        "{{ not true or false and true }}|{{ (1 if true) }}|{{ none is none }}|{{ 1 is not none }}\n"
        "{% if messages[0].missing is undefined and messages[0].missing is not defined %}undef-ok{% endif %}|"
        "{{ messages[0].missing }}|{{ missing }}|{{ missing|length }}|{% for x in missing %}{{ x }}{% endfor %}|"
        "{{ missing is none }}|{{ (messages[0].missing or 'fallback') }}|{{ none.attr is defined }}|{{ missing == missing }}\n"
        "{# a comment #}{% raw %}{{ not rendered }}{% endraw %}\n"
        "{% generation %}generated part{% endgeneration %}"
    ),
    "tests_and_methods": (
        "{{ 'abc' is string }}{{ 1 is number }}{{ 1.5 is number }}{{ true is number }}{{ 1 is integer }}{{ 1.0 is float }}"
        "{{ {} is mapping }}{{ [] is mapping }}{{ [] is iterable }}{{ 'a' is iterable }}{{ 1 is iterable }}"
        "{{ [] is sequence }}{{ 'a' is sequence }}{{ {} is sequence }}{{ true is boolean }}{{ true is true }}"
        "{{ 1 is true }}{{ false is false }}{{ 0 is false }}{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}"
        "{{ 'a' is eq 'a' }}{{ 2 is gt 1 }}{{ 2 is lt 1 }}{{ 2 is ge 2 }}{{ 'abc' is lower }}{{ 'ABC' is upper }}"
        "{{ greet is callable }}{{ 'x' is in 'xyz' }}{{ none is sameas none }}\n"
        "{{ 'Hello World'.startswith('Hello') }}{{ 'Hello'.startswith(('x', 'He')) }}{{ 'abc'.endswith('bc') }}|"
        "{{ 'a,b,,c'.split(',') }}|{{ '  a  b \\n c '.split() }}|{{ 'a-b-c'.split('-', 1) }}|{{ 'a-b-c'.rsplit('-', 1) }}|"
        "{{ '\\n\\nx\\n\\n'.strip('\\n') }}|{{ '  x  '.strip() }}|{{ 'xxhixx'.lstrip('x') }}|{{ 'xxhixx'.rstrip('x') }}|"
        "{{ '\\u3000\\u00a0wide\\u2003'.strip() }}|{{ 'abc'.upper() }}{{ 'ABC'.lower() }}|{{ 'aaa'.replace('a', 'b', 2) }}|"
        "{{ 'hello world'.title() }}|{{ 'hELLO'.capitalize() }}|{{ '{} and {}'.format('x', 1) }}|{{ 'abcabc'.find('c') }}|"
        "{{ 'abcabc'.count('bc') }}|{{ '-'.join(['a', 'b']) }}|{{ 'a\\nb\\r\\nc'.splitlines() }}|{{ '42'.isdigit() }}|"
        "{{ 'Ab'.swapcase() }}|{{ 'x'.center(5, '*') }}|{{ 'ab'.zfill(4) }}|{{ 'abc'.rfind('z') }}\n"
        "{{ 'h\u00e9llo w\u00f6rld'[::-1] }}|{{ 'h\u00e9llo'[1:3] }}|{{ [1, 2, 3, 4][1:] }}|{{ [1, 2, 3, 4][:-1] }}|{{ [1, 2, 3, 4][::2] }}|"
        "{{ 'abc'[-1] }}|{{ messages[-1].role }}|{{ [1, 2, 3][5:] }}|{{ 'abcdef'[-3:-1] }}|{{ [1, 2, 3, 4, 5][4:1:-1] }}\n"
        "{{ values.get('num') }}|{{ values.get('absent', 'dflt') }}|{{ values.get('absent') }}|{{ values.keys()|list }}|"
        "{{ values.items()|list|length }}|{{ values['nested']['b'] }}|{{ values.nested.b }}|{{ values['absent'] is defined }}\n"
        "{%- macro greet(n) %}{{ n }}{% endmacro %}"
    ),
    "whitespace_control": (
        "  {% if true %}\n    indented\n  {% endif %}\n"
        "  {%- if true -%}\n   stripped   \n  {%- endif -%}\n"
        "after\n"
        "  {{ 'expr' }}  \n"
        "  {{- 'tight' -}}  \n"
        "{% for i in range(2) %}\n  row {{ i }}\n{% endfor %}\n"
        "  {%+ if true %}plus{% endif %}\n"
        "  {# comment #}\n"
        "x  {%- if true %} y {% endif -%}  z\n"
        "{% if true %}\r\ncrlf\r\n{% endif %}\r\n"
        "end\n"
    ),
    "llama3_like": (
        "{%- if custom_tools is defined %}{%- set tools = custom_tools %}{%- endif %}\n"
        "{%- if not tools_in_user_message is defined %}{%- set tools_in_user_message = true %}{%- endif %}\n"
        "{%- if not date_string is defined %}{%- set date_string = \"26 Jul 2024\" %}{%- endif %}\n"
        "{%- if not tools is defined %}{%- set tools = none %}{%- endif %}\n"
        "{{- bos_token|default('<|begin_of_text|>') }}\n"
        "{%- if messages[0]['role'] == 'system' %}\n"
        "    {%- set system_message = messages[0]['content']|trim %}\n"
        "    {%- set messages = messages[1:] %}\n"
        "{%- else %}\n"
        "    {%- set system_message = \"\" %}\n"
        "{%- endif %}\n"
        "{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n"
        "{%- if tools is not none %}{{- \"Environment: ipython\\n\" }}{%- endif %}\n"
        "{{- \"Cutting Knowledge Date: December 2023\\n\" }}\n"
        "{{- \"Today Date: \" + date_string + \"\\n\\n\" }}\n"
        "{%- if tools is not none and not tools_in_user_message %}\n"
        "    {%- for t in tools %}{{- t | tojson(indent=4) }}{{- \"\\n\\n\" }}{%- endfor %}\n"
        "{%- endif %}\n"
        "{{- system_message }}\n"
        "{{- \"<|eot_id|>\" }}\n"
        "{%- for message in messages %}\n"
        "    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}\n"
        "        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}\n"
        "    {%- elif 'tool_calls' in message %}\n"
        "        {%- set tool_call = message.tool_calls[0].function %}\n"
        "        {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}\n"
        "        {{- '{\"name\": \"' + tool_call.name + '\", ' }}\n"
        "        {{- '\"parameters\": ' }}{{- tool_call.arguments | tojson }}{{- \"}\" }}{{- \"<|eot_id|>\" }}\n"
        "    {%- else %}\n"
        "        {{- \"<|start_header_id|>ipython<|end_header_id|>\\n\\n\" }}\n"
        "        {%- if message.content is mapping or message.content is iterable %}{{- message.content | tojson }}"
        "{%- else %}{{- message.content }}{%- endif %}\n"
        "        {{- \"<|eot_id|>\" }}\n"
        "    {%- endif %}\n"
        "{%- endfor %}\n"
        "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}\n"
    ),
    "mistral_like": (
        "{{ bos_token|default('<s>') }}{% for message in messages %}"
        "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
        "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
        "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
    ),
    "gemma_like": (
        "{{ bos_token|default('<bos>') }}{% if messages[0]['role'] == 'system' %}"
        "{% set first_user_prefix = messages[0]['content'] + '\n\n' %}{% set loop_messages = messages[1:] %}"
        "{% else %}{% set first_user_prefix = '' %}{% set loop_messages = messages %}{% endif %}"
        "{% for message in loop_messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}"
        "{% else %}{% set role = message['role'] %}{% endif %}"
        "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}"
        "{{ message['content'] | trim }}{{ '<end_of_turn>\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
    ),
    "deepseek_like": (
        "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
        "{% set ns = namespace(is_first=false, is_tool=false, system_prompt='', is_first_sp=true) %}"
        "{%- for message in messages %}{%- if message['role'] == 'system' %}{%- if ns.is_first_sp %}"
        "{% set ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}"
        "{%- else %}{% set ns.system_prompt = ns.system_prompt + '\\n\\n' + message['content'] %}{%- endif %}"
        "{%- endif %}{%- endfor %}{{ bos_token|default('') }}{{ ns.system_prompt }}"
        "{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}"
        "{{'<\uff5cUser\uff5c>' + message['content']}}{%- endif %}"
        "{%- if message['role'] == 'assistant' and message['content'] is not none %}"
        "{% set content = message['content'] %}{% if '</think>' in content %}"
        "{% set content = content.split('</think>')[-1] %}{% endif %}"
        "{{'<\uff5cAssistant\uff5c>' + content + '<\uff5cend\u2581of\u2581sentence\uff5c>'}}{%- endif %}{%- endfor -%}"
        "{% if add_generation_prompt and not ns.is_tool %}{{'<\uff5cAssistant\uff5c><think>\\n'}}{% endif %}"
    ),
    "raises": "{{ raise_exception('bad conversation: ' ~ messages|length) }}",
    "numbers_and_strings": (
        "{{ 0.1 + 0.2 }}|{{ 1 / 3 }}|{{ 2.0 ** 70 }}|{{ -1e-5 }}|{{ 123456789.123 }}|{{ 1e16 }}|{{ 1e15 }}|"
        "{{ 12345678901234567.0 }}|{{ 0.5|round }}|{{ 1.5|round }}|{{ 2.675|round(2) }}|{{ -2.5|round }}|"
        "{{ 1234.5678|round(-2) }}|{{ 2.5|round(0, 'floor') }}|{{ 2.1|round(0, 'ceil') }}|{{ 7 % -3 }}|{{ -7.5 // 2 }}|"
        "{{ '%5.2f|%-4s|%03d|%x|%r|%s' % (3.14159, 'a', 7, 255, 'q', none) }}|{{ '%s!' % 'x' }}|"
        "{{ '{:>5}|{:.3f}|{!r}'.format('a', 2.5, 'q') }}|{{ '{0}{1}{0}'.format('x', 'y') }}|{{ '{name}-{n:03d}'.format(name='k', n=7) }}|"
        "{{ 'stra\u00dfe \u01c6 \u0130 \u03a3\u03a3'|upper }}|{{ '\u0130STANBUL \u01c4'|lower }}|{{ '\u01c6ef ghi'|capitalize }}|"
        "{{ 'hello-world foo_bar (x) [y]'|title }}|{{ \"they're bill's\".title() }}|{{ '\u00e9t\u00e9 \u00c9T\u00c9'.swapcase() }}|"
        "{{ 'a\u00e9\U0001f600z'[::-1] }}|{{ 'a\u00e9\U0001f600z'|length }}|{{ 'a\u00e9\U0001f600z'[1:3] }}|{{ 'abc'[10:] }}|"
        "{{ '  a\tb\n'|wordcount }}|{{ 'x'|center(6) }}|{{ 'xy'.center(7, '-') }}|{{ 'abc'.rjust(5) }}|{{ '-5'.zfill(4) }}"
    ),
    "loops_and_macros": (
        "{% for a in [1, 2] %}{% for b in ['x', 'y'] %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }};{% endfor %}\n"
        "{% for x in range(10) if x is even %}{{ loop.index }}:{{ x }}/{{ loop.length }} {% endfor %}\n"
        "{% for x in [1, 2, 3] %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% else %}none{% endfor %}\n"
        "{% macro m(a, b=2) %}{{ a }}-{{ b }}-{{ varargs }}-{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, 4) }}|{{ m(1, c=5) }}|{{ m(b=9, a=8) }}\n"
        "{% macro outer() %}[{{ inner() }}]{% endmacro %}{% macro inner() %}in{% endmacro %}{{ outer() }}\n"
        "{% set x = 1 %}{% macro show() %}{{ x }}{% endmacro %}{% set x = 2 %}{{ show() }}\n"
        "{% set a, b = 'p', 'q' %}{{ a }}{{ b }}|{% set t = (1, 2) %}{{ t }}|{% set n = none %}{{ n is none }}\n"
        "{% filter upper %}shout {{ 'this' }}{% endfilter %}|{% with y = 5, z = 6 %}{{ y * z }}{% endwith %}|{{ y is defined }}\n"
        "{% set ns = namespace(items=[]) %}{% for i in range(3) %}{% set ns.items = ns.items + [i * i] %}{% endfor %}{{ ns.items }}\n"
        "{{ messages|map(attribute='content')|map('trim')|map('length')|list }}|{{ messages|selectattr('content')|list|length }}\n"
        "{{ (messages|last).role }}|{{ (messages|first)['content']|trim }}|{{ messages[1:3]|map(attribute='role')|join('+') }}\n"
        "{{ dict(a=1, b='x') }}|{{ namespace(a=1).a }}|{{ [3, 1, 2]|sort(reverse=true)|first }}|{{ values.list|reject('none')|list }}"
    ),
    "undefined_attribute_error": "{{ missing.attribute }}",
    "type_error": "{{ 'a' + 1 }}",
    "not_iterable_error": "{% for x in 5 %}{% endfor %}",
    "none_in_error": "{{ 'x' in none }}",
}

TEMPLATE_VALUES = {
    "num": 42,
    "pi": 3.25,
    "flag": True,
    "nothing": None,
    "text": "caf\u00e9 \"quoted\" \\ back\nslash",
    "list": [1, "two", 3.0, False, None, {"k": "v"}],
    "nested": {"b": 1, "a": [1, 2], "c": {"z": None, "y": "\u00fc"}},
    "empty": {},
}

TEMPLATE_MESSAGES = [
    {"role": "system", "content": "System prompt  "},
    {"role": "user", "content": "  Hello there  "},
    {"role": "assistant", "content": "<think>t</think>General Kenobi"},
    {"role": "user", "content": "Bye"},
]


def template_cases(hf):
    out = []
    for name, template in TEMPLATES.items():
        for agp in (True, False):
            case = {"name": name, "template": template, "messages": TEMPLATE_MESSAGES,
                    "add_generation_prompt": agp, "values": TEMPLATE_VALUES}
            try:
                case["text"] = hf.apply_chat_template(TEMPLATE_MESSAGES, chat_template=template, tokenize=False,
                                                      add_generation_prompt=agp, values=TEMPLATE_VALUES)
            except Exception as e:  # noqa: BLE001 - the failure itself is the expected result
                case["error"] = f"{type(e).__name__}: {e}"
            out.append(case)
    return out


def dump(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    tok_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    tok = Tokenizer.from_file(os.path.join(tok_dir, "tokenizer.json"))
    hf = AutoTokenizer.from_pretrained(tok_dir)
    versions = {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__}

    entries = corpus() + more_corpus() + random_strings(200, seed=20261129)
    encode = []
    mismatches = 0
    for category, text in entries:
        ids = tok.encode(text, add_special_tokens=False).ids
        hf_ids = hf.encode(text, add_special_tokens=False)
        if hf_ids != ids:
            mismatches += 1
            print(f"warning: tokenizers and transformers disagree on {text[:40]!r}", file=sys.stderr)
        encode.append({"category": category, "text": text, "ids": ids,
                       "decoded": tok.decode(ids, skip_special_tokens=False),
                       "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
    dump(os.path.join(out_dir, "encode.json"), {"versions": versions, "cases": encode})
    dump(os.path.join(out_dir, "decode.json"), {"versions": versions, "cases": decode_cases(tok)})
    dump(os.path.join(out_dir, "added_tokens.json"), {"versions": versions, **added_token_cases(tok_dir)})
    dump(os.path.join(out_dir, "chat.json"), {"versions": versions, "cases": chat_cases(hf)})
    dump(os.path.join(out_dir, "templates.json"), {"versions": versions, "cases": template_cases(hf)})
    print(f"wrote fixtures to {out_dir}: {len(encode)} encode cases ({mismatches} tokenizers/transformers "
          f"disagreements), versions {versions}")


if __name__ == "__main__":
    main()
