"""Rendering of synthetic digit images from pen paths (used by ``fastlin.io.datasets``).

Each image is the sum of Gaussian ink blobs centred on the points of its pen path, mapped
through a saturating gain to uint8. Images are independent, so the result has the same
bits for any thread count; parallelism is over contiguous ranges of images, on Python
threads.
"""

import math

import numpy as np

from .._numba import jit
from .._threads import run_parts


# Layout of one image's parameter row (``params[b]``).
P_WOBBLE = 0  # 6: amplitudes a[axis, mode] of cos(2 pi (mode + 1) s + phase), axis-major
P_PHASE = 6  # 6: phases, same layout
P_WARP = 12  # 6: quadratic warp q[axis, (x*x, y*y, x*y)]
P_SLANT = 18
P_ROT = 19
P_SX = 20
P_SY = 21
P_SHIFT = 22  # 2: column, row shift in pixels
P_INK = 24  # ink scale
P_SIGMA = 25  # Gaussian pen radius in pixels
P_GAIN = 26  # intensity gain before saturation
N_PARAMS = 27


@jit
def _gauss_row(i0, i1, c, inv, decay, scale, out):
    """out[i - i0] = scale * exp(-(i - c)**2 * inv) for i0 <= i <= i1.

    Two exps and a multiplicative recurrence: g(d + 1) / g(d) = exp(-(2 d + 1) inv), a ratio
    that itself shrinks by ``decay = exp(-2 inv)`` per step.
    """
    d = i0 - c
    g = scale * math.exp(-d * d * inv)
    ratio = math.exp(-(2.0 * d + 1.0) * inv)
    for i in range(i0, i1 + 1):
        out[i - i0] = g
        g *= ratio
        ratio *= decay


@jit
def _render_one(pts, wts, trig, scale, center, edge, prm, acc, ex, ey, out):
    """Draw one digit: transform its template pen path by ``prm``, splat Gaussian blobs,
    then map density to uint8 through ``clip(gain * density - edge, 0, 1) * 255``."""
    h, w = acc.shape
    for i in range(h):
        for j in range(w):
            acc[i, j] = 0.0
    sigma = prm[P_SIGMA]
    inv = 1.0 / (2.0 * sigma * sigma)
    norm = prm[P_INK] * scale / (2.0 * math.pi * sigma * sigma)
    r = int(math.ceil(3.0 * sigma))
    cr = math.cos(prm[P_ROT])
    sr = math.sin(prm[P_ROT])
    # Wobble terms a*cos(m t + phase) expanded as a*(cos(m t) cos(phase) - sin(m t) sin(phase)):
    # cos(m t), sin(m t) follow from the template's cos t, sin t without any trig call.
    ca0 = prm[P_WOBBLE] * math.cos(prm[P_PHASE])
    ca1 = prm[P_WOBBLE + 1] * math.cos(prm[P_PHASE + 1])
    ca2 = prm[P_WOBBLE + 2] * math.cos(prm[P_PHASE + 2])
    ca3 = prm[P_WOBBLE + 3] * math.cos(prm[P_PHASE + 3])
    ca4 = prm[P_WOBBLE + 4] * math.cos(prm[P_PHASE + 4])
    ca5 = prm[P_WOBBLE + 5] * math.cos(prm[P_PHASE + 5])
    sa0 = prm[P_WOBBLE] * math.sin(prm[P_PHASE])
    sa1 = prm[P_WOBBLE + 1] * math.sin(prm[P_PHASE + 1])
    sa2 = prm[P_WOBBLE + 2] * math.sin(prm[P_PHASE + 2])
    sa3 = prm[P_WOBBLE + 3] * math.sin(prm[P_PHASE + 3])
    sa4 = prm[P_WOBBLE + 4] * math.sin(prm[P_PHASE + 4])
    sa5 = prm[P_WOBBLE + 5] * math.sin(prm[P_PHASE + 5])
    decay = math.exp(-2.0 * inv)
    for k in range(pts.shape[0]):
        c1 = trig[k, 0]
        s1 = trig[k, 1]
        c2 = c1 * c1 - s1 * s1
        s2 = 2.0 * s1 * c1
        c3 = c2 * c1 - s2 * s1
        s3 = s2 * c1 + c2 * s1
        x = pts[k, 0] + ca0 * c1 - sa0 * s1 + ca1 * c2 - sa1 * s2 + ca2 * c3 - sa2 * s3
        y = pts[k, 1] + ca3 * c1 - sa3 * s1 + ca4 * c2 - sa4 * s2 + ca5 * c3 - sa5 * s3
        xx = x * x
        yy = y * y
        xy = x * y
        x, y = (
            x + prm[P_WARP] * xx + prm[P_WARP + 1] * yy + prm[P_WARP + 2] * xy,
            y + prm[P_WARP + 3] * xx + prm[P_WARP + 4] * yy + prm[P_WARP + 5] * xy,
        )
        x = x * prm[P_SX] - prm[P_SLANT] * y
        y = y * prm[P_SY]
        x, y = cr * x - sr * y, sr * x + cr * y
        cu = center + scale * x + prm[P_SHIFT]
        cv = center + scale * y + prm[P_SHIFT + 1]
        ju = int(math.floor(cu + 0.5))
        iv = int(math.floor(cv + 0.5))
        # The outer ring stays empty: only pixels 1..h-2 / 1..w-2 receive ink.
        j0 = max(1, ju - r)
        j1 = min(w - 2, ju + r)
        i0 = max(1, iv - r)
        i1 = min(h - 2, iv + r)
        if j0 > j1 or i0 > i1:
            continue
        _gauss_row(j0, j1, cu, inv, decay, 1.0, ex)
        _gauss_row(i0, i1, cv, inv, decay, wts[k] * norm, ey)
        for i in range(i0, i1 + 1):
            a = ey[i - i0]
            for j in range(j0, j1 + 1):
                acc[i, j] += a * ex[j - j0]
    gain = prm[P_GAIN]
    for i in range(h):
        for j in range(w):
            v = acc[i, j] * gain - edge
            if v < 0.0:
                v = 0.0
            elif v > 1.0:
                v = 1.0
            out[i, j] = np.uint8(math.floor(v * 255.0 + 0.5))


@jit
def render_range(tpl_pts, tpl_wts, tpl_trig, style, params, scale, center, edge, b0, b1, acc, out):
    """Render images ``b0`` to ``b1`` of ``render_digits``'s batch with one scratch image
    ``acc`` (height, width) float64."""
    smax = 0.0
    for b in range(b0, b1):
        smax = max(smax, params[b, P_SIGMA])
    rmax = 2 * int(math.ceil(3.0 * smax)) + 1
    ex = np.empty(rmax, dtype=np.float64)
    ey = np.empty(rmax, dtype=np.float64)
    for b in range(b0, b1):
        t = style[b]
        _render_one(
            tpl_pts[t], tpl_wts[t], tpl_trig[t], scale, center, edge, params[b], acc, ex, ey, out[b]
        )


def render_digits(
    tpl_pts, tpl_wts, tpl_trig, style, params, scale, center, edge, bounds, acc_parts, out
):
    """Render a batch of digit images from template pen paths and per-image parameters.

    Parameters
    ----------
    tpl_pts : ndarray of shape (n_templates, n_points, 2), float64
        Pen path of each template, (x, y) in a [-1, 1] box, y pointing down.
    tpl_wts : ndarray of shape (n_templates, n_points), float64
        Stroke length (template units) each point stands for.
    tpl_trig : ndarray of shape (n_templates, n_points, 2), float64
        cos and sin of 2 pi s, where s in [0, 1] is the point's position along the whole
        pen path (the wobble is a sum of cos(m 2 pi s + phase), m = 1, 2, 3).
    style : ndarray of shape (n_images,), int64
        Template of each image.
    params : ndarray of shape (n_images, N_PARAMS), float64
        Per-image jitter, laid out as the ``P_*`` offsets above.
    scale, center : float
        Template unit and box centre in pixels (pixel centres at integer coordinates).
    edge : float
        Subtracted from the scaled ink density before clipping to [0, 1]: cuts the faint
        Gaussian tails so strokes get MNIST-like sharp, anti-aliased edges.
    bounds : ndarray of shape (n_parts + 1,), int64
        Image ranges, one per part (``fastlin._threads.row_ranges``).
    acc_parts : ndarray of shape (n_parts, height, width), float64
        Scratch, one image per part.
    out : ndarray of shape (n_images, height, width), uint8
        Written in full; the outer ring of pixels is zero.
    """

    # Parts run on Python threads (the kernel releases the GIL) rather than in a prange:
    # a parallel kernel costs seconds more to compile, on the first run of the demo.
    def part(p):
        render_range(
            tpl_pts,
            tpl_wts,
            tpl_trig,
            style,
            params,
            scale,
            center,
            edge,
            bounds[p],
            bounds[p + 1],
            acc_parts[p],
            out,
        )

    run_parts(part, bounds.shape[0] - 1)
