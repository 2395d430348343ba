"""The ecosystem check's logic on small synthetic inputs (no download, no scan), and the
generated precision docs being fresh against the committed snapshot, verdicts and lists."""
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bench.ecosystem import findings as fmod, precision, projects as pmod
from bench.ecosystem.findings import Finding
from bench.ecosystem.projects import EcosystemError

ROOT = Path(__file__).resolve().parent.parent


def F(path="app/views.py", line=10, rule="database.python.n-plus-one", fp="aaaa", project="demo", end=None,
      severity="medium"):
    return Finding(project, rule, path, line, end or line, fp, severity)


# ---- diff -----------------------------------------------------------------------------------

def test_diff_new_gone_moved_and_same():
    before = [F(fp="same", line=5), F(fp="moves", line=20), F(fp="goes", line=30)]
    now = [F(fp="same", line=5), F(fp="moves", line=24), F(fp="arrives", line=40)]
    d = fmod.diff(before, now)
    assert [(f.fingerprint, f.line) for f in d.new] == [("arrives", 40)]
    assert [(f.fingerprint, f.line) for f in d.gone] == [("goes", 30)]
    assert [(a.line, b.line, b.fingerprint) for a, b in d.moved] == [(20, 24, "moves")]
    assert d.same == 1 and bool(d)


def test_diff_key_includes_rule_path_and_project():
    before = [F(rule="a.python.x", fp="f"), F(path="one.py", fp="g"), F(project="p1", fp="h")]
    now = [F(rule="b.python.x", fp="f"), F(path="two.py", fp="g"), F(project="p2", fp="h")]
    d = fmod.diff(before, now)
    assert len(d.new) == 3 and len(d.gone) == 3 and not d.moved


def test_diff_same_key_twice_pairs_equal_lines_first():
    before = [F(fp="dup", line=10), F(fp="dup", line=50)]
    now = [F(fp="dup", line=50), F(fp="dup", line=12), F(fp="dup", line=90)]
    d = fmod.diff(before, now)
    assert d.same == 1
    assert [(a.line, b.line) for a, b in d.moved] == [(10, 12)]
    assert [f.line for f in d.new] == [90] and not d.gone


def test_no_diff_is_falsy():
    assert not fmod.diff([F()], [F()])


def test_snapshot_round_trip_is_stable(tmp_path):
    snap = {"tool": "semgrep 1.185.0", "projects": {
        "b": {"files": 2, "lines": 30, "half": "tuning", "findings": [F(project="b", line=3, end=5), F(project="b", fp="z")]},
        "a": {"files": 1, "lines": 10, "half": "measuring", "findings": []}}}
    text = fmod.dump_snapshot(snap)
    path = tmp_path / "snapshot.json"
    path.write_text(text)
    loaded = fmod.load_snapshot(path)
    assert loaded["projects"]["b"]["findings"] == sorted(snap["projects"]["b"]["findings"], key=fmod.sort_key)
    assert loaded["projects"]["b"]["findings"][0].end_line == 5
    assert fmod.dump_snapshot(loaded) == text
    assert list(json.loads(text)["projects"]) == ["a", "b"]  # sorted: diffs stay small


# ---- verdicts -------------------------------------------------------------------------------

VERDICT_HEAD = "project\trule\tpath\tline\tfingerprint\tverdict\treason\n"


def test_verdict_join_by_fingerprint_not_line(tmp_path):
    path = tmp_path / "verdicts.tsv"
    path.write_text("# comment\n" + VERDICT_HEAD
                    + "demo\tdatabase.python.n-plus-one\tapp/views.py\t10\taaaa\tTP\treal N+1 per order\n"
                    + "demo\tdatabase.python.n-plus-one\tapp/old.py\t3\tgone\tFP\tloop over a constant\n")
    verdicts = fmod.load_verdicts(path)
    moved = F(line=14)  # same key, lines shifted since the verdict
    other = F(path="app/other.py", fp="bbbb")
    pairs, stale = fmod.join([moved, other], verdicts)
    assert pairs[0][1].verdict == "TP" and pairs[0][1].reason == "real N+1 per order"
    assert pairs[1][1] is None
    assert [(v.path, v.fingerprint) for v in stale] == [("app/old.py", "gone")]
    assert fmod.missing_rows([moved, other], verdicts) == [
        "demo\tdatabase.python.n-plus-one\tapp/other.py\t10\tbbbb\t\t"]


def test_a_verdict_row_per_line_when_another_copy_takes_over_the_fingerprint(tmp_path):
    # the rule stopped matching the first copy of a line (line 10): the copy on line 40 now has
    # its fingerprint, and its own row decides; a key with rows on other lines only is ambiguous
    path = tmp_path / "verdicts.tsv"
    path.write_text(VERDICT_HEAD
                    + "demo\tdatabase.python.n-plus-one\tapp/views.py\t10\taaaa\tFP\tlimited by a decorator\n"
                    + "demo\tdatabase.python.n-plus-one\tapp/views.py\t40\taaaa\tTP\tno limit on this view\n")
    verdicts = fmod.load_verdicts(path)
    pairs, stale = fmod.join([F(line=40)], verdicts)
    assert pairs[0][1].verdict == "TP"
    assert [(v.line, v.verdict) for v in stale] == [(10, "FP")]
    assert fmod.join([F(line=25)], verdicts)[0][0][1] is None
    assert fmod.missing_rows([F(line=25)], verdicts) == ["demo\tdatabase.python.n-plus-one\tapp/views.py\t25\taaaa\t\t"]


@pytest.mark.parametrize("row, message", [
    ("demo\tr.python.x\ta.py\t1\tfp\tmaybe\twhy\n", "verdict must be one of TP, FP, noise"),
    ("demo\tr.python.x\ta.py\t1\tfp\tTP\t\n", "needs a one-line reason"),
    ("demo\tr.python.x\ta.py\tten\tfp\tTP\twhy\n", "line must be a number"),
    ("demo\tr.python.x\ta.py\n", "row has 3 columns"),
])
def test_bad_verdict_rows_name_file_and_line(tmp_path, row, message):
    path = tmp_path / "verdicts.tsv"
    path.write_text(VERDICT_HEAD + row)
    with pytest.raises(EcosystemError, match=rf"verdicts.tsv:2: .*{message}"):
        fmod.load_verdicts(path)


def test_second_verdict_for_one_finding_is_an_error(tmp_path):
    path = tmp_path / "verdicts.tsv"
    row = "demo\tr.python.x\ta.py\t1\tfp\tTP\twhy\n"
    path.write_text(VERDICT_HEAD + row + row)
    with pytest.raises(EcosystemError, match="verdicts.tsv:3: second verdict"):
        fmod.load_verdicts(path)


# ---- reviewer lists and recall --------------------------------------------------------------

REVIEW = ("# files-read: app/views.py app/tasks.py\n"
          "id\tpath\tline\tarea\tseverity\tshape\tnote\n"
          "demo-01\tapp/views.py\t13\tdatabase\thigh\tn-plus-one-in-view\tone query per order line\n"
          "demo-02\tapp/views.py\t40\tapi\tmedium\tlist-without-pagination\tevery row returned\n"
          "demo-03\tapp/tasks.py\t10\tjobs\tlow\ttask-without-time-limit\tno time limit\n")


def test_reviewer_list_is_read_with_comments(tmp_path):
    (tmp_path / "demo.tsv").write_text(REVIEW)
    items = fmod.load_reviewer_lists(tmp_path)["demo"]
    assert [(i.id, i.path, i.line, i.area, i.shape) for i in items] == [
        ("demo-01", "app/views.py", 13, "database", "n-plus-one-in-view"),
        ("demo-02", "app/views.py", 40, "api", "list-without-pagination"),
        ("demo-03", "app/tasks.py", 10, "jobs", "task-without-time-limit")]


def test_reviewer_list_rejects_unknown_area(tmp_path):
    (tmp_path / "demo.tsv").write_text(REVIEW.replace("\tapi\t", "\tapis\t"))
    with pytest.raises(EcosystemError, match=r"demo.tsv:4: area must be one of"):
        fmod.load_reviewer_lists(tmp_path)


def test_recall_match_same_file_within_three_lines_any_rule():
    item = fmod.ReviewerItem("demo", "demo-01", "app/views.py", 13, "database", "high", "n-plus-one", "")
    assert fmod.matches(item, [F(line=10)])                      # 3 lines above
    assert fmod.matches(item, [F(line=16, rule="api.python.x")])  # 3 below, another area's rule
    assert fmod.matches(item, [F(line=5, end=20)])               # inside a multi-line region
    assert fmod.matches(item, [F(line=5, end=10)])               # region ends 3 lines above
    assert not fmod.matches(item, [F(line=9)])                   # 4 lines away
    assert not fmod.matches(item, [F(line=17)])
    assert not fmod.matches(item, [F(line=13, path="app/other.py")])
    assert not fmod.matches(item, [F(line=13, project="other")])


# ---- generated docs from synthetic inputs ---------------------------------------------------

PROJECTS = '''
[[project]]
name = "demo"
half = "measuring"
idioms = "Flask"
paths = ["."]
dists = [{ spec = "demo==1.0", file = "demo-1.0-py3-none-any.whl", sha256 = "%s" }]

[[project]]
name = "tuned"
half = "tuning"
idioms = "Django"
paths = ["src/a", "src/b"]
dists = [{ spec = "tuned==2.0", file = "tuned-2.0-py3-none-any.whl", sha256 = "%s" }]
''' % ("a" * 64, "b" * 64)


def synthetic(tmp_path):
    (tmp_path / "projects.toml").write_text(PROJECTS)
    snap = {"projects": {
        "demo": {"files": 3, "lines": 120, "half": "measuring", "findings": [
            F(line=10, fp="f1"), F(line=60, fp="f2"), F(line=80, fp="f3"),
            F(path="app/tasks.py", line=30, rule="jobs.python.task-without-time-limit", fp="f4")]},
        "tuned": {"files": 1, "lines": 10, "half": "tuning", "findings": [
            F(project="tuned", rule="database.python.n-plus-one", fp="t1")]}}}
    (tmp_path / "snapshot.json").write_text(fmod.dump_snapshot(snap))
    (tmp_path / "verdicts.tsv").write_text(
        VERDICT_HEAD
        + "demo\tdatabase.python.n-plus-one\tapp/views.py\t10\tf1\tTP\treal N+1\n"
        + "demo\tdatabase.python.n-plus-one\tapp/views.py\t60\tf2\tFP\tLoop over a constant tuple\n"
        + "demo\tdatabase.python.n-plus-one\tapp/views.py\t80\tf3\tFP\tloop over a  constant tuple.\n"
        + "demo\tjobs.python.task-without-time-limit\tapp/tasks.py\t30\tf4\tnoise\tapp-wide limit in settings\n"
        + "tuned\tdatabase.python.n-plus-one\tapp/views.py\t10\tt1\tTP\treal\n")
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "demo.tsv").write_text(REVIEW)
    return precision.load(tmp_path / "projects.toml", tmp_path / "snapshot.json", tmp_path / "verdicts.tsv", lists)


def row(text, first_cell):
    """The cells of the markdown table row that starts with first_cell."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{text}")


def test_summary_counts_precision_and_recall_per_half(tmp_path):
    data = synthetic(tmp_path)
    text = precision.render_summary(data)
    projects, rest = text.split("## Measuring half")  # measuring first
    measuring, tuning = rest.split("## Tuning half")
    assert row(projects, "demo")[1:3] == ["measuring", "demo==1.0"]
    # demo: 4 findings, all verdicted: 1 TP, 2 FP, 1 noise; reviewer items: 01 (line 13 vs 10) and 03 (tasks 30 vs 10: no)
    assert row(measuring, "demo") == ["demo", "4", "4", "1", "2", "1", "0.25", "1/3", "0.33"]
    assert row(measuring, "[database](precision/database.md)")[1:] == ["3", "3", "1", "2", "0", "0.33", "1/1", "1.00"]
    assert row(measuring, "[jobs](precision/jobs.md)")[1:] == ["1", "1", "0", "0", "1", "0.00", "0/1", "0.00"]
    assert row(measuring, "[api](precision/api.md)")[1:] == ["0", "0", "0", "0", "0", "n/a", "0/1", "0.00"]
    assert row(tuning, "tuned") == ["tuned", "1", "1", "1", "0", "0", "1.00", "0", "n/a"]
    assert row(projects, "tuned")[4] == "`src/{a,b}`"


def test_area_page_groups_reasons_and_lists_missed_shapes(tmp_path):
    data = synthetic(tmp_path)
    db = precision.render_area(data, "database")
    measuring = db.split("## Tuning half")[0]
    assert row(measuring, "`database.python.n-plus-one`") == [
        "`database.python.n-plus-one`", "demo 3", "3", "3", "1", "2", "0", "0.33", "1"]
    # the two FP reasons differ only in case, spacing and the full stop: one cause, 2 findings
    assert row(measuring, "Loop over a constant tuple")[1:3] == ["2", "`n-plus-one` (2)"]
    jobs = precision.render_area(data, "jobs")
    assert row(jobs, "app-wide limit in settings")[1] == "1"
    assert row(jobs, "task-without-time-limit") == ["task-without-time-limit", "1", "demo-03"]
    api = precision.render_area(data, "api")
    assert "0 of 1 reviewer items in this area reported" in api


# ---- projects: pins, download check, unpack -------------------------------------------------

@pytest.mark.parametrize("entry", ["{api,core}", "pkg/*", "../outside", "/abs"])
def test_a_paths_entry_must_be_one_literal_relative_path(tmp_path, entry):
    # a brace set once reached os.stat as one 300-character file name and crashed the run
    toml = tmp_path / "projects.toml"
    toml.write_text(f"""[[project]]
name = "demo"
half = "tuning"
paths = ["{entry}"]
dists = [{{ spec = "demo==1.0", file = "demo-1.0-py3-none-any.whl", sha256 = "{'a' * 64}" }}]
""")
    with pytest.raises(EcosystemError, match=r"project #1 \(demo\): paths entry .* must be one relative path"):
        pmod.load(toml)

def test_projects_file_pins_twelve_projects_in_two_halves():
    projects = pmod.load()
    assert len(projects) >= 12
    assert {p.half for p in projects} == {"measuring", "tuning"}
    assert all(len(d.sha256) == 64 and "==" in d.spec for p in projects for d in p.dists)
    forbidden = ("netbox", "saleor", "flaskbb", "full-stack-fastapi", "benchmarkpython", "vampi", "dvpwa",
                 "pygoat", "vulpy", "dvga", "vulnerable-flask", "nautobot")
    text = pmod.PROJECTS_FILE.read_text().lower()
    assert not [name for name in forbidden if name in text]


def make_wheel(path: Path, files: dict) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_prepare_verifies_hash_and_unpacks_without_dist_info(tmp_path):
    dl = tmp_path / "dl"
    dl.mkdir()
    digest = make_wheel(dl / "demo-1.0-py3-none-any.whl",
                        {"demo/app.py": "x = 1\n", "demo-1.0.dist-info/METADATA": "Name: demo\n"})
    project = pmod.Project("demo", "tuning", "", ("demo",), (pmod.Dist("demo==1.0", "demo-1.0-py3-none-any.whl", digest),))
    src = pmod.prepare(project, tmp_path, log=lambda m: None)
    assert (src / "demo" / "app.py").read_text() == "x = 1\n"
    assert not list(src.glob("*.dist-info"))
    # a new pin re-unpacks; a file that does not match its pin is refused before use
    digest2 = make_wheel(dl / "demo-2.0-py3-none-any.whl", {"demo/app.py": "x = 2\n"})
    project2 = pmod.Project("demo", "tuning", "", ("demo",), (pmod.Dist("demo==2.0", "demo-2.0-py3-none-any.whl", digest2),))
    assert (pmod.prepare(project2, tmp_path, log=lambda m: None) / "demo" / "app.py").read_text() == "x = 2\n"
    bad = pmod.Project("demo", "tuning", "", ("demo",), (pmod.Dist("demo==2.0", "demo-2.0-py3-none-any.whl", "0" * 64),))
    with pytest.raises(EcosystemError, match=r"demo-2.0-py3-none-any.whl: sha256 .* does not match projects.toml"):
        pmod.prepare(bad, tmp_path, log=lambda m: None)


def test_prepare_unpacks_an_sdist_and_refuses_members_outside_the_tree(tmp_path):
    import io
    import tarfile

    def make_sdist(path: Path, members: dict) -> str:
        with tarfile.open(path, "w:gz") as tf:
            for name, text in members.items():
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
        return hashlib.sha256(path.read_bytes()).hexdigest()

    dl = tmp_path / "dl"
    dl.mkdir()
    digest = make_sdist(dl / "demo-1.0.tar.gz", {"demo-1.0/demo/app.py": "x = 1\n"})
    project = pmod.Project("demo", "tuning", "", ("demo-1.0/demo",), (pmod.Dist("demo==1.0", "demo-1.0.tar.gz", digest),))
    assert (pmod.prepare(project, tmp_path, log=lambda m: None) / "demo-1.0" / "demo" / "app.py").read_text() == "x = 1\n"
    evil = make_sdist(dl / "evil-1.0.tar.gz", {"../outside.py": "x = 1\n"})
    project = pmod.Project("evil", "tuning", "", ("evil",), (pmod.Dist("evil==1.0", "evil-1.0.tar.gz", evil),))
    with pytest.raises(EcosystemError, match=r"evil-1.0.tar.gz: .*outside"):
        pmod.prepare(project, tmp_path, log=lambda m: None)
    assert not (tmp_path / "src" / "outside.py").exists()


def test_a_pinned_file_is_copied_from_the_index_json_api_never_built(tmp_path, monkeypatch):
    import io
    import urllib.request

    body = b"sdist bytes"
    pages = {"https://index.test/simple/demo-app/": json.dumps({"files": [
                 {"filename": "demo_app-1.0-py3-none-any.whl", "url": "../../files/w.whl"},
                 {"filename": "demo_app-1.0.tar.gz", "url": "../../files/demo_app-1.0.tar.gz"}]}).encode(),
             "https://index.test/files/demo_app-1.0.tar.gz": body}
    asked = []

    def fake_urlopen(req, timeout):
        url = req if isinstance(req, str) else req.full_url
        asked.append(url)
        if url not in pages:
            raise urllib.error.URLError("not found")
        return io.BytesIO(pages[url])

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    monkeypatch.setenv("BACKEND_REVIEW_ECOSYSTEM_INDEX", "https://index.test/simple")
    dist = pmod.Dist("Demo_App==1.0", "demo_app-1.0.tar.gz", hashlib.sha256(body).hexdigest())
    path = pmod.download(dist, tmp_path / "dl", log=lambda m: None)
    assert path.read_bytes() == body and asked[-1].endswith("/files/demo_app-1.0.tar.gz")
    assert [p.name for p in (tmp_path / "dl").iterdir()] == ["demo_app-1.0.tar.gz"]  # no .part left
    missing = pmod.Dist("Demo_App==2.0", "demo_app-2.0.tar.gz", "0" * 64)
    with pytest.raises(EcosystemError, match=r"demo-app/: no file demo_app-2.0.tar.gz$"):
        pmod.download(missing, tmp_path / "dl", log=lambda m: None)
    pages.pop("https://index.test/files/demo_app-1.0.tar.gz")
    (tmp_path / "dl" / "demo_app-1.0.tar.gz").unlink()
    with pytest.raises(EcosystemError, match=r"download of demo_app-1.0.tar.gz from .* failed"):
        pmod.download(dist, tmp_path / "dl", log=lambda m: None)
    assert not (tmp_path / "dl" / "demo_app-1.0.tar.gz").exists()


def test_missing_scan_path_is_an_error(tmp_path):
    (tmp_path / "dl").mkdir()
    digest = make_wheel(tmp_path / "dl" / "d.whl", {"demo/app.py": ""})
    project = pmod.Project("demo", "tuning", "", ("nowhere",), (pmod.Dist("d==1", "d.whl", digest),))
    with pytest.raises(EcosystemError, match="scan path nowhere does not exist"):
        pmod.prepare(project, tmp_path, log=lambda m: None)


# ---- the committed files --------------------------------------------------------------------

def test_precision_docs_are_fresh():
    """docs/precision.md and docs/precision/<area>.md regenerate to what is committed."""
    assert [str(p.relative_to(ROOT)) for p in precision.stale()] == [], (
        "regenerate with: python -m bench.ecosystem.precision")


def test_committed_verdicts_and_lists_parse_and_snapshot_covers_every_project():
    data = precision.load()
    assert set(data.snapshot["projects"]) == {p.name for p in pmod.load()}
    assert not data.unknown_lists


def test_offline_run_lists_findings_without_verdict(tmp_path):
    """`--no-scan` compares the snapshot with itself (no diff) and prints fill-in rows for
    every snapshot finding without a verdict: the verdict writers' workflow, offline."""
    env = {"BACKEND_REVIEW_ECOSYSTEM_CACHE": str(tmp_path / "cache"), "PATH": ""}
    base = [sys.executable, "-m", "bench.ecosystem.run", "--no-scan", "--half", "measuring"]
    proc = subprocess.run([*base, "--missing-verdicts"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "no difference from the snapshot" in proc.stdout
    data = precision.load()
    measuring = {p.name for p in data.projects if p.half == "measuring"}
    expected = [f for f, v in data.pairs if v is None and f.project in measuring]
    rows = [line for line in proc.stdout.splitlines() if line.count("\t") == 6]
    assert len(rows) == len(expected)
    if expected:
        f = sorted(expected, key=fmod.sort_key)[0]
        assert rows[0] == f"{f.project}\t{f.rule}\t{f.path}\t{f.line}\t{f.fingerprint}\t\t"
    check = subprocess.run([*base, "--check"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert check.returncode == (1 if expected else 0), check.stderr
    assert not (tmp_path / "cache").exists()  # nothing downloaded or written
