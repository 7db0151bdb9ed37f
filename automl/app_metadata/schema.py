"""TFLite Metadata (the `M001` flatbuffer that LiteRT's and MediaPipe's task libraries read) as
plain dicts, written and read back without any package beyond `flatbuffers`.

The layouts below follow the published schema (`metadata_schema.fbs`, root `ModelMetadata`):
each table lists its fields in declaration order, which is their slot order; a union takes two
slots (its member's index, then the member). A dict holds a table's fields by name; a union's
value is `{member table name: fields}`; enum fields take and give their names.
MediaPipe ships the same schema's generated reader, which the tests use to check our files.
"""

from __future__ import annotations

from dataclasses import dataclass

import flatbuffers
from flatbuffers import encode, number_types
from flatbuffers.table import Table

FILE_IDENTIFIER = b"M001"

STRING, BYTE, UBYTE, UINT32, INT32, FLOAT = "string", "byte", "ubyte", "uint32", "int32", "float"


@dataclass(frozen=True)
class Enum:
    names: tuple[str, ...]  # by value: names[0] is 0


@dataclass(frozen=True)
class Union:
    members: tuple[str, ...]  # by index: members[0] is 1 (0 is NONE)


ASSOCIATED_FILE_TYPE = Enum(("UNKNOWN", "DESCRIPTIONS", "TENSOR_AXIS_LABELS", "TENSOR_VALUE_LABELS",
                             "TENSOR_AXIS_SCORE_CALIBRATION", "VOCABULARY", "SCANN_INDEX_FILE"))
COLOR_SPACE = Enum(("UNKNOWN", "RGB", "GRAYSCALE"))
BOUNDING_BOX_TYPE = Enum(("UNKNOWN", "BOUNDARIES", "UPPER_LEFT", "CENTER"))
COORDINATE_TYPE = Enum(("RATIO", "PIXEL"))
SCORE_TRANSFORMATION = Enum(("IDENTITY", "LOG", "INVERSE_LOGISTIC"))

TABLES: dict[str, list[tuple[str, object]]] = {
    "AssociatedFile": [("name", STRING), ("description", STRING), ("type", ASSOCIATED_FILE_TYPE),
                       ("locale", STRING), ("version", STRING)],
    "FeatureProperties": [],
    "ImageSize": [("width", UINT32), ("height", UINT32)],
    "ImageProperties": [("color_space", COLOR_SPACE), ("default_size", "ImageSize")],
    "BoundingBoxProperties": [("index", [UINT32]), ("type", BOUNDING_BOX_TYPE), ("coordinate_type", COORDINATE_TYPE)],
    "AudioProperties": [("sample_rate", UINT32), ("channels", UINT32)],
    "ValueRange": [("min", INT32), ("max", INT32)],
    "Content": [("content_properties", Union(("FeatureProperties", "ImageProperties", "BoundingBoxProperties",
                                               "AudioProperties"))),
                ("range", "ValueRange")],
    "NormalizationOptions": [("mean", [FLOAT]), ("std", [FLOAT])],
    "ScoreCalibrationOptions": [("score_transformation", SCORE_TRANSFORMATION), ("default_score", FLOAT)],
    "ScoreThresholdingOptions": [("global_score_threshold", FLOAT)],
    "BertTokenizerOptions": [("vocab_file", ["AssociatedFile"])],
    "SentencePieceTokenizerOptions": [("sentencePiece_model", ["AssociatedFile"]), ("vocab_file", ["AssociatedFile"])],
    "RegexTokenizerOptions": [("delim_regex_pattern", STRING), ("vocab_file", ["AssociatedFile"])],
    "ProcessUnit": [("options", Union(("NormalizationOptions", "ScoreCalibrationOptions", "ScoreThresholdingOptions",
                                       "BertTokenizerOptions", "SentencePieceTokenizerOptions",
                                       "RegexTokenizerOptions")))],
    "Stats": [("max", [FLOAT]), ("min", [FLOAT])],
    "TensorGroup": [("name", STRING), ("tensor_names", [STRING])],
    "TensorMetadata": [("name", STRING), ("description", STRING), ("dimension_names", [STRING]),
                       ("content", "Content"), ("process_units", ["ProcessUnit"]), ("stats", "Stats"),
                       ("associated_files", ["AssociatedFile"])],
    "CustomMetadata": [("name", STRING), ("data", [UBYTE])],
    "SubGraphMetadata": [("name", STRING), ("description", STRING), ("input_tensor_metadata", ["TensorMetadata"]),
                         ("output_tensor_metadata", ["TensorMetadata"]), ("associated_files", ["AssociatedFile"]),
                         ("input_process_units", ["ProcessUnit"]), ("output_process_units", ["ProcessUnit"]),
                         ("input_tensor_groups", ["TensorGroup"]), ("output_tensor_groups", ["TensorGroup"]),
                         ("custom_metadata", ["CustomMetadata"])],
    "ModelMetadata": [("name", STRING), ("description", STRING), ("version", STRING),
                      ("subgraph_metadata", ["SubGraphMetadata"]), ("author", STRING), ("license", STRING),
                      ("associated_files", ["AssociatedFile"]), ("min_parser_version", STRING)],
}

_SCALARS = {  # kind -> (flatbuffers number type, Builder slot method, Builder prepend method)
    BYTE: (number_types.Int8Flags, "PrependInt8Slot", "PrependInt8"),
    UBYTE: (number_types.Uint8Flags, "PrependUint8Slot", "PrependUint8"),
    UINT32: (number_types.Uint32Flags, "PrependUint32Slot", "PrependUint32"),
    INT32: (number_types.Int32Flags, "PrependInt32Slot", "PrependInt32"),
    FLOAT: (number_types.Float32Flags, "PrependFloat32Slot", "PrependFloat32"),
}


def encode_metadata(metadata: dict) -> bytes:
    """The `M001` flatbuffer of a ModelMetadata dict."""
    builder = flatbuffers.Builder(1024)
    builder.Finish(_build(builder, "ModelMetadata", metadata), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def decode_metadata(content: bytes) -> dict:
    """The ModelMetadata dict of an `M001` flatbuffer (fields absent from the file left out)."""
    if content[4:8] != FILE_IDENTIFIER:
        raise ValueError(f"not TFLite metadata: file identifier {bytes(content[4:8])!r}, expected {FILE_IDENTIFIER!r}")
    buf = bytearray(content)
    return _read(buf, encode.Get(number_types.UOffsetTFlags.packer_type, buf, 0), "ModelMetadata")


def _slots(fields) -> int:
    return sum(2 if isinstance(kind, Union) else 1 for _, kind in fields)


def _build(builder, table: str, value: dict) -> int:
    fields = TABLES[table]
    unknown = set(value) - {name for name, _ in fields}
    if unknown:
        raise KeyError(f"{table} has no field {sorted(unknown)}; its fields: {[name for name, _ in fields]}")
    # Strings, vectors and tables are written before the table that points at them.
    offsets = {}
    for name, kind in fields:
        if value.get(name) is None:
            continue
        if kind == STRING:
            offsets[name] = builder.CreateString(value[name])
        elif isinstance(kind, list):
            offsets[name] = _vector(builder, kind[0], value[name])
        elif isinstance(kind, Union):
            (member, fields_of_member), = value[name].items()
            offsets[name] = _build(builder, member, fields_of_member)
        elif kind in TABLES:
            offsets[name] = _build(builder, kind, value[name])
    builder.StartObject(_slots(fields))
    slot = 0
    for name, kind in fields:
        given = value.get(name)
        if isinstance(kind, Union):
            if given is not None:
                builder.PrependUint8Slot(slot, kind.members.index(next(iter(given))) + 1, 0)
                builder.PrependUOffsetTRelativeSlot(slot + 1, offsets[name], 0)
            slot += 2
            continue
        if name in offsets:
            builder.PrependUOffsetTRelativeSlot(slot, offsets[name], 0)
        elif given is not None:
            number = kind.names.index(given) if isinstance(kind, Enum) else given
            method = _SCALARS[BYTE if isinstance(kind, Enum) else kind][1]
            getattr(builder, method)(slot, number, 0)
        slot += 1
    return builder.EndObject()


def _vector(builder, kind, items) -> int:
    if kind == UBYTE:  # custom metadata: a nested flatbuffer, aligned as the schema asks (16)
        data = bytes(items)
        builder.StartVector(1, len(data), 16)
        builder.head = builder.head - len(data)
        builder.Bytes[builder.head:builder.head + len(data)] = data
        return builder.EndVector()
    if kind == STRING or kind in TABLES:
        children = [builder.CreateString(item) if kind == STRING else _build(builder, kind, item) for item in items]
        builder.StartVector(4, len(children), 4)
        for child in reversed(children):
            builder.PrependUOffsetTRelative(child)
        return builder.EndVector()
    flags, _, prepend = _SCALARS[kind]
    builder.StartVector(flags.bytewidth, len(items), flags.bytewidth)
    for item in reversed(list(items)):
        getattr(builder, prepend)(item)
    return builder.EndVector()


def _read(buf: bytearray, position: int, table: str) -> dict:
    reader = Table(buf, position)
    out, slot = {}, 0
    for name, kind in TABLES[table]:
        if isinstance(kind, Union):
            kind_at, value_at = reader.Offset(4 + 2 * slot), reader.Offset(6 + 2 * slot)
            index = reader.Get(number_types.Uint8Flags, reader.Pos + kind_at) if kind_at else 0
            if index and value_at:
                member = kind.members[index - 1]
                out[name] = {member: _read(buf, reader.Indirect(reader.Pos + value_at), member)}
            slot += 2
            continue
        at = reader.Offset(4 + 2 * slot)
        slot += 1
        if not at:
            continue
        if kind == STRING:
            out[name] = reader.String(reader.Pos + at).decode("utf-8")
        elif isinstance(kind, list):
            out[name] = _read_vector(buf, reader, at, kind[0])
        elif isinstance(kind, Enum):
            number = reader.Get(number_types.Int8Flags, reader.Pos + at)
            out[name] = kind.names[number] if 0 <= number < len(kind.names) else number
        elif kind in TABLES:
            out[name] = _read(buf, reader.Indirect(reader.Pos + at), kind)
        else:
            out[name] = reader.Get(_SCALARS[kind][0], reader.Pos + at)
    return out


def _read_vector(buf: bytearray, reader: Table, at: int, kind):
    count, start = reader.VectorLen(at), reader.Vector(at)
    if kind == UBYTE:
        return bytes(buf[start:start + count])
    if kind == STRING:
        return [reader.String(start + 4 * i).decode("utf-8") for i in range(count)]
    if kind in TABLES:
        return [_read(buf, reader.Indirect(start + 4 * i), kind) for i in range(count)]
    flags = _SCALARS[kind][0]
    return [reader.Get(flags, start + flags.bytewidth * i) for i in range(count)]
