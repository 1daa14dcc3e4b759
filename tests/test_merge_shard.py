"""run --shard K/N splits the work deterministically; merge joins shards (or machines) back into one run."""
import msgspec
import pytest
from conftest import read_results, run_cli
from records_helpers import plain_header

from cases import preset_cases
from conformance.plan import job_cost, make_jobs, parse_shard, shard_jobs
from verdict.records import RunOptions, planned_of, write_run


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
    """A result without what differs between two runs of the same work: timings, the cache, the profile, and the
    localisation (of each cluster's first result, and a shard's clusters are not the whole run's)."""
    return msgspec.structs.replace(record, timings={}, export=None, providers=[], placement={}, localisation=None)


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
    shards = [read_results(out / f"shard{k}") for k in (1, 2)]
    assert [header.options.shard for header, _ in shards] == ["1/2", "2/2"]
    assert all(results and header.planned.count == len(results) for header, results in shards)
    assert [r.status for r in shards[1].results].count("NOT_APPLICABLE") == 0

    proc = run_cli("merge", out / "shard1", out / "shard2" / "results.jsonl", "-o", tmp_path / "merged")
    assert proc.returncode == 0, proc.stderr
    header, results = read_results(tmp_path / "merged")
    assert [m.shard for m in header.merged_from] == ["1/2", "2/2"] and header.options.shard is None
    assert header.planned == smoke_run["header"].planned
    by_key = {r.key: comparable(r) for r in results}
    assert len(by_key) == len(results)
    assert by_key == {r.key: comparable(r) for r in smoke_run["results"]}
    report = (tmp_path / "merged" / "report.html").read_text()
    assert "Merged from 2 runs" in report


def test_merge_refuses_duplicate_results(smoke_shards, tmp_path):
    out, _ = smoke_shards
    proc = run_cli("merge", out / "shard1", out / "shard1", "-o", tmp_path / "merged")
    assert proc.returncode == 2
    assert "are both shard 1/2" in proc.stderr and proc.stderr.count("\n") == 1
    assert not (tmp_path / "merged" / "results.jsonl").exists()


def test_merge_refuses_a_missing_shard(smoke_shards, tmp_path):
    out, _ = smoke_shards
    proc = run_cli("merge", out / "shard1", "-o", tmp_path / "merged")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "shard(s) 2/2 of the 2-way split on ort-cpu,ort-cuda,reference are not among the inputs" in proc.stderr


def test_a_shard_cut_in_half_is_refused_by_merge_and_fails_the_diff(smoke_run, smoke_shards, tmp_path):
    """Planted: a shard killed half-way (its file cut short). merge refuses it (exit 2) and names it; the diff of the run
    against the baseline counts the lost results (exit 1): the nightly cannot go green."""
    out, _ = smoke_shards
    lines = (out / "shard2" / "results.jsonl").read_text().splitlines(keepends=True)
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "results.jsonl").write_text("".join(lines[: 1 + (len(lines) - 1) // 2]))
    proc = run_cli("merge", out / "shard1", cut, "-o", tmp_path / "merged")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert f"{cut} is incomplete" in proc.stderr and "planned results are here" in proc.stderr
    assert not (tmp_path / "merged").exists()
    forced = run_cli("merge", out / "shard1", out / "shard2", "-o", tmp_path / "whole")
    assert forced.returncode == 0, forced.stderr
    # The same loss seen by diff: the cut shard against the unsharded run.
    proc = run_cli("diff", smoke_run["out"], cut)
    assert proc.returncode == 1 and "INCOMPLETE" in proc.stdout


def test_merge_refuses_runs_of_different_torch_unless_told(smoke_shards, tmp_path):
    out, _ = smoke_shards
    header, results = read_results(out / "shard2")
    other = write_run(tmp_path / "other.jsonl", msgspec.structs.replace(header, versions={**header.versions, "torch": "9.9.9"}), results)
    proc = run_cli("merge", out / "shard1", other, "-o", tmp_path / "merged")
    assert proc.returncode == 2
    assert "versions.torch differs (9.9.9 vs" in proc.stderr and proc.stderr.count("\n") == 1
    proc = run_cli("merge", out / "shard1", other, "-o", tmp_path / "merged", "--allow-mismatch")
    assert proc.returncode == 0, proc.stderr


def test_merge_joins_runs_of_different_runtimes_keeping_one_not_applicable_record(smoke_run, tmp_path):
    header, records = read_results(smoke_run["out"])
    for runtimes in (["ort-cpu", "ort-cuda"], ["reference"]):
        part = [r for r in records if r.runtime in runtimes or r.status == "NOT_APPLICABLE"]
        part_header = msgspec.structs.replace(header, options=msgspec.structs.replace(header.options, runtimes=runtimes),
                                              planned=planned_of(r.key for r in part))
        write_run(tmp_path / f"{runtimes[0]}.jsonl", part_header, part)
    proc = run_cli("merge", tmp_path / "ort-cpu.jsonl", tmp_path / "reference.jsonl", "-o", tmp_path / "merged")
    assert proc.returncode == 0, proc.stderr
    merged_header, merged = read_results(tmp_path / "merged")
    assert sorted(r.key for r in merged) == sorted(r.key for r in records)
    assert merged_header.options.runtimes == ["ort-cpu", "ort-cuda", "reference"]


def test_merge_checks_the_option_that_says_which_opsets_ran():
    """The check once named a field that had been renamed ('opset'), so it never fired; the typed header makes that impossible."""
    from conformance.merge import check_compatible
    from verdict.errors import UsageError

    first = plain_header(options=RunOptions(opsets=[18]))
    with pytest.raises(UsageError, match="options.opsets differs"):
        check_compatible([("a", first), ("b", msgspec.structs.replace(first, options=RunOptions(opsets=[23])))])


def test_a_torch_free_corpus_run_merges_by_the_versions_it_was_exported_with():
    from conformance.merge import check_compatible
    from verdict.errors import UsageError

    exporter = plain_header(git_commit="abc", versions={"torch": "2.13.0", "onnx": "1.23.2", "onnxscript": "0.7.2"}, options=RunOptions(opsets=[18]))
    device = plain_header(git_commit="abc", versions={"torch": None, "onnx": "1.23.2", "onnxscript": None})
    check_compatible([("run", exporter), ("device", msgspec.structs.replace(device, source="corpus", corpus_exported=exporter))])
    with pytest.raises(UsageError, match="versions.torch differs"):
        check_compatible([("run", exporter), ("device", device)])
    older = msgspec.structs.replace(exporter, versions={**exporter.versions, "torch": "2.12.0"})
    with pytest.raises(UsageError, match="versions.torch differs"):
        check_compatible([("run", exporter), ("device", msgspec.structs.replace(device, source="corpus", corpus_exported=older))])
