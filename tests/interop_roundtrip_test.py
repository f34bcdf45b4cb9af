#!/usr/bin/python3
"""The PyTorch round trip: lstmkit -> file -> PyTorch -> file -> lstmkit.

For each case, interop_roundtrip_helper (C++) trains a small model and saves
it; tools/import_pytorch.py turns the file into a state_dict, which is saved
with torch.save, loaded again, loaded into nn.LSTM + nn.Linear (strict) and
run on the helper's input, where it must give lstmkit's outputs (within
1e-5: both compute in float32, in different orders); tools/export_pytorch.py
then writes it back. The file that comes back must equal the original byte
for byte, and the helper checks that both load to the same parameters, bit
for bit. One case goes through the command lines, with key prefixes as a
module holding `model.lstm` and `model.fc` would have them, which the
exporter finds without being told. The bidirectional, projected,
batch-first model with dropout also goes back as a whole nn.Module saved
with torch.save, from whose nn.LSTM the exporter reads batch_first and
dropout.

    /usr/bin/python3 tests/interop_roundtrip_test.py PATH/TO/interop_roundtrip_helper

Exits 77 (ctest's "skipped") with a message when /usr/bin/python3 has no
torch.
"""

import json
import os
import subprocess
import sys
import tempfile

SKIPPED = 77
FORWARD_TOLERANCE = 1e-5

try:
    import torch
except ImportError:
    print("skipped: this python3 has no torch (Debian: apt-get install "
          "python3-torch)")
    sys.exit(SKIPPED)

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                     "tools")
sys.path.insert(0, TOOLS)
import export_pytorch  # noqa: E402
import import_pytorch  # noqa: E402
import lstmkit_file  # noqa: E402

CASES = ("f32", "bf16_softmax_last", "no_head", "bidirectional_projected",
         "projected_bf16_softmax_last")


class Net(torch.nn.Module):
    """nn.LSTM (+ nn.Linear) as import_pytorch.py says the file loads."""

    def __init__(self, config):
        super().__init__()
        self.lstm = import_pytorch.lstm_module(config)
        self.fc = import_pytorch.head_module(config)
        self.config = config

    def forward(self, x):
        seq, (h_n, c_n) = self.lstm(x)
        if self.config["output_steps"] == "last":
            seq = seq[:, -1] if self.config["batch_first"] else seq[-1]
        y = self.fc(seq) if self.fc is not None else seq
        if self.config["output_activation"] == "softmax":
            y = torch.softmax(y, dim=-1)
        return y, h_n, c_n


def check_forward(config, state_dict, expected):
    net = Net(config)
    net.load_state_dict(state_dict, strict=True)
    net.eval()  # dropout acts in training only
    outer = (expected["batch"], expected["seq_len"]) if config[
        "batch_first"] else (expected["seq_len"], expected["batch"])
    x = torch.tensor(expected["x"], dtype=torch.float32).reshape(
        *outer, config["input_size"])
    with torch.no_grad():
        y, h_n, c_n = net(x)
    worst = 0.0
    for name, got in (("y", y), ("h_n", h_n), ("c_n", c_n)):
        want = torch.tensor(expected[name], dtype=torch.float32)
        error = (got.reshape(-1) - want).abs().max().item()
        assert error <= FORWARD_TOLERANCE, (
            "%s differs from lstmkit by %g" % (name, error))
        worst = max(worst, error)
    return worst


def run(*command):
    result = subprocess.run(command, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise AssertionError("%s failed:\n%s" % (" ".join(command),
                                                 result.stdout))
    return result.stdout


def round_trip(helper, directory, case, through_command_line):
    original = os.path.join(directory, case + ".safetensors")
    pt = os.path.join(directory, case + ".pt")
    again = os.path.join(directory, case + ".again.safetensors")
    run(helper, "write", case, original)
    with open(original + ".json") as f:
        expected = json.load(f)
    if through_command_line:
        run(sys.executable, os.path.join(TOOLS, "import_pytorch.py"), original,
            pt, "--lstm-prefix", "model.lstm.", "--head-prefix", "model.fc.")
        loaded = torch.load(pt)
        strip = {k[len("model."):]: v for k, v in loaded.items()}
        config, _ = import_pytorch.import_file(original)
        worst = check_forward(config, strip, expected)
        # The exporter finds both prefixes itself.
        run(sys.executable, os.path.join(TOOLS, "export_pytorch.py"), pt,
            again)
    else:
        config, state_dict = import_pytorch.import_file(
            original, lstm_prefix="lstm.", head_prefix="fc.")
        torch.save(state_dict, pt)
        loaded = torch.load(pt)
        worst = check_forward(config, loaded, expected)
        has_head = config["output_size"] > 0
        export_pytorch.export_state_dict(
            loaded, again, lstm_prefix="lstm.",
            head_prefix="fc." if has_head else None, no_head=not has_head)
    with open(original, "rb") as f:
        original_bytes = f.read()
    with open(again, "rb") as f:
        again_bytes = f.read()
    assert original_bytes == again_bytes, (
        "%s: the file that came back from PyTorch differs (%d vs %d bytes)"
        % (case, len(original_bytes), len(again_bytes)))
    same = run(helper, "same", original, again).strip()
    if case == "bidirectional_projected" and not through_command_line:
        same += "; " + round_trip_module(helper, directory, case, original,
                                         expected)
    print("%s%s: PyTorch forward within %.1e of lstmkit; the file came back "
          "byte for byte (%d bytes); %s" % (
              case, " (command line)" if through_command_line else "", worst,
              len(original_bytes), same))


def round_trip_module(helper, directory, case, original, expected):
    """The file -> a whole nn.Module (torch.nn.ModuleDict of `lstm` and
    `fc`, classes torch can unpickle anywhere) -> torch.save ->
    export_pytorch.py: batch_first and dropout come from the module's
    nn.LSTM, bidirectional and proj_size from its tensors."""
    config, state_dict = import_pytorch.import_file(
        original, lstm_prefix="lstm.", head_prefix="fc.")
    module = torch.nn.ModuleDict({"lstm": import_pytorch.lstm_module(config),
                                  "fc": import_pytorch.head_module(config)})
    module.load_state_dict(state_dict, strict=True)
    assert module["lstm"].batch_first and module["lstm"].bidirectional
    pt = os.path.join(directory, case + ".module.pt")
    again = os.path.join(directory, case + ".module.safetensors")
    torch.save(module, pt)
    extra = []
    for key, value in sorted(lstmkit_file.extra_metadata(
            state_dict.lstmkit_metadata).items()):
        extra += ["--metadata", "%s=%s" % (key, value)]
    run(sys.executable, os.path.join(TOOLS, "export_pytorch.py"), pt, again,
        *extra)
    with open(original, "rb") as f, open(again, "rb") as g:
        assert f.read() == g.read(), (
            "%s: the file exported from the whole module differs" % case)
    run(helper, "same", original, again)
    return "exported again from the whole module, byte for byte"


def main():
    if len(sys.argv) != 2:
        print("usage: %s PATH/TO/interop_roundtrip_helper" % sys.argv[0])
        return 2
    helper = sys.argv[1]
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as directory:
        for case in CASES:
            round_trip(helper, directory, case, through_command_line=False)
        round_trip(helper, directory, "f32", through_command_line=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
