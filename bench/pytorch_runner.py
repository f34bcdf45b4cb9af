#!/usr/bin/python3
"""pytorch_runner: the `lstmkit bench` contract on torch.nn.LSTM.

The same flags and the same JSON line as `lstmkit bench` (impl "pytorch"),
for tools/compare. Run it with Debian's /usr/bin/python3 (python3-torch).

  step   T calls of seq_len 1, carrying (h, c), under torch.no_grad()
         (not with --bidirectional: a stream runs forward only)
  infer  one forward over [T][B][I] under torch.no_grad()
  train  forward, out.sum().backward(), torch.optim.SGD step (lr 0.01)

--bidirectional and --proj P build nn.LSTM(bidirectional=True,
proj_size=P).

Threads: --threads N calls torch.set_num_threads(N) unless --torch-threads
says otherwise; OpenBLAS, which torch's matrix products run on here, takes
its own thread count from OPENBLAS_NUM_THREADS when torch is imported. The
two oversubscribe each other, so tools/compare tries both ways round.

checksum: BLAKE2b with an 8-byte digest over the float32 bytes of the
outputs (step, infer) or of every parameter (train). lstmkit uses FNV-1a,
which is too slow in pure Python; checksums are only ever compared between
runs of the same implementation.
"""
import argparse
import hashlib
import json
import math
import os
import statistics
import sys
import time

NAME = "pytorch_runner"
WARMUP_REPETITIONS = 1
LEARNING_RATE = 0.01


class OneLineErrorParser(argparse.ArgumentParser):
    """Bad flags give one line on stderr and exit status 2."""

    def error(self, message):
        sys.stderr.write(f"{NAME}: error: {message}\n")
        sys.exit(2)


def parse_args(argv):
    parser = OneLineErrorParser(
        prog=NAME,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    required = [("--batch", "B, sequences per batch"),
                ("--seq", "T, time steps"),
                ("--input", "I, features per step"),
                ("--hidden", "H, units per layer"),
                ("--layers", "L, stacked layers"),
                ("--threads", "threads to use, 0 = all cores")]
    parser.add_argument("--mode", required=True,
                        choices=["step", "infer", "train"])
    for flag, text in required:
        parser.add_argument(flag, type=int, required=True, help=text)
    parser.add_argument("--bidirectional", action="store_true",
                        help="each layer also runs backwards (outputs "
                        "concatenated); not with --mode step")
    parser.add_argument("--proj", type=int, default=0,
                        help="P: project h to P < H values; 0 = none")
    parser.add_argument("--repeat", type=int, default=10,
                        help="timed repetitions (default 10)")
    parser.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch.set_num_threads value, if not --threads")
    args = parser.parse_args(argv)
    validate(parser, args)
    return args


def validate(parser, args):
    least = {"batch": 1, "seq": 1, "input": 1, "hidden": 1, "layers": 1,
             "threads": 0, "repeat": 1, "proj": 0}
    for name, minimum in least.items():
        value = getattr(args, name)
        if value < minimum:
            parser.error(f"--{name} must be at least {minimum}, got {value}")
    if args.mode == "step" and args.batch != 1:
        parser.error("--mode step needs --batch 1 (a stream carries one "
                     f"sequence), got --batch {args.batch}")
    if args.mode == "step" and args.bidirectional:
        parser.error("--mode step cannot run --bidirectional: a stream "
                     "steps forward one time step at a time, and the "
                     "reverse direction needs the whole sequence first "
                     "(use --mode infer)")
    if args.proj >= args.hidden:
        parser.error(f"--proj must be less than --hidden = {args.hidden} "
                     f"(0 = no projection), got {args.proj}")
    if args.dtype != "f32":
        parser.error(f"--dtype {args.dtype}: this runner measures f32 only")
    if args.torch_threads is not None and args.torch_threads < 1:
        parser.error("--torch-threads must be at least 1")


def sample_flops(args):
    """The same count as lstmkit's: matrix products only, 2 FLOPs a FMA."""
    directions = 2 if args.bidirectional else 1
    state = args.proj or args.hidden
    projection = 2.0 * args.batch * state * args.hidden if args.proj else 0.0
    step = 0.0
    for layer in range(args.layers):
        width = args.input if layer == 0 else directions * state
        step += directions * (2.0 * args.batch * 4.0 * args.hidden *
                              (width + state) + projection)
    if args.mode == "step":
        return step
    if args.mode == "infer":
        return step * args.seq
    return 3.0 * step * args.seq


def checksum(tensors):
    digest = hashlib.blake2b(digest_size=8)
    for tensor in tensors:
        digest.update(tensor.detach().contiguous().float().numpy().tobytes())
    return digest.hexdigest()


def milliseconds_since(start_ns):
    return (time.perf_counter_ns() - start_ns) / 1e6


def run_step(torch, lstm, x):
    outputs = []
    samples = []
    with torch.no_grad():
        for rep in range(WARMUP_REPETITIONS + ARGS.repeat):
            state = None
            outputs = []
            for t in range(ARGS.seq):
                start = time.perf_counter_ns()
                y, state = lstm(x[t:t + 1], state)
                if rep >= WARMUP_REPETITIONS:
                    samples.append(milliseconds_since(start))
                outputs.append(y)
    return samples, checksum(outputs)


def run_infer(torch, lstm, x):
    samples = []
    with torch.no_grad():
        for rep in range(WARMUP_REPETITIONS + ARGS.repeat):
            start = time.perf_counter_ns()
            y, _ = lstm(x)
            if rep >= WARMUP_REPETITIONS:
                samples.append(milliseconds_since(start))
    return samples, checksum([y])


def run_train(torch, lstm, x):
    optimizer = torch.optim.SGD(lstm.parameters(), lr=LEARNING_RATE)
    samples = []
    for rep in range(WARMUP_REPETITIONS + ARGS.repeat):
        start = time.perf_counter_ns()
        optimizer.zero_grad(set_to_none=True)
        y, _ = lstm(x)
        y.sum().backward()
        optimizer.step()
        if rep >= WARMUP_REPETITIONS:
            samples.append(milliseconds_since(start))
    return samples, checksum(list(lstm.parameters()))


def summarize(samples):
    """Median, min, max and nearest-rank p99, as tools/lstmkit defines them."""
    ordered = sorted(samples)
    rank = max(math.ceil(0.99 * len(ordered)), 1)
    return (statistics.median(ordered), ordered[0], ordered[-1],
            ordered[rank - 1])


def report(torch, samples, digest):
    median, low, high, p99 = summarize(samples)
    line = {
        "impl": "pytorch",
        "mode": ARGS.mode,
        "median_ms": round(median, 6),
        "min_ms": round(low, 6),
        "max_ms": round(high, 6),
        "gflops": round(sample_flops(ARGS) / (median * 1e6), 3),
        "checksum": digest,
    }
    if ARGS.mode == "step":
        line["p50_us"] = round(median * 1e3, 3)
        line["p99_us"] = round(p99 * 1e3, 3)
    line.update({"batch": ARGS.batch, "seq": ARGS.seq, "input": ARGS.input,
                 "hidden": ARGS.hidden, "layers": ARGS.layers,
                 "bidirectional": ARGS.bidirectional, "proj": ARGS.proj,
                 "threads": ARGS.threads, "repeat": ARGS.repeat,
                 "dtype": ARGS.dtype, "seed": ARGS.seed,
                 "torch_threads": torch.get_num_threads(),
                 "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS",
                                                    "default"),
                 "version": torch.__version__})
    return json.dumps(line)


def set_threads(torch):
    threads = ARGS.torch_threads or ARGS.threads
    if threads == 0:
        threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)


def main(argv):
    global ARGS
    ARGS = parse_args(argv)
    try:
        import torch
    except ImportError as error:
        sys.stderr.write(f"{NAME}: error: cannot import torch ({error}); "
                         "install python3-torch\n")
        return 1
    set_threads(torch)
    torch.manual_seed(ARGS.seed)
    lstm = torch.nn.LSTM(ARGS.input, ARGS.hidden, ARGS.layers,
                         bidirectional=ARGS.bidirectional,
                         proj_size=ARGS.proj)
    generator = torch.Generator().manual_seed(ARGS.seed ^ 0x5eed1e55)
    x = torch.rand(ARGS.seq, ARGS.batch, ARGS.input,
                   generator=generator) * 2 - 1
    run = {"step": run_step, "infer": run_infer, "train": run_train}
    samples, digest = run[ARGS.mode](torch, lstm, x)
    print(report(torch, samples, digest), flush=True)
    return 0


ARGS = None

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
