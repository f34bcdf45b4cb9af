#!/usr/bin/env python3
"""Draws the CSV files that `lstmkit train` and `lstmkit eval` write as PNG.

    plot.py loss     MODEL_loss.csv     OUT.png [--title TEXT]
    plot.py forecast MODEL_forecast.csv OUT.png [--title TEXT]

`loss` draws the training and validation loss per epoch (columns epoch,
train_loss, validation_loss). `forecast` draws the series (time, truth) and,
over the rows that have them, the forecast and the seasonal-naive baseline.

Needs Debian's python3-matplotlib; without it the script says so and exits
with status 3, which `lstmkit` reports as "no plot". Bad input exits 2.
"""
import argparse
import csv
import sys


def fail(message, status=2):
    print("plot.py: error: " + message, file=sys.stderr)
    sys.exit(status)


def read_rows(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        fail("%s: %s" % (path, e.strerror))
    if not rows:
        fail("%s: no rows" % path)
    return rows


def number(text):
    return float(text) if text not in ("", None) else None


def column(rows, name, path):
    if name not in rows[0]:
        fail("%s: no column '%s'" % (path, name))
    return [number(r[name]) for r in rows]


def plot_loss(plt, rows, path, ax):
    epochs = column(rows, "epoch", path)
    ax.plot(epochs, column(rows, "train_loss", path), label="training")
    validation = column(rows, "validation_loss", path)
    if any(v is not None for v in validation):
        ax.plot(epochs, validation, label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()


def plot_forecast(plt, rows, path, ax):
    times = [r.get("time", "") for r in rows]
    index = list(range(len(rows)))
    ax.plot(index, column(rows, "truth", path), color="black", label="truth")
    forecast = column(rows, "forecast", path)
    baseline = column(rows, "seasonal_naive", path)
    held = [i for i in index if forecast[i] is not None]
    if held:
        ax.plot(held, [baseline[i] for i in held], color="tab:orange",
                linestyle="--", label="seasonal naive")
        ax.plot(held, [forecast[i] for i in held], color="tab:blue",
                marker=".", label="LSTM forecast")
        ax.axvspan(held[0] - 0.5, held[-1] + 0.5, color="tab:blue", alpha=0.06)
    step = max(1, len(index) // 12)
    ax.set_xticks(index[::step])
    ax.set_xticklabels(times[::step], rotation=45, ha="right")
    ax.grid(True, alpha=0.3)
    ax.legend()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["loss", "forecast"])
    parser.add_argument("csv")
    parser.add_argument("png")
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        fail("matplotlib is not installed (apt-get install python3-matplotlib)",
             status=3)
    rows = read_rows(args.csv)
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
    try:
        if args.kind == "loss":
            plot_loss(plt, rows, args.csv, ax)
        else:
            plot_forecast(plt, rows, args.csv, ax)
    except ValueError as e:
        fail("%s: %s" % (args.csv, e))
    if args.title:
        ax.set_title(args.title)
    fig.tight_layout()
    fig.savefig(args.png)


if __name__ == "__main__":
    main()
