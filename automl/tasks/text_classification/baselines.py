"""An honest text baseline: TF-IDF of words and word pairs + logistic regression (scikit-learn).

It reads whole documents, trains in seconds, and is often hard to beat on long
texts; the report shows it beside the model and warns when it wins. Its
regularization is chosen on the validation split, as the search chooses the
model's hyperparameters; the test split is scored once.
"""

from __future__ import annotations

import numpy as np

from automl.tasks.classification import classification_metrics

NAME = "tfidf_logistic_regression"
#: Inverse regularization strengths tried on the validation split.
C_VALUES = (1.0, 4.0, 16.0)


def tfidf_baseline(data) -> dict:
    """{"test": {NAME: metrics}, "validation": {NAME: val accuracy}, "notes": {NAME: text}}."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from automl.tasks.text_classification.tokenizers import WordTokenizer

    train, val, test = data.part("train"), data.part("val"), data.part("test")
    vectorizer = TfidfVectorizer(tokenizer=WordTokenizer.words, lowercase=False, token_pattern=None,
                                 ngram_range=(1, 2), min_df=2, max_features=200_000, sublinear_tf=True)
    x_train = vectorizer.fit_transform(train.texts)
    x_val, x_test = vectorizer.transform(val.texts), vectorizer.transform(test.texts)
    classes = len(data.class_names)
    best = None
    for c in C_VALUES:
        model = LogisticRegression(C=c, max_iter=2000).fit(x_train, train.labels)
        accuracy = float(np.mean(model.predict(x_val) == val.labels))
        if best is None or accuracy > best[0]:
            best = (accuracy, c, model)
    accuracy, c, model = best
    probabilities = np.zeros((len(test.labels), classes))
    probabilities[:, model.classes_] = model.predict_proba(x_test)
    return {
        "test": {NAME: classification_metrics(test.labels, probabilities, classes)},
        "validation": {NAME: accuracy},
        "notes": {NAME: f"TF-IDF of words and word pairs ({x_train.shape[1]} features) + logistic "
                        f"regression, C={c:g} chosen on validation"},
    }
