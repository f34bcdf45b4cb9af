#!/usr/bin/python3
"""Turns a PyTorch nn.LSTM (and an optional nn.Linear head) into an lstmkit
model file.

    /usr/bin/python3 tools/export_pytorch.py model.pt model.safetensors \\
        [--lstm-prefix lstm.] [--head-prefix fc.] [--softmax] [--last-step] \\
        [--batch-first] [--dropout P]

INPUT is what torch.save wrote: a state_dict, a dict holding one under
"state_dict", "model_state_dict" or "model", or a whole nn.Module. The
LSTM's tensors are found under --lstm-prefix, the head's weight and bias
under --head-prefix; both are found automatically when the state_dict holds
one LSTM and at most one nn.Linear of the LSTM's output width (--no-head
leaves a head out). For example, for

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 64, num_layers=2)
            self.fc = nn.Linear(64, 1)

    torch.save(Net().state_dict(), "net.pt")

export_pytorch.py net.pt net.safetensors finds lstm. and fc.; the explicit
form is --lstm-prefix lstm. --head-prefix fc. (or model.lstm. and model.fc.
for a state_dict saved from a wrapper that keeps the net in `model`).

Every nn.LSTM option carries over. bidirectional and proj_size are read
from the tensors (the reverse direction's names end in _reverse, a
projection adds weight_hr_l{k}). batch_first and dropout are not in a
state_dict: from a whole saved nn.Module they are read from its nn.LSTM,
otherwise --batch-first and --dropout give them (default: time-major, no
dropout; dropout acts in lstmkit's training only, as in PyTorch's).
nn.LSTM(bias=False) is written with zero biases, which computes the same.
The gate order (i, f, g, o) and the tensor shapes are lstmkit's own, so
nothing is reordered. --softmax and --last-step record how the head is used
(lstmkit applies the softmax itself and can keep only the last step); a
state_dict made by tools/import_pytorch.py remembers all of these.

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
# The parameter names of an nn.LSTM, after its prefix.
LSTM_PARAMETER = re.compile(
    r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(0|[1-9][0-9]*)"
    r"(_reverse)?$")


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


def unwrap(loaded):
    """The nn.Module or the state_dict in what torch.load returned."""
    if isinstance(loaded, torch.nn.Module):
        return loaded
    if isinstance(loaded, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = loaded.get(key)
            if isinstance(inner, dict) and any(
                    isinstance(v, torch.Tensor) for v in inner.values()):
                return inner
            if isinstance(inner, torch.nn.Module):
                return inner
        return loaded
    raise SystemExit("export_pytorch: the input holds a %s, not a state_dict "
                     "or an nn.Module" % type(loaded).__name__)


def unwrap_state_dict(loaded):
    """The state_dict in what torch.load returned."""
    inner = unwrap(loaded)
    return inner.state_dict() if isinstance(inner, torch.nn.Module) else inner


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
    """(lstmkit's name -> tensor, config) for the LSTM under prefix: the
    layer count, bidirectional and the projection come from the names, the
    sizes from the shapes (config holds the size and option keys that a
    state_dict determines)."""
    layers, reverse, projection = 0, False, False
    for name in state_dict:
        if not name.startswith(prefix):
            continue
        match = LSTM_PARAMETER.match(name[len(prefix):])
        if match is None:
            continue
        layers = max(layers, int(match.group(2)) + 1)
        reverse = reverse or match.group(3) is not None
        projection = projection or match.group(1) == "weight_hr"
    w_ih0 = state_dict.get(prefix + "weight_ih_l0")
    if w_ih0 is None:
        raise SystemExit("export_pytorch: no tensor %sweight_ih_l0"
                         % prefix)
    if projection:
        w_hr0 = state_dict.get(prefix + "weight_hr_l0")
        if w_hr0 is None or w_hr0.dim() != 2:
            raise SystemExit("export_pytorch: %sweight_hr_l0 is missing or "
                             "not a matrix, but the LSTM has weight_hr "
                             "tensors" % prefix)
        hidden, proj_size = w_hr0.shape[1], w_hr0.shape[0]
    else:
        hidden, proj_size = state_dict[prefix + "weight_hh_l0"].shape[1], 0
    config = {"input_size": w_ih0.shape[1], "hidden_size": hidden,
              "num_layers": layers, "bidirectional": reverse,
              "proj_size": proj_size}
    tensors = {}
    for name in lstmkit_file.parameter_names(dict(config, output_size=0)):
        tensor = state_dict.get(prefix + name)
        if tensor is None and name.startswith("bias_"):
            # nn.LSTM(bias=False): zero biases compute the same.
            tensor = torch.zeros(4 * hidden, dtype=w_ih0.dtype)
        if tensor is None:
            raise SystemExit("export_pytorch: no tensor %s%s (the LSTM has "
                             "%d layers%s%s)" % (
                                 prefix, name, layers,
                                 ", bidirectional" if reverse else "",
                                 ", proj_size %d" % proj_size
                                 if proj_size else ""))
        tensors[name] = tensor
    return tensors, config


def find_head_prefix(state_dict, lstm_prefix, width):
    """The prefix of the one nn.Linear that reads the LSTM's output (a
    weight [O, width] with a bias [O], outside the LSTM; width is the LSTM's
    output width, D * P), or None when there is none; several candidates
    need --head-prefix or --no-head."""
    candidates = []
    for name, weight in state_dict.items():
        if not name.endswith("weight") or name.startswith(lstm_prefix):
            continue
        prefix = name[:-len("weight")]
        bias = state_dict.get(prefix + "bias")
        if (prefix == "" or prefix.endswith(".")) and bias is not None and \
                weight.dim() == 2 and weight.shape[1] == width and \
                list(bias.shape) == [weight.shape[0]]:
            candidates.append(prefix)
    if len(candidates) > 1:
        raise SystemExit("export_pytorch: several layers could be the head "
                         "(%s); name it with --head-prefix, or pass "
                         "--no-head" % ", ".join(repr(c) for c in candidates))
    return candidates[0] if candidates else None


def find_lstm_module(module, lstm_prefix=None):
    """(prefix, nn.LSTM) of the one nn.LSTM inside module, or of the one
    whose state_dict prefix is lstm_prefix."""
    found = [(name + "." if name else "", m)
             for name, m in module.named_modules()
             if isinstance(m, torch.nn.LSTM)]
    if lstm_prefix is not None:
        found = [(p, m) for p, m in found if p == lstm_prefix]
    if len(found) != 1:
        raise SystemExit(
            "export_pytorch: %s; name the LSTM with --lstm-prefix" % (
                "the module holds no nn.LSTM%s" % (
                    " under %r" % lstm_prefix if lstm_prefix is not None
                    else "") if not found else
                "the module holds several nn.LSTMs (%s)" % ", ".join(
                    repr(p) for p, _ in found)))
    return found[0]


def export_module(module, path, lstm_prefix=None, **options):
    """Writes an nn.Module's nn.LSTM (and head) to path, with batch_first
    and dropout read from the nn.LSTM itself; the other arguments are
    export_state_dict's. Returns the config dict."""
    prefix, lstm = find_lstm_module(module, lstm_prefix)
    for key, value in (("batch_first", bool(lstm.batch_first)),
                       ("dropout", float(lstm.dropout))):
        if options.get(key) is not None and options[key] != value:
            raise SystemExit("export_pytorch: --%s %s contradicts the "
                             "module's nn.LSTM(%s=%s)" % (
                                 key.replace("_", "-"), options[key], key,
                                 value))
        options[key] = value
    config = export_state_dict(module.state_dict(), path, lstm_prefix=prefix,
                               **options)
    # The tensors decided these; the module must agree.
    if config["bidirectional"] != bool(lstm.bidirectional) or \
            config["proj_size"] != lstm.proj_size:
        raise SystemExit("export_pytorch: the state_dict of %r does not "
                         "match its nn.LSTM's bidirectional / proj_size"
                         % prefix)
    return config


def export_state_dict(state_dict, path, lstm_prefix=None, head_prefix=None,
                      no_head=False, dtype="keep", softmax=None,
                      last_step=None, batch_first=None, dropout=None,
                      metadata=None, plain=False):
    """Writes state_dict's LSTM (and head) to path as an lstmkit file.

    head_prefix: None finds the one nn.Linear reading the LSTM's output, if
    any; no_head leaves any head out. dtype: "keep" (BF16 when every tensor
    is bfloat16, else F32), "f32" or "bf16". softmax, last_step,
    batch_first, dropout: None takes them from a state_dict written by
    tools/import_pytorch.py, else False (0.0 for dropout). bidirectional and
    proj_size come from the tensors. metadata: extra string entries. plain:
    write no lstmkit metadata (lstmkit then infers the config, with an
    identity head on every step, time-major and without dropout). Returns
    the config dict.
    """
    remembered = getattr(state_dict, METADATA_ATTRIBUTE, None) or {}
    if lstm_prefix is None:
        lstm_prefix = find_lstm_prefix(state_dict)
    tensors, config = lstm_tensors(state_dict, lstm_prefix)
    width = lstmkit_file.directions(config) * lstmkit_file.state_width(config)
    if no_head:
        head_prefix = None
    elif head_prefix is None:
        head_prefix = find_head_prefix(state_dict, lstm_prefix, width)
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
    if batch_first is None:
        batch_first = remembered_config.get("batch_first", False)
    if dropout is None:
        dropout = remembered_config.get("dropout", 0.0)
    if not 0.0 <= dropout < 1.0:
        raise SystemExit("export_pytorch: --dropout must be in [0, 1), got "
                         "%r" % dropout)
    config.update({
        "output_size": output_size,
        "output_activation": "softmax" if softmax else "identity",
        "output_steps": "last" if last_step else "every",
        "batch_first": bool(batch_first),
        "dropout": lstmkit_file.float32(dropout),
    })
    if softmax and output_size == 0:
        raise SystemExit("export_pytorch: --softmax needs a head")
    if plain and batch_first:
        # lstmkit would read the file as time-major and compute something
        # else on the same data.
        raise SystemExit("export_pytorch: a --plain file cannot record "
                         "batch_first (it has no lstmkit metadata, so it "
                         "loads as time-major); drop --plain")
    shapes = lstmkit_file.parameter_shapes(config)
    names = lstmkit_file.parameter_names(config)
    for name in names:
        if list(tensors[name].shape) != shapes[name]:
            raise SystemExit(
                "export_pytorch: %s has shape %s; input_size %d, "
                "hidden_size %d%s%s need %s" % (
                    name, list(tensors[name].shape), config["input_size"],
                    config["hidden_size"],
                    ", proj_size %d" % config["proj_size"]
                    if config["proj_size"] else "",
                    ", bidirectional" if config["bidirectional"] else "",
                    shapes[name]))
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
    parser.add_argument("--batch-first", action="store_true", default=None,
                        help="the data is [batch][time][...] (read from the "
                        "nn.LSTM of a saved module)")
    parser.add_argument("--dropout", type=float, default=None,
                        help="dropout between layers in training (read from "
                        "the nn.LSTM of a saved module)")
    parser.add_argument("--plain", action="store_true",
                        help="no lstmkit metadata: a plain safetensors file")
    parser.add_argument("--metadata", action="append", default=[],
                        metavar="KEY=VALUE", help="an extra metadata entry")
    args = parser.parse_args(argv)
    if args.no_head and args.head_prefix is not None:
        raise SystemExit("export_pytorch: --no-head and --head-prefix "
                         "contradict each other")
    loaded = unwrap(torch.load(args.input, map_location="cpu"))
    options = dict(
        lstm_prefix=args.lstm_prefix, head_prefix=args.head_prefix,
        no_head=args.no_head, dtype=args.dtype, softmax=args.softmax,
        last_step=args.last_step, batch_first=args.batch_first,
        dropout=args.dropout, metadata=parse_metadata(args.metadata),
        plain=args.plain)
    if isinstance(loaded, torch.nn.Module):
        config = export_module(loaded, args.output, **options)
    else:
        config = export_state_dict(loaded, args.output, **options)
    print("%s: %s" % (args.output, ", ".join(
        "%s %s" % (k, lstmkit_file.format_probability(v) if k == "dropout"
                   else v) for k, v in config.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
