#!/usr/bin/python3
"""Turns an lstmkit model file (or a checkpoint's model) into a PyTorch
state_dict saved with torch.save.

    /usr/bin/python3 tools/import_pytorch.py model.safetensors model.pt \\
        [--lstm-prefix lstm.] [--head-prefix fc.]

The state_dict's keys are lstmkit's names, which are nn.LSTM's, with
--lstm-prefix before the LSTM's and the head's weight and bias under
--head-prefix (default "head."). It loads into

    lstm = nn.LSTM(input_size, hidden_size, num_layers,
                   bidirectional=..., proj_size=..., batch_first=...,
                   dropout=...)
    head = nn.Linear(D * P, output_size)      # when output_size > 0

(D = 2 for a bidirectional model, else 1; P = proj_size, or hidden_size;
the script prints the call with the file's values), e.g. with the default
prefixes into a module
whose LSTM is `self` and head `self.head`, or with --lstm-prefix lstm.
--head-prefix fc. into one with `self.lstm` and `self.fc`. lstmkit applies a
softmax head's softmax itself and may use the last step only; the printed
config says so, and the state_dict carries the file's config and metadata as
its attribute `lstmkit_metadata`, so that tools/export_pytorch.py writes the
same file back, bit for bit.

Tensors keep the file's dtype (F32 -> float32, BF16 -> bfloat16) unless
--dtype f32 widens them. The file is checked (structure and checksum) before
anything is written. Needs PyTorch only, no safetensors package.
"""

import argparse
import collections
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lstmkit_file  # noqa: E402

METADATA_ATTRIBUTE = "lstmkit_metadata"
TORCH_DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16}


def tensor_from_bytes(dtype, shape, data):
    if sys.byteorder != "little":
        raise NotImplementedError("big-endian hosts are not supported")
    if dtype not in TORCH_DTYPES:
        raise SystemExit("import_pytorch: dtype %s is not an lstmkit "
                         "parameter dtype (F32, BF16)" % dtype)
    if not data:
        return torch.empty(shape, dtype=TORCH_DTYPES[dtype])
    # frombuffer shares the bytearray's memory; clone to own it.
    return torch.frombuffer(bytearray(data), dtype=TORCH_DTYPES[dtype]) \
        .reshape(shape).clone()


def infer_config(tensors):
    """The config of a file without lstmkit metadata, as lstmkit infers it:
    bidirectional when there are _reverse tensors, the projection from
    weight_hr_l0 [P, H], time-major and without dropout."""
    layers = 0
    while "weight_ih_l%d" % layers in tensors:
        layers += 1
    head = tensors.get("head.weight")
    projection = tensors.get("weight_hr_l0")
    for name in ("weight_ih_l0", "weight_hh_l0"):
        if name not in tensors:
            raise lstmkit_file.FormatError(
                "tensor %s is missing; without lstmkit metadata the config "
                "is inferred from it" % name)
    return {
        "input_size": tensors["weight_ih_l0"][1][1],
        "hidden_size": (projection[1][1] if projection
                        else tensors["weight_hh_l0"][1][1]),
        "num_layers": layers,
        "output_size": head[1][0] if head else 0,
        "output_activation": "identity",
        "output_steps": "every",
        "bidirectional": any(n.endswith("_reverse") for n in tensors),
        "proj_size": projection[1][0] if projection else 0,
        "batch_first": False,
        "dropout": 0.0,
    }


def module_call(config):
    """The nn.LSTM (and nn.Linear) that the state_dict loads into, as
    Python source."""
    options = "".join(
        ", %s=%r" % (key, config[key]) for key, default in
        lstmkit_file.OPTION_DEFAULTS.items() if config[key] != default)
    text = "nn.LSTM(%d, %d, num_layers=%d%s)" % (
        config["input_size"], config["hidden_size"], config["num_layers"],
        options)
    if config["output_size"] > 0:
        width = (lstmkit_file.directions(config) *
                 lstmkit_file.state_width(config))
        text += " + nn.Linear(%d, %d)%s%s" % (
            width, config["output_size"],
            ", softmax" if config["output_activation"] == "softmax" else "",
            " on the last step" if config["output_steps"] == "last" else "")
    return text


def read_model_file(path):
    """(config, {lstmkit name: tensor} in file order, metadata to keep)."""
    with open(path, "rb") as f:
        tensors, metadata = lstmkit_file.decode(f.read(), path)
    config = lstmkit_file.config_from_metadata(metadata)
    if config is None:
        config = infer_config(tensors)
    shapes = lstmkit_file.parameter_shapes(config)
    names = lstmkit_file.parameter_names(config)
    for name in names:
        if name not in tensors:
            raise SystemExit("import_pytorch: %s: tensor %s is missing"
                             % (path, name))
        dtype, shape, _ = tensors[name]
        if shape != shapes[name]:
            raise SystemExit("import_pytorch: %s: tensor %s has shape %s, "
                             "expected %s" % (path, name, shape,
                                              shapes[name]))
    parameters = collections.OrderedDict(
        (n, tensor_from_bytes(*tensors[n])) for n in names)
    # What export_pytorch.py needs to write the same file again: the
    # config, the kind-independent entries and the caller's metadata.
    kept = {k: v for k, v in metadata.items()
            if k not in (lstmkit_file.CHECKSUM_KEY, "lstmkit.kind",
                         "lstmkit.optimizer", "lstmkit.trainer")}
    return config, parameters, kept


def lstm_module(config):
    """A new nn.LSTM of the config's sizes and options, for the state_dict's
    LSTM tensors (without their prefix)."""
    return torch.nn.LSTM(
        config["input_size"], config["hidden_size"], config["num_layers"],
        bidirectional=config["bidirectional"], proj_size=config["proj_size"],
        batch_first=config["batch_first"], dropout=config["dropout"])


def head_module(config):
    """A new nn.Linear for the head's weight and bias, or None without a
    head. A softmax head's softmax is not part of it."""
    if config["output_size"] == 0:
        return None
    width = lstmkit_file.directions(config) * lstmkit_file.state_width(config)
    return torch.nn.Linear(width, config["output_size"])


def import_file(path, lstm_prefix="", head_prefix="head.", dtype="keep"):
    """An OrderedDict state_dict of the file's model, with the attribute
    lstmkit_metadata."""
    config, parameters, metadata = read_model_file(path)
    state_dict = collections.OrderedDict()
    for name, tensor in parameters.items():
        if dtype == "f32":
            tensor = tensor.to(torch.float32)
        if name.startswith("head."):
            key = head_prefix + name[len("head."):]
        else:
            key = lstm_prefix + name
        state_dict[key] = tensor
    setattr(state_dict, METADATA_ATTRIBUTE, metadata)
    return config, state_dict


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Import an lstmkit model file as a PyTorch state_dict.")
    parser.add_argument("input", help="an lstmkit model file or checkpoint")
    parser.add_argument("output", help="the .pt file to write")
    parser.add_argument("--lstm-prefix", default="",
                        help="put before the nn.LSTM's keys, e.g. 'lstm.'")
    parser.add_argument("--head-prefix", default="head.",
                        help="put before the head's weight and bias "
                        "(default 'head.')")
    parser.add_argument("--dtype", choices=("keep", "f32"), default="keep")
    args = parser.parse_args(argv)
    try:
        config, state_dict = import_file(args.input, args.lstm_prefix,
                                         args.head_prefix, args.dtype)
    except (OSError, lstmkit_file.FormatError) as e:
        raise SystemExit("import_pytorch: %s" % e)
    torch.save(state_dict, args.output)
    print("%s: %s" % (args.output, module_call(config)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
