"""Python Aho-Corasick peers for scripts/bench-peers; prints ONE JSON object on stdout.

  ac_bench.py scan    IMPL KEYWORDS MESSAGES RUNS   build once, then RUNS timed scans of all messages
  ac_bench.py compile IMPL KEYWORDS                 one timed build, with the RSS it added

IMPL: pyahocorasick  (ahocorasick.Automaton, add_word + make_automaton; scan: Automaton.iter,
                      which yields every occurrence of every keyword, overlapping)
      ahocorasick_rs (AhoCorasick(keywords), MatchKind.Standard; scan:
                      find_matches_as_indexes(message, overlapping=True), every occurrence)
Each message's matches are counted; only the scan loop (or the build) is timed, files are read first.
"""
import gc
import json
import os
import sys
import time


def read_lines(path, skip_empty):
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [l[:-1] if l.endswith("\r") else l for l in lines]
    return [l for l in lines if l] if skip_empty else lines


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def build(impl, keywords):
    """Returns (automaton, count_function, note)."""
    if impl == "pyahocorasick":
        import ahocorasick

        a = ahocorasick.Automaton()
        for i, k in enumerate(keywords):
            a.add_word(k, i)
        a.make_automaton()

        def count(messages):
            n = 0
            it = a.iter
            for m in messages:
                for _ in it(m):
                    n += 1
            return n

        return a, count, "Automaton.iter: every occurrence, overlapping"
    if impl == "ahocorasick_rs":
        import ahocorasick_rs

        ac = ahocorasick_rs.AhoCorasick(keywords)
        try:
            ac.find_matches_as_indexes("", overlapping=True)
            note = ("find_matches_as_indexes(overlapping=True), MatchKind.Standard: every occurrence; "
                    "default implementation (the crate picks DFA or contiguous NFA)")
            overlapping = True
        except (TypeError, ValueError):
            note = "overlapping not supported by this version: find_matches_as_indexes non-overlapping (standard)"
            overlapping = False

        def count(messages):
            n = 0
            find = ac.find_matches_as_indexes
            if overlapping:
                for m in messages:
                    n += len(find(m, overlapping=True))
            else:
                for m in messages:
                    n += len(find(m))
            return n

        return ac, count, note
    raise SystemExit(f"unknown impl {impl}")


def version(impl):
    from importlib.metadata import version as v

    return v({"pyahocorasick": "pyahocorasick", "ahocorasick_rs": "ahocorasick_rs"}[impl])


def main():
    cmd, impl, kw_path = sys.argv[1:4]
    keywords = read_lines(kw_path, True)
    if cmd == "compile":
        import ahocorasick  # noqa: F401  (import cost and its memory are not part of the build)
        import ahocorasick_rs  # noqa: F401

        gc.collect()
        r0 = rss_bytes()
        t0 = time.perf_counter()
        obj, _, note = build(impl, keywords)
        t = time.perf_counter() - t0
        gc.collect()
        out = {"compile_s": t, "rss_delta_bytes": rss_bytes() - r0, "keywords": len(keywords)}
        if impl == "pyahocorasick":
            out["stats_total_size"] = obj.get_stats()["total_size"]
    elif cmd == "scan":
        messages = read_lines(sys.argv[4], False)
        runs = int(sys.argv[5])
        _, count, note = build(impl, keywords)
        times, matches = [], None
        for _ in range(runs):
            t0 = time.perf_counter()
            n = count(messages)
            times.append(time.perf_counter() - t0)
            if matches is not None and n != matches:
                raise SystemExit("match count changed between runs")
            matches = n
        out = {"scan_s": times, "matches": matches, "messages": len(messages), "keywords": len(keywords)}
    else:
        raise SystemExit(f"unknown command {cmd}")
    out["note"] = note
    out["version"] = version(impl)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
