"""Issue 4 benchmark rows: tag counts, the preference centre, the tag tree through GraphQL and
preference-centre requests per second over HTTP (SPEC 9). See bench/README.md."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from sqlalchemy import text
from sqlmodel import Session

from bench.registry import Dataset, Result, benchmark, ms, percentile

ROOT = Path(__file__).resolve().parent.parent
# The API processes of these rows sign and check person links with this key.
SECRET_KEY = "marquee-bench-secret-key"
STAFF_EMAIL = "bench@marquee.example"

TAG_COUNTS_QUERY = """query TagCounts($after: String) {
  tags(first: 200, after: $after) {
    edges { node { id name counts { persons personsByPerson personsByStaff personsByIntegration } } }
    pageInfo { hasNextPage endCursor }
  }
}"""

PREFERENCE_QUERY = """query Preferences {
  preferenceCentre {
    title tagsTitle tagsDescription firstName
    tags { id label description position selected children { id label description position selected } }
    consents { consentTypeId name description granted }
  }
}"""

TREE_FIELDS = "id label children { id label children { id label children { id label } } }"
TREE_ROOTS = ("Genres", "Interests", "Regions")  # about 300 tags of the account's 500
FULL_TREE_QUERY = f"query FullTree {{ tagTree {{ {TREE_FIELDS} }} }}"


@dataclass
class Api:
    """What an API process has: runtime (settings, engine, plugins), schema, response cache."""

    runtime: object
    schema: object
    cache: object
    staff: str  # "Bearer <staff token>"

    def context(self, authorization: str):
        from graph.context import Context

        return Context(self.runtime, authorization)

    def execute(self, authorization: str, query: str, variables: dict | None = None, *, cached: bool = True):
        """One request as the API runs it: a fresh context (authentication, session), the
        response cache, execution, and the session closed at the end."""
        from graph.execution import execute

        ctx = self.context(authorization)
        try:
            return execute(self.schema, self.cache if cached else None, ctx, query=query, variables=variables)
        finally:
            ctx.close()


_APIS: dict[int, Api] = {}


def api(ds: Dataset) -> Api:
    if id(ds) in _APIS:
        return _APIS[id(ds)]
    from domain.accounts import service as accounts
    from graph.schema import build_schema
    from graph.tags.response_cache import ResponseCache
    from marquee.runtime import build_runtime
    from marquee.settings import Settings

    settings = Settings(database_url=ds.engine.url.render_as_string(hide_password=False), secret_key=SECRET_KEY)
    runtime = build_runtime(settings, engine=ds.engine, load_entrypoints=False)
    with Session(ds.engine) as session:
        user = accounts.get_staff_user_by_email(session, ds.account_id, STAFF_EMAIL) or accounts.create_staff_user(
            session, ds.account_id, email=STAFF_EMAIL, role="admin", name="bench"
        )
        _, secret = accounts.issue_token(session, ds.account_id, kind="staff", staff_user_id=user.id, name="bench")
        session.commit()
    _APIS[id(ds)] = found = Api(runtime, build_schema(settings), ResponseCache(), f"Bearer {secret}")
    return found


def person_links(ds: Dataset, n: int, *, seed: int = 4) -> list[str]:
    """Signed preference links of ``n`` persons spread over the account, preferring persons who
    chose tags themselves (a few persons have none: the sample takes them as they come)."""
    from domain.accounts.person_links import sign_person_token

    first = ds.counts["first_person_id"]
    rng = random.Random(seed)
    ids = sorted(rng.sample(range(first, first + ds.people), min(n, ds.people)))
    return [sign_person_token(SECRET_KEY, account_id=ds.account_id, person_id=p) for p in ids]


def _timed(run, repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return samples


def _check(result) -> dict:
    if result.errors:
        raise RuntimeError(f"GraphQL errors: {result.errors}")
    return result.data


# --------------------------------------------------------------------------- tag counts


def _count_all_tags(a: Api) -> list[dict]:
    nodes, after = [], None
    while True:
        page = _check(a.execute(a.staff, TAG_COUNTS_QUERY, {"after": after}))["tags"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


@benchmark("tag-counts")
def tag_counts(ds: Dataset) -> Result:
    """Exact contact counts of every tag through GraphQL (pages of 200), as staff read them."""
    a = api(ds)
    nodes = _count_all_tags(a)
    samples = _timed(lambda: _count_all_tags(a), 50)
    with ds.engine.connect() as conn:
        started = time.perf_counter()
        fresh = {
            row.tag_id: tuple(row[1:])
            for row in conn.execute(
                text("""
            SELECT t.id AS tag_id, count(DISTINCT l.person_id) AS persons,
                   count(l.person_id) FILTER (WHERE l.source = 'person') AS by_person,
                   count(l.person_id) FILTER (WHERE l.source = 'staff') AS by_staff,
                   count(l.person_id) FILTER (WHERE l.source = 'integration') AS by_integration
              FROM tag t LEFT JOIN person_tag l ON l.account_id = t.account_id AND l.tag_id = t.id
             WHERE t.account_id = :a GROUP BY t.id"""),
                {"a": ds.account_id},
            )
        }
        group_by_seconds = time.perf_counter() - started
    from graph.core.ids import from_global_id

    served = {
        from_global_id(n["id"])[1]: (
            n["counts"]["persons"],
            n["counts"]["personsByPerson"],
            n["counts"]["personsByStaff"],
            n["counts"]["personsByIntegration"],
        )
        for n in nodes
    }
    wrong = sorted(t for t in fresh if served.get(t) != fresh[t])
    exact = not wrong and len(served) == len(fresh)
    mid, p95 = median(samples), percentile(samples, 95)
    print(
        f"  tag-counts: {len(nodes)} tags in {-(-len(nodes) // 200)} requests; median {ms(mid)}, p95 {ms(p95)}; "
        f"exact against a fresh GROUP BY over {sum(f[1] + f[2] + f[3] for f in fresh.values()):,} links "
        f"({ms(group_by_seconds)}): {'yes' if exact else f'NO, {len(wrong)} tags differ'}",
        file=sys.stderr,
    )
    return Result(
        f"tag-counts ({len(nodes)} tags, GraphQL, exact: {'yes' if exact else 'NO'})",
        f"median {ms(mid)}, p95 {ms(p95)}",
        "median ≤ 200 ms, exact",
        mid <= 0.2 and exact,
        seconds=mid,
        details={
            "tags": len(nodes),
            "runs": len(samples),
            "median_s": mid,
            "p95_s": p95,
            "exact": exact,
            "differing_tags": wrong[:20],
            "group_by_seconds": group_by_seconds,
        },
    )


# --------------------------------------------------------------------------- preference centre


@benchmark("preference-form")
def preference_form(ds: Dataset) -> Result:
    """Server time of one person's preference centre: a fresh context per request (the link is
    verified and the person looked up), executed through graph.execution.execute."""
    a = api(ds)
    links = person_links(ds, 200)
    first = _check(a.execute(f"Bearer {links[0]}", PREFERENCE_QUERY))["preferenceCentre"]
    if first is None or not first["tags"]:
        raise RuntimeError("the preference centre shows no tags: is the demo data loaded with tags?")
    shown = sum(1 + len(t["children"]) for t in first["tags"])
    for link in links[:20]:  # warm up
        _check(a.execute(f"Bearer {link}", PREFERENCE_QUERY))
    samples, selected = [], 0
    for link in links:
        started = time.perf_counter()
        data = _check(a.execute(f"Bearer {link}", PREFERENCE_QUERY))["preferenceCentre"]
        samples.append(time.perf_counter() - started)
        selected += sum(t["selected"] + sum(c["selected"] for c in t["children"]) for t in data["tags"])
    mid, p95 = median(samples), percentile(samples, 95)
    print(
        f"  preference-form: {len(links)} persons, {shown} tags on the form, {selected / len(links):.2f} "
        f"selected per person; median {ms(mid)}, p95 {ms(p95)}",
        file=sys.stderr,
    )
    return Result(
        f"preference-form ({shown} tags, {len(links)} persons)",
        f"median {ms(mid)}, p95 {ms(p95)}",
        "median ≤ 15 ms",
        mid <= 0.015,
        seconds=mid,
        details={
            "runs": len(samples),
            "median_s": mid,
            "p95_s": p95,
            "tags_on_form": shown,
            "selected_per_person": selected / len(links),
        },
    )


# --------------------------------------------------------------------------- tag tree


def _count_tree(nodes: list[dict]) -> int:
    return sum(1 + _count_tree(n.get("children") or []) for n in nodes)


def tree_query(ds: Dataset) -> str:
    """The subtrees of the Genres, Interests and Regions main tags (one aliased ``tag`` each)."""
    from graph.core.ids import to_global_id

    with ds.engine.connect() as conn:
        rows = dict(
            conn.execute(
                text("SELECT name, id FROM tag WHERE account_id = :a AND parent_id IS NULL AND name = ANY(:n)"),
                {"a": ds.account_id, "n": list(TREE_ROOTS)},
            ).all()
        )
    parts = [f'{name.lower()}: tag(id: "{to_global_id("Tag", rows[name])}") {{ {TREE_FIELDS} }}' for name in TREE_ROOTS]
    return "query TagSubtrees { " + " ".join(parts) + " }"


@benchmark("tag-tree-graphql-vs-json")
def tag_tree(ds: Dataset) -> Result:
    """A ~300-tag tree through graph.execution.execute (staff context per request: token check,
    response cache) against json.dumps of the same data."""
    a = api(ds)
    query = tree_query(ds)
    data = _check(a.execute(a.staff, query))
    tags = _count_tree(list(data.values()))
    runs = 500
    graphql = _timed(lambda: a.execute(a.staff, query), runs, warmup=20)
    plain = _timed(lambda: json.dumps(data), runs, warmup=20)
    with_body = _timed(lambda: json.dumps({"data": a.execute(a.staff, query).data}), runs, warmup=20)
    g, j, gb = median(graphql), median(plain), median(with_body)
    ratio = g / j
    # For information: without the response cache (every field resolved), and the whole tree.
    uncached = median(_timed(lambda: a.execute(a.staff, query, cached=False), 100))
    ctx = a.context(a.staff)
    ctx.viewer  # noqa: B018  (authenticate once: pure execution below)
    try:
        pure = median(_timed(lambda: a.schema.execute_sync(query, context_value=ctx), 100))
    finally:
        ctx.close()
    full = _check(a.execute(a.staff, FULL_TREE_QUERY))
    full_tags = _count_tree(full["tagTree"])
    full_cached = median(_timed(lambda: a.execute(a.staff, FULL_TREE_QUERY), 200))
    full_uncached = median(_timed(lambda: a.execute(a.staff, FULL_TREE_QUERY, cached=False), 50))
    full_json = median(_timed(lambda: json.dumps(full), 200))
    info = {
        "tags": tags,
        "graphql_median_s": g,
        "json_median_s": j,
        "ratio": ratio,
        "graphql_with_serialisation_s": gb,
        "ratio_with_serialisation": gb / j,
        "uncached_execute_s": uncached,
        "uncached_ratio": uncached / j,
        "execute_sync_no_auth_s": pure,
        "execute_sync_ratio": pure / j,
        "full_tree_tags": full_tags,
        "full_tree_cached_s": full_cached,
        "full_tree_uncached_s": full_uncached,
        "full_tree_json_s": full_json,
    }
    print(
        f"  tag-tree: {tags} tags ({', '.join(TREE_ROOTS)} subtrees, staff viewer); GraphQL {ms(g)} vs "
        f"json.dumps {ms(j)} = {ratio:.1f}x (with the response body serialised: {gb / j:.1f}x); "
        f"without the response cache {ms(uncached)} = {uncached / j:.1f}x; schema.execute_sync alone "
        f"{ms(pure)} = {pure / j:.1f}x; whole staff tree ({full_tags} tags): cached {ms(full_cached)}, "
        f"uncached {ms(full_uncached)}, json.dumps {ms(full_json)}",
        file=sys.stderr,
    )
    return Result(
        f"tag-tree-graphql-vs-json ({tags} tags)",
        f"{ratio:.1f}x ({ms(g)} vs {ms(j)}; uncached {uncached / j:.0f}x)",
        "≤ 10x",
        ratio <= 10,
        seconds=g,
        details=info,
    )


# --------------------------------------------------------------------------- requests per second

WRK_SCRIPT = """-- generated by bench/tags.py: POST the preference centre, rotating over person links
local links = {LINKS}
local body = {BODY}
local requests = {{}}
local i = 0
init = function(args)
  for n, link in ipairs(links) do
    requests[n] = wrk.format("POST", "/graphql", {{
      ["Content-Type"] = "application/json", ["Accept"] = "application/json",
      ["Authorization"] = "Bearer " .. link}}, body)
  end
end
request = function()
  i = i + 1
  return requests[(i % #requests) + 1]
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lua_string(value: str) -> str:
    return json.dumps(value)  # JSON string escapes are valid Lua for this ASCII text


def _parse_wrk(output: str) -> dict:
    found = {}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", output):
        found["rps"] = float(m.group(1))
    if m := re.search(r"(\d+) requests in ([\d.]+)(\w+)", output):
        found["requests"] = int(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        found["non_2xx"] = int(m.group(1))
    if m := re.search(r"Socket errors: (.*)", output):
        found["socket_errors"] = m.group(1).strip()
    for pct in ("50", "90", "99"):
        if m := re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE):
            value = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[m.group(2)]
            found[f"p{pct}_ms"] = value
    return found


def drive_api(
    ds: Dataset,
    *,
    factory: str = "marquee.asgi:create",
    threads: int = 1,
    connections: int = 8,
    seconds: int = 15,
    persons: int = 50,
    extra_path: str | None = None,
) -> dict:
    """Start one uvicorn process on a free loopback port, check that it answers the preference
    centre, warm it up for 3 s and drive it with wrk for ``seconds``; the server is always
    stopped at the end. Returns what wrk reported (requests/s, latency percentiles, errors)."""
    wrk = shutil.which("wrk")
    port = _free_port()
    links = person_links(ds, persons, seed=9)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEE_")}
    env.update(
        MARQUEE_DATABASE_URL=ds.engine.url.render_as_string(hide_password=False),
        MARQUEE_SECRET_KEY=SECRET_KEY,
        MARQUEE_LOG_LEVEL="WARNING",
        MARQUEE_GRAPHQL_IDE="false",
        PYTHONPATH=os.pathsep.join(p for p in (extra_path, str(ROOT)) if p),
    )
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in the finally below)
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"the API did not start: {log.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.2)
        body = json.dumps({"query": PREFERENCE_QUERY})
        request = urllib.request.Request(
            f"{url}/graphql",
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {links[0]}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
        if answer.get("errors") or not (answer.get("data") or {}).get("preferenceCentre"):
            raise RuntimeError(f"the preference centre did not answer over HTTP: {str(answer)[:500]}")
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(
                WRK_SCRIPT.format(LINKS="{" + ", ".join(_lua_string(x) for x in links) + "}", BODY=_lua_string(body))
            )
        try:
            base = [wrk, f"-t{threads}", f"-c{connections}", "--timeout", "5s", "-s", script.name]
            subprocess.run([*base, "-d3s", url], capture_output=True, text=True, timeout=30, check=True)  # warm-up
            run = subprocess.run(
                [*base, f"-d{seconds}s", "--latency", url],
                capture_output=True,
                text=True,
                timeout=seconds + 30,
                check=True,
            )
        finally:
            os.unlink(script.name)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    return _parse_wrk(run.stdout) | {
        "wrk": run.stdout,
        "threads": threads,
        "connections": connections,
        "seconds": seconds,
        "persons": len(links),
    }


@benchmark("preference-form-rps")
def preference_form_rps(ds: Dataset) -> Result:
    """Preference-centre requests per second through one uvicorn process over loopback HTTP."""
    name = "preference-form-rps (1 API process, HTTP)"
    target = "≥ 300 req/s"
    if shutil.which("wrk") is None:
        return Result(name, "skipped: wrk is not installed (apt-get install -y wrk)", target, None)
    found = drive_api(ds)
    rps, errors = found.get("rps", 0.0), found.get("non_2xx", 0)
    p50, p90, p99 = (found.get(f"p{p}_ms", float("nan")) for p in (50, 90, 99))
    print(
        f"  preference-form-rps: wrk -t{found['threads']} -c{found['connections']} -d{found['seconds']}s over "
        f"{found['persons']} person links: {rps:.0f} req/s, latency p50 {p50:.1f} ms, p90 {p90:.1f} ms, "
        f"p99 {p99:.1f} ms, non-2xx {errors}",
        file=sys.stderr,
    )
    return Result(
        name,
        f"{rps:.0f} req/s (p50 {p50:.1f} ms, p99 {p99:.1f} ms, c={found['connections']})",
        target,
        rps >= 300 and not errors,
        details=found,
    )
