"""Which encoding a Chinese text file is in: UTF-8, GBK, GB18030, or Big5 that must not pass for GBK."""

from __future__ import annotations

__all__ = ["detect_encoding", "in_gb2312", "looks_big5"]

_ENCODINGS = ("utf-8", "gbk", "gb18030")
_COMMON_SHARE = 0.8
_BIG5_LEVEL1 = (0xA4, 0xC6)  # lead bytes of Big5's 5,401 frequent characters
_GB2312_LEVEL1 = (0xB0, 0xD7)  # lead bytes of GB2312's 3,755 frequent characters


def in_gb2312(char: str) -> bool:
    """Whether ``char`` is one of the common characters of GB2312."""
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _lead_share(data: bytes, encoding: str, leads: tuple[int, int]) -> float:
    """Share of the non-ASCII characters of ``data`` whose lead byte lies in ``leads`` (0 if it does not decode)."""
    try:
        wide = [c for c in data.decode(encoding) if ord(c) > 0x7F]
    except UnicodeDecodeError:
        return 0.0
    return sum(leads[0] <= c.encode(encoding)[0] <= leads[1] for c in wide) / max(1, len(wide))


def looks_big5(data: bytes) -> bool:
    """Whether ``data`` reads better as Big5 (Traditional Chinese) than as GBK.

    Big5 text often decodes as GBK without error, as rare characters; here at least 80 % of its
    characters must be among Big5's frequent ones, and more of them than among GB2312's frequent ones
    when read as GBK.
    """
    big5 = _lead_share(data, "big5", _BIG5_LEVEL1)
    return big5 >= _COMMON_SHARE and big5 > _lead_share(data, "gbk", _GB2312_LEVEL1)


def detect_encoding(data: bytes) -> str | None:
    """Name the text encoding of ``data``.

    Parameters
    ----------
    data : bytes
        Raw file content.

    Returns
    -------
    str or None
        ``"utf-8-sig"`` (UTF-8 with BOM), ``"utf-16"`` (with BOM), ``"utf-8"``, ``"gbk"`` or
        ``"gb18030"`` (GB18030 characters outside GBK, e.g. rare characters in names), tried
        in that order with strict decoding, or ``"big5"`` when text that decodes as GBK reads
        better as Big5 (:func:`looks_big5`); ``None`` when none decodes the data.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    for encoding in _ENCODINGS:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return "big5" if encoding != "utf-8" and looks_big5(data) else encoding
    return None
