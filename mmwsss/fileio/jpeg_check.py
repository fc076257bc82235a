# Copyright (c) mmwsss contributors. All rights reserved.
"""A structural check of JPEG files, for damage that decoders pass over.

libjpeg (under Pillow and OpenCV) decodes a damaged body with a warning on
stderr at most (Pillow none): a zero-filled disk block, a stray marker or
(in OpenCV) a cut file gives an image that is partly grey or garbage, and
training or pseudo-labels silently use it. The marker structure and the
entropy-coded data can be checked without decoding.
"""
from typing import Optional, Tuple

import numpy as np

# Markers without a length field: TEM and the restart markers RST0-7.
_STANDALONE = frozenset([0x01, *range(0xD0, 0xD8)])
# Markers that may follow the entropy-coded data of a scan.
_AFTER_SCAN = frozenset([0xC4, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xFE,
                         *range(0xC0, 0xD0), *range(0xE0, 0xF0)])
# A run of zero bytes this long in entropy-coded data: a zero-filled block.
ZERO_RUN_BYTES = 512


def _zero_codes_flat_blocks(tables: dict) -> bool:
    """Whether all-zero bits can code flat 8x8 blocks: each Huffman table's
    all-zero code (its first symbol) is DC difference 0 or AC end-of-block.
    Then a flat image area legitimately codes to long runs of zero bytes
    (optimised tables); with the standard tables it cannot."""
    return bool(tables) and all(first == 0 for first in tables.values())


def _scan_data(buf: np.ndarray, start: int,
               zero_runs_possible: bool) -> Tuple[int, Optional[str]]:
    """Check the entropy-coded data of a scan starting at ``start``.

    Returns:
        tuple: Position of the marker ending the data, and the damage found
        (None if none).
    """
    data = buf[start:]
    ff = np.flatnonzero(data[:-1] == 0xFF)
    followers = data[ff + 1]
    in_data = (followers == 0) | (followers == 0xFF) | (
        (followers >= 0xD0) & (followers <= 0xD7))
    ends = np.flatnonzero(~in_data)
    if not len(ends):
        return len(buf), ('truncated: it ends inside the compressed data, '
                          'before its end-of-image marker')
    length = int(ff[ends[0]])  # of the data, up to the marker
    end = start + length
    marker = int(followers[ends[0]])
    if marker not in _AFTER_SCAN:
        return end, (f'invalid marker 0xFF{marker:02X} in the compressed '
                     f'data at byte {end}')
    restarts = followers[:ends[0]]
    restarts = restarts[(restarts >= 0xD0) & (restarts <= 0xD7)].astype(int)
    if len(restarts) and (restarts[0] != 0xD0 or np.any(
            np.diff(restarts - 0xD0) % 8 != 1)):
        return end, 'restart markers out of order in the compressed data'
    if zero_runs_possible:
        return end, None
    zeros = np.concatenate(([0], (data[:length] == 0).astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(zeros))
    longest = int(np.max(edges[1::2] - edges[::2])) if len(edges) else 0
    if longest >= ZERO_RUN_BYTES:
        return end, (f'{longest} zero bytes in a row in the compressed '
                     'data (a zero-filled block)')
    return end, None


def _first_symbols(segment: np.ndarray) -> dict:
    """The first symbol of each Huffman table of a DHT segment's body."""
    tables, pos = {}, 0
    while pos + 17 <= len(segment):
        counts = segment[pos + 1:pos + 17].astype(int)
        if counts.sum() and pos + 17 < len(segment):
            tables[int(segment[pos])] = int(segment[pos + 17])
        pos += 17 + int(counts.sum())
    return tables


def jpeg_damage(data: bytes) -> Optional[str]:
    """What is wrong with the structure of a JPEG file, if anything.

    Checks the marker segments up to the end-of-image marker (data after it
    is allowed) and the entropy-coded data of each scan: truncation, markers
    that cannot occur there, restart markers out of order and zero-filled
    blocks. A damaged file can still pass (flipped bits inside the coded
    data are only seen by decoding), and an intact one never fails.

    Args:
        data (bytes): The file's contents.

    Returns:
        str | None: The damage found, None for an intact JPEG or a file
        that is not a JPEG (no start-of-image marker).
    """
    if data[:2] != b'\xff\xd8':
        return None
    buf = np.frombuffer(data, np.uint8)
    size = len(buf)
    truncated = 'truncated: it ends before its end-of-image marker'
    pos = 2
    first_symbols = {}  # Huffman table (class, id) -> its first symbol
    sequential = False  # baseline or extended Huffman (SOF0 / SOF1)
    while True:
        if pos >= size:
            return truncated
        if buf[pos] != 0xFF:
            return f'no marker where one must start, at byte {pos}'
        while pos < size and buf[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= size:
            return truncated
        marker = int(buf[pos])
        pos += 1
        if marker == 0xD9:
            return None
        if marker in _STANDALONE:
            continue
        if marker == 0x00 or 0x02 <= marker < 0xC0:
            return f'invalid marker 0xFF{marker:02X} at byte {pos - 2}'
        if pos + 2 > size:
            return truncated
        length = (int(buf[pos]) << 8) | int(buf[pos + 1])
        if length < 2 or pos + length > size:
            return truncated if length >= 2 else (
                f'segment 0xFF{marker:02X} at byte {pos - 2} has length '
                f'{length}')
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            sequential = marker in (0xC0, 0xC1)
        if marker == 0xC4:
            first_symbols.update(_first_symbols(buf[pos + 2:pos + length]))
        pos += length
        if marker == 0xDA:
            # Progressive refinement scans carry raw bits: zeros are data.
            pos, damage = _scan_data(
                buf, pos, not sequential
                or _zero_codes_flat_blocks(first_symbols))
            if damage is not None:
                return damage
