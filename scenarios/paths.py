"""Where the bundled scenarios and the sample ledger are: paths only, so a command that
needs one as an option's default (`relief readiness --norms`) imports nothing else.
`scenarios.scenario` re-exports them."""

from pathlib import Path

SCENARIOS_DIR = Path(__file__).resolve().parent
BUNDLED = SCENARIOS_DIR / "haicheng-earthquake"
#: The sample ledger (items, depots, movements, suppliers, agreements...) of the demo.
SAMPLE_DIR = SCENARIOS_DIR / "sample"
