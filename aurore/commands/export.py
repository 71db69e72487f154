"""`python -m aurore export`: a trained model as a TensorFlow SavedModel (TF Serving)."""

from __future__ import annotations

from aurore import paths
from aurore.commands import add_deprecated_alias, add_sampling_options
from aurore.errors import AuroreError
from aurore.messages import gettext
from aurore.generation import export
from aurore.training import presets

FORMATS = ("saved-model",)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="export a model for TensorFlow Serving (SavedModel with a generation signature)")
    parser.add_argument("--model", default=None,
                        help="model directory (default: the data folder's models/cpu)")
    parser.add_argument("--format", choices=FORMATS, default="saved-model", help="export format (saved-model)")
    parser.add_argument("--out", required=True, help="folder to write (replaced whole when the export succeeds)")
    add_sampling_options(parser, only=export.SETTINGS)
    add_deprecated_alias(parser, "--sampler", "strategy")    # its name before it was `generate`'s
    parser.add_argument("--no-stop-at-end", dest="stop_at_end", action="store_false",
                        help="keep writing past the end-of-text token (which separates passages)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    if args.format != "saved-model":
        raise AuroreError(f"Unknown export format {args.format!r}: use saved-model.")
    settings = {name: getattr(args, name) for name in export.SETTINGS}
    out = export.export_saved_model(args.model or paths.model_dir(presets.DEFAULT), args.out,
                                    stop_at_end=args.stop_at_end, **settings)
    command = f"docker run -p 8501:8501 -v {out.resolve()}:/models/aurore/1 -e MODEL_NAME=aurore tensorflow/serving"
    print(gettext("Serve it with TensorFlow Serving, e.g.: %(command)s", command=command))
    return 0
