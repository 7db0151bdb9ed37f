"""What apps run of a text classifier: the model as trained, with the metadata MediaPipe's
TextClassifier reads (BERT models: the three inputs by name and the WordPiece vocabulary)."""

from __future__ import annotations

from automl.inference import Inference

#: Why a word-vocabulary model (bilstm, bag_of_ngrams) does not run in MediaPipe's TextClassifier.
WORD_MODELS_IN_MEDIAPIPE = (
    "its words come from automl's word tokenizer (lowercased, punctuation kept as words), which "
    "MediaPipe's regex tokenizer cannot reproduce (it neither lowercases nor keeps what it splits "
    "on); the bert family's files carry their WordPiece tokenizer and run in MediaPipe")


class TextClassifierFiles(Inference):
    """The trained model; BERT files carry their tokenizer, every file its labels."""

    output_name = "probabilities"

    def tflite_metadata(self, data, hp, config):
        from automl.app_metadata.describe import bert_text_classifier, word_text_classifier

        tokenizer = self.task.final_tokenizer(data, hp)
        name = config.run_name()
        description = f"Text classifier trained by automl on {config.data.path}"
        labels = list(data.class_names)
        if tokenizer.kind == "wordpiece":
            return bert_text_classifier(name, description, labels, tokenizer.vocabulary, tokenizer.sequence_length)
        return word_text_classifier(name, f"{description}; tokenizer: tokenizer.json in its bundle", labels,
                                    tokenizer.sequence_length)
