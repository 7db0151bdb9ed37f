"""The `automl` command. Imports stay light so `automl --help` answers fast."""

from __future__ import annotations

import argparse
import errno
import json
import shlex
import sys
import traceback

EXAMPLES = """tasks: {tasks}

examples:
  automl init --task {first_task} > my.yaml
  automl validate my.yaml
  automl run pipelines/quickstart.yaml --out runs/quick
  automl run pipelines/fashion_mnist.yaml --set search.families=[small_cnn] --set search.max_trials=3
  automl predict runs/rotten_tomatoes "a warm, funny and moving film"
  automl predict runs/nuclei cells.tif --out-dir masks/
  automl predict runs/fashion_mnist_gan --samples 64 --out grid.png
  automl predict model_int8.tflite photo.jpg    (a file alone, read through its TFLite Metadata)
"""


def _examples() -> str:
    from automl.tasks import task_names

    return EXAMPLES.format(tasks=", ".join(task_names()), first_task=task_names()[0])


def _parser() -> argparse.ArgumentParser:
    # Given to every command, so `automl run x.yaml --debug` and `automl --debug run x.yaml` both work.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="print the Python traceback of an error")
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show TensorFlow's own log lines and library warnings")
    parser = argparse.ArgumentParser(
        prog="automl", description="Low-code AutoML on Keras 3, ending in verified TFLite models.",
        epilog=_examples(), formatter_class=argparse.RawDescriptionHelpFormatter, parents=[common])
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run a pipeline YAML file", parents=[common])
    run.add_argument("file")
    run.add_argument("--out", help="run directory (default: the file's `output`)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config value, read as YAML (repeatable)")
    run.add_argument("--chief", action="store_true",
                     help="serve the search to workers (trains no trial), then fine-tune, export and report")
    run.add_argument("--listen", metavar="HOST:PORT", help="where the chief listens (default 127.0.0.1:8470)")
    run.add_argument("--worker", action="store_true",
                     help="train the trials a chief hands out (same file and run directory), then stop")
    run.add_argument("--chief-address", metavar="HOST:PORT", help="the chief a worker works for")
    run.add_argument("--worker-id", help="this worker's id (default worker-<host>-<pid>)")
    run.add_argument("--ray", nargs="?", const="auto", metavar="ADDRESS",
                     help="run the search's trials on a Ray cluster (search.engine: ray): the one at ADDRESS "
                          "(HOST:PORT, ray://HOST:10001), or auto: the running one, else a local one")
    validate = sub.add_parser("validate", help="check a pipeline file and its data (read as the run reads it, "
                                               "without training or TensorFlow); print the resolved config",
                              parents=[common])
    validate.add_argument("file")
    validate.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    validate.add_argument("--no-data", action="store_true", help="check the file only, not its data")
    init = sub.add_parser("init", help="print a commented pipeline file for a task", parents=[common])
    init.add_argument("--task", required=True)
    init.add_argument("--full", action="store_true", help="every key with its description and default, not only "
                                                          "what you fill in")
    schema = sub.add_parser("schema", help="print the JSON Schema of pipeline files (for editors)", parents=[common])
    schema.add_argument("--task", help="only this task's keys (default: every task's, told apart by `task`)")
    schema.add_argument("--markdown", action="store_true", help="every task's keys as the Markdown reference page "
                                                                "(docs/configuration-reference.md)")
    predict = sub.add_parser("predict", help="run a finished run's exported .tflite on LiteRT over new inputs "
                                              "(labels, masks or forecasts, as the run's task gives)", parents=[common],
                             epilog="The run's task may take options of its own (image generation: --samples N "
                                    "--seed S --out grid.png); an unknown one is an error that lists them.",
                             # A task's --out must not be read as an abbreviation of --out-dir.
                             allow_abbrev=False)
    predict.add_argument("run_dir", help="a finished run, its export folder or export.zip, or an image or BERT text "
                                         "model's .tflite alone (its TFLite Metadata says how to run it)")
    predict.add_argument("inputs", nargs="*", help="what the run's task reads: texts, image paths or folders of "
                                                    "images, or history CSVs "
                                                    "(the bundle's metadata.json says which); for a generator, "
                                                    "optional class names its samples ask for")
    predict.add_argument("--quantization", choices=["float32", "float16", "dynamic", "int8", "int4"],
                         help="the file of this quantization (default: the smallest in the bundle)")
    predict.add_argument("--model", metavar="FILE", help="a .tflite file of the bundle by name "
                                                           "(e.g. model_float32.tflite)")
    predict.add_argument("--json", action="store_true", help="print JSON lines")
    predict.add_argument("--out-dir", help="where a task that writes files (masks) puts them "
                                           "(default RUN_DIR/predictions)")
    export = sub.add_parser("export", help="write a new verified bundle from a finished run (beside its export/), "
                                            "without searching or training again; compression fine-tunes "
                                            "the trained model further", parents=[common])
    export.add_argument("run_dir")
    export.add_argument("--quantization", action="append", choices=["float32", "float16", "dynamic", "int8", "int4"],
                        help="a post-training quantization to export (repeatable; default: the run's)")
    export.add_argument("--compression", action="append",
                        choices=["none", "prune", "cluster", "qat", "prune_qat", "cluster_qat"],
                        help="tfmot compression of the trained model into one more int8 file (repeatable: "
                             "one file each)")
    export.add_argument("--sparsity", type=float, help="pruning: share of weights set to zero (default 0.8)")
    export.add_argument("--layer-sparsity", choices=["uniform", "by_size"],
                        help="pruning: more of bigger layers, or the same share of each (default by_size)")
    export.add_argument("--clusters", type=int, help="clustering: distinct values per kernel (default 16)")
    export.add_argument("--out", help="the new bundle's folder: new or empty, or an earlier export of this run, which is replaced (default RUN_DIR/export-2, -3, ...)")
    diff = sub.add_parser("diff", help="compare two bundles of one run on its test split (metrics, agreement, "
                                        "size, gzip size, latency)", parents=[common])
    diff.add_argument("first", help="an export folder, e.g. RUN_DIR/export")
    diff.add_argument("second", help="another export folder of the same run, e.g. RUN_DIR/export-2")
    diff.add_argument("--json", action="store_true", help="print JSON lines")
    diff.add_argument("--other-run", action="store_true",
                      help="compare bundles of two different runs anyway, on the first run's test split")
    return parser


def main(argv=None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    args.command_line = "automl " + shlex.join(sys.argv[1:] if argv is None else list(argv))
    # `predict` hands what it does not know to the run's task (its own options, inputs after them).
    if getattr(args, "command", None) == "predict":
        args.extra = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.version:
        from automl import __version__

        print(__version__)
        return 0
    if args.command is None:
        _parser().print_help()
        return 0
    debug, verbose = getattr(args, "debug", False), getattr(args, "verbose", False)
    if verbose:
        return _guarded(args, debug)
    from automl.quiet import filtered_stderr, quiet_python_logging

    quiet_python_logging()
    with filtered_stderr():
        return _guarded(args, debug)


def _guarded(args, debug: bool) -> int:
    """Runs a command; an error is one line on stderr (with its traceback under --debug)."""
    from automl.errors import AutomlError
    from automl.progress import catch_interrupts

    catch_interrupts()
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt as err:
        from automl.progress import Terminated, interruption_name

        print(f"\ninterrupted ({interruption_name(err)})", file=sys.stderr)
        return 143 if isinstance(err, Terminated) else 130
    except AutomlError as err:
        if debug:
            traceback.print_exc()
            if getattr(err, "detail", None):
                print(err.detail, file=sys.stderr)
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except Exception as err:  # noqa: BLE001 - a bug or an unforeseen input: one line, details under --debug
        if debug:
            traceback.print_exc()
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            print(f"error: {err.filename or 'the run directory'}: no space left on its disk; free some space, "
                  f"or give the run another folder (--out)", file=sys.stderr)
            return 1
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        print(f"error: {type(err).__name__}: {first} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1


def _run(args) -> int:
    from pathlib import Path

    from automl.config.loader import load_config
    from automl.errors import ConfigError

    config = load_config(args.file, args.set)
    out = Path(args.out) if args.out else Path(config.output_dir())
    if out.exists() and not out.is_dir():
        key = "--out" if args.out else "output"
        raise ConfigError(f"{key}: {out} is a file; expected a run directory (new, or an earlier run's)")
    if args.chief and args.worker:
        raise ConfigError("--chief and --worker: a process is one or the other")
    if (args.listen and not args.chief) or ((args.chief_address or args.worker_id) and not args.worker):
        raise ConfigError("--listen goes with --chief; --chief-address and --worker-id go with --worker")
    if args.ray and (args.chief or args.worker):
        raise ConfigError("--ray and --chief/--worker: Ray runs the trials where --chief and --worker would; "
                          "choose one")
    if args.ray:
        config.search.engine = "ray"
        if args.ray != "auto":
            config.search.ray.address = args.ray
    from automl import distributed

    if args.worker:
        distributed.work_for_chief(args.chief_address, args.worker_id)
        from automl.pipeline import run_worker

        run_worker(config, out_dir=out)
        return 0
    if args.chief:
        distributed.serve_as_chief(args.listen)
    from automl.pipeline import run_pipeline

    run_pipeline(config, out_dir=out, command=args.command_line)
    return 0


def _validate(args) -> int:
    import yaml

    from automl.config.loader import load_config

    config = load_config(args.file, args.set)
    data_line = None if args.no_data else _data_line(config)
    print(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), end="")
    if data_line:
        print(f"# data: {data_line}", file=sys.stderr)
    print(f"# {args.file}: valid", file=sys.stderr)
    return 0


def _data_line(config) -> str:
    """The data read and profiled as a run's data stage does (columns, rows, labels, image sizes,
    horizon against the series): what can only fail is refused here, in a second, not by `run`."""
    from automl.tasks import get_task

    task = get_task(config.task)
    if config.data.path == ".":  # in-memory data comes with automl.fit only
        return ""
    return task.report_view.describe_profile(task.profile(task.load_data(config)))


def _init(args) -> int:
    from automl.config.template import commented_pipeline, short_pipeline

    print((commented_pipeline if args.full else short_pipeline)(args.task), end="")
    return 0


def _schema(args) -> int:
    from automl.config.schema import pipeline_file_schema

    from automl.tasks import require_task

    if args.markdown:
        from automl.config.reference import reference_markdown

        print(reference_markdown(), end="")
        return 0

    if args.task is not None:
        require_task(args.task, "schema --task")
    print(json.dumps(pipeline_file_schema(args.task), indent=2))
    return 0


def _predict(args) -> int:
    """Runs the bundle on each input; a bad input is an error line, and the others go on."""
    from pathlib import Path

    from automl.predict import expand_folders, open_bundle
    from automl.tasks import get_task

    if args.run_dir.endswith(".tflite"):  # a file alone: its TFLite Metadata says how to run it
        from automl.lone_model import LoneModel

        lone = LoneModel(args.run_dir)
        inputs, options = _own_options(args, lone, f"Options of the file {args.run_dir}.")
        out_dir = Path(args.out_dir) if args.out_dir else Path(args.run_dir).parent / "predictions"
        return _print_rows(lone.rows(inputs, out_dir, options), args.json, lone.show)
    export_dir, metadata, model_path = open_bundle(args.run_dir, args.quantization, args.model)
    reader = get_task(metadata["task"]).bundle_reader
    inputs, options = _own_options(args, reader, f"Options of the {metadata['task']} bundle in {export_dir}.")
    if len(metadata.get("input", {}).get("shape") or []) == 4:  # images: a folder stands for the images in it
        inputs = expand_folders(inputs)
    run_dir = Path(args.run_dir)
    options["out_dir"] = Path(args.out_dir) if args.out_dir else (
        run_dir.parent / "predictions" if run_dir.suffix == ".zip" else run_dir / "predictions")
    _say_which_model(model_path, metadata, args.run_dir)
    rows = reader.rows(export_dir, metadata, model_path, inputs, options)
    header = None if args.json else reader.header(options)
    if header:
        print(header)
    return _print_rows(rows, args.json, reader.show)


def _say_which_model(model_path, metadata: dict, source: str) -> None:
    """The file that answers (a progress line, off stdout), and when its scores are 8-bit, their step."""
    from automl.progress import say
    from automl.readable import size

    step = ((metadata.get("int8_io") or {}).get("output") or {}).get("scale")
    coarse = ("int8" in model_path.name and step and (metadata.get("int8_io") or {}).get("output", {}).get("dtype")
              in ("uint8", "int8"))
    note = (f"; its scores come in steps of {step:.4g} (8-bit output): --model model_float32.tflite gives finer ones"
            if coarse else "")
    say("predict", f"{model_path.name} ({size(model_path.stat().st_size)}) of {source}{note}")


def _own_options(args, reader, description: str) -> tuple[list, dict]:
    """The inputs and the options of what runs them (a detector's --min-score), from what the
    common `predict` parser did not know."""
    own = argparse.ArgumentParser(prog=f"automl predict {args.run_dir}", description=description)
    own.add_argument("more_inputs", nargs="*", help=argparse.SUPPRESS)
    reader.arguments(own)
    options = vars(own.parse_args(args.extra))
    return [*args.inputs, *options.pop("more_inputs")], options


def _print_rows(rows: list[dict], as_json: bool, show) -> int:
    """Prints results on stdout and failures on stderr; 1 if any input failed."""
    failed = 0
    for row in rows:
        if "error" in row:
            failed += 1
            print(f"error: {row['input']}: {row['error']}", file=sys.stderr)
            if as_json:
                print(json.dumps(row))
            continue
        print(json.dumps(row) if as_json else show(row))
    return 1 if failed else 0


def _export(args) -> int:
    from automl.reexport import reexport

    reexport(args.run_dir, quantizations=args.quantization, compression=args.compression,
             sparsity=args.sparsity, layer_sparsity=args.layer_sparsity, clusters=args.clusters, out=args.out)
    return 0


def _diff(args) -> int:
    from automl.reexport import diff_bundles

    rows = diff_bundles(args.first, args.second, other_run=args.other_run)
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    columns = list(dict.fromkeys(key for row in rows for key in row))
    print("  ".join(columns))
    for row in rows:
        print("  ".join(f"{row[c]:.4f}" if isinstance(row.get(c), float) else str(row.get(c, "")) for c in columns))
    return 0


_COMMANDS = {"run": _run, "validate": _validate, "init": _init, "schema": _schema, "predict": _predict,
             "export": _export, "diff": _diff}

if __name__ == "__main__":
    sys.exit(main())
