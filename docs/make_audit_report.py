"""Make docs/audit_report.png: a real audit of simulated logs, rendered by headless Chromium.

Run from the repository root: `python docs/make_audit_report.py` (needs the
[audit] extra and Debian's `chromium`). Three logs of 60 inspections each are
written by the live pipeline, an engineer labels a few records, the audit
re-runs them on a 2-worker LocalCluster, and the report is photographed.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import inspector
from calibration import load_default_rig
from inspector.audit import audit, write_report
from inspector.explain import GradCAM
from inspector.pipeline import Pipeline, PipelineConfig
from inspector.records import LabelStore, RecordReader
from plugins.simulator_source import SimulatorSource

HERE = Path(__file__).resolve().parent


def main() -> int:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        print("needs a headless browser: apt-get install chromium", file=sys.stderr)
        return 1
    model = inspector.load_model(device="cpu")
    explainer = GradCAM(model, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for k in range(3):
            Pipeline(SimulatorSource(rate=0, prerender=30, seed=100 + k, hidden_share=0.3), model,
                     rig=load_default_rig(), out=tmp / f"shift{k + 1}.h5", explainer=explainer,
                     config=PipelineConfig(curves="all", max_records=60, keep_all=True)).run()
        with RecordReader(tmp / "shift1.h5") as r:
            predicted = r.scalars()["predicted"]
        labels = LabelStore(tmp / "shift1.h5")
        for i in range(20):
            labels.add(i, "OK" if model.classes[predicted[i]] == "correct" else "NOK", who="quality")
        result = audit([str(tmp)], scheduler="local", workers=2)
        report = write_report(result, tmp / "report")
        shot = HERE / "audit_report.png"
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--window-size=1280,2150", f"--screenshot={shot}", report.as_uri()],
                       check=True, capture_output=True, timeout=120)
    print(f"wrote {shot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
