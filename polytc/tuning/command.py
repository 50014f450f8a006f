"""``polytc tune``: tune a TC file's kernel for given sizes (needs ``polytc[tune]``).

    polytc tune mm.tc --sizes M=1024,N=1024,K=1024 [--budget N] [--time S]
        [--threads T] [--storage URL] [--scheduler-address tcp://HOST:PORT]
        [--plot out.png] [--export FILE] [--import FILE]

Running the same command again resumes the same study.  ``--import FILE``
adds the records of FILE to the records file; ``--export FILE`` writes this
kernel's records (all sizes, dtypes and machines) to FILE.  Given alone,
they only move records; with ``--budget`` or ``--time`` the kernel is tuned
too (imports first, exports last).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_tune_command(sub: Any) -> None:
    """Register ``tune`` among the subcommands ``sub``."""
    from polytc.cli import positive_int, sizes_option
    tune = sub.add_parser("tune", help="autotune the options (needs Optuna)",
                          description="Search the compile options (tiles, register blocks, "
                          "packing, fusion, scheduler) for the fastest kernel at --sizes on "
                          "this machine; the best is recorded and polytc.compile(..., "
                          "sizes=...) uses it.  Needs pip install 'polytc[tune]'.")
    tune.add_argument("file", metavar="FILE", help="TC source ('-' reads standard input)")
    tune.add_argument("--entry", metavar="NAME", help="the def to tune when FILE has several")
    tune.add_argument("--dtype", help="element type of bare statements' inputs")
    tune.add_argument("--sizes", type=sizes_option, metavar="M=1024,N=1024,...",
                      help="a value for every size symbol (required to tune)")
    tune.add_argument("--budget", type=_budget, metavar="N",
                      help="trials to add to the study (default 100)")
    tune.add_argument("--time", type=_seconds, metavar="S", help="stop after S seconds")
    tune.add_argument("--threads", type=positive_int, metavar="T",
                      help="threads of the measured calls (default: OMP_NUM_THREADS, else "
                      "all cores)")
    tune.add_argument("--storage", metavar="URL", help="Optuna storage: a database URL "
                      "(postgresql://...) or a journal file path (default: a journal file "
                      "under polytc's cache directory)")
    tune.add_argument("--scheduler-address", metavar="tcp://HOST:PORT",
                      help="compile on this Dask cluster; workers started with --resources "
                      "POLYTC_MEASURE=1 on this machine measure")
    tune.add_argument("--plot", metavar="OUT.png", help="draw the best time against trials "
                      "(needs matplotlib)")
    tune.add_argument("--export", metavar="FILE", help="write this kernel's records to FILE")
    tune.add_argument("--import", dest="import_", metavar="FILE",
                      help="add the records of FILE to the records file")
    tune.add_argument("--quiet", action="store_true", help="no progress display")
    tune.set_defaults(handler=tune_command)


def _budget(text: str) -> int:
    from polytc.cli import positive_int
    return 0 if text.strip() == "0" else positive_int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def tune_command(args: argparse.Namespace) -> int:
    import polytc
    from polytc.cli_commands import read_text
    from polytc.tuning import records
    text = read_text(args.file)
    moving = args.import_ is not None or args.export is not None
    tuning = not moving or args.budget is not None or args.time is not None
    if tuning and args.sizes is None:
        print("polytc tune: --sizes is required to tune", file=sys.stderr)
        return 2
    if args.plot is not None and not tuning:
        print("polytc tune: --plot needs a tuning run (--budget or --time)", file=sys.stderr)
        return 2
    if args.import_ is not None:
        added = records.import_records(Path(args.import_))
        print(f"polytc: imported {added} record(s) from {args.import_} into "
              f"{records.records_path()}", file=sys.stderr)
    status = 0
    if tuning:
        client = None
        if args.scheduler_address is not None:
            from polytc.tuning.remote import connect
            client = connect(args.scheduler_address)
        try:
            result = polytc.tune(text, sizes=args.sizes, dtype=args.dtype, entry=args.entry,
                                 budget=100 if args.budget is None else args.budget,
                                 time_budget=args.time, threads=args.threads,
                                 storage=args.storage, dask_client=client,
                                 progress=not args.quiet)
        finally:
            if client is not None:
                client.close()
        print(result.summary())
        if args.plot is not None:
            result.plot().savefig(args.plot)
            print(f"polytc: wrote {args.plot}", file=sys.stderr)
        status = 130 if result.interrupted else 0
    if args.export is not None:
        count = records.export_records(Path(args.export), records.kernel_hash(text, args.entry))
        print(f"polytc: exported {count} record(s) to {args.export}", file=sys.stderr)
    return status
