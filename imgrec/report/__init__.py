"""Reports that open anywhere: one self-contained HTML file of a prediction, a training run or a model.

A report shows what the page showed, for someone without the app: images inline as data
URLs, charts as inline SVG, its style inside, no script and no request to any server. It
opens offline in any browser and prints on A4 (a section per page).

Each report is written in English or Chinese (`language="en"` or `"zh-CN"`): its words
come from the catalogs `locales/<language>.toml` (`imgrec.texts`), class names too.

The modules: `prediction`, `run` and `model` (the three reports), `rebuilt` (an autoencoder
run's sections), `document` (the page, its parts and its print layout), `charts` (SVG bars,
lines and matrices), `pictures` (arrays into inline images), `markup` (escaped HTML) and
`text` (its words in one language, from the catalogs).
"""

from imgrec.report.model import model_report
from imgrec.report.prediction import Explanation, explanations, prediction_report
from imgrec.report.rebuilt import Rebuilt, rebuilt_cases
from imgrec.report.run import mistake_cases, run_report

__all__ = ["Explanation", "Rebuilt", "explanations", "mistake_cases", "model_report", "prediction_report", "rebuilt_cases",
           "run_report"]
