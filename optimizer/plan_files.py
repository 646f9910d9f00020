"""A plan's files, by name: what `relief plan --out` writes to a folder and what a server's
plan job keeps under the job (`GET /plans/{id}/results/{name}`), made by the one set of
writers so the two cannot drift apart."""

import io
import json

from optimizer.manifests import manifest_csv, manifest_html
from optimizer.plan import Plan
from optimizer.problem import Problem
from optimizer.provenance import problem_record

#: Media type of each file kind, by the name's suffix.
MEDIA_TYPES = {
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".csv": "text/csv; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
}


def media_type(name: str) -> str:
    return MEDIA_TYPES.get(name[name.rfind(".") :], "application/octet-stream")


def plan_files(result: Plan, problem: Problem, *, figure: bool = True) -> dict[str, bytes]:
    """plan.json, inputs.json (the problem as planned: `--reproduce` reads it),
    plan.geojson, shipments.csv, and for a routed plan the truck manifests (CSV, and HTML
    to print); plan.png unless `figure` is false (matplotlib takes a second or two)."""
    files = {
        "plan.json": result.to_json(),
        "inputs.json": json.dumps(problem_record(problem), ensure_ascii=False),
        "plan.geojson": json.dumps(result.to_geojson(), ensure_ascii=False),
        "shipments.csv": result.to_csv(),
    }
    if result.routing is not None:
        files["manifests.csv"] = manifest_csv(result)
        files["manifests.html"] = manifest_html(result)
    out = {name: text.encode("utf-8") for name, text in files.items()}
    if figure:
        from optimizer.plotting import plot_plan

        drawn = plot_plan(result, problem)
        png = io.BytesIO()
        drawn.savefig(png, format="png")
        import matplotlib.pyplot as plt

        plt.close(drawn)
        out["plan.png"] = png.getvalue()
    return out
