"""Run an exported plantrl policy with onnxruntime and NumPy alone.

This file imports nothing of plantrl, torch, Stable-Baselines3 or MLflow: copy it next to a
``policy.onnx`` on a controller box that has ``numpy`` and ``onnxruntime`` and it runs there.

    python onnx_runtime.py policy.onnx --serve     # a controller process: frames on stdin/stdout

:class:`OnnxController` checks each observation before the graph sees it:

| input | behaviour |
| --- | --- |
| shape (n_obs,) or (batch, n_obs), finite | commands, shape (n_act,) or (batch, n_act), float32 |
| a wrong length | ``ValueError`` naming the expected inputs |
| NaN or ±inf in any entry | ``ValueError`` naming the row and the input |

(A sensor fault must reach the operator, not the actuators.)

The graph itself propagates a NaN to the commands it touches; onnxruntime refuses a wrong
length with its own error. The controller refuses both first, with the input's name.

Serve protocol (``--serve``, used by :mod:`experiments.run_onnx` for a controller in another
interpreter): the controller first writes a hello, an int32 length and the UTF-8 JSON of
``{"n_obs", "n_act", "interface"}``. Then every request is a header of two little-endian int32
(rows, cols) followed by rows × cols float32 observations; the reply is the same header for the
commands and their float32 values, or rows = −1 followed by an int32 length and a UTF-8 error
message. A request with rows = 0 ends the process.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path
from typing import IO, Any

import numpy as np
import onnxruntime as ort

__all__ = ["HEADER", "METADATA_KEY", "OnnxController", "read_exact", "read_text", "serve"]

METADATA_KEY = "plantrl.interface"  # JSON: inputs, outputs (command heads), env, plant, mode
HEADER = struct.Struct("<ii")


class OnnxController:
    """An exported policy file: observations in engineering units in, commands out.

    Args:
        path: The ``policy.onnx`` written by ``python -m experiments.export``.
        threads: onnxruntime intra-op threads (1: one core, the latency benchmark's setting).

    Attributes:
        interface: The file's interface record (inputs, outputs, env, plant); ``{}`` for a file
            without one.
        input_names: One name per observation entry ("obs[i]" where the file does not say).
        n_obs: Observation length. n_act: Command length.

    Raises:
        FileNotFoundError: no file at ``path``. ValueError: a file onnxruntime cannot load.
    """

    def __init__(self, path: str | Path, threads: int = 1) -> None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no ONNX file at {path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own exception types
            raise ValueError(f"cannot load {path} as an ONNX model: {err}") from err
        meta = self.session.get_modelmeta().custom_metadata_map
        self.interface: dict[str, Any] = (
            json.loads(meta[METADATA_KEY]) if METADATA_KEY in meta else {}
        )
        inp, out = self.session.get_inputs()[0], self.session.get_outputs()[0]
        self.input_name, self.output_name = inp.name, out.name
        width = inp.shape[1] if len(inp.shape) == 2 else None
        self.n_obs = width if isinstance(width, int) else None
        self.n_act = out.shape[1] if len(out.shape) == 2 and isinstance(out.shape[1], int) else None
        names = [row["name"] for row in self.interface.get("inputs", [])]
        self.input_names = names or [f"obs[{i}]" for i in range(self.n_obs or 0)]

    def check(self, obs: Any) -> np.ndarray:
        """``obs`` as a float32 batch (batch, n_obs), refused if malformed (see the module doc)."""
        batch = np.asarray(obs, dtype=np.float32)
        if batch.ndim == 1:
            batch = batch[None, :]
        if batch.ndim != 2 or (self.n_obs is not None and batch.shape[1] != self.n_obs):
            raise ValueError(
                f"observation has shape {np.shape(obs)}, expected ({self.n_obs},) or "
                f"(batch, {self.n_obs}): inputs {', '.join(self.input_names)}"
            )
        finite = np.isfinite(batch)
        if not finite.all():  # the common case costs one pass; the search only on a fault
            row, col = (int(v) for v in np.argwhere(~finite)[0])
            name = self.input_names[col] if col < len(self.input_names) else f"obs[{col}]"
            raise ValueError(
                f"observation row {row}: input {col} ({name}) is {batch[row, col]}; the policy "
                "needs finite values (hold the last commands or hand over to the base controller)"
            )
        return batch

    def act(self, obs: Any) -> np.ndarray:
        """Commands in engineering units for ``obs`` (one observation or a batch)."""
        batch = self.check(obs)
        out = self.session.run([self.output_name], {self.input_name: batch})[0]
        return out[0] if np.ndim(obs) == 1 else out


def read_exact(stream: IO[bytes], n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise EOFError("the plant side closed the connection")
        data += chunk
    return data


def _write_text(out: IO[bytes], text: str) -> None:
    data = text.encode()
    out.write(struct.pack("<i", len(data)) + data)


def read_text(inp: IO[bytes]) -> str:
    """One length-prefixed UTF-8 text of the protocol."""
    (n,) = struct.unpack("<i", read_exact(inp, 4))
    return read_exact(inp, n).decode()


def serve(controller: OnnxController, inp: IO[bytes], out: IO[bytes]) -> int:
    """Answer observation frames with command frames until a zero-row request; requests served."""
    hello = {
        "n_obs": controller.n_obs,
        "n_act": controller.n_act,
        "interface": controller.interface,
    }
    _write_text(out, json.dumps(hello))
    out.flush()
    served = 0
    while True:
        rows, cols = HEADER.unpack(read_exact(inp, HEADER.size))
        if rows == 0:
            return served
        obs = np.frombuffer(read_exact(inp, 4 * rows * cols), dtype="<f4").reshape(rows, cols)
        try:
            commands = np.ascontiguousarray(controller.act(obs), dtype="<f4")
        except ValueError as err:
            out.write(HEADER.pack(-1, 0))
            _write_text(out, str(err))
        else:
            out.write(HEADER.pack(*commands.shape) + commands.tobytes())
        out.flush()
        served += 1


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("policy", help="the exported policy.onnx")
    parser.add_argument("--serve", action="store_true", help="answer frames on stdin/stdout")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        controller = OnnxController(args.policy, threads=args.threads)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.serve:
        serve(controller, sys.stdin.buffer, sys.stdout.buffer)
        return 0
    print(
        json.dumps(
            {"inputs": controller.n_obs, "outputs": controller.n_act, **controller.interface}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
