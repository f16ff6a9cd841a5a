"""Obviously-correct IDX encoding and decoding in a few lines, to check fastlin.io against."""

import gzip
import struct

import numpy as np

CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C,
    np.dtype(np.float32): 0x0D,
    np.dtype(np.float64): 0x0E,
}
DTYPES = {code: dt for dt, code in CODES.items()}


def idx_bytes(array):
    """The IDX encoding of ``array``: magic, big-endian int32 dims, big-endian payload."""
    a = np.asarray(array)
    code = CODES[a.dtype.newbyteorder("=")]
    head = bytes([0, 0, code, a.ndim]) + b"".join(struct.pack(">i", d) for d in a.shape)
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


def parse_idx_bytes(data):
    """Decode IDX bytes into a native-order array of the full shape."""
    assert data[0] == 0 and data[1] == 0
    dt = DTYPES[data[2]]
    ndim = data[3]
    dims = struct.unpack(f">{ndim}i", data[4 : 4 + 4 * ndim])
    payload = data[4 + 4 * ndim :]
    a = np.frombuffer(payload, dtype=dt.newbyteorder(">")).reshape(dims)
    return a.astype(dt)


def write_file(path, array, gz=False):
    data = idx_bytes(array)
    if gz:
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as f:
        f.write(data)
    return path


def read_file(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return parse_idx_bytes(data)


def concat_chunks(chunks):
    """Concatenate (X, y) chunks into (X, y or None)."""
    xs, ys = [], []
    for X, y in chunks:
        xs.append(np.array(X))
        if y is not None:
            ys.append(np.array(y))
    X = np.concatenate(xs) if xs else None
    y = np.concatenate(ys) if ys else None
    return X, y


def render_digits_reference(
    tpl_pts, tpl_wts, tpl_trig, style, params, scale, center, edge, shape=(28, 28)
):
    """Plain NumPy version of ``fastlin.kernels.synth.render_digits`` (one image at a time,
    every exp computed directly, same 3-sigma window and empty outer ring)."""
    from fastlin.kernels import synth as S

    h, w = shape
    out = np.zeros((len(style),) + shape, dtype=np.uint8)
    for b, t in enumerate(style):
        p = params[b]
        acc = np.zeros(shape)
        c1, s1 = tpl_trig[t, :, 0], tpl_trig[t, :, 1]
        cos_m = [c1, np.cos(2 * np.arctan2(s1, c1)), np.cos(3 * np.arctan2(s1, c1))]
        sin_m = [s1, np.sin(2 * np.arctan2(s1, c1)), np.sin(3 * np.arctan2(s1, c1))]
        x = tpl_pts[t, :, 0].copy()
        y = tpl_pts[t, :, 1].copy()
        for m in range(3):
            x += p[S.P_WOBBLE + m] * (
                cos_m[m] * np.cos(p[S.P_PHASE + m]) - sin_m[m] * np.sin(p[S.P_PHASE + m])
            )
            y += p[S.P_WOBBLE + 3 + m] * (
                cos_m[m] * np.cos(p[S.P_PHASE + 3 + m]) - sin_m[m] * np.sin(p[S.P_PHASE + 3 + m])
            )
        q = p[S.P_WARP : S.P_WARP + 6]
        x, y = (
            x + q[0] * x * x + q[1] * y * y + q[2] * x * y,
            y + q[3] * x * x + q[4] * y * y + q[5] * x * y,
        )
        x = x * p[S.P_SX] - p[S.P_SLANT] * y
        y = y * p[S.P_SY]
        cr, sr = np.cos(p[S.P_ROT]), np.sin(p[S.P_ROT])
        x, y = cr * x - sr * y, sr * x + cr * y
        cu = center + scale * x + p[S.P_SHIFT]
        cv = center + scale * y + p[S.P_SHIFT + 1]
        sigma = p[S.P_SIGMA]
        r = int(np.ceil(3 * sigma))
        norm = p[S.P_INK] * scale / (2 * np.pi * sigma**2)
        for k in range(len(cu)):
            ju, iv = int(np.floor(cu[k] + 0.5)), int(np.floor(cv[k] + 0.5))
            for i in range(max(1, iv - r), min(h - 2, iv + r) + 1):
                for j in range(max(1, ju - r), min(w - 2, ju + r) + 1):
                    acc[i, j] += (
                        tpl_wts[t, k]
                        * norm
                        * np.exp(-((i - cv[k]) ** 2 + (j - cu[k]) ** 2) / (2 * sigma**2))
                    )
        v = np.clip(acc * p[S.P_GAIN] - edge, 0.0, 1.0)
        out[b] = np.floor(v * 255 + 0.5).astype(np.uint8)
    return out
