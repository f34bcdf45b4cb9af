#!/usr/bin/env python3
"""Writes the demo classification data set: noisy waveforms to tell apart.

Each row is a label (sine, square, triangle or sawtooth) and 40 samples of
that wave, with a random period (6 to 16 samples), phase, amplitude (0.5 to
2), offset (-1 to 1) and Gaussian noise whose standard deviation is 0.1 of
the amplitude, so that some rows are genuinely ambiguous. The generator is
seeded: running this script again writes the same bytes.

    /usr/bin/python3 data/make_waveforms.py   # writes waveforms_{train,test}.csv
"""
import math
import os
import random

LENGTH = 40
SHAPES = ("sine", "square", "triangle", "sawtooth")


def wave(shape, phase):
    """One period of each shape, for a phase in [0, 1)."""
    if shape == "sine":
        return math.sin(2 * math.pi * phase)
    if shape == "square":
        return 1.0 if phase < 0.5 else -1.0
    if shape == "triangle":
        return 4 * phase - 1 if phase < 0.5 else 3 - 4 * phase
    return 2 * phase - 1  # sawtooth


def row(rng, shape):
    period = rng.uniform(6, 16)
    start = rng.random()
    amplitude = rng.uniform(0.5, 2.0)
    offset = rng.uniform(-1, 1)
    values = []
    for t in range(LENGTH):
        phase = (start + t / period) % 1.0
        noise = rng.gauss(0, 0.1 * amplitude)
        values.append(offset + amplitude * wave(shape, phase) + noise)
    return [shape] + ["%.4f" % v for v in values]


def write(path, rows_per_shape, seed):
    rng = random.Random(seed)
    rows = [row(rng, shape) for shape in SHAPES for _ in range(rows_per_shape)]
    rng.shuffle(rows)
    with open(path, "w", newline="\n") as out:
        out.write(",".join(["label"] + ["x%d" % (t + 1) for t in range(LENGTH)]))
        out.write("\n")
        for r in rows:
            out.write(",".join(r) + "\n")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    write(os.path.join(here, "waveforms_train.csv"), 250, seed=1)
    write(os.path.join(here, "waveforms_test.csv"), 100, seed=2)
