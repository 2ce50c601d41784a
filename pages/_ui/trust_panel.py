"""The trust panel beside a heatmap on /predict, and for a shapes model how well each explainer finds the shape.

The panel shows the deletion and insertion curves against random maps, the row of maps of a
model scrambled from the output down, and a one-sentence verdict. Checks run on request (a button, or a toggle that checks every heatmap), after the heatmap
is on screen, so the heatmap never waits for them.
"""

import streamlit as st

from imgrec import figures, overlays
from pages._ui import compute, inputs, views

VERDICT_BOXES = {"trustworthy": st.success, "partly": st.warning, "doubtful": st.warning,
                 "untrustworthy": st.error, "unclear": st.info}
VERDICT_ICONS = {"trustworthy": ":material/verified:", "partly": ":material/rule:", "doubtful": ":material/help:",
                 "untrustworthy": ":material/dangerous:", "unclear": ":material/help:"}
# Shapes test images the explainers are scored on: enough for the means to settle within a
# few points, few enough to score six explainers in seconds on a 2-core server.
LOCALISATION_SAMPLES = 100
CURVES_CAPTION = (
    "**Deletion** hides the cells the map ranks highest first (painting them the image's mean colour) and follows "
    "the probability: if the map is right about what matters, it falls fast. **Insertion** starts from a blank "
    "canvas and reveals the highest cells first: the probability should rise fast. The dashed lines do the same "
    "in a random order, averaged over four random maps: a map worth reading beats them on both.")
RANDOMIZATION_CAPTION = (
    "Each map above was computed again after scrambling the model's weights, the layers nearest the output first, "
    "then more and more of them. The number under each is the rank correlation with the trained model's map: near 1 "
    "means nothing changed, so the map was showing the image (its edges), not what the model learned; near 0 means "
    "the map really depends on the model. An empty map (the scrambled model found nothing for the class) counts as 0.")


def _requested(run_key, widget_key):
    """Whether this check was asked for: the button for this very map, or the toggle that checks every map."""
    requested = st.session_state.setdefault("trust-requested", set())
    if st.button("Check this heatmap", key=f"{widget_key}-run", icon=":material/fact_check:", type="primary"):
        requested.add(run_key)
    automatic = st.toggle("Check every heatmap as I explore", key=f"{widget_key}-auto",
                             help="Each check runs the model a hundred times or so, and recomputes the map once per "
                                  "group of layers: instant on the small models, a few seconds on the ImageNet one.")
    return automatic or run_key in requested


def panel(name, key, model_input, method, class_index, class_name, options, *, widget_key="trust",
          title="Can you trust this heatmap?"):
    """Draws the trust checks of one heatmap (on request): verdict, curves, the scrambled-model row, captions.

    Returns:
        The `trust.TrustReport` shown, or `None` when no check was asked for.
    """
    st.markdown(f"#### {title}")
    run_key = (name, key, inputs.digest(model_input), method, int(class_index), tuple(sorted(options.items())))
    if not _requested(run_key, widget_key):
        st.caption("Two checks from the research on explanations: does hiding what the map marks hurt the class "
                   "more than hiding random pixels, and does the map change when the model forgets what it learned?")
        return None
    with st.spinner("Checking: hiding and revealing parts of the image, then scrambling the model layer by layer..."):
        report = compute.trust_report(name, key, model_input, method, int(class_index), **options)
    VERDICT_BOXES[report.level](report.verdict, icon=VERDICT_ICONS[report.level])
    st.plotly_chart(figures.trust_curves(report.deletion, report.insertion, report.random_deletion,
                                         report.random_insertion, class_name),
                    key=f"{widget_key}-curves", config=views.CHART_CONFIG)
    st.caption(CURVES_CAPTION)
    base = views.enlarge(views.model_view(model_input), 112)
    st.markdown("**Scrambling the model, from the output down**")
    images = [overlays.overlay(base, report.heatmap)] + [overlays.overlay(base, step.heatmap)
                                                          for step in report.randomization]
    captions = ["trained model"] + [f"{step.layer} scrambled: {step.spearman:+.2f}" for step in report.randomization]
    st.image(images, caption=captions, width=104)
    st.caption(RANDOMIZATION_CAPTION)
    return report


def localisation_table(name, key, card):
    """For a model trained on shapes: each explainer's pointing game and relevance mass against the true outlines."""
    if card.dataset.split(":", 1)[0] != "shapes":
        return
    with st.expander("Which explainer finds the shape? Scored against the true outlines", icon=":material/target:"):
        st.markdown(f"The shapes are drawn by the app, so where each object lies is known exactly. Each explainer "
                    f"explains the true class of the first {LOCALISATION_SAMPLES} test shapes and is scored on "
                    "whether its **peak** lies on the shape (the pointing game) and what share of its **total** "
                    "falls on the shape (the relevance mass).")
        if not (st.button("Score every explainer", key="localisation-run", icon=":material/leaderboard:")
                or st.session_state.get("localisation-scored") == key):
            return
        st.session_state["localisation-scored"] = key
        choices = compute.explainers(name, key)
        with st.spinner(f"Explaining {LOCALISATION_SAMPLES} shapes with {len(choices)} explainers..."):
            scores = compute.localisation_scores(name, key, tuple(choice.name for choice in choices),
                                                 LOCALISATION_SAMPLES)
        rows = [{"Explainer": choice.title, "Peak on the shape": 100 * scores[choice.name]["pointing_game"],
                 "Share of the map on the shape": 100 * scores[choice.name]["relevance_mass"]} for choice in choices]
        percent = {"format": "%.0f%%", "min_value": 0.0, "max_value": 100.0}
        st.dataframe(rows, hide_index=True, column_config={
            "Peak on the shape": st.column_config.ProgressColumn("Peak on the shape", **percent),
            "Share of the map on the shape": st.column_config.ProgressColumn("Share of the map on the shape", **percent),
        })
        st.caption("A map of pure noise would put its peak on the shape about as often as the shape covers the "
                   "image, and the same share of its total: about 9% here.")
