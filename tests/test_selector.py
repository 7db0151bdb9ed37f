import pytest

from automl.config.loader import config_from_mapping
from automl.errors import ConfigError
from automl.selector import select_families


def profile(side, train=50_000):
    return {"image_size": [side, side], "channels": 3, "split_sizes": {"train": train, "val": 1, "test": 1}}


def cfg(**search):
    return config_from_mapping({"task": "image_classification", "data": {"path": "."}, "search": search})


def no_weights(name):
    return False, "offline"


def weights(name):
    return True, "loaded"


def test_low_resolution_without_weights_prefers_small_cnn_and_drops_efficientnet():
    selection = select_families("image_classification", profile(28), cfg(max_families=3), no_weights)
    names = [c.family for c in selection.candidates]
    assert names[0] == "small_cnn"
    assert "efficientnet" not in names
    assert any(e["family"] == "efficientnet" and "28-px" in e["reason"] for e in selection.excluded)


def test_large_images_with_weights_prefer_pretrained_backbones():
    selection = select_families("image_classification", profile(224), cfg(max_families=2), weights)
    assert [c.family for c in selection.candidates] == ["efficientnet", "mobilenet_v3"]
    assert all(c.pretrained for c in selection.candidates)


def test_pinned_families_keep_their_order_and_say_so():
    selection = select_families("image_classification", profile(28), cfg(families=["efficientnet", "small_cnn"]), no_weights)
    assert [c.family for c in selection.candidates] == ["efficientnet", "small_cnn"]
    assert selection.candidates[0].reasons[0] == "pinned by search.families"


def test_unknown_family_suggests():
    with pytest.raises(ValueError, match="Did you mean 'small_cnn'"):
        select_families("image_classification", profile(28), cfg(families=["smal_cnn"]), no_weights)


def test_required_pretrained_weights_fail_clearly():
    with pytest.raises(ConfigError, match="pretrained is true"):
        select_families("image_classification", profile(224), cfg(pretrained=True, families=["mobilenet_v3"]), no_weights)


def test_model_size_constraint_excludes_large_families():
    config = cfg(max_families=3)
    config.constraints.max_model_mb = 5
    selection = select_families("image_classification", profile(224), config, weights)
    assert "efficientnet" not in [c.family for c in selection.candidates]


def test_short_time_limit_means_one_family():
    selection = select_families("image_classification", profile(96), cfg(time_limit="5m"), weights)
    assert len(selection.candidates) == 1


def segmentation_cfg(**search):
    return config_from_mapping({"task": "image_segmentation", "data": {"path": "."}, "search": search})


def test_segmentation_uses_a_pretrained_encoder_only_when_its_weights_can_be_had():
    tiles = {"image_size": [128, 128], "channels": 3, "split_sizes": {"train": 400, "val": 40, "test": 40}}
    offline = select_families("image_segmentation", tiles, segmentation_cfg(max_families=2), no_weights)
    assert [c.family for c in offline.candidates] == ["unet"]
    reason = next(e["reason"] for e in offline.excluded if e["family"] == "pretrained_unet")
    assert "no ImageNet weights" in reason and "offline" in reason
    online = select_families("image_segmentation", tiles, segmentation_cfg(max_families=2), weights)
    assert [c.family for c in online.candidates] == ["pretrained_unet", "unet"]
    assert online.candidates[0].pretrained is True


def test_no_more_families_than_trials():
    """search.max_trials: 1 runs one trial: one family, not one trial per family."""
    selection = select_families("image_classification", profile(224), cfg(max_families=3, max_trials=1), weights)
    assert len(selection.candidates) == 1
    assert len(selection.excluded) == 2


def text_profile(p95_words, train=5_000):
    return {"split_sizes": {"train": train, "val": 1, "test": 1},
            "words_per_text": {"mean": p95_words / 2, "p50": p95_words // 2, "p95": p95_words, "max": p95_words}}


def text_cfg(**search):
    return config_from_mapping({"task": "text_classification", "data": {"path": "."}, "search": search,
                                "time_limit": "6m"})


def test_long_texts_put_the_bag_of_ngrams_first_and_say_what_the_others_cut():
    selection = select_families("text_classification", text_profile(1500), text_cfg(), weights)
    first = selection.candidates[0]
    assert first.family == "bag_of_ngrams" and any("long texts" in r for r in first.reasons)
    bert = next(c for c in selection.candidates if c.family == "bert")
    assert any("reads the first 128 word pieces" in r for r in bert.reasons)


def test_the_fast_family_is_searched_first_beside_the_ranked_one():
    selection = select_families("text_classification", text_profile(40), text_cfg(time_limit="3m"), weights)
    assert [c.family for c in selection.candidates] == ["bag_of_ngrams", "bert"]  # a short search: one ranked
    assert any("trials take seconds" in r for r in selection.candidates[0].reasons)


def test_image_generation_says_why_dcgan_and_whether_it_may_be_conditional():
    config = config_from_mapping({"task": "image_generation", "data": {"path": "."}})
    labelled = select_families("image_generation", {**profile(28), "labelled": True, "num_classes": 10}, config,
                               no_weights)
    assert [c.family for c in labelled.candidates] == ["dcgan"]
    assert any("10 labelled classes" in r for r in labelled.candidates[0].reasons)
    unlabelled = select_families("image_generation", {**profile(28), "labelled": False, "num_classes": 0}, config,
                                 no_weights)
    assert unlabelled.candidates[0].reasons == ["the image generation family"]
