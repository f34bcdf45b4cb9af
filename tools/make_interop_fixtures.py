#!/usr/bin/python3
"""Writes the PyTorch interop fixtures in tests/data/.

Run from anywhere, with Debian's python3-torch (PyTorch 1.13):

    /usr/bin/python3 tools/make_interop_fixtures.py

tests/pytorch_interop_test.cc reads these files without Python, so they are
committed; rerun this script only to change them. The output is
deterministic (seeded, float32, one thread).

A module holding its nn.LSTM as `model.lstm` and its head as `model.fc`
(input_size 3, hidden_size 5, 2 layers, a Linear head of 2 outputs) is
saved with torch.save, then exported with tools/export_pytorch.py three
ways:

  interop_pytorch.safetensors        F32, --last-step
  interop_pytorch_bf16.safetensors   BF16 (PyTorch's rounding), --last-step
  interop_pytorch_plain.safetensors  F32, --plain: no lstmkit metadata, so
                                     lstmkit infers the config (head on
                                     every step)

A few weights are set to values exactly halfway between two bfloat16s, so
that the BF16 file shows how ties round (to even). interop_pytorch.json
holds the input and PyTorch's outputs:

  seq_len, batch, x [T][B][I]
  last      {y [B][O], h_n [L][B][H], c_n}: the F32 model, last step
  last_bf16 the same with the weights rounded to bfloat16 by PyTorch
  every     {y [T][B][O], h_n, c_n}: the F32 model, every step

Then every nn.LSTM option at once: a whole module (an nn.ModuleDict with
`lstm` = nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=3,
batch_first=True, dropout=0.25) and `fc` = nn.Linear(6, 2)) saved with
torch.save, so that the exporter reads batch_first and dropout from the
nn.LSTM itself:

  interop_pytorch_bidir_proj.safetensors        F32, every step
  interop_pytorch_bidir_proj_plain.safetensors  its state_dict, --plain:
                                                bidirectional and proj_size
                                                inferred from the tensors
  interop_pytorch_bidir_proj.json               seq_len, batch,
      x [B][T][I] (batch-first), y [B][T][O], h_n [L*2][B][3],
      c_n [L*2][B][5]: PyTorch's eval-mode outputs (no dropout)
"""

import json
import os
import sys
import tempfile

import torch

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import export_pytorch  # noqa: E402

OUT_DIR = os.path.join(TOOLS, "..", "tests", "data")
INPUT_SIZE, HIDDEN_SIZE, NUM_LAYERS, OUTPUT_SIZE = 3, 5, 2, 2
SEQ_LEN, BATCH = 6, 3
PROJ_SIZE, DROPOUT = 3, 0.25
# float32 bit patterns halfway between two bfloat16s: 0x3F808000 rounds
# down to 0x3F80 (even), 0x3F818000 up to 0x3F82, and the negatives alike.
TIES = [0x3F808000, 0x3F818000, -0x40FE8000, -0x40FF8000]


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(INPUT_SIZE, HIDDEN_SIZE, NUM_LAYERS)
        self.fc = torch.nn.Linear(HIDDEN_SIZE, OUTPUT_SIZE)


class Wrapper(torch.nn.Module):
    """What a training script often saves: the net inside another module."""

    def __init__(self):
        super().__init__()
        self.model = Model()


def flat(t):
    return t.detach().to(torch.float32).reshape(-1).tolist()


def outputs(model, x, last):
    with torch.no_grad():
        seq, (h_n, c_n) = model.lstm(x)
        y = model.fc(seq[-1] if last else seq)
    return {"y": flat(y), "h_n": flat(h_n), "c_n": flat(c_n)}


def main():
    torch.set_num_threads(1)
    torch.manual_seed(7)
    wrapper = Wrapper()
    with torch.no_grad():
        ties = torch.tensor(TIES, dtype=torch.int32).view(torch.float32)
        wrapper.model.lstm.weight_ih_l0.view(-1)[:len(TIES)] = ties
    x = torch.randn(SEQ_LEN, BATCH, INPUT_SIZE)

    rounded = Wrapper()
    with torch.no_grad():
        for name, p in rounded.named_parameters():
            p.copy_(dict(wrapper.named_parameters())[name]
                    .to(torch.bfloat16).to(torch.float32))

    expected = {
        "seq_len": SEQ_LEN, "batch": BATCH, "x": flat(x),
        "last": outputs(wrapper.model, x, last=True),
        "last_bf16": outputs(rounded.model, x, last=True),
        "every": outputs(wrapper.model, x, last=False),
    }
    prefixes = ["--lstm-prefix", "model.lstm.", "--head-prefix", "model.fc."]
    with tempfile.TemporaryDirectory() as directory:
        saved = os.path.join(directory, "wrapper.pt")
        torch.save(wrapper.state_dict(), saved)
        for name, flags in (
                ("interop_pytorch", ["--last-step"]),
                ("interop_pytorch_bf16", ["--last-step", "--dtype", "bf16"]),
                ("interop_pytorch_plain", ["--plain"])):
            path = os.path.join(OUT_DIR, name + ".safetensors")
            export_pytorch.main([saved, path] + prefixes + flags)
    write_json("interop_pytorch.json", expected)
    write_options_fixtures()
    return 0


def write_json(name, value):
    path = os.path.join(OUT_DIR, name)
    with open(path, "w") as f:
        json.dump(value, f, separators=(",", ":"))
        f.write("\n")
    print("%s: %d bytes" % (os.path.relpath(path), os.path.getsize(path)))


def write_options_fixtures():
    """The bidirectional, projected, batch-first module with dropout."""
    torch.manual_seed(11)
    module = torch.nn.ModuleDict({
        "lstm": torch.nn.LSTM(INPUT_SIZE, HIDDEN_SIZE, NUM_LAYERS,
                              bidirectional=True, proj_size=PROJ_SIZE,
                              batch_first=True, dropout=DROPOUT),
        "fc": torch.nn.Linear(2 * PROJ_SIZE, OUTPUT_SIZE),
    })
    module.eval()  # dropout acts in training only, in lstmkit too
    x = torch.randn(BATCH, SEQ_LEN, INPUT_SIZE)
    with torch.no_grad():
        seq, (h_n, c_n) = module["lstm"](x)
        y = module["fc"](seq)
    expected = {"seq_len": SEQ_LEN, "batch": BATCH, "x": flat(x),
                "y": flat(y), "h_n": flat(h_n), "c_n": flat(c_n)}
    with tempfile.TemporaryDirectory() as directory:
        whole = os.path.join(directory, "module.pt")
        torch.save(module, whole)
        export_pytorch.main(
            [whole, os.path.join(OUT_DIR,
                                 "interop_pytorch_bidir_proj.safetensors")])
        state_dict = os.path.join(directory, "state_dict.pt")
        torch.save(module.state_dict(), state_dict)
        export_pytorch.main(
            [state_dict, os.path.join(
                OUT_DIR, "interop_pytorch_bidir_proj_plain.safetensors"),
             "--plain"])
    write_json("interop_pytorch_bidir_proj.json", expected)


if __name__ == "__main__":
    sys.exit(main())
