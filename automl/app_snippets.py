"""The model card's "Using it in an app" section: which file to pick for each target, and the code
that runs it through MediaPipe Tasks on Android (Kotlin), iOS (Swift), the web (JavaScript) and
Python. The Python snippet is run by the tests as written; the others use the same calls of the
same API on each platform.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

#: Per MediaPipe task: its vision/text package and how each platform calls it. {model} is the file
#: the card picks; {show} the line that prints the answer.
SNIPPETS = {
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
const mask = result.categoryMask.getAsUint8Array();  // one class index per pixel''',
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

LANGUAGES = (("kotlin", "Android (Kotlin, `com.google.mediapipe:tasks-vision`)"),
             ("swift", "iOS (Swift, the `MediaPipeTasksVision` pod)"),
             ("javascript", "Web (JavaScript, `@mediapipe/tasks-vision`)"),
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
    for language, title in LANGUAGES:
        code = SNIPPETS[mediapipe_task][language].format(model=name, stem=Path(name).stem)
        lines += [f"### {title}", "", f"```{language}", code, "```", ""]
    return lines


def _agreement(row: dict) -> str:
    from automl.report.html import closeness_text

    return closeness_text(row["mediapipe"]["vs_keras"])
