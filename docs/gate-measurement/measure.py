# Splits round-*.json (see run.sh) into interleaved old/new sides and counts gate failures.
# Usage: EB=edgebench python3 measure.py pool|median
import json, glob, os, random, subprocess, sys, tempfile, itertools
EB = os.environ.get("EB", "edgebench")
MODE = sys.argv[1]
rounds = sorted(glob.glob("round-*.json"))
docs = [json.load(open(r)) for r in rounds]
n = len(docs)
assert n % 2 == 0
def write_side(d, idxs, scale):
    os.makedirs(d, exist_ok=True)
    for i in idxs:
        doc = json.loads(json.dumps(docs[i]))
        for r in doc["results"]:
            if r.get("ns_per_op"):
                r["ns_per_op"] = [v * scale for v in r["ns_per_op"]]
        json.dump(doc, open(f"{d}/r{i:02d}.json", "w"))
def compare(old_idx, new_idx, scale, gate):
    with tempfile.TemporaryDirectory() as t:
        write_side(t + "/old", old_idx, 1.0)
        write_side(t + "/new", new_idx, scale)
        p = subprocess.run([EB, "compare", "--rounds", MODE, "--gate", gate, "-o", "json", t + "/old/*.json", t + "/new/*.json"], capture_output=True, text=True)
        rows = json.loads(p.stdout)["metrics"][0]["rows"]
        g = float(gate.rstrip("%")) / 100
        hits = sum(1 for r in rows if r["significant"] and r["delta"] is not None and r["delta"] > g)
        return p.returncode != 0, hits, len(rows)
pairs = [(2 * k, 2 * k + 1) for k in range(n // 2)]
# Interleaved splits: in each adjacent pair of rounds one goes to old, one to new.
splits = []
for bits in itertools.product([0, 1], repeat=len(pairs)):
    if bits[0] == 1:
        continue  # mirror images
    old = [p[b] for p, b in zip(pairs, bits)]
    new = [p[1 - b] for p, b in zip(pairs, bits)]
    splits.append((old, new))
random.seed(1)
if len(splits) > 64:
    splits = random.sample(splits, 64)
out = {}
for scen, scale in [("A/A", 1.0), ("5% slower", 1.05), ("10% slower", 1.10)]:
    for gate in ["5%", "3%"]:
        fails = hits = total = 0
        for old, new in splits:
            f, h, t = compare(old, new, scale, gate)
            fails += f; hits += h; total += t
        out[(scen, gate)] = (fails, len(splits), hits, total)
        print(f"interleaved {scen:11s} gate {gate}: gate failed {fails}/{len(splits)} splits; cases flagged {hits}/{total}", flush=True)
# Separate batches: the first half of the rounds against the second half.
half = list(range(n // 2)), list(range(n // 2, n))
for gate in ["5%", "3%"]:
    f, h, t = compare(half[0], half[1], 1.0, gate)
    print(f"separate batches A/A gate {gate}: gate failed {f}; cases flagged {h}/{t}")
