"""The one-sentence verdict of a trust check, in words a student can read.

Two questions, each from its own measurement: is the map faithful (hiding what it marks
hurts the class more than hiding random cells, and revealing it helps more), and does it
depend on the model (it changes when the weights are scrambled)? Thresholds are constants
here, each with its reason, so the sentence never hides a number a reader cannot find.
"""

# Faithfulness: the mean of the two advantages over the random reference, (random deletion
# area - deletion area) and (insertion area - random insertion area). The reference's areas
# move by 0.03-0.05 (standard deviation) between seeds (`curves.RANDOM_MAPS`), so a smaller
# advantage could be luck.
FAITHFUL_MARGIN = 0.05
# Model dependence: the size of the map's Spearman correlation with the original once every
# layer is random. Adebayo et al.'s Guided Backprop stayed above 0.8; Grad-CAM and gradients
# fell near 0. The size, not the sign: Grad-CAM on mnist-vit's patch embedding turned into
# the original's negative (-0.7 to -0.9), which still follows the image, not the model.
INDEPENDENT_ABOVE = 0.5
# Below this probability the model does not believe in the class, so curves of it are flat.
LOW_PROBABILITY = 0.1


def faithfulness(deletion_auc, insertion_auc, random_deletion_auc, random_insertion_auc):
    """Returns the mean advantage of a map over the random map on the two curves (positive is better)."""
    return ((random_deletion_auc - deletion_auc) + (insertion_auc - random_insertion_auc)) / 2.0


# The levels `judge` returns, best first; pages colour the verdict by them.
LEVELS = ("trustworthy", "partly", "doubtful", "untrustworthy", "unclear")


def judge(probability, deletion_auc, insertion_auc, random_deletion_auc, random_insertion_auc, final_spearman):
    """Returns the verdict on a heatmap: a level and one sentence that says whether to trust it, and why.

    Args:
        probability: the model's probability for the explained class on the whole image.
        deletion_auc: the area under the map's deletion curve.
        insertion_auc: the area under the map's insertion curve.
        random_deletion_auc: the same for the random maps.
        random_insertion_auc: the same for the random maps.
        final_spearman: the map's rank correlation with the original when every layer is
            random, or None when no randomisation was run.

    Returns:
        `(level, sentence)`, the level one of `LEVELS`.
    """
    gain = faithfulness(deletion_auc, insertion_auc, random_deletion_auc, random_insertion_auc)
    faithful = gain >= FAITHFUL_MARGIN
    follows_model = final_spearman is None or abs(final_spearman) <= INDEPENDENT_ABOVE
    if probability < LOW_PROBABILITY:
        return "unclear", (f"Hard to judge: the model gives this class only {probability:.0%}, so hiding or revealing "
                           "pixels has little score to move; explain a class the model believes in.")
    scrambled = "" if final_spearman is None else f" (rank correlation {final_spearman:.2f})"
    if faithful and follows_model:
        return "trustworthy", ("Trustworthy on both checks: hiding the pixels this map marks lowers the score faster "
                               "than hiding random ones, and the map changes when the model's weights are scrambled, "
                               "so it shows what this model uses.")
    if faithful:
        return "partly", (f"Partly trustworthy: the marked pixels do matter to the model, but the map looks much the "
                          f"same when the weights are scrambled{scrambled}, so part of it shows the image rather than "
                          "what the model learned.")
    if follows_model:
        return "doubtful", ("Doubtful: the map depends on the model, but hiding the pixels it marks lowers the score no "
                            "faster than hiding random ones, so it does not point at what the decision rests on.")
    return "untrustworthy", (f"Not trustworthy here: hiding the pixels it marks matters no more than hiding random "
                             f"ones, and the map barely changes when the weights are scrambled{scrambled}.")
