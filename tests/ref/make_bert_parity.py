#!/usr/bin/env python3
"""tests/ref/make_bert_parity.py - reference ids from HuggingFace's BertTokenizer for
tests/test_tokenizer.c. Run it where `transformers` (4.x) is installed, with the vocabulary from
tests/ref/get_bert_vocab.sh:

    pip install 'transformers>=4.30,<5'
    tests/ref/get_bert_vocab.sh
    python3 tests/ref/make_bert_parity.py          # writes tests/ref/bert_parity.tsv
    python3 tests/ref/make_bert_parity.py --inputs-only   # only tests/ref/bert_parity_inputs.txt

The tokenizer is the Python ("slow") one: transformers.BertTokenizer(vocab_file=...,
do_lower_case=True) in transformers 4.x. transformers 5 replaced BertTokenizer by the Rust
`tokenizers` backend (different rules: it strips all combining marks, Mn and Mc, and splits at
more whitespace); there the script uses BertTokenizerLegacy, the old Python code, which
lowercases whole words instead of single characters, and records final_sigma=1 so the C test
switches ss_tokenizer.final_sigma on.

Output (UTF-8, one case per line, tab-separated, escaped as below):
    text  ids  decode  pair  max_length
  ids: tokenizer.encode(text, pair, truncation=max_length > 0, max_length=max_length or None),
       space-separated, [CLS]/[SEP] included; decode: tokenizer.decode(ids) with
       clean_up_tokenization_spaces=True; pair: \\N when there is none; max_length: 0 for none.
  Lines starting with '#' record the versions and settings.
Escapes: \\\\ backslash, \\t \\n \\r, \\u{HEX} any code point (used for controls, format
characters, separators, unassigned code points and a leading '#', so every line stays visible
and no text reads as a comment), \\xHH a raw
byte of invalid UTF-8 (such texts go to HF as bytes.decode("utf-8", "replace"), as the C code
reads them), \\N (alone) nothing. All texts are written for this file.
"""
import argparse
import os
import platform
import sys
import unicodedata

# Plain English, the bulk of what the model sees.
ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world!",
    "I have a new GPU!",
    "She sells sea shells by the sea shore, doesn't she?",
    "It's 7:45 p.m. and the train to Edinburgh hasn't left yet.",
    "Our results improved by 12.5% over the baseline (p < 0.01).",
    "The committee's decision, announced on Tuesday, surprised nobody.",
    "\"Why not?\" he asked, shrugging his shoulders.",
    "Transformers use self-attention to mix information between tokens.",
    "Multi-head latent attention compresses keys and values into a low-rank latent.",
    "E-mail me at someone@example.com or visit https://example.org/path?q=1&r=2.",
    "The year 1969 saw the first Moon landing; 2001 brought a new millennium.",
    "Antidisestablishmentarianism is a famously long English word.",
    "Unbelievably, the unaffable uncle remained unflappable.",
    "They've been re-evaluating the pre-trained models all week.",
    "Mr. and Mrs. Smith live at 221B Baker Street, London.",
    "Don't you think it's time we'd gone? I'm sure you'll agree.",
    "The price rose from $3.50 to $4.25 -- a 21% increase!",
    "Tokenization splits text into word pieces such as ##ing and ##ed.",
    "#hashtags, @mentions and ~tildes~ are all punctuation to BERT.",
    "C++ and C# are programming languages; so is Python 3.12.",
    "Rock 'n' roll isn't dead, it's just sleeping.",
    "The U.S.A. and the U.K. signed the agreement in 1945.",
    "Wait... what?! No way!!!",
    "Semicolons; colons: dashes - and (parentheses) [brackets] {braces}.",
    "A <b>bold</b> tag & an &amp; entity.",
    "Numbers like 3.14159, 1,000,000 and 6.022e23 are common in science.",
    "The mitochondria is the powerhouse of the cell.",
    "Researchers at the university published their findings in Nature.",
    "He said: 'the meeting is postponed until further notice'.",
    "Whitespace   between    words  is   collapsed.",
    "   leading and trailing spaces   ",
    "",
    "a",
    "ALL CAPS SENTENCE WITH SHOUTING",
    "MiXeD cAsE wOrDs",
    "Supercalifragilisticexpialidocious is a word from a song.",
    "Pneumonoultramicroscopicsilicovolcanoconiosis is a lung disease.",
    "The dog's owner's car's engine failed.",
    "Isn't it ironic? Don't you think?",
    "The 3rd, 21st and 102nd entries were duplicates.",
    "Quantum chromodynamics describes the strong interaction.",
    "[CLS] and [SEP] and [MASK] are special; [mask] is not; nor is [UNK.",
    "The capital of France is [MASK].",
    "x[MASK]y[SEP]z",
    "[unused0] [unused99] [PAD]",
    "Tab\tseparated\tvalues\tand\nnew\nlines\r\nand carriage\rreturns.",
]

# Hard Unicode: every rule of the basic tokenizer and the odd corners of Python's str.lower().
UNICODE = [
    "Café, naïve, résumé, façade, coöperate, jalapeño, Ångström.",
    "Cafe\u0301 with a combining acute accent.",
    "Z\u0327\u0301a\u0308l\u0302g\u0303o\u0304 text with stacked marks\u0305\u0306\u0307.",
    "Zürich, München, Köln, Düsseldorf, Straße, STRASSE, Fußball.",
    "\u1E9E is the capital sharp s; ß stays ß.",
    "İstanbul, İzmir, DİYARBAKIR and ıspanak (dotless i).",
    "\u0130",
    "\u0049\u0307 is I with a combining dot.",
    "ΟΔΟΣ, ΟΔΟΣ. Σ ΣΑ ΑΣ ΑΣΑ Σ. όδος ὁδός.",
    "Ἀθῆναι, Ἑλλάς, ᾯ, ῼ, φιλοσοφία.",
    "ΑΣ-Β, ΑΣ'Β, ΑΣ.Β, ΑΣ\u0301 and Α\u00adΣ.",
    "Москва, ЁЛКА, Київ, Ђорђе, Ѳѳ.",
    "Հայաստան, ԵՐԵՎԱՆ, և (Armenian ligature).",
    "ქართული ᲥᲐᲠᲗᲣᲚᲘ (Georgian Mtavruli).",
    "中文分词测试：我爱北京天安门。",
    "日本語のテキスト、ひらがなとカタカナ。がぎぐげご ガギグゲゴ パピプペポ",
    "한국어 텍스트입니다. 한글 자모: ㄱㄴㄷ ᄀᄁ",
    "\u1100\u1161\u11A8 (conjoining jamo) vs 각",
    "混合mixed中文English文本text",
    "CJK compatibility: \uF900\uF901\uFA0E\uFA6D and \U0002F800\U0002F81F.",
    "Extension B: \U00020000\U0002A6D6; Extension C: \U0002A700; E: \U0002B820.",
    "Kangxi radicals ⼀⼁⼂ and CJK strokes ㇀㇁ are not ideographs.",
    "Full-width: ＡＢＣ ａｂｃ １２３ ！？＠＃",
    "Half-width katakana: ｶﾀｶﾅ ﾊﾟﾋﾟ",
    "Ligatures: ﬁ ﬂ ﬀ ﬃ ﬄ ﬅ ﬆ Ĳ ĳ Œ œ Æ æ ŉ",
    "Superscripts x² y³ and fractions ½ ¼ ¾ ⅓.",
    "Roman numerals Ⅻ ⅻ and circled ⓐ Ⓐ ①.",
    "العربية: كَتَبَ الطَّالِبُ الدَّرْسَ.",
    "עִבְרִית: שָׁלוֹם עוֹלָם",
    "हिन्दी: नमस्ते दुनिया। क़ ख़ ग़",
    "বাংলা ভাষা, தமிழ் மொழி, తెలుగు, ಕನ್ನಡ, മലയാളം, ଓଡ଼ିଆ, ગુજરાતી, ਪੰਜਾਬੀ",
    "ภาษาไทย: สวัสดีครับ กินข้าว",
    "ພາສາລາວ, ភាសាខ្មែរ, မြန်မာ, ᠮᠣᠩᠭᠣᠯ",
    "Tiếng Việt: Xin chào thế giới, Đà Nẵng.",
    "Emoji: 😀 😂 👍 👍🏽 ❤️ 🇫🇷 👨‍💻 👩‍👩‍👧‍👦 🏳️‍🌈",
    "Mixed emoji inside words: hi😀there and 2👍s.",
    "Symbols: € £ ¥ ₹ ₿ © ® ™ ° ± × ÷ ∞ ≠ ≤ ≥ √ ∑ ∫ ∂ ∆ ∇",
    "Arrows and boxes: ← → ↑ ↓ ⇒ ⇔ ■ □ ▲ ● ★ ☆ ♠ ♥",
    "Quotes: “double” ‘single’ «guillemets» ‹single› „low“ 「corner」 『white』",
    "Dashes: hyphen-minus, en–dash, em—dash, ‐hyphen‐, ‑non-breaking‑, −minus, ―bar",
    "Bullets • · ‧ ∙ and ellipsis … and daggers † ‡ § ¶",
    "Inverted ¿question? ¡exclamation! and interrobang ‽",
    "Spaces:\u00a0no-break,\u2002en,\u2003em,\u2009thin,\u200ahair,\u202fnarrow,\u205fmath,\u3000ideographic.",
    "Zero-width: a\u200bb a\u200cb a\u200db a\u2060b a\ufeffb a\u00adb",
    "Line\u2028separator and paragraph\u2029separator.",
    "Next\u0085line and vertical\u000btab and form\u000cfeed.",
    "Controls: a\u0001b\u0007c\u001bd\u007fe\u009ff",
    "File separators: a\u001cb\u001dc\u001ed\u001fe",
    "NUL: a\u0000b and replacement: c\ufffdd",
    "Private use: a\ue000b\uf8ffc and \U000F0000.",
    "Bidi controls: a\u200eb\u200fc\u202ad\u202ee\u2066f\u2069g",
    "Variation selectors: ✌\ufe0e ✌\ufe0f 葛\U000E0100 and tags 🏴\U000E0067\U000E0062\U000E007F",
    "Musical: \U0001D15E \U0001D160 \U0001D1BB and \U0001D158\U0001D16D\U0001D165 (reordered marks).",
    "Combining on punctuation: a.\u0301b and !\u0308",
    "Combining after space: a \u0301b and \u0301\u0302 alone",
    "Hangul tone marks: 가\u302e 나\u302f",
    "Tibetan: \u0f40\u0f71\u0f72 \u0f73 \u0f75 \u0f81 \u0f43",
    "Greek question mark\u037e ano teleia\u0387 and oxia \u1fef varia \u1fed.",
    "Kelvin \u212a, Ohm \u2126, Angstrom \u212b signs.",
    "Micro \u00b5 and mu \u03bc, ſ long s, ϐ beta symbol, ﬅ.",
    "Dž dž DŽ ǅ ǆ ǈ Ǉ (titlecase digraphs).",
    "Cherokee: ᏣᎳᎩ ꮳꮃꭹ",
    "Deseret: 𐐀𐐨 and Osage 𐒰𐓘 and Adlam 𞤀𞤢",
    "Mathematical: 𝐀𝐁𝐂 𝒜 𝔸 𝟙 (compatibility only).",
    "Enclosed: 🄰 🅐 🆎",
    "Old Italic 𐌀𐌁 and Gothic 𐌰𐌱 and Runic ᚠᚢᚦ",
    "Ethiopic ሰላም, Cherokee Ꮳ, Canadian ᓀᐦᐃᔭᐍᐏᐣ",
    "Yi ꆈꌠꁱꂷ and Vai ꕙꔤ",
    "Braille ⠓⠑⠇⠇⠕ and box drawing ┌─┐",
    "Apostrophes: it’s, it‛s, it′s, it＇s, it`s, it´s",
    "Modifier letters: ʼ ʹ ˈ ˌ ː ˘ ˙ ˚ ˛ ˜ ˝",
    "Spacing accents ¨ ¯ ´ ¸ and combining grapheme joiner a\u034fb",
    "Dotless: ı ȷ and dotted İ with accents İ\u0301",
    "Turkish upper İ inside: DİKKAT, GİRİŞ, ÇIKIŞ",
    "Lithuanian: Į̃ ĮĖ",
    "Armenian small ligature ﬓ ﬔ ﬕ ﬖ ﬗ",
    "Hebrew presentation forms: שּׁ ﬞ ﬠ ﬡ",
    "Arabic presentation forms: ﻻ ﷲ ﷺ",
    "Thai with tone marks: ก่ ก้ ก๊ ก๋ น้ำ",
    "Devanagari nukta forms क़ ख़ vs क\u093c ख\u093c",
    "Bengali two-part vowels: কো কৌ vs ক\u09c7\u09be",
    "Tamil: கொ கோ கௌ",
    "Malayalam: കൊ കോ കൌ",
    "Sinhala: කො කෝ කෞ",
    "Balinese ᬆ ᬈ ᬊ",
    "Very long word: " + "a" * 99 + " " + "b" * 100 + " " + "c" * 101 + " " + "d" * 150,
    "Long with accents: " + "é" * 100 + " " + "é" * 101,
    "Long CJK run: " + "中" * 120,
    "Long mixed: " + "ab" * 60 + "." + "x" * 30,
    "Hyphenated chain: " + "-".join(["word"] * 40),
    "Unicode punctuation run: ‘“«»”’—–…‽‼⁉",
    "Surrogate-free astral: 𝄞 𓀀 𒀀 𖠀 𛀁 🀄 🃏",
    "Unassigned code points: a\u0378b\u0380c\U0003FFFDd",
]

# Pairs, with and without truncation (HF's default longest_first), to check [SEP] and cutting.
PAIRS = [
    ("How old are you?", "I am six years old.", 0),
    ("The cat sat on the mat.", "", 0),
    ("", "Only the second sequence.", 0),
    ("A short question?", "A much longer answer that goes on and on, with many words, clauses and commas.", 16),
    ("A much longer first sentence that goes on and on, with many words and commas.", "Short.", 16),
    ("Equal length one two three four", "Equal length five six seven eight", 12),
    ("Equal length one two three four", "Equal length five six seven eight", 11),
    ("Ünïcödé in the first", "中文 in the second", 9),
    ("one", "two", 5),
    ("This is [MASK] inside a pair.", "And [SEP] too.", 0),
]
# Single sequences truncated.
TRUNCATED = [
    ("The quick brown fox jumps over the lazy dog again and again.", 8),
    ("Short but not too short", 4),
]

# Raw bytes, some not valid UTF-8: HF sees them as bytes.decode("utf-8", "replace").
RAW = [
    b"invalid \xff byte",
    b"truncated \xe4\xb8 sequence",
    b"lone continuation \x80\x80 bytes",
    b"overlong \xc0\xaf slash and \xe0\x80\xaf",
    b"surrogate \xed\xa0\x80 encoded",
    b"too big \xf4\x90\x80\x80 and \xf5\x80",
    b"caf\xc3\xa9 \xc3 next",
    b"mixed\xffbytes\xfeinside\xc3(words",
]


def escape(text):
    """Escape a str (lone surrogates from surrogateescape stand for raw bytes)."""
    out = []
    for ch in text:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif 0xDC80 <= o <= 0xDCFF:
            out.append("\\x%02X" % (o - 0xDC00))
        elif (unicodedata.category(ch)[0] in "CZ" and ch != " ") or (ch == "#" and not out):
            out.append("\\u{%X}" % o)  # a leading '#' would read as a comment line
        else:
            out.append(ch)
    return "".join(out)


def cases():
    """(escaped text, text for HF, escaped pair or \\N, pair for HF or None, max_length)."""
    for t in ENGLISH + UNICODE:
        yield escape(t), t, "\\N", None, 0
    for a, b, ml in PAIRS:
        yield escape(a), a, escape(b), b, ml
    for t, ml in TRUNCATED:
        yield escape(t), t, "\\N", None, ml
    for raw in RAW:
        yield escape(raw.decode("utf-8", "surrogateescape")), raw.decode("utf-8", "replace"), "\\N", None, 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vocab", default=os.path.join(root, "build", "bert-vocab.txt"))
    ap.add_argument("--out", default=os.path.join(here, "bert_parity.tsv"))
    ap.add_argument("--inputs", default=os.path.join(here, "bert_parity_inputs.txt"))
    ap.add_argument("--inputs-only", action="store_true", help="write only the inputs file")
    args = ap.parse_args()

    with open(args.inputs, "w", encoding="utf-8", newline="\n") as f:
        f.write("# The texts of make_bert_parity.py, one per line, escaped as its docstring says;\n")
        f.write("# a pair is shown as text<TAB>pair; truncated cases end in <TAB>(max_length N).\n")
        for et, _, ep, _, ml in cases():
            f.write(et + ("\t" + ep if ep != "\\N" else "") + ("\t(max_length %d)" % ml if ml else "") + "\n")
    print("wrote", args.inputs)
    if args.inputs_only:
        return 0

    import transformers
    major = int(transformers.__version__.split(".")[0])
    if major >= 5:
        from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as Tokenizer
        final_sigma = 1
    else:
        from transformers import BertTokenizer as Tokenizer
        final_sigma = 0
    if not os.path.isfile(args.vocab):
        sys.exit("missing %s: run tests/ref/get_bert_vocab.sh first" % args.vocab)
    tok = Tokenizer(vocab_file=args.vocab, do_lower_case=True)
    if tok.is_fast:
        sys.exit("got a fast (Rust) tokenizer; the reference is the Python one")

    lines = [
        "# made by tests/ref/make_bert_parity.py: transformers %s (%s), python %s, unicodedata %s"
        % (transformers.__version__, Tokenizer.__name__, platform.python_version(), unicodedata.unidata_version),
        "# final_sigma=%d (%s)" % (final_sigma, "whole-word lowercasing" if final_sigma else "per-character lowercasing"),
        "# columns: text, ids, decode, pair, max_length",
    ]
    for et, t, ep, p, ml in cases():
        ids = tok.encode(t, p, add_special_tokens=True, truncation=bool(ml), max_length=ml or None)
        try:
            decoded = escape(tok.decode(ids, clean_up_tokenization_spaces=True))
        except Exception as e:  # the decode column is optional for the C test
            print("decode failed (%s): %s" % (type(e).__name__, e), file=sys.stderr)
            decoded = "\\N"
        lines.append("\t".join([et, " ".join(map(str, ids)), decoded, ep, str(ml)]))
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s: %d cases" % (args.out, len(lines) - 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
