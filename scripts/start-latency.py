#!/usr/bin/env python3
"""Start latency, measured paired: this machine's speed drifts by 2x within minutes, so engines
are timed one start each in turn, never as two separate series.

  paired --runs N [--timing FILE] [--title T] NAME CMD [NAME CMD ...]
      N rounds; each round runs every command once (the order flips every round). Prints each
      one's median, the first's ratio to each other's median, and the median of the per-round
      ratios. With --timing, the first command runs with BERTH_TIMING=FILE and
      BERTH_TIMING_ORIGIN at its spawn: berth's CLI and shim phases, as medians over the rounds.
  series --count N [--cleanup CMD] NAME CMD [NAME CMD ...]
      N starts of each command, interleaved one by one; the summed time of each, its ratio to
      the first's, then CMD (per NAME, `--cleanup NAME=CMD`) after the whole series.
"""
import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time


def pairs(items):
    if len(items) % 2:
        sys.exit("commands come as NAME CMD pairs")
    return [(items[i], items[i + 1]) for i in range(0, len(items), 2)]


def timed(cmd, env=None):
    """Wall time of one run of `cmd` (stdout and stderr discarded); fails loudly on an error."""
    start = time.perf_counter()
    done = subprocess.run(shlex.split(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"`{cmd}` failed ({done.returncode}): {done.stderr.decode(errors='replace').strip()}")
    return elapsed


def phases(path):
    """One run's BERTH_TIMING lines as (process, µs, label), the first pid being the CLI's."""
    marks, first_pid = [], None
    with open(path) as f:
        for line in f:
            pid, us, label = line.split(maxsplit=2)
            first_pid = first_pid or pid
            process = "cli" if pid == first_pid else "shim"
            label = label.strip()
            if process == "shim" and label.startswith("cli: "):
                label = "shim process: " + label[len("cli: "):]
            marks.append((process, int(us), label))
    return marks


def steps_of(marks):
    """(step, µs, at) of one run: each mark against the one before it in the same process; the
    shim's first against the CLI's "start: spawning shim"; the CLI's first against the spawn."""
    steps, last = [], {}
    for process, us, label in marks:
        previous = last.get(process)
        if previous is None:
            previous = last.get("cli") if process == "shim" else (0, "spawned by the bench")
        if previous is not None:
            steps.append((f"{previous[1]} -> {label}", us - previous[0], us))
        last[process] = (us, label)
    return steps


def paired(args):
    commands = pairs(args.commands)
    times = {name: [] for name, _ in commands}
    steps = {}  # "from -> to" -> ([µs it took], [µs from the spawn when it ended])
    for round_ in range(args.runs):
        for name, cmd in commands if round_ % 2 == 0 else commands[::-1]:
            env = None
            if args.timing and name == commands[0][0]:
                open(args.timing, "w").close()
                env = dict(os.environ, BERTH_TIMING=args.timing, BERTH_TIMING_ORIGIN=str(time.monotonic_ns()))
            times[name].append(timed(cmd, env))
            if env is not None:
                for step, us, at in steps_of(phases(args.timing)):
                    steps.setdefault(step, ([], []))
                    steps[step][0].append(us)
                    steps[step][1].append(at)
    first = commands[0][0]
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"{args.title}, {args.runs} rounds, interleaved")
    print(f"  {'':<24}{'median ms':>10}{'min ms':>9}{first + ' / it':>14}{'median of ratios':>18}")
    for name, t in times.items():
        ratios = [a / b for a, b in zip(times[first], t)]
        print(f"  {name:<24}{medians[name] * 1000:>10.1f}{min(t) * 1000:>9.1f}"
              f"{medians[first] / medians[name]:>14.2f}{statistics.median(ratios):>18.2f}")
    if steps:
        print(f"  {first}'s phases (BERTH_TIMING, medians over the runs: the step, and when it ended)")
        by_end = sorted(steps.items(), key=lambda s: statistics.median(s[1][1]))
        for step, (took, ended) in by_end:
            print(f"    {statistics.median(took):>8.0f} µs  at {statistics.median(ended) / 1000:>6.1f} ms  {step}"
                  + ("" if len(took) == args.runs else f"  ({len(took)}/{args.runs} runs)"))


def series(args):
    commands = pairs(args.commands)
    total = {name: 0.0 for name, _ in commands}
    for _ in range(args.count):
        for name, cmd in commands:
            total[name] += timed(cmd)
    cleanups = dict(c.split("=", 1) for c in args.cleanup)
    for name, _ in commands:
        if name in cleanups:
            subprocess.run(cleanups[name], shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = commands[0][0]
    print(f"{args.title}: {args.count} detached starts in a row each, interleaved one by one")
    print(f"  {'':<24}{'total s':>10}{'per start ms':>14}{first + ' / it':>14}")
    for name, t in total.items():
        print(f"  {name:<24}{t:>10.2f}{t / args.count * 1000:>14.1f}{total[first] / t:>14.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("paired")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--timing")
    p.add_argument("--title", default="start latency")
    p.add_argument("commands", nargs="+")
    s = sub.add_parser("series")
    s.add_argument("--count", type=int, default=100)
    s.add_argument("--cleanup", action="append", default=[])
    s.add_argument("--title", default="detached starts")
    s.add_argument("commands", nargs="+")
    args = parser.parse_args()
    paired(args) if args.mode == "paired" else series(args)


if __name__ == "__main__":
    main()
