"""The model card's "Using it in an app" section: which file to pick for each target, and the code
that runs it through MediaPipe Tasks on Android (Kotlin), iOS (Swift), the web (JavaScript) and
Python. The Python snippet is run by the tests as written; the others use the same calls of the
same API on each platform.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

#: Per MediaPipe task: its vision/text package and how each platform calls it. {model} is the file
#: the card picks; {show} the line that prints the answer.
SNIPPETS = {
    "TextClassifier": {
        "kotlin": '''import com.google.mediapipe.tasks.core.BaseOptions
import com.google.mediapipe.tasks.text.textclassifier.TextClassifier

val options = TextClassifier.TextClassifierOptions.builder()
    .setBaseOptions(BaseOptions.builder().setModelAssetPath("{model}").build())
    .setMaxResults(3)
    .build()
val classifier = TextClassifier.createFromOptions(context, options)
val result = classifier.classify(text)
val top = result.classificationResult().classifications()[0].categories()[0]
Log.i("automl", "${{top.categoryName()}} ${{top.score()}}")''',
        "swift": '''import MediaPipeTasksText

let options = TextClassifierOptions()
options.baseOptions.modelAssetPath = Bundle.main.path(forResource: "{stem}", ofType: "tflite")!
options.maxResults = 3
let classifier = try TextClassifier(options: options)
let result = try classifier.classify(text: text)
let top = result.classificationResult.classifications[0].categories[0]
print(top.categoryName ?? "", top.score)''',
        "javascript": '''import {{ FilesetResolver, TextClassifier }} from "@mediapipe/tasks-text";

const text = await FilesetResolver.forTextTasks(
  "https://cdn.jsdelivr.net/npm/@mediapipe/tasks-text/wasm");
const classifier = await TextClassifier.createFromOptions(text, {{
  baseOptions: {{ modelAssetPath: "{model}" }}, maxResults: 3 }});
const result = classifier.classify(document.getElementById("review").value);
const top = result.classifications[0].categories[0];
console.log(top.categoryName, top.score);''',
        "python": '''import sys

from mediapipe.tasks.python import BaseOptions, text

options = text.TextClassifierOptions(base_options=BaseOptions(model_asset_path="{model}"), max_results=3)
with text.TextClassifier.create_from_options(options) as classifier:
    result = classifier.classify(sys.argv[1] if len(sys.argv) > 1 else "the text to classify")
top = result.classifications[0].categories[0]
print(top.category_name, top.score)''',
    },
    "ImageClassifier": {
        "kotlin": '''import com.google.mediapipe.framework.image.BitmapImageBuilder
import com.google.mediapipe.tasks.core.BaseOptions
import com.google.mediapipe.tasks.vision.imageclassifier.ImageClassifier

val options = ImageClassifier.ImageClassifierOptions.builder()
    .setBaseOptions(BaseOptions.builder().setModelAssetPath("{model}").build())
    .setMaxResults(3)
    .build()
val classifier = ImageClassifier.createFromOptions(context, options)
val result = classifier.classify(BitmapImageBuilder(bitmap).build())
val top = result.classificationResult().classifications()[0].categories()[0]
Log.i("automl", "${{top.categoryName()}} ${{top.score()}}")''',
        "swift": '''import MediaPipeTasksVision

let options = ImageClassifierOptions()
options.baseOptions.modelAssetPath = Bundle.main.path(forResource: "{stem}", ofType: "tflite")!
options.maxResults = 3
let classifier = try ImageClassifier(options: options)
let result = try classifier.classify(image: try MPImage(uiImage: image))
let top = result.classificationResult.classifications[0].categories[0]
print(top.categoryName ?? "", top.score)''',
        "javascript": '''import {{ FilesetResolver, ImageClassifier }} from "@mediapipe/tasks-vision";

const vision = await FilesetResolver.forVisionTasks(
  "https://cdn.jsdelivr.net/npm/@mediapipe/tasks-vision/wasm");
const classifier = await ImageClassifier.createFromOptions(vision, {{
  baseOptions: {{ modelAssetPath: "{model}" }}, maxResults: 3 }});
const result = classifier.classify(document.getElementById("photo"));
const top = result.classifications[0].categories[0];
console.log(top.categoryName, top.score);''',
        "python": '''import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision
from PIL import Image

options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path="{model}"), max_results=3)
# RGB, as a camera frame is (a grey or RGBA file would reach the model with 1 or 4 channels).
photo = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.asarray(Image.open("photo.png").convert("RGB")))
with vision.ImageClassifier.create_from_options(options) as classifier:
    result = classifier.classify(photo)
top = result.classifications[0].categories[0]
print(top.category_name, top.score)''',
    },
    "ImageSegmenter": {
        "kotlin": '''import com.google.mediapipe.framework.image.BitmapImageBuilder
import com.google.mediapipe.tasks.core.BaseOptions
import com.google.mediapipe.tasks.vision.imagesegmenter.ImageSegmenter

val options = ImageSegmenter.ImageSegmenterOptions.builder()
    .setBaseOptions(BaseOptions.builder().setModelAssetPath("{model}").build())
    .setOutputCategoryMask(true)
    .build()
val segmenter = ImageSegmenter.createFromOptions(context, options)
val result = segmenter.segment(BitmapImageBuilder(tile).build())
val mask = result.categoryMask().get()  // one class index per pixel, labels.txt order''',
        "swift": '''import MediaPipeTasksVision

let options = ImageSegmenterOptions()
options.baseOptions.modelAssetPath = Bundle.main.path(forResource: "{stem}", ofType: "tflite")!
options.shouldOutputCategoryMask = true
let segmenter = try ImageSegmenter(options: options)
let result = try segmenter.segment(image: try MPImage(uiImage: tile))
let mask = result.categoryMask  // one class index per pixel, labels.txt order''',
        "javascript": '''import {{ FilesetResolver, ImageSegmenter }} from "@mediapipe/tasks-vision";

const vision = await FilesetResolver.forVisionTasks(
  "https://cdn.jsdelivr.net/npm/@mediapipe/tasks-vision/wasm");
const segmenter = await ImageSegmenter.createFromOptions(vision, {{
  baseOptions: {{ modelAssetPath: "{model}" }}, outputCategoryMask: true }});
const result = segmenter.segment(document.getElementById("tile"));
const mask = result.categoryMask.getAsUint8Array();  // one class index per pixel, labels.txt order
const pixels = {{}};
mask.forEach((index) => {{ pixels[index] = (pixels[index] || 0) + 1; }});
console.log(JSON.stringify(pixels));  // pixels per class index''',
        "python": '''import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision
from PIL import Image

options = vision.ImageSegmenterOptions(base_options=BaseOptions(model_asset_path="{model}"),
                                       output_category_mask=True)
# RGB, as a camera frame is (a grey or RGBA file would reach the model with 1 or 4 channels).
tile = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.asarray(Image.open("tile.png").convert("RGB")))
with vision.ImageSegmenter.create_from_options(options) as segmenter:
    result = segmenter.segment(tile)
mask = result.category_mask.numpy_view()  # one class index per pixel, labels.txt order
print(mask.shape, mask.max())''',
    },
}

#: Each platform's heading; {kind} is the task's family of MediaPipe packages ("vision", "text").
LANGUAGES = (("kotlin", "Android (Kotlin, `com.google.mediapipe:tasks-{kind}`)"),
             ("swift", "iOS (Swift, the `MediaPipeTasks{Kind}` pod)"),
             ("javascript", "Web (JavaScript, `@mediapipe/tasks-{kind}`)"),
             ("python", "Python (`pip install mediapipe`)"))


def pick_file(rows: list[dict]) -> Optional[dict]:
    """The file an app should ship: the smallest one MediaPipe ran (it passed verification too)."""
    ran = [row for row in rows if row.get("format") == "tflite" and not row.get("rejected")
           and "vs_keras" in (row.get("mediapipe") or {})]
    return min(ran, key=lambda row: row["bytes"]) if ran else None


def app_section(mediapipe_task: Optional[str], rows: list[dict], input_note: str) -> list[str]:
    """Markdown lines of the card's app section; [] when MediaPipe has no task for this model or ran
    none of its files (the files table says why)."""
    picked = pick_file(rows)
    if mediapipe_task not in SNIPPETS or picked is None:
        return []
    name = Path(picked["path"]).name
    lines = ["## Using it in an app (MediaPipe Tasks)", "",
             f"Ship `{name}` ({picked['bytes']:,} bytes, {picked['gzip_bytes']:,} gzipped; "
             f"{picked.get('latency_ms', '?')} ms per example on LiteRT on the machine that made it, an x86 "
             f"CPU, not a phone): the smallest file MediaPipe's {mediapipe_task} ran here, with "
             f"{_agreement(picked)} against the Keras model on the test split. It carries its labels and "
             f"input description (TFLite Metadata), so nothing else from this folder is needed. "
             f"{input_note}", ""]
    kind = "text" if mediapipe_task.startswith("Text") else "vision"
    for language, title in LANGUAGES:
        code = SNIPPETS[mediapipe_task][language].format(model=name, stem=Path(name).stem)
        lines += [f"### {title.format(kind=kind, Kind=kind.capitalize())}", "", f"```{language}", code, "```", ""]
    return lines


def _agreement(row: dict) -> str:
    from automl.report.html import closeness_text

    return closeness_text(row["mediapipe"]["vs_keras"])


def litert_section(model_path: Path) -> list[str]:
    """Markdown lines: running `model_path` on LiteRT from Python through its serving signature, by
    the input and output names the file itself has (zeros stand for the inputs; int8 files'
    integer inputs and outputs are (de)quantized with their own scale and zero point)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_path))
    (key, names), = interpreter.get_signature_list().items()
    runner = interpreter.get_signature_runner(key)
    details = runner.get_input_details()
    inputs = [f'    "{name}": np.zeros({_shape(details[name])}, np.{np.dtype(details[name]["dtype"]).name}),'
              for name in names["inputs"]]
    first_output = names["outputs"][0]
    return ["## Running it on LiteRT from Python", "",
            "Each file has one serving signature; its inputs and outputs by name:", "",
            "```python",
            "import numpy as np",
            "from ai_edge_litert.interpreter import Interpreter",
            "",
            f'interpreter = Interpreter(model_path="{model_path.name}")',
            f'run = interpreter.get_signature_runner("{key}")',
            "inputs = {  # one example each, prepared as 'Input and output' says (zeros here)",
            *inputs,
            "}",
            "for name, detail in run.get_input_details().items():  # int8 files: quantize integer inputs",
            "    scale, zero = detail['quantization']",
            "    if scale:",
            "        inputs[name] = np.round(inputs[name] / scale + zero).astype(detail['dtype'])",
            "outputs = run(**inputs)",
            "for name, detail in run.get_output_details().items():  # and dequantize integer outputs",
            "    scale, zero = detail['quantization']",
            "    if scale:",
            "        outputs[name] = (outputs[name].astype(np.float32) - zero) * scale",
            f'print({{name: value.shape for name, value in outputs.items()}}, outputs["{first_output}"].ravel()[:5])',
            "```", ""]


def _shape(detail) -> tuple:
    """One example's shape: the batch dimension 1 however the file declares it."""
    return (1, *(int(d) for d in detail["shape"][1:]))
