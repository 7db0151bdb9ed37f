"""Runs every exported .tflite on the LiteRT interpreter over the test split.

Reports the task's metrics, agreement with the Keras model, file size and
mean latency per example, and applies one gate to every quantized file.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from automl.progress import say

BATCH = 64
LATENCY_EXAMPLES = 50


class LiteRTModel:
    """A .tflite file on LiteRT that takes and returns float arrays.

    Integer models get their inputs quantized and outputs dequantized with
    the scale and zero point stored in the file.
    """

    def __init__(self, path: Path, num_threads: int = 2):
        self.path = Path(path)
        self.num_threads = num_threads
        #: Set when XNNPACK could not take the model and LiteRT's own kernels run it.
        self.delegate_note = None
        self._open()

    def _open(self, delegates: bool = True) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        kind = OpResolverType.AUTO if delegates else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        self.interpreter = Interpreter(model_path=str(self.path), num_threads=self.num_threads,
                                       experimental_op_resolver_type=kind)
        self.inputs = self.interpreter.get_input_details()
        self.outputs = self._named_outputs()
        # Models converted with a fixed batch (fused LSTMs) run one example at a time.
        self.fixed_batch = all(d["shape_signature"][0] == 1 for d in self.inputs)
        self._batch = None

    def _named_outputs(self) -> dict[str, dict]:
        """Every output tensor by name: the serving signature's names (a Keras model's output names,
        or output_0, output_1 ... for a list), else the tensor names, in the file's output order."""
        details = self.interpreter.get_output_details()
        names = {d["index"]: d["name"] for d in details}
        signatures = self.interpreter.get_signature_list()
        if len(signatures) == 1:
            runner = self.interpreter.get_signature_runner(next(iter(signatures)))
            named = {d["index"]: name for name, d in runner.get_output_details().items()}
            if set(named) == set(names):
                names = named
        return {names[d["index"]]: d for d in details}

    @property
    def output(self) -> dict:
        """The first output tensor's details (a model with one output has only it)."""
        return next(iter(self.outputs.values()))

    @property
    def input(self) -> dict:
        return self.inputs[0]

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            if not self.fixed_batch:
                for detail in self.inputs:
                    self.interpreter.resize_tensor_input(detail["index"], [batch, *detail["shape"][1:]])
            self.interpreter.allocate_tensors()
            self.inputs = self.interpreter.get_input_details()
            self.outputs = self._named_outputs()
            self._batch = batch

    def _input_for(self, detail, x):
        """The array for one input tensor: x itself, or x[name] matched by tensor name."""
        if not isinstance(x, dict):
            return x
        matches = [name for name in x if name in detail["name"]]
        if len(matches) != 1:
            raise ValueError(f"{self.path.name}: cannot match input tensor {detail['name']!r} to {sorted(x)}")
        return x[matches[0]]

    @staticmethod
    def _quantize(detail, x: np.ndarray) -> np.ndarray:
        dtype = detail["dtype"]
        scale, zero_point = detail["quantization"]
        if np.issubdtype(dtype, np.integer) and scale:
            info = np.iinfo(dtype)
            return np.clip(np.round(x / scale + zero_point), info.min, info.max).astype(dtype)
        return x.astype(dtype)

    @staticmethod
    def _dequantize(detail, y: np.ndarray) -> np.ndarray:
        scale, zero_point = detail["quantization"]
        if np.issubdtype(detail["dtype"], np.integer) and scale:
            return (y.astype(np.float32) - zero_point) * scale
        if np.issubdtype(detail["dtype"], np.floating):
            return y.astype(np.float32)
        return y  # integer outputs that carry no scale (class ids, counts) stay integers

    def predict(self, x, batch: int = BATCH):
        """Outputs for `x` (an array, or a dict of arrays by input name), shaped as the Keras model's:
        one array for one output; for several, a list when the signature names them output_0,
        output_1 ... (a Keras model with a list of outputs), else a dict by name."""
        named = self.predict_named(x, batch)
        if len(named) == 1:
            return next(iter(named.values()))
        positional = [f"output_{i}" for i in range(len(named))]
        if sorted(named) == sorted(positional):
            return [named[name] for name in positional]
        return named

    def predict_named(self, x, batch: int = BATCH) -> dict[str, np.ndarray]:
        """Every output for `x`, by name (`outputs`), float where the file quantized it."""
        count = _count(x)
        batch = 1 if self.fixed_batch else batch
        outputs = []
        for start in range(0, count, batch):
            stop = min(start + batch, count)
            self._resize(stop - start)
            for detail in self.inputs:
                chunk = self._input_for(detail, x)[start:stop]
                self.interpreter.set_tensor(detail["index"], self._quantize(detail, chunk))
            if self.fixed_batch:
                # Fused LSTMs keep their state in variable tensors across invocations.
                self.interpreter.reset_all_variables()
            try:
                self.interpreter.invoke()
            except RuntimeError as err:
                if "XNNPACK" not in str(err) or self.delegate_note:
                    raise
                # XNNPACK rejects some mixed float/int8 graphs (selective quantization);
                # LiteRT's builtin kernels run them, as a phone without the delegate would.
                self.delegate_note = f"XNNPACK could not prepare the model ({str(err)[:120]}); ran on builtin kernels"
                self._open(delegates=False)
                self._batch = None
                return self.predict_named(x, batch)
            outputs.append({name: self._dequantize(detail, self.interpreter.get_tensor(detail["index"]))
                            for name, detail in self.outputs.items()})
        return {name: np.concatenate([chunk[name] for chunk in outputs]) for name in self.outputs}

    def latency_ms(self, x: np.ndarray, examples: int = LATENCY_EXAMPLES) -> float:
        """Mean milliseconds per single example (batch 1), after one warm-up run."""
        sample = _head(x, examples)
        self.predict(_head(sample, 1), batch=1)
        start = time.perf_counter()
        self.predict(sample, batch=1)
        return 1000 * (time.perf_counter() - start) / max(_count(sample), 1)


def _count(x) -> int:
    """Examples in an array, or in a dict of arrays by input name."""
    return len(next(iter(x.values()))) if isinstance(x, dict) else len(x)


def _head(x, count: int):
    """The first `count` examples of an array or of a dict of arrays."""
    return {k: v[:count] for k, v in x.items()} if isinstance(x, dict) else x[:count]


def take(x, index):
    """The examples `index` selects from an array, or from each array of a dict, list or tuple of them
    (a model's several outputs, or targets for each)."""
    if isinstance(x, dict):
        return {k: take(v, index) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(take(v, index) for v in x)
    return np.asarray(x)[index]


def count_examples(x) -> int:
    """Examples in an array, or in the first array of a dict, list or tuple of them."""
    while isinstance(x, (dict, list, tuple)):
        x = next(iter(x.values())) if isinstance(x, dict) else x[0]
    return len(x)


#: One-sided z of the gate: a file is left out only when its loss exceeds the gate by more
#: than 1.64 standard errors of the paired difference (95% sure it is really over the gate).
GATE_Z = 1.64
BOOTSTRAP_DRAWS = 200


def paired_noise(task, data, targets, reference, outputs, draws: int = BOOTSTRAP_DRAWS, seed: int = 0) -> float:
    """Standard error of (Keras - converted) headline metric from resampling test examples.

    Both models are scored on the same resampled examples, so what they agree on cancels:
    a 150-image split with 3 disagreements gives about 0.011 for accuracy.
    """
    headline = task.goal.headline
    rng = np.random.default_rng(seed)
    count = count_examples(targets)
    differences = []
    for _ in range(draws):
        idx = rng.integers(0, count, count)
        targets_drawn = take(targets, idx)
        differences.append(task.evaluate(targets_drawn, take(reference, idx), data)[headline]
                           - task.evaluate(targets_drawn, take(outputs, idx), data)[headline])
    return float(np.std(differences))


def verify_exports(rows: list[dict], task, data, test_inputs, test_targets, keras_outputs,
                   keras_metrics: dict, gate: float) -> list[dict]:
    """Fills each TFLite row with LiteRT results and applies one gate to every quantized file.

    A file is marked `rejected` (the caller leaves it out of the bundle) when LiteRT cannot
    run it, or when its headline metric is worse than the Keras model's by more than `gate`
    plus the test split's sampling noise (`GATE_Z` paired standard errors). Returns the
    rejected rows.
    """
    headline = task.goal.headline
    for row in rows:
        if row["format"] in ("keras", "saved_model"):  # the Keras model itself, saved
            row["test_metrics"] = keras_metrics
        if row["format"] != "tflite" or row.get("rejected"):  # a compression that failed made no file
            continue
        examples = count_examples(test_targets)
        say("verify", f"{Path(row['path']).name} on LiteRT over {examples} test examples")
        model = LiteRTModel(Path(row["path"]))
        try:
            outputs = model.predict(test_inputs)
        except Exception as err:  # noqa: BLE001 - one model that cannot run must not lose the others
            row["error"] = row["rejected"] = f"LiteRT could not run it: {type(err).__name__}: {str(err)[:300]}"
            say("verify", f"  {row['error']}")
            continue
        if model.delegate_note:
            row["runtime_note"] = model.delegate_note
        metrics = task.evaluate(test_targets, outputs, data)
        row["test_metrics"] = metrics
        # How close to Keras is the task's answer (agreement, max error, IoU ...), shown as it says.
        comparison = task.scorer.compare(keras_outputs, outputs, data)
        row["vs_keras"] = comparison
        row["latency_ms"] = round(model.latency_ms(test_inputs), 3)
        row["input_dtype"] = np.dtype(model.input["dtype"]).name
        drop = task.scorer.headline_drop(keras_metrics[headline], metrics[headline])
        row["drop_vs_keras"] = round(float(drop), 4)
        # None where a figure has nothing to measure (IoU of matched boxes when no box was found).
        shown = ", ".join(f"{k}={'-' if v is None else format(v, '.4g')}" for k, v in comparison.items())
        say("verify", f"  {headline}={metrics[headline]:.4f} (Keras {keras_metrics[headline]:.4f}), "
                      f"{shown}, {row['bytes'] / 1024:.0f} KiB, {row['latency_ms']:.2f} ms/example")
        # A compressed file carries its own gate (export.compression.accuracy_gate).
        own = row.get("accuracy_gate") or {"value": gate, "key": "export.int8_accuracy_gate"}
        if row.get("quantization") in (None, "float32") or drop <= own["value"]:
            continue
        noise = task.scorer.headline_noise(data, test_targets, keras_outputs, outputs)
        limit = own["value"] + GATE_Z * noise
        row["gate"] = {"drop": round(float(drop), 4), "gate": own["value"], "noise": round(noise, 4),
                       "limit": round(limit, 4)}
        name = f"{row['quantization']}{'' if row.get('compression', 'none') == 'none' else ' ' + row['compression']}"
        if drop > limit + 1e-9:
            row["rejected"] = (f"{name} {headline} {metrics[headline]:.4f} is {drop:.4f} worse than "
                               f"the Keras model's {keras_metrics[headline]:.4f}: more than {own['key']}="
                               f"{own['value']} plus {GATE_Z} x {noise:.4f} sampling noise (paired bootstrap over "
                               f"{examples} test examples)")
            say("verify", f"  left out of the bundle: {row['rejected']}")
        else:
            say("verify", f"  {drop:.4f} worse than Keras, within the gate {own['value']} plus sampling noise "
                          f"({GATE_Z} x {noise:.4f} over {examples} examples)")
    return [row for row in rows if row.get("rejected")]
