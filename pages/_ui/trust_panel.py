"""The trust panel beside a heatmap on /predict, and for a shapes model how well each explainer finds the shape.

The panel shows the deletion and insertion curves against random maps, the row of maps of a
model scrambled from the output down, and a one-sentence verdict. Checks run on request (a button, or a toggle that checks every heatmap), after the heatmap
is on screen, so the heatmap never waits for them.
"""

import streamlit as st

from imgrec import figures, overlays
from imgrec.report import text as report_text
from pages._ui import charts, compute, i18n, inputs, views
from pages._ui.i18n import t

VERDICT_BOXES = {"trustworthy": st.success, "partly": st.warning, "doubtful": st.warning,
                 "untrustworthy": st.error, "unclear": st.info}
VERDICT_ICONS = {"trustworthy": ":material/verified:", "partly": ":material/rule:", "doubtful": ":material/help:",
                 "untrustworthy": ":material/dangerous:", "unclear": ":material/help:"}
# Shapes test images the explainers are scored on: enough for the means to settle within a
# few points, few enough to score six explainers in seconds on a 2-core server.
LOCALISATION_SAMPLES = 100
def _requested(run_key, widget_key):
    """Whether this check was asked for: the button for this very map, or the toggle that checks every map."""
    requested = st.session_state.setdefault("trust-requested", set())
    if st.button(t("trust.check"), key=f"{widget_key}-run", icon=":material/fact_check:", type="primary"):
        requested.add(run_key)
    automatic = st.toggle(t("trust.check_every"), key=f"{widget_key}-auto", help=t("trust.check_every_help"))
    return automatic or run_key in requested


def verdict(report):
    """The verdict's sentence in this run's language: imgrec's own in English, the same judgement in other words else."""
    return report_text.Words(i18n.texts_now()).verdict(report)


def panel(name, key, model_input, method, class_index, class_name, options, *, widget_key="trust", title=None,
          colormap="jet"):
    """Draws the trust checks of one heatmap (on request): verdict, curves, the scrambled-model row, captions.

    `title` is the heading (default: "Can you trust this heatmap?"); `colormap` colours the maps as the
    page's heatmap is coloured.

    Returns:
        The `trust.TrustReport` shown, or `None` when no check was asked for.
    """
    st.markdown(f"#### {title or t('trust.title')}")
    run_key = (name, key, inputs.digest(model_input), method, int(class_index), tuple(sorted(options.items())))
    if not _requested(run_key, widget_key):
        st.caption(t("trust.intro"))
        return None
    with st.spinner(t("trust.checking")):
        report = compute.trust_report(name, key, model_input, method, int(class_index), **options)
    VERDICT_BOXES[report.level](verdict(report), icon=VERDICT_ICONS[report.level])
    charts.show(figures.trust_curves(report.deletion, report.insertion, report.random_deletion,
                                     report.random_insertion, i18n.class_name(class_name), texts=i18n.texts_now()),
                key=f"{widget_key}-curves")
    st.caption(t("trust.curves_caption"))
    base = views.enlarge(views.model_view(model_input), 112)
    st.markdown(t("trust.scrambling"))
    images = [overlays.overlay(base, heatmap, colormap=colormap)
              for heatmap in (report.heatmap, *(step.heatmap for step in report.randomization))]
    captions = [t("trust.trained_model")] + [t("trust.scrambled", layer=step.layer, value=f"{step.spearman:+.2f}")
                                             for step in report.randomization]
    st.image(images, caption=captions, width=104)
    st.caption(t("trust.randomization_caption"))
    return report


def localisation_table(name, key, card):
    """For a model trained on shapes: each explainer's pointing game and relevance mass against the true outlines."""
    if card.dataset.split(":", 1)[0] != "shapes":
        return
    with st.expander(t("trust.localisation"), icon=":material/target:"):
        st.markdown(t("trust.localisation_intro", count=LOCALISATION_SAMPLES))
        if not (st.button(t("trust.score_all"), key="localisation-run", icon=":material/leaderboard:")
                or st.session_state.get("localisation-scored") == key):
            return
        st.session_state["localisation-scored"] = key
        choices = compute.explainers(name, key)
        with st.spinner(t("trust.scoring", count=LOCALISATION_SAMPLES, explainers=len(choices))):
            scores = compute.localisation_scores(name, key, tuple(choice.name for choice in choices),
                                                 LOCALISATION_SAMPLES)
        rows = [{"Explainer": choice.title, "Peak on the shape": 100 * scores[choice.name]["pointing_game"],
                 "Share of the map on the shape": 100 * scores[choice.name]["relevance_mass"]} for choice in choices]
        percent = {"format": "%.0f%%", "min_value": 0.0, "max_value": 100.0}
        st.dataframe(rows, hide_index=True, column_config={
            "Explainer": st.column_config.TextColumn(t("trust.column_explainer")),
            "Peak on the shape": st.column_config.ProgressColumn(t("trust.column_peak"), **percent),
            "Share of the map on the shape": st.column_config.ProgressColumn(t("trust.column_share"), **percent),
        })
        st.caption(t("trust.noise_baseline"))
