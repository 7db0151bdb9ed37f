"""The `automl` command. Imports stay light so `automl --help` answers fast."""

from __future__ import annotations

import argparse
import json
import sys

EXAMPLES = """examples:
  automl init --task image_classification > my.yaml
  automl validate my.yaml
  automl run pipelines/quickstart.yaml --out runs/quick
  automl run pipelines/fashion_mnist.yaml --set search.families=[small_cnn] --set search.max_trials=3
  automl predict runs/rotten_tomatoes "a warm, funny and moving film"
  automl predict runs/nuclei cells.tif --out-dir masks/
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="automl", description="Low-code AutoML on Keras 3, ending in verified TFLite models.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run a pipeline YAML file")
    run.add_argument("file")
    run.add_argument("--out", help="run directory (default: the file's `output`)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config value, read as YAML (repeatable)")
    validate = sub.add_parser("validate", help="check a pipeline file and print the resolved config")
    validate.add_argument("file")
    validate.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    init = sub.add_parser("init", help="print a commented pipeline file for a task")
    init.add_argument("--task", required=True)
    sub.add_parser("schema", help="print the JSON Schema of pipeline files (for editors)")
    predict = sub.add_parser("predict", help="label texts or image files, segment images, or forecast from a "
                                              "history CSV, with a run's .tflite on LiteRT")
    predict.add_argument("run_dir")
    predict.add_argument("inputs", nargs="+", help="texts (text tasks), image paths (image tasks), or history CSVs "
                              "(forecasting: the last lookback steps are used)")
    predict.add_argument("--quantization", choices=["float32", "float16", "dynamic", "int8"])
    predict.add_argument("--json", action="store_true", help="print JSON lines")
    predict.add_argument("--out-dir", help="segmentation: where <name>_mask.png files go (default RUN_DIR/predictions)")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.version:
        from automl import __version__

        print(__version__)
        return 0
    if args.command is None:
        _parser().print_help()
        return 0
    from automl.config.loader import ConfigError

    try:
        return _COMMANDS[args.command](args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _run(args) -> int:
    from automl.config.loader import load_config

    config = load_config(args.file, args.set)
    from automl.data.images import DataError
    from automl.pipeline import PipelineFailed, run_pipeline

    try:
        run_pipeline(config, out_dir=args.out)
    except (DataError, PipelineFailed, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def _validate(args) -> int:
    import yaml

    from automl.config.loader import load_config

    config = load_config(args.file, args.set)
    print(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), end="")
    print(f"# {args.file}: valid", file=sys.stderr)
    return 0


def _init(args) -> int:
    from automl.config.template import commented_pipeline

    print(commented_pipeline(args.task), end="")
    return 0


def _schema(args) -> int:
    from automl.config.schema import PipelineConfig

    print(json.dumps(PipelineConfig.model_json_schema(), indent=2))
    return 0


def _predict(args) -> int:
    from automl.data.images import DataError
    from automl.predict import Predictor, open_bundle

    try:
        export_dir, metadata, model_path = open_bundle(args.run_dir, args.quantization)
        if metadata.get("task") == "time_series_forecasting":
            return _forecast(export_dir, metadata, model_path, args)
        if metadata.get("task") == "image_segmentation":
            return _segment(export_dir, metadata, model_path, args)
        predictor = Predictor(args.run_dir, args.quantization)
    except (FileNotFoundError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for row in predictor.predict(args.inputs):
        print(json.dumps(row) if args.json else f"{row['label']}\t{row['confidence']:.3f}\t{row['input']}")
    return 0


def _forecast(export_dir, metadata, model_path, args) -> int:
    """Forecasts the steps after each history CSV given."""
    from automl.series.bundle import BundleForecaster

    forecaster = BundleForecaster(export_dir, metadata, model_path)
    for path in args.inputs:
        for row in forecaster.forecast_csv(path):
            print(json.dumps(row) if args.json else "\t".join(str(v) for v in row.values()))
    return 0


def _segment(export_dir, metadata, model_path, args) -> int:
    """Writes a class-index mask PNG per image, stitched from the model's tiles."""
    from pathlib import Path

    from automl.segmentation.bundle import BundleSegmenter

    segmenter = BundleSegmenter(export_dir, metadata, model_path)
    out_dir = Path(args.out_dir) if args.out_dir else Path(args.run_dir) / "predictions"
    for path in args.inputs:
        row = segmenter.segment_file(path, out_dir)
        print(json.dumps(row) if args.json else f"{row['mask']}\t{row['class_share']}\t{row['input']}")
    return 0


_COMMANDS = {"run": _run, "validate": _validate, "init": _init, "schema": _schema, "predict": _predict}

if __name__ == "__main__":
    sys.exit(main())
