"""Turning the bytes of Chinese mail into text: charsets, encoded headers, raw 8-bit headers.

Mail labelled GB2312 or GBK is decoded as GB18030, of which both are subsets (clients label
GB18030 text as GB2312 all the time). A label Python does not know, a missing label, or a label
the bytes contradict does not lose the text: the bytes are tried as UTF-8, then GB18030, then
Big5, and a problem is recorded saying what was done.
"""

from __future__ import annotations

import codecs
import re
from email.header import decode_header

# labels whose text is really GB18030 (a superset of them all)
_GB_LABELS = frozenset(
    {"gb2312", "gbk", "x-gbk", "iso-gb2312", "cp936", "euc-cn", "gb_2312-80", "csgb2312", "ms936",
     "x-euc-cn", "chinese", "gb2312-80", "hz-gb-2312"}
)  # fmt: skip
_FALLBACKS = ("utf-8", "gb18030", "big5")
# a mail labelled Japanese is Japanese even when the label is wrong: try those first
_JAPANESE_FALLBACKS = ("iso2022_jp_2004", "iso2022_jp_ext", "jis-as-euc", "cp932",
                       "euc_jis_2004", "utf-8", "gb18030")
_JIS_SHIFT = re.compile(rb"\x1b(\$[@B]|\([BJ])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _exact_codec(label: str) -> str | None:
    try:
        return codecs.lookup(label.strip().strip('"').lower()).name
    except LookupError:
        return None


def codec_for(label: str | None) -> str | None:
    """The Python codec to use for a charset label, or None when Python knows no such label."""
    if not label:
        return None
    name = label.strip().strip('"').lower()
    if name in _GB_LABELS or name.startswith("gb"):
        return "gb18030"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, label: str | None, problems: list[str], what: str) -> str:
    """Text of `data` labelled `label`; what had to be guessed goes into `problems`."""
    codec = codec_for(label)
    if label and codec is None:
        problems.append(f"unknown charset {label!r} in {what}")
    elif not label and not data.isascii():
        problems.append(f"no charset declared for 8-bit {what}")
    if codec is not None:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            if label:
                problems.append(f"charset label {label!r} does not fit the bytes of {what}")
        else:
            _note_narrow_label(data, label, codec, problems, what)
            return text
    japanese = codec is not None and ("jp" in codec or "jis" in codec or codec == "cp932")
    for candidate in _JAPANESE_FALLBACKS if japanese else _FALLBACKS:
        if candidate == codec:
            continue
        try:
            text = _jis_as_euc(data) if candidate == "jis-as-euc" else data.decode(candidate)
        except UnicodeDecodeError:
            continue
        if label or not data.isascii():
            problems.append(f"{what} decoded as {candidate}")
        return text
    problems.append(f"{what} has undecodable bytes, replaced")
    return data.decode(codec or "gb18030", errors="replace")


def _note_narrow_label(
    data: bytes, label: str | None, codec: str, problems: list[str], what: str
) -> None:
    """GB2312/GBK text that needed GB18030 decodes fine, but the label was wrong: say so."""
    exact = _exact_codec(label) if label else None
    if codec != "gb18030" or exact in (None, "gb18030"):
        return
    try:
        data.decode(exact)
    except UnicodeDecodeError:
        problems.append(f"charset label {label!r} too narrow for {what}, decoded as gb18030")


def decode_header_value(raw: str, problems: list[str], name: str) -> str:
    """A header as a person reads it, on one line.

    Handles RFC 2047 words in any charset (GB2312/GBK as GB18030), raw 8-bit bytes sent without
    encoding (the parser hands them over as surrogate escapes) and folding. Line breaks that
    appear only after decoding (an encoded CR LF: a header injection attempt) are removed.
    """
    if re.search(r"\r?\n[ \t]+[A-Za-z-]+:\s", raw):
        problems.append(f"a folded line of the {name} header looks like a header (injection?)")
    unfolded = re.sub(r"\r?\n[ \t]*", " ", raw)
    if any("\udc80" <= ch <= "\udcff" for ch in unfolded):
        data = unfolded.encode("ascii", "surrogateescape")
        try:
            unfolded = data.decode("utf-8")  # RFC 6532 allows UTF-8 headers
        except UnicodeDecodeError:
            problems.append(f"raw 8-bit bytes in the {name} header")
            unfolded = decode_bytes(data, None, [], f"{name} header")
    text = _decode_words(unfolded, problems, name) if "=?" in unfolded else unfolded
    if "\r" in text or "\n" in text:
        problems.append(f"line break inside the {name} header removed (header injection?)")
        text = re.sub(r"[\r\n]+", " ", text)
    return _CONTROL.sub("", text).strip()


def _decode_words(value: str, problems: list[str], name: str) -> str:
    try:
        parts = decode_header(value)
    except Exception:  # a malformed encoded word: keep the header as it came
        problems.append(f"malformed encoded word in the {name} header")
        return value
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(decode_bytes(chunk, charset, problems, f"{name} header"))
    # decode_header drops the space between an encoded word and plain text only when RFC 2047
    # says so; nothing else to repair here
    return "".join(out)


def _jis_as_euc(data: bytes) -> str:
    """ISO-2022-JP holding characters its codec refuses (①, NEC extensions): the same JIS
    codes read as EUC (each byte of a two-byte run with its high bit set)."""
    out = bytearray()
    double = False
    position = 0
    for match in _JIS_SHIFT.finditer(data):
        chunk = data[position : match.start()]
        out += bytes(b | 0x80 for b in chunk) if double else chunk
        double = match.group(1).startswith(b"$")
        position = match.end()
    chunk = data[position:]
    out += bytes(b | 0x80 for b in chunk) if double else chunk
    if not _JIS_SHIFT.search(data):
        raise UnicodeDecodeError("jis-as-euc", data, 0, len(data), "no JIS shift sequences")
    return bytes(out).decode("euc_jis_2004")
