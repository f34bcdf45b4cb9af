#!/usr/bin/python3
"""Writes the PyTorch parity fixtures in tests/data/.

Run from anywhere, with Debian's python3-torch (PyTorch 1.13) and nothing else:

    /usr/bin/python3 tools/make_fixtures.py

tests/pytorch_parity_test.cc reads these files without Python, so they are
committed; rerun this script only to change or add a fixture. The output is
deterministic: every case seeds torch itself, runs in float32 on one thread,
and the JSON keeps a fixed key order.

It writes two kinds of file:

  parity_*.json  One forward and backward pass of a torch.nn.LSTM
                 (time-major, batch_first=False) with an optional nn.Linear
                 head, on every step or on output[-1] only, followed by
                 torch.nn.MSELoss() or torch.nn.CrossEntropyLoss(ignore_index)
                 on the head's logits. Keys:
                   config     input_size, hidden_size, num_layers,
                              output_size (0 = no head), output_activation
                              ("identity" | "softmax"), output_steps
                              ("every" | "last"), loss ("mse" |
                              "cross_entropy"), ignore_index, seq_len, batch
                   parameters {PyTorch name: flat values}, in model order,
                              the head last as head.weight and head.bias
                   x          [T][B][I]
                   h0, c0     [L][B][H], or null when the LSTM started from
                              zeros (torch's default)
                   targets    [rows][O] for "mse", or null
                   labels     [rows] for "cross_entropy", or null; rows are
                              [T][B] on every step and [B] on the last step
                   y          the output after the activation (softmax
                              probabilities with a softmax head, the top
                              layer's h without a head)
                   h_n, c_n   [L][B][H]
                   loss       the loss value
                   gradients  {PyTorch name: flat values}
                   dx, dh0, dc0  gradients of the input and initial states;
                              with h0/c0 null they are taken at zero states

  optimizer.json  Three steps each of torch.optim.SGD(lr, momentum=0.9,
                 weight_decay=0.01) and torch.optim.Adam(lr,
                 weight_decay=0.01) from the same model, batch and MSE loss,
                 with torch.nn.utils.clip_grad_norm_(max_norm) before every
                 step. max_norm is chosen so that clipping happens on some
                 steps (the script checks it). Keys: config, parameters (the start), x,
                 targets, max_norm, and per optimizer its settings plus
                 "steps": [{"grad_norm": norm before clipping, "clipped":
                 bool, "loss": loss, "parameters": {name: values after the
                 step}}].

Every tensor is float32, flattened in row-major order. Floats are written as
the shortest decimal that reads back as the same double, and each double is
exactly a float32, so parsing into a double and casting to float recovers the
float32 bit for bit.
"""

import json
import os
import sys

import torch

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "tests", "data")


def flat(t):
    return t.detach().to(torch.float32).reshape(-1).tolist()


class Net(torch.nn.Module):
    """nn.LSTM plus an optional head; the names match lstmkit's."""

    def __init__(self, input_size, hidden_size, num_layers, output_size,
                 bidirectional=False, proj_size=0, batch_first=False):
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size, hidden_size, num_layers,
                                  bidirectional=bidirectional,
                                  proj_size=proj_size,
                                  batch_first=batch_first)
        self.batch_first = batch_first
        width = (2 if bidirectional else 1) * (proj_size or hidden_size)
        self.head = (torch.nn.Linear(width, output_size)
                     if output_size > 0 else None)

    def named(self):
        """Parameters under lstmkit's names, in lstmkit's order."""
        out = [(name, p) for name, p in self.lstm.named_parameters()]
        if self.head is not None:
            out += [("head.weight", self.head.weight),
                    ("head.bias", self.head.bias)]
        return out

    def forward(self, x, state, last_only, lengths=None):
        time_dim = 1 if self.batch_first else 0
        steps, batch = x.shape[time_dim], x.shape[1 - time_dim]
        if lengths is None:
            seq, (h_n, c_n) = self.lstm(x, state)
            lengths = [steps] * batch
        else:
            # A packed batch: each sequence stops at its own length, h_n holds
            # each one's final state, and padding comes back zero.
            packed = torch.nn.utils.rnn.pack_padded_sequence(
                x, torch.tensor(lengths), batch_first=self.batch_first,
                enforce_sorted=False)
            seq, (h_n, c_n) = self.lstm(packed, state)
            seq, _ = torch.nn.utils.rnn.pad_packed_sequence(
                seq, batch_first=self.batch_first, total_length=steps)
        if last_only:
            # Each sequence's output at its own last step.
            rows = [seq[b, lengths[b] - 1] if self.batch_first else
                    seq[lengths[b] - 1, b] for b in range(batch)]
            top = torch.stack(rows)
        else:
            top = seq
        logits = self.head(top) if self.head is not None else top
        return logits, h_n, c_n


def parity_case(name, seed, input_size, hidden_size, num_layers, output_size,
                activation, steps, seq_len, batch, with_state,
                ignore_index=-100, ignored_rows=(), lengths=None,
                bidirectional=False, proj_size=0, batch_first=False):
    assert activation in ("identity", "softmax")
    assert steps in ("every", "last")
    assert activation == "identity" or output_size > 0
    loss_kind = "cross_entropy" if activation == "softmax" else "mse"
    torch.manual_seed(seed)
    net = Net(input_size, hidden_size, num_layers, output_size,
              bidirectional, proj_size, batch_first)
    dirs = 2 if bidirectional else 1
    state = proj_size or hidden_size
    width = output_size if output_size > 0 else dirs * state
    rows = seq_len * batch if steps == "every" else batch

    x_shape = ((batch, seq_len, input_size) if batch_first else
               (seq_len, batch, input_size))
    x = torch.randn(*x_shape, requires_grad=True)
    h_shape = (num_layers * dirs, batch, state)
    c_shape = (num_layers * dirs, batch, hidden_size)
    if with_state:
        h0 = (0.5 * torch.randn(h_shape)).requires_grad_()
        c0 = (0.5 * torch.randn(c_shape)).requires_grad_()
    else:
        # torch's default when no state is passed; the gradients at zero
        # states are still defined and lstmkit reports them.
        h0 = torch.zeros(h_shape, requires_grad=True)
        c0 = torch.zeros(c_shape, requires_grad=True)

    # Rows past a sequence's end (row = t * B + b) count in no loss, and
    # lstmkit reports their outputs as zero.
    valid = torch.ones(rows, dtype=torch.bool)
    if lengths is not None and steps == "every":
        for t in range(seq_len):
            for b in range(batch):
                row = b * seq_len + t if batch_first else t * batch + b
                valid[row] = t < lengths[b]

    targets = labels = None
    if loss_kind == "mse":
        targets = torch.randn(rows, width)
    else:
        labels = torch.randint(0, width, (rows,))
        for r in ignored_rows:
            labels[r] = ignore_index
        labels[~valid] = ignore_index
        assert (labels != ignore_index).any()

    logits, h_n, c_n = net(x, (h0, c0), steps == "last", lengths)
    logits = logits.reshape(rows, width)
    if loss_kind == "mse":
        mask = valid.to(torch.float32).unsqueeze(1)
        loss = (((logits - targets) ** 2) * mask).sum() / (mask.sum() * width)
    else:
        loss = torch.nn.CrossEntropyLoss(ignore_index=ignore_index)(
            logits, labels)
    y = torch.softmax(logits, dim=-1) if activation == "softmax" else logits
    y = y * valid.to(torch.float32).unsqueeze(1)
    loss.backward()

    return name, {
        "config": {
            "input_size": input_size,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "output_size": output_size,
            "output_activation": activation,
            "output_steps": steps,
            "loss": loss_kind,
            "ignore_index": ignore_index,
            "seq_len": seq_len,
            "batch": batch,
            "seq_lens": list(lengths) if lengths is not None else None,
            "bidirectional": bidirectional,
            "proj_size": proj_size,
            "batch_first": batch_first,
        },
        "parameters": {n: flat(p) for n, p in net.named()},
        "x": flat(x),
        "h0": flat(h0) if with_state else None,
        "c0": flat(c0) if with_state else None,
        "targets": flat(targets) if targets is not None else None,
        "labels": labels.tolist() if labels is not None else None,
        "y": flat(y),
        "h_n": flat(h_n),
        "c_n": flat(c_n),
        "loss": loss.item(),
        "gradients": {n: flat(p.grad) for n, p in net.named()},
        "dx": flat(x.grad),
        "dh0": flat(h0.grad),
        "dc0": flat(c0.grad),
    }


def optimizer_case():
    input_size, hidden_size, num_layers, output_size = 3, 5, 2, 2
    seq_len, batch = 4, 3
    # Clips the first steps and not the later ones, so that both branches of
    # the clipping are compared; the margin keeps the decision unambiguous
    # between float implementations.
    max_norm = 0.195
    torch.manual_seed(2024)
    start = Net(input_size, hidden_size, num_layers, output_size)
    x = torch.randn(seq_len, batch, input_size)
    targets = torch.randn(seq_len * batch, output_size)
    initial = {n: p.detach().clone() for n, p in start.named()}

    def run(make_optimizer):
        net = Net(input_size, hidden_size, num_layers, output_size)
        with torch.no_grad():
            for n, p in net.named():
                p.copy_(initial[n])
        params = [p for _, p in net.named()]
        opt = make_optimizer(params)
        steps = []
        for _ in range(3):
            opt.zero_grad()
            logits, _, _ = net(x, None, False)
            loss = torch.nn.MSELoss()(logits.reshape(-1, output_size), targets)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(params, max_norm).item()
            opt.step()
            steps.append({
                "loss": loss.item(),
                "grad_norm": norm,
                "clipped": norm > max_norm,
                "parameters": {n: flat(p) for n, p in net.named()},
            })
        assert any(s["clipped"] for s in steps), "max_norm never clipped"
        assert all(abs(s["grad_norm"] - max_norm) > 1e-3 * max_norm
                   for s in steps), "a gradient norm is too close to max_norm"
        return steps

    sgd = {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}
    adam = {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8,
            "weight_decay": 0.01}
    sgd_steps = run(lambda ps: torch.optim.SGD(
        ps, lr=sgd["lr"], momentum=sgd["momentum"],
        weight_decay=sgd["weight_decay"]))
    adam_steps = run(lambda ps: torch.optim.Adam(
        ps, lr=adam["lr"], betas=tuple(adam["betas"]), eps=adam["eps"],
        weight_decay=adam["weight_decay"]))
    return "optimizer", {
        "config": {
            "input_size": input_size,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "output_size": output_size,
            "output_activation": "identity",
            "output_steps": "every",
            "loss": "mse",
            "seq_len": seq_len,
            "batch": batch,
        },
        "parameters": {n: flat(p) for n, p in initial.items()},
        "x": flat(x),
        "targets": flat(targets),
        "max_norm": max_norm,
        "sgd": dict(sgd, steps=sgd_steps),
        "adam": dict(adam, steps=adam_steps),
    }


def main():
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    # (name, seed, I, H, L, O, activation, steps, T, B, with_state, ...)
    cases = [
        parity_case("parity_l1_nohead_mse_every", 1, 3, 4, 1, 0, "identity",
                    "every", 5, 3, True),
        parity_case("parity_l2_identity_mse_every", 2, 5, 4, 2, 3, "identity",
                    "every", 6, 2, True),
        # A non-default ignore_index checks that the setting is honoured.
        parity_case("parity_l2_softmax_ce_every", 3, 4, 6, 2, 5, "softmax",
                    "every", 5, 3, False, ignore_index=-1,
                    ignored_rows=(1, 6, 7, 14)),
        parity_case("parity_l3_identity_mse_last", 4, 3, 5, 3, 2, "identity",
                    "last", 7, 4, False),
        parity_case("parity_l2_softmax_ce_last", 5, 7, 5, 2, 4, "softmax",
                    "last", 6, 5, True, ignored_rows=(3,)),
        parity_case("parity_l2_identity_mse_every_b1", 6, 4, 8, 2, 1,
                    "identity", "every", 7, 1, True),
        # Packed sequences of different lengths, unsorted.
        parity_case("parity_l2_identity_mse_every_packed", 7, 3, 5, 2, 2,
                    "identity", "every", 6, 4, True, lengths=(3, 6, 1, 4)),
        parity_case("parity_l2_softmax_ce_last_packed", 8, 4, 6, 2, 3,
                    "softmax", "last", 5, 5, False, lengths=(5, 2, 4, 1, 5)),
        # bidirectional, projection and batch_first, alone and together.
        parity_case("parity_l2_bidir_identity_mse_every", 9, 4, 5, 2, 2,
                    "identity", "every", 5, 3, True, bidirectional=True),
        parity_case("parity_l2_proj_mse_every", 10, 3, 6, 2, 0, "identity",
                    "every", 6, 2, True, proj_size=4),
        parity_case("parity_l2_bidir_proj_packed_softmax_last", 11, 4, 6, 2,
                    3, "softmax", "last", 6, 4, True, lengths=(6, 2, 5, 3),
                    bidirectional=True, proj_size=3),
        parity_case("parity_l2_bidir_proj_packed_batch_first", 12, 3, 5, 2,
                    2, "identity", "every", 5, 3, False, lengths=(3, 5, 1),
                    bidirectional=True, proj_size=2, batch_first=True),
        optimizer_case(),
    ]
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, data in cases:
        path = os.path.join(OUT_DIR, name + ".json")
        with open(path, "w") as f:
            json.dump(data, f, separators=(",", ":"))
            f.write("\n")
        print(f"{os.path.relpath(path)}: {os.path.getsize(path)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
