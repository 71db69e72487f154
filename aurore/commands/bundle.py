"""`python -m aurore bundle create|verify|load KIT.zip`: the offline kit for a room without Wi-Fi."""

from __future__ import annotations

from aurore import paths
from aurore.course import bundle


def register(subparsers) -> None:
    parser = subparsers.add_parser("bundle", help="offline kit: pack books, dataset, tokenizer and models "
                                                  "into one zip, or unpack one")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="write a kit from this machine's data folder")
    create.add_argument("kit", help="the .zip file to write, e.g. /media/usb/aurore-kit.zip")
    create.add_argument("--without", action="append", default=[], choices=bundle.SECTION_NAMES,
                        help="leave this part out (repeatable)")
    create.set_defaults(handler=_create)
    verify = sub.add_parser("verify", help="check a kit (checksums) without installing it")
    verify.add_argument("kit")
    verify.set_defaults(handler=_verify)
    load = sub.add_parser("load", help="verify a kit, then install it in the data folder")
    load.add_argument("kit")
    load.set_defaults(handler=_load)


def _summary(manifest: dict) -> str:
    files = manifest["files"]
    size = sum(entry["size"] for entry in files)
    parts = sorted({entry["path"].split("/")[0] for entry in files})
    return f"{len(files)} files, {size / 1e6:.1f} MB ({', '.join(parts)})"


def _create(args) -> int:
    manifest = bundle.create(args.kit, tuple(args.without))
    print(f"Kit written: {args.kit} — {_summary(manifest)}.")
    return 0


def _verify(args) -> int:
    manifest = bundle.verify(args.kit)
    print(f"Kit OK: {args.kit} — {_summary(manifest)}, every checksum matches.")
    return 0


def _load(args) -> int:
    installed = bundle.load(args.kit)
    books = sum(1 for item in installed if item.startswith("books/"))
    others = [item for item in installed if not item.startswith("books/")]
    print(f"Kit installed in {paths.data_dir()}: {books} book(s)"
          + (f", {', '.join(others)}" if others else "") + ".")
    return 0
