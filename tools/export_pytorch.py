#!/usr/bin/python3
"""Turns a PyTorch nn.LSTM (and an optional nn.Linear head) into an lstmkit
model file.

    /usr/bin/python3 tools/export_pytorch.py model.pt model.safetensors \\
        [--lstm-prefix lstm.] [--head-prefix fc.] [--softmax] [--last-step]

INPUT is what torch.save wrote: a state_dict, a dict holding one under
"state_dict", "model_state_dict" or "model", or a whole nn.Module. The
LSTM's tensors are found under --lstm-prefix, the head's weight and bias
under --head-prefix; both are found automatically when the state_dict holds
one LSTM and at most one nn.Linear of the LSTM's width (--no-head leaves a
head out). For example, for

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 64, num_layers=2)
            self.fc = nn.Linear(64, 1)

    torch.save(Net().state_dict(), "net.pt")

export_pytorch.py net.pt net.safetensors finds lstm. and fc.; the explicit
form is --lstm-prefix lstm. --head-prefix fc. (or model.lstm. and model.fc.
for a state_dict saved from a wrapper that keeps the net in `model`).

nn.LSTM must be unidirectional, without proj_size, batch_first either way
(lstmkit's inputs are time-major: transpose batch-first data when feeding
it). nn.LSTM(bias=False) is written with zero biases, which computes the
same. The gate order (i, f, g, o) and the tensor shapes are lstmkit's own,
so nothing is reordered. --softmax and --last-step record how the head is
used (lstmkit applies the softmax itself and can keep only the last step);
a state_dict made by tools/import_pytorch.py remembers both.

It needs PyTorch and nothing else (no numpy, no safetensors package): the
file is written by hand (tools/lstmkit_file.py), atomically.
"""

import argparse
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lstmkit_file  # noqa: E402

# Where tools/import_pytorch.py keeps a file's config and metadata on the
# state_dict it writes, so that exporting it again gives the same file.
METADATA_ATTRIBUTE = "lstmkit_metadata"
LAYER_TENSOR = re.compile(r"^(.*)weight_ih_l0$")


def tensor_bytes(tensor, dtype):
    """Little-endian bytes of a tensor as F32 or BF16 (PyTorch rounds to
    bfloat16 to nearest even, as lstmkit does)."""
    if sys.byteorder != "little":
        raise NotImplementedError("big-endian hosts are not supported")
    torch_dtype = torch.float32 if dtype == "F32" else torch.bfloat16
    flat = tensor.detach().to("cpu").to(torch_dtype).contiguous().reshape(-1)
    out = bytearray(flat.numel() * flat.element_size())
    if out:
        # Copying into a tensor that shares the bytearray's memory is fast;
        # bytes() of a storage goes element by element.
        torch.frombuffer(out, dtype=torch.uint8).copy_(flat.view(torch.uint8))
    return bytes(out)


def unwrap_state_dict(loaded):
    if isinstance(loaded, torch.nn.Module):
        return loaded.state_dict()
    if isinstance(loaded, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = loaded.get(key)
            if isinstance(inner, dict) and any(
                    isinstance(v, torch.Tensor) for v in inner.values()):
                return inner
            if isinstance(inner, torch.nn.Module):
                return inner.state_dict()
        return loaded
    raise SystemExit("export_pytorch: the input holds a %s, not a state_dict "
                     "or an nn.Module" % type(loaded).__name__)


def find_lstm_prefix(state_dict):
    prefixes = sorted(m.group(1) for m in map(LAYER_TENSOR.match, state_dict)
                      if m)
    if len(prefixes) != 1:
        raise SystemExit(
            "export_pytorch: %s; name the LSTM with --lstm-prefix"
            % ("no nn.LSTM tensors (weight_ih_l0) found" if not prefixes else
               "several LSTMs found (prefixes %s)" % ", ".join(
                   repr(p) for p in prefixes)))
    return prefixes[0]


def lstm_tensors(state_dict, prefix):
    """lstmkit's name -> tensor for the LSTM under prefix; the layer count
    and the sizes come from the names and shapes."""
    for name in state_dict:
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix):]
        if rest.endswith("_reverse"):
            raise SystemExit("export_pytorch: %s belongs to a bidirectional "
                             "LSTM, which lstmkit does not support" % name)
        if rest.startswith("weight_hr_l"):
            raise SystemExit("export_pytorch: %s: nn.LSTM with proj_size is "
                             "not supported" % name)
    w_ih0 = state_dict.get(prefix + "weight_ih_l0")
    if w_ih0 is None:
        raise SystemExit("export_pytorch: no tensor %sweight_ih_l0"
                         % prefix)
    hidden = state_dict[prefix + "weight_hh_l0"].shape[1]
    layers = 0
    while prefix + "weight_ih_l%d" % layers in state_dict:
        layers += 1
    tensors = {}
    for k in range(layers):
        for kind in ("weight_ih", "weight_hh"):
            tensors["%s_l%d" % (kind, k)] = state_dict[
                "%s%s_l%d" % (prefix, kind, k)]
        for kind in ("bias_ih", "bias_hh"):
            bias = state_dict.get("%s%s_l%d" % (prefix, kind, k))
            if bias is None:  # nn.LSTM(bias=False): zero biases are the same
                bias = torch.zeros(4 * hidden, dtype=w_ih0.dtype)
            tensors["%s_l%d" % (kind, k)] = bias
    return tensors, w_ih0.shape[1], hidden, layers


def find_head_prefix(state_dict, lstm_prefix, hidden):
    """The prefix of the one nn.Linear that reads the LSTM's output (a
    weight [O, hidden] with a bias [O], outside the LSTM), or None when there
    is none; several candidates need --head-prefix or --no-head."""
    candidates = []
    for name, weight in state_dict.items():
        if not name.endswith("weight") or name.startswith(lstm_prefix):
            continue
        prefix = name[:-len("weight")]
        bias = state_dict.get(prefix + "bias")
        if (prefix == "" or prefix.endswith(".")) and bias is not None and \
                weight.dim() == 2 and weight.shape[1] == hidden and \
                list(bias.shape) == [weight.shape[0]]:
            candidates.append(prefix)
    if len(candidates) > 1:
        raise SystemExit("export_pytorch: several layers could be the head "
                         "(%s); name it with --head-prefix, or pass "
                         "--no-head" % ", ".join(repr(c) for c in candidates))
    return candidates[0] if candidates else None


def export_state_dict(state_dict, path, lstm_prefix=None, head_prefix=None,
                      no_head=False, dtype="keep", softmax=None,
                      last_step=None, metadata=None, plain=False):
    """Writes state_dict's LSTM (and head) to path as an lstmkit file.

    head_prefix: None finds the one nn.Linear reading the LSTM's output, if
    any; no_head leaves any head out. dtype: "keep" (BF16 when every tensor is bfloat16,
    else F32), "f32" or
    "bf16". softmax / last_step: None takes them from a state_dict written by
    tools/import_pytorch.py, else False. metadata: extra string entries.
    plain: write no lstmkit metadata (lstmkit then infers the config, with an
    identity head on every step). Returns the config dict.
    """
    remembered = getattr(state_dict, METADATA_ATTRIBUTE, None) or {}
    if lstm_prefix is None:
        lstm_prefix = find_lstm_prefix(state_dict)
    tensors, input_size, hidden, layers = lstm_tensors(state_dict,
                                                       lstm_prefix)
    if no_head:
        head_prefix = None
    elif head_prefix is None:
        head_prefix = find_head_prefix(state_dict, lstm_prefix, hidden)
    output_size = 0
    if head_prefix is not None:
        try:
            tensors["head.weight"] = state_dict[head_prefix + "weight"]
            tensors["head.bias"] = state_dict[head_prefix + "bias"]
        except KeyError as e:
            raise SystemExit("export_pytorch: no head tensor %s (check "
                             "--head-prefix)" % e)
        output_size = tensors["head.weight"].shape[0]
    remembered_config = lstmkit_file.config_from_metadata(remembered) or {}
    if softmax is None:
        softmax = remembered_config.get("output_activation") == "softmax"
    if last_step is None:
        last_step = remembered_config.get("output_steps") == "last"
    config = {
        "input_size": input_size, "hidden_size": hidden,
        "num_layers": layers, "output_size": output_size,
        "output_activation": "softmax" if softmax else "identity",
        "output_steps": "last" if last_step else "every",
    }
    if softmax and output_size == 0:
        raise SystemExit("export_pytorch: --softmax needs a head")
    shapes = lstmkit_file.parameter_shapes(config)
    names = lstmkit_file.parameter_names(layers, output_size > 0)
    for name in names:
        if list(tensors[name].shape) != shapes[name]:
            raise SystemExit(
                "export_pytorch: %s has shape %s; input_size %d, hidden_size "
                "%d need %s" % (name, list(tensors[name].shape), input_size,
                                hidden, shapes[name]))
    if dtype == "keep":
        everything_bf16 = all(tensors[n].dtype == torch.bfloat16
                              for n in names)
        file_dtype = "BF16" if everything_bf16 else "F32"
    else:
        file_dtype = {"f32": "F32", "bf16": "BF16"}[dtype]
    entries = [(n, file_dtype, shapes[n], tensor_bytes(tensors[n], file_dtype))
               for n in names]
    extra = dict(lstmkit_file.extra_metadata(remembered))
    extra.update(metadata or {})
    if plain:
        blob = lstmkit_file.encode(entries, extra or None, checksum=False)
    else:
        blob = lstmkit_file.encode(
            entries, lstmkit_file.model_metadata(config, "model", extra))
    lstmkit_file.write_atomically(path, blob)
    return config


def parse_metadata(items):
    metadata = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit("export_pytorch: --metadata takes KEY=VALUE, "
                             "got %r" % item)
        metadata[key] = value
    return metadata


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Export a PyTorch nn.LSTM (+ nn.Linear head) to an "
        "lstmkit model file.")
    parser.add_argument("input", help="a .pt file written by torch.save")
    parser.add_argument("output", help="the lstmkit file to write")
    parser.add_argument("--lstm-prefix", help="prefix of the nn.LSTM's "
                        "tensors, e.g. 'lstm.' (default: found)")
    parser.add_argument("--head-prefix", help="prefix of the nn.Linear "
                        "head's weight and bias, e.g. 'fc.' (default: found)")
    parser.add_argument("--no-head", action="store_true",
                        help="export the LSTM only")
    parser.add_argument("--dtype", choices=("keep", "f32", "bf16"),
                        default="keep")
    parser.add_argument("--softmax", action="store_true", default=None,
                        help="the head ends in a softmax")
    parser.add_argument("--last-step", action="store_true", default=None,
                        help="the head reads the last step only")
    parser.add_argument("--plain", action="store_true",
                        help="no lstmkit metadata: a plain safetensors file")
    parser.add_argument("--metadata", action="append", default=[],
                        metavar="KEY=VALUE", help="an extra metadata entry")
    args = parser.parse_args(argv)
    if args.no_head and args.head_prefix is not None:
        raise SystemExit("export_pytorch: --no-head and --head-prefix "
                         "contradict each other")
    state_dict = unwrap_state_dict(torch.load(args.input, map_location="cpu"))
    config = export_state_dict(
        state_dict, args.output, lstm_prefix=args.lstm_prefix,
        head_prefix=args.head_prefix, no_head=args.no_head, dtype=args.dtype,
        softmax=args.softmax, last_step=args.last_step,
        metadata=parse_metadata(args.metadata), plain=args.plain)
    print("%s: %s" % (args.output, ", ".join(
        "%s %s" % (k, v) for k, v in config.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
