"""Try the models: one tab per dataset, inputs from the spec, answers from the predictor over HTTP.

Every tab is built the same way from its dataset's spec, whatever the dataset: a number input per
numeric feature (bounded by its valid range, starting at the reference median), a choice per
categorical one, and the answer rendered by task (a label and its probabilities; a grade on its
scale and the raw score). Iris and wine add their own picture (``frontends.common.drawing``).

``dailyml serve gradio`` (default port 7860). The predictor's URL comes from
``DAILYML_PREDICTOR_URL``. Every call goes through ``dailyml.clients.PredictorClient``; a service
that is down or rejects the input shows a short message, never a traceback.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from dailyml.clients import PredictorClient, ServiceError
from dailyml.contracts import FeatureOut, SpecOut
from dailyml.datasets import SPECS, DatasetSpec
from dailyml.settings import DEFAULT_PORTS
from frontends.common.drawing import grade_scale_svg, has_picture, picture
from frontends.common.forms import (
    categorical_features,
    decimals,
    default_value,
    field_label,
    local_spec,
    numeric_features,
    range_text,
    step_for,
)
from frontends.common.services import ServiceUrls, error_message, predictor_client

SERVICE = "predictor"

CSS = """
.dailyml-note p { margin: 0; }
.dailyml-error { color: #9b1c1c; font-weight: 600; }
.dailyml-drawing { display: flex; justify-content: center; }
.dailyml-result h2 { margin: 0.2em 0; }
.dailyml-visuals { display: flex; gap: 18px; align-items: flex-end; justify-content: center; flex-wrap: wrap; }
"""


def launch_options() -> dict[str, Any]:
    """Theme and CSS: Gradio 6 takes them in ``launch()``, not in ``Blocks()``."""
    return {"theme": gr.themes.Soft(primary_hue="violet", secondary_hue="rose"), "css": CSS}


InputField = gr.Number | gr.Radio | gr.Dropdown  # the input components a form is made of
MAX_RADIO_CHOICES = 5  # more choices than this go in a dropdown


def _let_through(num: float | int, minimum: float | int | None, maximum: float | int | None) -> None:
    return None


@dataclass
class DatasetForm:
    """The spec a tab was built from, its input components in the spec's feature order, and the
    buttons that send them.

    A tab built from the predictor's spec (``from_service``) has its reference medians as values
    from the start (or, for a feature without them, the spec's ``example`` value). A tab built
    without it (the predictor was not up when the app started) has no values yet, and a Gradio
    Number without a value shows and sends 0: so its inputs and buttons stay disabled until the
    page's load event has put the medians in.
    """

    spec: SpecOut
    from_service: bool
    example: Mapping[str, Any] = field(default_factory=dict)
    inputs: list[InputField] = field(default_factory=list)
    buttons: list[gr.Button] = field(default_factory=list)
    note: gr.Markdown | None = None

    @property
    def features(self) -> list[FeatureOut]:
        return list(self.spec.features)

    @property
    def is_classification(self) -> bool:
        return self.spec.task == "classification"

    @property
    def has_visuals(self) -> bool:
        """Whether the tab shows pictures: the dataset's own, and a regression's grade scale."""
        return not self.is_classification or has_picture(self.spec.name)

    def start_value(self, feature: FeatureOut) -> Any:
        """What an input shows first: the reference median or mode, else (when served) the
        example's value; a tab not served yet shows nothing until its load event."""
        return default_value(feature, self.example.get(feature.name) if self.from_service else None)


def _error(text: str) -> str:
    return f'<span class="dailyml-error">⚠️ {text}</span>'


def _form_for(client: PredictorClient, dataset: DatasetSpec) -> DatasetForm:
    try:
        return DatasetForm(client.spec(dataset.name), True, dataset.example)
    except ServiceError:
        return DatasetForm(local_spec(dataset), False, dataset.example)


def _input_for(form: DatasetForm, feature: FeatureOut) -> InputField:
    elem_id, ready = f"{form.spec.name}-{feature.name}", form.from_service
    if feature.kind == "category":
        choice = gr.Radio if len(feature.categories) <= MAX_RADIO_CHOICES else gr.Dropdown
        return choice(
            choices=list(feature.categories),
            value=form.start_value(feature),
            label=feature.description,
            interactive=ready,
            elem_id=elem_id,
        )
    step = step_for(feature)
    number = gr.Number(
        value=form.start_value(feature),
        interactive=ready,
        label=field_label(feature),
        info=range_text(feature),
        minimum=feature.minimum,
        maximum=feature.maximum,
        step=step,
        precision=None,
        elem_id=elem_id,
    )
    # The range is shown (browser min/max, the info line), but an out-of-range value goes on to the
    # predictor, whose 422 names the field and the rule; Gradio's own check would stop it with an
    # anonymous "Value 50 is greater than maximum value 30". (A Number subclass would do the same,
    # but Gradio writes a .pyi stub next to any module that defines a component class.)
    number.raise_if_out_of_bounds = _let_through  # type: ignore[method-assign]
    return number


def _layout_inputs(form: DatasetForm, per_row: int) -> None:
    """Categorical choices first, then the numbers in rows of ``per_row``."""
    spec = form.spec
    by_name: dict[str, InputField] = {}
    for feature in categorical_features(spec):
        by_name[feature.name] = _input_for(form, feature)
    numbers = numeric_features(spec)
    for start in range(0, len(numbers), per_row):
        with gr.Row(equal_height=True):
            for feature in numbers[start : start + per_row]:
                by_name[feature.name] = _input_for(form, feature)
    form.inputs = [by_name[f.name] for f in spec.features]


def _number(value: Any) -> float | None:
    """A finite float, or None for anything else (NaN, infinity, text)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _collect(form: DatasetForm, values: tuple[Any, ...]) -> tuple[dict[str, Any] | None, str | None]:
    """The request body from the input values, or a message naming the empty or non-numeric fields:
    an empty number box comes as None, and NaN is not a measurement."""
    body: dict[str, Any] = {}
    missing, not_numbers = [], []
    for feature, value in zip(form.features, values, strict=True):
        if value is None or value == "":
            missing.append(field_label(feature))
        elif feature.kind == "category":
            body[feature.name] = value
        elif (number := _number(value)) is None:
            not_numbers.append(field_label(feature))
        else:
            body[feature.name] = number
    problems = []
    if missing:
        problems.append("Please fill in " + ", ".join(missing) + ".")
    if not_numbers:
        problems.append("Please enter a number for " + ", ".join(not_numbers) + ".")
    return (None, " ".join(problems)) if problems else (body, None)


def _rounded(feature: FeatureOut, value: Any) -> Any:
    if feature.kind == "category" or value is None:
        return value
    return round(float(value), max(decimals(step_for(feature)), 2))


# -- the answer, rendered by task -----------------------------------------------------------------
def _grades(spec: SpecOut) -> list[int]:
    """A regression spec's labels are its integer grades."""
    return [int(label) for label in spec.labels]


def _result(spec: SpecOut, answer: Mapping[str, Any]) -> str:
    """The headline of an answer: the label and how sure the model is, or the grade and its score."""
    said, version = answer[spec.target], f"model version **v{answer['model_version']}**"
    if spec.task == "classification":
        confidence = answer["probabilities"].get(str(said), 0.0)
        return f"## {spec.target_description}: *{said}*\n{confidence:.0%} sure · {version}"
    grades = _grades(spec)
    return f"## Grade {said} of {min(grades)}–{max(grades)}\nraw score **{answer['score']:.2f}** · {version}"


def _visuals(spec: SpecOut, row: Mapping[str, Any], answer: Mapping[str, Any] | None) -> str:
    """The dataset's own picture of the row, if it has one, and for a regression answer the grade
    on its scale; empty when there is nothing to draw."""
    parts = [svg for svg in (picture(spec.name, row),) if svg]
    if answer is not None and spec.task == "regression":
        parts.append(grade_scale_svg(int(answer[spec.target]), float(answer["score"]), grades=_grades(spec)))
    return f'<div class="dailyml-visuals">{"".join(parts)}</div>' if parts else ""


def _row(form: DatasetForm, values: tuple[Any, ...]) -> dict[str, Any]:
    return {f.name: v for f, v in zip(form.features, values, strict=True)}


# -- building the tabs ----------------------------------------------------------------------------
def _dataset_tab(client: PredictorClient, form: DatasetForm) -> None:
    spec = form.spec
    name = spec.name
    with gr.Row():
        with gr.Column(scale=5):
            _layout_inputs(form, per_row=2 if len(numeric_features(spec)) <= 4 else 3)
            with gr.Row():
                ready = form.from_service
                random_button = gr.Button("Random real sample", interactive=ready, elem_id=f"{name}-random")
                predict_button = gr.Button("Predict", variant="primary", interactive=ready, elem_id=f"{name}-predict")
            note = gr.Markdown(
                "" if ready else "Waiting for the predictor's reference values…",
                elem_id=f"{name}-note",
                elem_classes=["dailyml-note"],
            )
            form.buttons, form.note = [random_button, predict_button], note
        with gr.Column(scale=5):
            result = gr.Markdown("Press **Predict**.", elem_id=f"{name}-result", elem_classes=["dailyml-result"])
            answer_outputs: list[Any] = [result]
            if form.is_classification:
                probabilities = gr.Label(
                    label="Class probabilities", num_top_classes=len(spec.labels), elem_id=f"{name}-probabilities"
                )
                answer_outputs.append(probabilities)
            if form.has_visuals:
                first_row = _row(form, tuple(c.value for c in form.inputs))
                drawing = gr.HTML(
                    _visuals(spec, first_row, None), elem_id=f"{name}-drawing", elem_classes=["dailyml-drawing"]
                )
                answer_outputs.append(drawing)

    # The last random reference sample (its features and true label), to say whether the model
    # got it right when it is predicted unchanged.
    reference = gr.State(None)

    def verdict(body: dict[str, Any], answer: dict[str, Any], sample: dict[str, Any] | None) -> str:
        if not sample or sample["features"] != body:
            return ""
        truth, said = sample["label"], answer[spec.target]
        mark = "✓ the model is right" if str(truth) == str(said) else "✗ the model is wrong"
        return f"This real sample's true {spec.target} is **{truth}**: {mark}."

    def predict(*values: Any) -> tuple[Any, ...]:
        *values, sample = values  # type: ignore[assignment]
        body, problem = _collect(form, tuple(values))
        if body is None:
            return (*(gr.update() for _ in answer_outputs), _error(problem or ""))
        try:
            answer = client.predict(name, body)
        except ServiceError as exc:
            failed: list[Any] = ["Prediction failed.", *([None] if form.is_classification else [])]
            if form.has_visuals:
                failed.append(gr.update())
            return (*failed, _error(error_message(exc, SERVICE, name)))
        shown: list[Any] = [_result(spec, answer)]
        if form.is_classification:
            shown.append(answer["probabilities"])
        if form.has_visuals:
            shown.append(_visuals(spec, body, answer))
        return (*shown, verdict(body, answer, sample))

    def random_sample() -> tuple[Any, ...]:
        try:
            row = client.random_sample(name, source="reference")
        except ServiceError as exc:
            message = _error(error_message(exc, SERVICE, name))
            return (*[gr.update() for _ in form.inputs], message, gr.update())
        values = [_rounded(f, row["features"].get(f.name)) for f in form.features]
        body, _ = _collect(form, tuple(values))
        return (
            *values,
            f"Filled with a real {name} sample from the reference data. Press **Predict** to see what the model says.",
            {"features": body, "label": row.get(spec.target)},
        )

    predict_button.click(
        predict, inputs=[*form.inputs, reference], outputs=[*answer_outputs, note], api_name=f"{name}_predict"
    )
    random_button.click(
        random_sample, inputs=[], outputs=[*form.inputs, note, reference], api_name=f"{name}_random_sample"
    )

    if has_picture(name):  # the picture follows the inputs as they are typed, before any prediction
        gr.on(
            [c.change for c in form.inputs],
            lambda *values: _visuals(spec, _row(form, values), None),
            inputs=form.inputs,
            outputs=[drawing],
            show_progress="hidden",
            trigger_mode="always_last",
            api_visibility="private",
        )


def _status_text(client: PredictorClient, datasets: list[str]) -> str:
    try:
        parts = []
        for dataset in datasets:
            models = client.models(dataset)
            champion = next((v for v in models.versions if v.version == models.champion), None)
            parts.append(f"{dataset} **v{models.champion}**" + (f" ({champion.algorithm})" if champion else ""))
        return "Champion models: " + " · ".join(parts)
    except ServiceError as exc:
        return _error(error_message(exc, SERVICE))


def build_app(
    predictor_url: str | None = None,
    *,
    client: PredictorClient | None = None,
    specs: Mapping[str, DatasetSpec] | None = None,
) -> gr.Blocks:
    """The Gradio app, a tab per dataset of ``specs`` (default: every registered one); asks the
    predictor at ``predictor_url`` (default ``DAILYML_PREDICTOR_URL``)."""
    if client is None:
        client = predictor_client(predictor_url or ServiceUrls.from_env().predictor)
    forms = {name: _form_for(client, dataset) for name, dataset in (SPECS if specs is None else specs).items()}

    with gr.Blocks(title="dailyml · try the models", analytics_enabled=False) as demo:
        gr.Markdown(
            "# dailyml · try the models\n"
            "Enter measurements (or take a real sample) and ask the current champion model. "
            f"Predictor: `{client.base_url}`"
        )
        status = gr.Markdown(elem_id="status", elem_classes=["dailyml-note"])
        for dataset, form in forms.items():
            with gr.Tab(form.spec.title, id=dataset, elem_id=f"tab-{dataset}"):
                _dataset_tab(client, form)

        # Each page load shows whether the predictor answers and which models are champion; a tab
        # built while the predictor was down gets its reference medians as soon as it answers, and
        # only then its inputs and buttons (until then the numbers would show and send 0).
        late = [form for form in forms.values() if not form.from_service]
        late_outputs = [c for form in late for c in (*form.inputs, *form.buttons, form.note)]

        def on_load() -> Any:
            updates: list[Any] = []
            for form in late:
                updates += _late_form_updates(client, form)
            status_text = _status_text(client, list(forms))
            # With a single output Gradio takes a returned tuple as that output's value.
            return (status_text, *updates) if updates else status_text

        demo.load(on_load, inputs=[], outputs=[status, *late_outputs], api_visibility="private")
    return demo


def _late_form_updates(client: PredictorClient, form: DatasetForm) -> list[Any]:
    """Updates of a late tab's inputs, buttons and note: filled and enabled once the predictor
    serves the spec; still disabled, with the reason, when it does not."""
    name = form.spec.name
    try:
        spec = client.spec(name)
    except ServiceError as exc:
        message = f"{error_message(exc, SERVICE, name)} Reload this page once it is."
        return [*(gr.update() for _ in (*form.inputs, *form.buttons)), _error(message)]
    values = [gr.update(value=default_value(f, form.example.get(f.name)), interactive=True) for f in spec.features]
    return [*values, *(gr.update(interactive=True) for _ in form.buttons), ""]


def main(host: str = "127.0.0.1", port: int = DEFAULT_PORTS["gradio"]) -> None:
    """Serve the app until interrupted."""
    demo = build_app()
    demo.queue(default_concurrency_limit=8).launch(
        server_name=host,
        server_port=port,
        ssr_mode=False,
        show_error=False,
        quiet=True,
        **launch_options(),
    )


if __name__ == "__main__":
    main()
