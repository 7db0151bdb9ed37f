"""The typed pipeline config. Validation only: policy lives in the stages.

A value of `auto` (or leaving a key out) means "let automl choose or search
it"; a concrete value pins it.
"""

from __future__ import annotations

import codecs
import re
import string
from typing import Annotated, Any, ClassVar, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

SCHEMA_VERSION = 1

QUANTIZATIONS = ("float32", "float16", "dynamic", "int8")
EXPORT_FORMATS = ("keras", "saved_model", "tflite")

Auto = Literal["auto"]


#: What a duration string looks like, for editors (JSON Schema); parse_duration reads the same forms.
DURATION_PATTERN = r"^\s*(\d+(\.\d+)?\s*[hmsHMS]\s*)+$|^\s*\d+(\.\d+)?\s*$"


def parse_duration(value: Any) -> Optional[float]:
    """Reads `90`, `"90s"`, `"30m"`, `"1h30m"` as seconds; None stays None.

    Zero and negative durations are errors: leaving the key out means no limit.
    """
    if value is None:
        return None
    seconds = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        parts = re.findall(r"(\d+(?:\.\d+)?)\s*([hms])", text)
        if parts and "".join(n + u for n, u in parts) == text.replace(" ", ""):
            scale = {"h": 3600.0, "m": 60.0, "s": 1.0}
            seconds = sum(float(n) * scale[u] for n, u in parts)
        elif re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
    if seconds is None:
        raise ValueError(f"expected a duration such as 90, '90s', '30m' or '1h30m'. Received: {value!r}")
    if not seconds > 0:
        raise ValueError(f"expected a positive duration (leave the key out for no limit). Received: {value!r}")
    return seconds


#: A wall-clock budget in seconds, written as a number or a string such as '30m'.
Duration = Annotated[
    Optional[float],
    BeforeValidator(parse_duration),
    WithJsonSchema({"anyOf": [{"type": "number", "exclusiveMinimum": 0},
                              {"type": "string", "pattern": DURATION_PATTERN}, {"type": "null"}]}),
]


def _not_empty(value):
    if value is not None and value != "auto" and len(value) == 0:
        raise ValueError(f"expected at least one item, or leave the key out. Received: {value!r}")
    return value


def _each_once(value):
    if value is not None and value != "auto" and len(set(value)) < len(value):
        twice = sorted({v for v in value if value.count(v) > 1})
        raise ValueError(f"{', '.join(twice)} listed more than once; each makes one file. Received: {value!r}")
    return value


def _positive_or_auto(value):
    if value not in ("auto", None) and value < 1:
        raise ValueError(f"expected 'auto' or an integer of at least 1. Received: {value!r}")
    return value


def not_negative_or_auto(value):
    """A count that may be zero (`data.backtests`, `data.tile_overlap`, a trial's GPUs), or auto."""
    if value not in ("auto", None) and value < 0:
        raise ValueError(f"expected 'auto' or a number of at least 0. Received: {value!r}")
    return value


def multiple_of_32_or_auto(least: int, why: str):
    """A field validator for image sides the model halves five times (`data.tile_size`,
    `data.input_size`): 'auto', or a multiple of 32 of at least `least`; `why` says what halves them."""
    def check(value):
        if value != "auto" and (value < least or value % 32):
            raise ValueError(f"expected 'auto' or a multiple of 32 of at least {least} ({why}). Received: {value!r}")
        return value

    return check


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SplitConfig(_Strict):
    """Fractions of the data held out; the rest trains."""

    val: float = Field(0.1, gt=0, lt=1, description="Validation share.")
    test: float = Field(
        0.1, gt=0, lt=1,
        description="Test share; ignored when the data set has its own test part.",
    )

    @model_validator(mode="after")
    def _leaves_training_data(self):
        if self.val + self.test > 0.9:
            raise ValueError(f"val + test must leave at least 10% of the data to train on. "
                             f"Received: val={self.val}, test={self.test} (sum {self.val + self.test:g})")
        return self


class DataConfig(_Strict):
    """What every task's `data` section has; each task's config adds its own keys
    (automl/tasks/<task>/config.py)."""

    #: Keys that name files or folders: the loader resolves them and checks they exist.
    path_keys: ClassVar[tuple[str, ...]] = ("path",)
    #: Keys a user fills in for their data: the short file of `automl init` holds these (and `--full` all).
    asked_keys: ClassVar[tuple[str, ...]] = ("path",)

    path: str = Field(
        ...,
        description="Data file or folder; 'package:NAME/relative/path' reads a file an installed package ships.",
    )
    split: SplitConfig = SplitConfig()

    @field_validator("path")
    @classmethod
    def _path_given(cls, value):
        if not value.strip():
            raise ValueError(f"expected a file or folder. Received: {value!r}")
        return value


def check_encoding(value: str) -> str:
    """A field validator for `encoding` keys: 'auto' or a codec Python knows."""
    if value != "auto":
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"expected 'auto' or a Python codec name such as utf-8, latin-1 or cp1252. "
                             f"Received: {value!r}") from None
    return value


class TrialResources(_Strict):
    """What a search trial asks Ray for (`search.engine: ray`)."""

    cpus: Union[Auto, float] = Field(
        "auto", description="CPUs per trial; auto = a GPU node's CPUs per GPU where the cluster has GPUs, else the "
                            "CPUs of its smallest node (one trial per CPU node at a time, as on one machine).")
    gpus: Union[Auto, float] = Field(
        "auto", description="GPUs per trial; auto = 1 where the cluster has GPUs, else 0. Several GPUs train the "
                            "trial under MirroredStrategy on one host (the batch and learning rate scaled).")

    _not_negative = field_validator("cpus", "gpus")(not_negative_or_auto)


class RayConfig(_Strict):
    """The search on a Ray cluster: the driver (this run) keeps the oracle, Ray runs each trial where the
    resources it asks for are free and runs it again after a node or process is lost."""

    address: Optional[str] = Field(
        "auto", description="auto = the running cluster (RAY_ADDRESS, or `ray start` on this machine), else a "
                            "local one for this run; HOST:PORT or ray://HOST:10001 = that cluster; local = a new "
                            "local one.")
    trial: TrialResources = Field(TrialResources(), description="What each trial asks for.")
    families: dict[str, TrialResources] = Field(
        default_factory=dict, description="What one family's trials ask for instead (e.g. bert: {gpus: 2}).")
    max_retries: int = Field(
        3, ge=0, description="Times Ray runs a trial again after its process or node is lost; it continues after "
                             "its last kept epoch.")
    storage: Optional[str] = Field(
        None, description="Where trials keep checkpoints and epochs for the cluster: a path every node mounts or "
                          "an fsspec URI (s3://, gs://...); none = the run directory itself, which every node "
                          "must then see at the same path.")


class SearchConfig(_Strict):
    families: Union[Auto, list[str]] = Field(
        "auto", description="auto = the selector's ranked choice; a list pins them."
    )
    strategy: Literal["halving", "random"] = Field(
        "halving", description="halving = successive halving across families (the best third of each rung "
                               "continues from its checkpoint); random = every trial a new configuration.")
    known_good_first: bool = Field(
        True, description="Try each family's known-good configurations first."
    )
    max_trials: int = Field(6, ge=1, description="New configurations tried, over all families; promotions "
                                                  "(halving) continue the best of them on top.")
    epochs: Union[Auto, int] = Field(
        "auto", description="Epochs per trial; auto = as many as fit in each trial's share of the time limit "
                            "(at most 50; 10 without a time limit).")
    time_limit: Duration = Field(
        None, description="Wall-clock budget of the search (e.g. '10m'); none = unlimited."
    )
    objective: Union[Auto, str] = Field("auto", description="auto = the task's objective.")
    max_train_examples: Union[Auto, int, None] = Field(
        "auto", description="Trials train on a seeded sample this large (auto = 20,000)."
    )
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict,
        description="Pinned hyperparameters by name; 'auto' leaves one searched.",
    )
    pretrained: Union[Auto, bool] = Field(
        "auto", description="Use pretrained weights: auto = when they can be had."
    )
    presets: dict[str, str] = Field(
        default_factory=dict,
        description="Pretrained weights per family: a keras-hub preset name or a local folder (e.g. bert: ...).",
    )
    max_families: Union[Auto, int] = "auto"
    max_consecutive_failed_trials: int = Field(5, ge=1)
    engine: Literal["local", "ray"] = Field(
        "local", description="local = trials in this process (or KerasTuner's chief and workers: automl run "
                             "--chief/--worker); ray = each trial a Ray task on a cluster (automl run --ray).")
    ray: RayConfig = Field(RayConfig(), description="search.engine: ray: the cluster and what trials ask for.")
    lease: Duration = Field(
        "10m", validate_default=True, description="Spread over workers (automl run --chief / --worker): a trial whose worker has not "
                           "reported an epoch for this long goes to another worker.")

    _families = field_validator("families")(_not_empty)
    _positive = field_validator("max_train_examples", "max_families", "epochs")(_positive_or_auto)


class ConstraintsConfig(_Strict):
    max_model_mb: Optional[float] = Field(
        None, gt=0, description="Target size of the float32 model, in MB."
    )


class FinetuneConfig(_Strict):
    enabled: bool = True
    epochs: Union[Auto, int] = Field(
        "auto", description="Most epochs; auto = until validation stops improving (patience) or the time "
                            "limit ends it (at most 300; 50 without a time limit).")
    patience: int = Field(3, ge=1, description="Early-stopping patience on validation.")
    time_limit: Duration = Field(None, description="Wall-clock budget (e.g. '15m').")
    unfreeze_learning_rate_factor: float = Field(
        0.1, gt=0, le=1, description="Learning-rate factor once a pretrained backbone unfreezes."
    )

    use_validation: bool = Field(
        False, description="Once early stopping has found the best epoch count, train again from the same start "
                           "on training + validation data for that many epochs (when the time limit allows).")

    _epochs = field_validator("epochs")(_positive_or_auto)


COMPRESSIONS = ("prune", "cluster", "qat", "prune_qat", "cluster_qat")


class CompressionEpochs(_Strict):
    prune: int = Field(6, ge=1, description="Epochs of pruning (the sparsity ramps up over 70% of them).")
    cluster: int = Field(3, ge=1, description="Epochs of training with clustered weights.")
    qat: int = Field(2, ge=1, description="Epochs of quantization-aware training (after pruning or "
                                          "clustering when combined).")


class CompressionConfig(_Strict):
    """Compressed int8 .tflite files beside the post-training ones: tfmot fine-tunes a tf_keras
    twin of the trained model (in a process of its own) per technique."""

    techniques: list[Literal[COMPRESSIONS]] = Field(
        [], description="prune, cluster, qat, prune_qat (pruning-preserving QAT after pruning) or "
                        "cluster_qat (cluster-preserving QAT after clustering); one file each.")
    sparsity: float = Field(0.8, gt=0, lt=1, description="Share of the pruned layers' weights set to zero (every "
                            "convolution and dense layer but the first and the last, which hold few weights); "
                            "layer_sparsity says how it is spread over them.")
    layer_sparsity: Literal["uniform", "by_size"] = Field(
        "by_size", description="by_size: bigger layers lose more and small ones less (Erdős–Rényi kernel), "
                               "`sparsity` in all; uniform: each pruned layer loses `sparsity` of its weights. "
                               "by_size kept more accuracy and gzipped smaller at the same sparsity.")
    clusters: int = Field(16, ge=2, le=256, description="Distinct values per kernel after clustering.")
    epochs: CompressionEpochs = CompressionEpochs()
    learning_rate: Union[Auto, float] = Field(
        "auto", description="auto = a quarter of the searched learning rate (the model is trained already), "
                            "falling over each stage.")
    accuracy_gate: float = Field(
        0.01, ge=0, le=1, description="A compressed file whose headline metric is worse than the Keras model's by "
                                      "more than this (plus the test split's sampling noise) is left out of the bundle.")
    distillation: float = Field(
        0.5, ge=0, le=1, description="Weight of the trained model's own outputs in the targets the compression "
                                     "stages train on (the rest: the labels); 0 trains on the labels alone.")

    _once = field_validator("techniques")(_each_once)

    @field_validator("learning_rate")
    @classmethod
    def _positive_rate(cls, value):
        if value != "auto" and not value > 0:
            raise ValueError(f"expected 'auto' or a positive number (a negative rate trains away from the "
                             f"labels). Received: {value!r}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _one_technique(cls, value):
        """`compression: prune_qat` is short for `compression: {techniques: [prune_qat]}`;
        `none` for no technique."""
        if isinstance(value, str):
            return {"techniques": [] if value == "none" else [value]}
        if isinstance(value, list):
            return {"techniques": [v for v in value if v != "none"]}
        return value


class ExportConfig(_Strict):
    formats: list[Literal["keras", "saved_model", "tflite"]] = list(EXPORT_FORMATS)
    quantizations: list[Literal["float32", "float16", "dynamic", "int8", "int4"]] = Field(
        list(QUANTIZATIONS), description="TFLite files to make; int4 (not made by default) stores large "
                                         "weights in 4 bits, activations float (ai-edge-quantizer).")
    int8_accuracy_gate: float = Field(
        0.02, ge=0, le=1, description="A quantized file whose headline metric is worse than the Keras model's by "
                                      "more than this (plus the test split's sampling noise) is left out of the bundle."
    )
    require_all: bool = Field(
        False, description="Fail the run when a requested file is left out (over the gate, or LiteRT cannot run it).")
    allow_flex_ops: bool = Field(False, description="Allow TensorFlow (Flex) ops in TFLite.")
    representative_examples: int = Field(200, ge=1)
    verify: bool = True
    compression: CompressionConfig = CompressionConfig()

    _lists = field_validator("formats", "quantizations")(_not_empty)
    _once = field_validator("formats", "quantizations")(_each_once)


class RuntimeConfig(_Strict):
    strategy: Literal["auto", "cpu", "gpu", "mirrored", "tpu"] = "auto"
    mixed_precision: Union[Auto, bool] = Field(
        "auto", description="Train in float16 (GPUs) or bfloat16 (TPUs, CPUs): auto does on GPUs and TPUs, and "
                            "on CPUs with AMX bfloat16 tiles for the tasks measured faster there. What is "
                            "evaluated and exported is the float32 model with the trained weights.")
    tensorboard: bool = Field(
        True, description="TensorBoard logs of the search (one run per trial and the promotions that continue "
                          "it, named by family, with its hyperparameters) and of fine-tuning, under "
                          "<run>/tensorboard/.")


class PipelineConfig(_Strict):
    """The keys every pipeline has; each task narrows `task` and `data` in its own
    subclass (automl/tasks/<task>/config.py), which is what the loader validates."""

    schema_version: Literal[1] = SCHEMA_VERSION
    name: Optional[str] = None
    task: str
    data: DataConfig
    search: SearchConfig = SearchConfig()
    constraints: ConstraintsConfig = ConstraintsConfig()
    finetune: FinetuneConfig = FinetuneConfig()
    export: ExportConfig = ExportConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    output: str = Field("runs/{name}", description="Run directory; {name} and {task} are filled in.")
    seed: int = Field(42, ge=0, le=2**32 - 1)
    time_limit: Duration = Field(
        None, description="Wall-clock budget for the whole run (e.g. '40m'): the search gets at most "
                          "35% of it, fine-tuning ends early enough to leave evaluation, export and "
                          "verification the time one timed pass of the model over the test split says "
                          "they need (at most half the run). Stage limits, when set, still apply.")
    spend_time_limit: bool = Field(
        True, description="With a time_limit (and epochs: auto), spend it: a search whose plan of max_trials is "
                          "done early goes on with trials of the leading family, and fine-tuning time the best "
                          "leaves goes to the runner-up (the better on validation is kept). false: the limit is "
                          "only a cap.")

    @field_validator("output")
    @classmethod
    def _known_placeholders(cls, value):
        if not value.strip():
            raise ValueError(f"expected a folder path such as 'runs/{{name}}'. Received: {value!r}")
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as err:
            raise ValueError(f"{err} (write {{{{ and }}}} for literal braces). Received: {value!r}") from None
        for field in fields:
            if field not in OUTPUT_PLACEHOLDERS:
                import difflib

                close = difflib.get_close_matches(field, OUTPUT_PLACEHOLDERS, n=1)
                hint = f" Did you mean {{{close[0]}}}?" if close else ""
                raise ValueError(f"unknown placeholder {{{field}}}.{hint} Known: "
                                 f"{', '.join('{' + p + '}' for p in OUTPUT_PLACEHOLDERS)}. Received: {value!r}")
        return value

    def run_name(self) -> str:
        return self.name or self.task

    def output_dir(self) -> str:
        return self.output.format(name=self.run_name(), task=self.task)


#: What `output` may name in braces.
OUTPUT_PLACEHOLDERS = ("name", "task")


def pipeline_file_schema(task: Optional[str] = None) -> dict:
    """JSON Schema of a pipeline *file*: one task's config, or any task's (the `task` key
    tells them apart), each with `extends`, after which `task` and `data` may come from the
    file extended."""
    from automl.tasks import get_config_class, task_names

    names = [task] if task is not None else task_names()
    schema: dict = {"title": "automl pipeline", "$defs": {}, "anyOf": []}
    for name in names:
        cls = get_config_class(name)
        member = cls.model_json_schema(ref_template="#/$defs/{model}")
        schema["$defs"].update(member.pop("$defs", {}))
        member["properties"]["extends"] = {
            "type": "string",
            "description": "A template in templates/ (the task's name) or a pipeline file to start from.",
        }
        required = member.pop("required", [])
        member["anyOf"] = [{"required": ["extends"]}, {"required": required}]
        schema["$defs"][cls.__name__] = member
        schema["anyOf"].append({"$ref": f"#/$defs/{cls.__name__}"})
    return schema
