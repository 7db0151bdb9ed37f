"""Putting TFLite Metadata and its files inside a .tflite file, and reading them back.

The metadata flatbuffer goes into one of the model's buffers, named by a `TFLITE_METADATA`
entry of the model's metadata list; the files it names (labels, vocabularies) go into a zip
archive appended to the model, which interpreters ignore and task libraries (MediaPipe, LiteRT
Support) open. This is the layout LiteRT's own metadata tools write.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np

from automl.app_metadata.schema import decode_metadata, encode_metadata

METADATA_NAME = "TFLITE_METADATA"
#: Zip entries carry a date; the earliest a zip can hold keeps exports byte-for-byte repeatable.
FIXED_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def with_metadata(content: bytes, metadata: dict, files: dict[str, bytes]) -> bytes:
    """`content` (a .tflite file without appended files) carrying `metadata` and `files`
    (name -> bytes), replacing any it carried."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(encode_metadata(in_file_order(model, metadata)), np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_NAME, len(model.buffers) - 1
    kept = [m for m in (model.metadata or []) if _name(m) != METADATA_NAME]
    model.metadata = kept + [entry]
    packed = io.BytesIO(bytes(flatbuffer_utils.convert_object_to_bytearray(model)))
    if files:
        # Stored, not deflated: apps map the files straight out of the model.
        with zipfile.ZipFile(packed, "a", compression=zipfile.ZIP_STORED) as archive:
            for name, data in files.items():
                # A fixed date: the same model and files make the same bytes, whenever exported.
                entry = zipfile.ZipInfo(name, date_time=FIXED_ZIP_DATE)
                archive.writestr(entry, data, compress_type=zipfile.ZIP_STORED)
    return packed.getvalue()


def in_file_order(model, metadata: dict) -> dict:
    """`metadata` with its input (and output) tensor metadata in the order of the file's inputs (and
    outputs), for a model with several: an entry's "model_input" ("model_output"), dropped here,
    names the signature input (output) it describes, as the converter may order them otherwise
    than the model lists them."""
    subgraph = dict(metadata["subgraph_metadata"][0])
    signature = model.signatureDefs[0] if model.signatureDefs else None
    for side, key in (("input", "model_input"), ("output", "model_output")):
        entries = subgraph.get(f"{side}_tensor_metadata") or []
        if not any(key in entry for entry in entries):
            continue
        index_of = {_name(tensor): tensor.tensorIndex for tensor in getattr(signature, f"{side}s")}
        tensors = getattr(model.subgraphs[signature.subgraphIndex], f"{side}s")
        position = {index: i for i, index in enumerate(tensors)}
        missing = [entry[key] for entry in entries if entry[key] not in index_of]
        if missing:
            raise ValueError(f"metadata describes {side}s {missing} the model does not have; it has {sorted(index_of)}")
        ordered = sorted(entries, key=lambda entry: position[index_of[entry[key]]])
        subgraph[f"{side}_tensor_metadata"] = [{k: v for k, v in entry.items() if k != key} for entry in ordered]
    return {**metadata, "subgraph_metadata": [subgraph, *metadata["subgraph_metadata"][1:]]}


def read_metadata(content: bytes) -> tuple[dict | None, dict[str, bytes]]:
    """(the metadata dict, or None when the file has none; the packed files by name)."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    metadata = None
    for entry in model.metadata or []:
        if _name(entry) == METADATA_NAME:
            metadata = decode_metadata(bytes(np.asarray(model.buffers[entry.buffer].data, np.uint8)))
    files = {}
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
    except zipfile.BadZipFile:
        pass
    return metadata, files


def _name(entry) -> str:
    name = entry.name
    return name.decode("utf-8") if isinstance(name, bytes) else name
