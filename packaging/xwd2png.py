"""Convert an X window dump (xwd, 24/32-bit ZPixmap, as Xvfb gives) to PNG without ImageMagick.

    python packaging/xwd2png.py window.xwd window.png
"""
import struct
import sys

import numpy as np
from PIL import Image


def main(src: str, dst: str) -> None:
    data = open(src, "rb").read()
    h = struct.unpack(">25I", data[:100])
    header_size, width, height, byte_order, bytes_per_line, ncolors = h[0], h[4], h[5], h[7], h[12], h[19]
    offset = header_size + ncolors * 12
    rows = np.frombuffer(data[offset:offset + bytes_per_line * height], np.uint8).reshape(height, bytes_per_line)
    px = rows[:, :width * 4].reshape(height, width, 4)
    rgb = px[..., [2, 1, 0]] if byte_order == 0 else px[..., [1, 2, 3]]
    Image.fromarray(np.ascontiguousarray(rgb)).save(dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
