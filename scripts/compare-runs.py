#!/usr/bin/python3
"""Compares two output folders of scripts/reduced-studies.sh, made by two builds: every file must be
equal once the folders' own paths are replaced by one name, except for timings (CSV columns and JSON
keys named *seconds*, the last column of markdown tables, which is seconds per run). Logs, progress
and tensor files are not compared. Usage: compare-runs.py BEFORE AFTER; exit code 1 on a difference."""
import filecmp, json, os, re, sys

a, b = (os.path.abspath(p) for p in sys.argv[1:3])
TIMING = re.compile(r'seconds')


def files(root):
    return {os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs}


def text(path, root):
    return open(path, encoding='utf-8', errors='replace').read().replace(root, '<OUT>')


def same(f):
    pa, pb = os.path.join(a, f), os.path.join(b, f)
    if filecmp.cmp(pa, pb, shallow=False):
        return True
    if f.endswith(('.png', '.pt')):
        return False
    ta, tb = text(pa, a), text(pb, b)
    if ta == tb:
        return True
    if f.endswith('.csv'):
        la, lb = ta.splitlines(), tb.splitlines()
        if len(la) != len(lb) or la[0] != lb[0]:
            return False
        timing = {i for i, h in enumerate(la[0].split(',')) if TIMING.search(h)}
        keep = lambda l: [x for i, x in enumerate(l.split(',')) if i not in timing]
        return all(keep(x) == keep(y) for x, y in zip(la[1:], lb[1:]))
    if f.endswith('.json'):
        def clean(j):
            return {k: clean(v) for k, v in j.items() if not TIMING.search(k)} if isinstance(j, dict) else j
        return clean(json.loads(ta)) == clean(json.loads(tb))
    if f.endswith('.md'):
        la, lb = ta.splitlines(), tb.splitlines()
        return len(la) == len(lb) and all(
            x == y or (x.count('|') > 3 and x.rsplit('|', 2)[0] == y.rsplit('|', 2)[0]) for x, y in zip(la, lb))
    return False


fa, fb = files(a), files(b)
compared = sorted(f for f in fa & fb if not f.endswith(('.log', '.out', '.err', '.pt')))
different = [f for f in compared if not same(f)]
print(f'{len(compared)} files compared, {len(different)} different; only in {a}: {len(fa - fb)}, only in {b}: {len(fb - fa)}')
for f in different + sorted(fa ^ fb):
    print('  ', f)
sys.exit(1 if different or fa ^ fb else 0)
