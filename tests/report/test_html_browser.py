"""report.html in a real browser: headless Chromium (Debian's `chromium`) renders
the page from disk; every section is in the rendered DOM and the screenshot
shows a page, not a blank one."""
import json
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from hwcomp.report.html_report import write_html_report
from report_inputs import estimate, sim_result

BROWSER = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="headless Chromium not installed (apt-get install chromium)")
HEADINGS = ("Summary", "Cycles per block", "Resources", "Weight storage and compression", "Folding", "Pipeline")


def _chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    cmd = [BROWSER, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
           f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=True)


@pytest.fixture
def page(build):
    rep = json.loads((build / "report.json").read_text())
    rep["resources"] = estimate(rep)
    (build / "report.json").write_text(json.dumps(rep))
    (build / "sim.json").write_text(json.dumps(sim_result(rep)))
    return write_html_report(build)


def test_rendered_dom_has_every_section(page, tmp_path):
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    for name, heading in zip(("summary", "cycles", "resources", "storage", "folding", "pipeline"), HEADINGS):
        assert f'<section id="{name}">' in dom and f"<h2>{heading}</h2>" in dom, name
    assert dom.count("<svg") == 5 and "98.0%" in dom


def test_screenshot_is_a_page(page, tmp_path):
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri())
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert img.shape[:2] == (2400, 1280)
    # the dark header band, white cards on grey, and coloured charts: far from one colour
    assert (img.sum(axis=2) < 150).mean() > 0.02
    assert len(np.unique(img.reshape(-1, 3) // 16, axis=0)) > 40
    rows = img.std(axis=(1, 2))
    assert (rows > 10).mean() > 0.3   # content down the page, not only at the top
