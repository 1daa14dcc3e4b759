"""run --shard K/N splits the work deterministically; merge joins shards (or machines) back into one run."""
import json

import pytest
from conftest import read_jsonl, run_cli

from cases import preset_cases
from conformance.plan import job_cost, make_jobs, parse_shard, shard_jobs

VOLATILE = {"timings", "export", "providers", "placement"}


def default_jobs():
    cases = [c for c in preset_cases("default") if not c.invalid_reason()]
    return make_jobs(cases, ["torchscript", "dynamo"], [False, True], ["ort-cpu", "reference"], [18])


def cost(jobs):
    return sum(job_cost(j) for j in jobs)


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shards_partition_the_jobs_and_balance_their_cost(count):
    jobs = default_jobs()
    shards = [shard_jobs(jobs, k, count) for k in range(1, count + 1)]
    keys = [j.key for shard in shards for j in shard]
    assert sorted(keys) == sorted(j.key for j in jobs) and len(keys) == len(set(keys))
    costs = [cost(shard) for shard in shards]
    assert max(costs) - min(costs) <= max(job_cost(j) for j in jobs)


def test_sharding_is_deterministic_and_keeps_plan_order():
    jobs = default_jobs()
    first, again = shard_jobs(jobs, 2, 3), shard_jobs(list(jobs), 2, 3)
    assert [j.key for j in first] == [j.key for j in again]
    assert [j.key for j in first] == [j.key for j in jobs if j in first]


@pytest.mark.parametrize("text", ["0/2", "3/2", "2", "a/b", "1/0", "-1/2"])
def test_bad_shard_specs_are_refused(text):
    with pytest.raises(ValueError, match="K/N"):
        parse_shard(text)


def comparable(record):
    return {k: v for k, v in record.items() if k not in VOLATILE}


@pytest.fixture(scope="module")
def smoke_shards(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("shards")
    procs = [
        run_cli("run", "--preset", "smoke", "--shard", f"{k}/2", "--out", out / f"shard{k}", "--cache-dir", cache_dir, "--no-progress")
        for k in (1, 2)
    ]
    return out, procs


def test_shards_merge_into_the_unsharded_run(smoke_run, smoke_shards, tmp_path):
    out, procs = smoke_shards
    assert [p.returncode for p in procs] == [0, 0], [p.stderr for p in procs]
    shard_results = [read_jsonl(out / f"shard{k}" / "results.jsonl") for k in (1, 2)]
    assert [records[0]["options"]["shard"] for records in shard_results] == ["1/2", "2/2"]
    assert all(len(records) > 1 for records in shard_results)
    assert [r["status"] for r in shard_results[1][1:]].count("NOT_APPLICABLE") == 0

    proc = run_cli("merge", out / "shard1", out / "shard2" / "results.jsonl", "-o", tmp_path / "merged")
    assert proc.returncode == 0, proc.stderr
    merged = read_jsonl(tmp_path / "merged" / "results.jsonl")
    header, results = merged[0], merged[1:]
    assert [m["shard"] for m in header["merged_from"]] == ["1/2", "2/2"] and header["options"]["shard"] is None
    by_key = {r["key"]: comparable(r) for r in results}
    assert len(by_key) == len(results)
    assert by_key == {r["key"]: comparable(r) for r in smoke_run["results"]}
    report = (tmp_path / "merged" / "report.html").read_text()
    assert "Merged from 2 runs" in report


def test_merge_refuses_duplicate_results(smoke_shards, tmp_path):
    out, _ = smoke_shards
    proc = run_cli("merge", out / "shard1", out / "shard1", "-o", tmp_path / "merged")
    assert proc.returncode == 2
    assert "is in both" in proc.stderr and proc.stderr.count("\n") == 1
    assert not (tmp_path / "merged" / "results.jsonl").exists()


def test_merge_refuses_runs_of_different_torch_unless_told(smoke_shards, tmp_path):
    out, _ = smoke_shards
    lines = (out / "shard2" / "results.jsonl").read_text().splitlines()
    header = json.loads(lines[0])
    header["versions"]["torch"] = "9.9.9"
    other = tmp_path / "other.jsonl"
    other.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    proc = run_cli("merge", out / "shard1", other, "-o", tmp_path / "merged")
    assert proc.returncode == 2
    assert "versions.torch differs (9.9.9 vs" in proc.stderr and proc.stderr.count("\n") == 1
    proc = run_cli("merge", out / "shard1", other, "-o", tmp_path / "merged", "--allow-mismatch")
    assert proc.returncode == 0, proc.stderr


def test_merge_joins_runs_of_different_runtimes_keeping_one_not_applicable_record(smoke_run, tmp_path):
    lines = (smoke_run["out"] / "results.jsonl").read_text().splitlines()
    header, records = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    for runtimes in (["ort-cpu", "ort-cuda"], ["reference"]):
        part = [r for r in records if r["runtime"] in runtimes or r["status"] == "NOT_APPLICABLE"]
        part_header = {**header, "options": {**header["options"], "runtimes": runtimes}}
        (tmp_path / f"{runtimes[0]}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [part_header, *part]))
    proc = run_cli("merge", tmp_path / "ort-cpu.jsonl", tmp_path / "reference.jsonl", "-o", tmp_path / "merged")
    assert proc.returncode == 0, proc.stderr
    merged = read_jsonl(tmp_path / "merged" / "results.jsonl")
    assert sorted(r["key"] for r in merged[1:]) == sorted(r["key"] for r in records)
    assert merged[0]["options"]["runtimes"] == ["ort-cpu", "ort-cuda", "reference"]


def test_a_torch_free_corpus_run_merges_by_the_versions_it_was_exported_with():
    from conformance.merge import check_compatible
    from conformance.errors import UsageError

    exporter = {"git_commit": "abc", "versions": {"torch": "2.13.0", "onnx": "1.23.2", "onnxscript": "0.7.2"}, "options": {"opset": 18}}
    device = {"git_commit": "abc", "versions": {"torch": None, "onnx": "1.23.2", "onnxscript": None}, "options": {}}
    check_compatible([("run", exporter), ("device", {**device, "source": "corpus", "corpus_exported": exporter})])
    with pytest.raises(UsageError, match="versions.torch differs"):
        check_compatible([("run", exporter), ("device", device)])
    older = {**exporter, "versions": {**exporter["versions"], "torch": "2.12.0"}}
    with pytest.raises(UsageError, match="versions.torch differs"):
        check_compatible([("run", exporter), ("device", {**device, "source": "corpus", "corpus_exported": older})])
